// Package conformance tells a PBX vendor, or an admin commissioning a
// site, which CSTA services of a real switch work the way the gateway
// needs them. It drives the switch with two test devices (and a third
// party for transfers and conferences) through the flows agents use —
// monitor, ring, answer, hold, transfer, conference, hang up, Busy — and
// judges each step on what the switch answered and which events it sent
// to which monitor, attributing devices by identity as the gateway must
// (a switch may name one phone "1002" in a connection and
// "N<1002>;noa=nk" in the same event).
//
// Run is the whole test; ctigateway's conformance command only wires
// flags, the terminal prompt and the exit code to it. Every frame in and
// out is written to Config.Trace, passwords redacted, so a failed run
// can go to the vendor as it is.
package conformance

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"crmcti/gateway/csta"
)

// Status modes, as ctigateway serve's -status-mode: how Available/Busy is
// set on the switch.
const (
	StatusDoNotDisturb = "dnd"
	StatusAgentState   = "agent"
)

// Config is one conformance run.
type Config struct {
	Addr    string       // the switch's CSTA address, host:port
	Profile csta.Profile // vendor profile: session style, namespace, pacing
	TLS     *tls.Config  // non-nil: connect over TLS (csta.Dial takes ServerName from Addr)

	// DeviceA places the calls and DeviceB receives them; both are
	// monitored, as an agent's phone is. Give them as the switch monitors
	// them (a DID such as 3021061290002 on OpenScape Voice).
	DeviceA, DeviceB csta.DeviceID
	// DeviceC is the third party of transfers and conferences: another
	// phone, or a number that answers by itself (voicemail, an echo
	// service). Empty skips those steps.
	DeviceC csta.DeviceID

	// Auto answers ringing devices with AnswerCall, for switches whose
	// phones can be answered remotely. Otherwise Prompt asks a person to
	// pick up the handset.
	Auto bool
	// Prompt shows msg to a person and returns once they have acted; it
	// must return early with ctx's error when ctx ends. Required unless
	// Auto.
	Prompt func(ctx context.Context, msg string) error

	// UserName and Password log in to a switch that requires it (Avaya
	// AES: SessionLoginInfo); SwitchName is the switch connection's name
	// in AES, for GetDeviceId. The trace never shows the password.
	UserName, Password, SwitchName string

	StatusMode string // StatusDoNotDisturb (default) or StatusAgentState
	AgentID    string // sent in SetAgentState, for switches that need it

	// Timeout bounds each wait for a response or an event (default 10s).
	Timeout time.Duration
	// Heartbeat is the longest the switch may stay silent between
	// heartbeats (default 60s). On ECMA-354 sessions the session is
	// requested for twice as long, so that our timer reset falls within.
	Heartbeat time.Duration

	Trace  io.Writer // every frame in and out, passwords redacted; nil: none
	Logger *slog.Logger
}

// Verdict is a step's outcome.
type Verdict string

// Verdicts.
const (
	Pass Verdict = "pass"
	Fail Verdict = "FAIL"
	Skip Verdict = "skip"
)

// Result is one step's outcome. For a failure Expected and Received say
// what differed and Frame is the frame that showed it (as traced, empty
// when nothing came); for a pass or a skip Note says what was seen or why
// the step did not run.
type Result struct {
	Step     string
	Verdict  Verdict
	Duration time.Duration
	Expected string
	Received string
	Frame    string
	Note     string
}

// Report is the outcome of a run.
type Report struct {
	Addr    string
	Profile string
	Devices [3]csta.DeviceID
	Results []Result
}

// Failed lists the failed steps.
func (r Report) Failed() []Result {
	var out []Result
	for _, res := range r.Results {
		if res.Verdict == Fail {
			out = append(out, res)
		}
	}
	return out
}

// Passed reports whether no step failed (skips do not fail a run: they
// name a service the switch was not asked for, or could not be).
func (r Report) Passed() bool { return len(r.Failed()) == 0 }

// Result returns the named step's result.
func (r Report) Result(step string) (Result, bool) {
	for _, res := range r.Results {
		if res.Step == step {
			return res, true
		}
	}
	return Result{}, false
}

// Run tests the switch, writing each step's verdict to out as it comes
// and the table at the end. A failed step is in the Report, not the
// error: the error is for a run that could not start (bad Config) or was
// interrupted (ctx), and then the Report holds what was done.
func Run(ctx context.Context, cfg Config, out io.Writer) (Report, error) {
	if err := cfg.check(); err != nil {
		return Report{}, err
	}
	cfg.defaults()
	r := newRunner(cfg, out)
	rep := r.run(ctx)
	if err := rep.WriteTable(out); err != nil {
		return rep, fmt.Errorf("conformance: write report: %w", err)
	}
	if err := r.tr.w.Err(); err != nil {
		return rep, fmt.Errorf("conformance: write trace: %w", err)
	}
	return rep, ctx.Err()
}

func (c *Config) check() error {
	switch {
	case c.Addr == "":
		return errors.New("conformance: the switch's address is required")
	case c.DeviceA == "" || c.DeviceB == "":
		return errors.New("conformance: two test devices (A and B) are required")
	case csta.SameDevice(c.DeviceA, c.DeviceB):
		return errors.New("conformance: devices A and B must differ")
	case c.DeviceC != "" && (csta.SameDevice(c.DeviceC, c.DeviceA) || csta.SameDevice(c.DeviceC, c.DeviceB)):
		return errors.New("conformance: device C must differ from A and B")
	case !c.Auto && c.Prompt == nil:
		return errors.New("conformance: without Auto, a Prompt is needed to ask a person to pick up")
	case c.Profile.DMCC && c.SwitchName == "":
		return errors.New("conformance: an Avaya (DMCC) switch needs SwitchName, the switch connection's name in AES, for GetDeviceId")
	case c.StatusMode != "" && c.StatusMode != StatusDoNotDisturb && c.StatusMode != StatusAgentState:
		return fmt.Errorf("conformance: status mode %q: use %s or %s", c.StatusMode, StatusDoNotDisturb, StatusAgentState)
	}
	return nil
}

func (c *Config) defaults() {
	if c.Profile.Name == "" {
		c.Profile, _ = csta.LookupProfile("none")
	}
	if c.StatusMode == "" {
		c.StatusMode = StatusDoNotDisturb
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = 60 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}
