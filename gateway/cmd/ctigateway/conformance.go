package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"crmcti/gateway/conformance"
	"crmcti/gateway/csta"
	"crmcti/gateway/pbx"
)

// conformanceFlags are the conformance command's settings. The PBX link's
// flags are named as serve's, so that the same CTI_PBX_* environment
// tests the switch the gateway will use.
type conformanceFlags struct {
	addr, profile, ca, template            string
	user, password, switchName             string
	devA, devB, devC, trace, status, agent string
	tls, auto                              bool
	timeout, heartbeat                     time.Duration
}

func (c *conformanceFlags) register(fs *flag.FlagSet) {
	s := func(p *string, name, def, usage string) { fs.StringVar(p, name, def, usage) }
	s(&c.addr, "pbx-addr", "127.0.0.1:7001", "PBX CSTA address host:port")
	s(&c.profile, "pbx-profile", "openscape", fmt.Sprintf("PBX vendor profile %v", csta.ProfileNames()))
	fs.BoolVar(&c.tls, "pbx-tls", false, "connect over TLS (the certificate is checked against the host of -pbx-addr)")
	s(&c.ca, "pbx-ca", "", "PEM file of the CA that signed the PBX's certificate (implies -pbx-tls)")
	s(&c.template, "pbx-device-template", "{ext}", "the switch's number for an extension, as for serve (e.g. '+3572210{ext}'); applied to the test devices")
	s(&c.user, "pbx-user", "", "user name to log in to the PBX with (Avaya AES)")
	s(&c.password, "pbx-password", "", "PBX password (prefer the environment: CTI_PBX_PASSWORD); never written to the trace")
	s(&c.switchName, "pbx-switch-name", "", "the switch connection's name in Avaya AES, for GetDeviceId")
	s(&c.devA, "device-a", "", "test device that places the calls (required)")
	s(&c.devB, "device-b", "", "test device that receives them (required)")
	s(&c.devC, "device-c", "", "third party for transfer and conference: a phone, or a number that answers by itself (empty: those steps are skipped)")
	fs.BoolVar(&c.auto, "auto", false, "answer ringing devices with AnswerCall instead of asking a person to pick up")
	s(&c.trace, "trace", "", "write every CSTA frame in and out to this file, passwords redacted")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "how long to wait for each response or event")
	fs.DurationVar(&c.heartbeat, "heartbeat", 60*time.Second, "the longest the switch may go between heartbeats")
	s(&c.status, "status-mode", conformance.StatusDoNotDisturb, "how Busy is set, as for serve: dnd (do-not-disturb) or agent (ACD agent state)")
	s(&c.agent, "agent-id", "", "agent ID for SetAgentState, for switches that need one")
}

// errStepsFailed makes the command exit non-zero after a run with failures.
var errStepsFailed = errors.New("conformance: steps failed")

// runConformance is `ctigateway conformance`: flags and environment in,
// conformance.Run with a terminal prompt, the report out, and an error
// (a non-zero exit) when any step failed.
func runConformance(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("ctigateway conformance", flag.ContinueOnError)
	var c conformanceFlags
	c.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: ctigateway conformance -device-a DEV -device-b DEV [-device-c DEV] [flags]\n\n"+
			"Tests the switch's CSTA services the gateway uses, with two idle test devices.\n\nflags (each also CTI_<FLAG> in the environment):\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := envDefaults(fs); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("conformance: unexpected argument %q", fs.Arg(0))
	}
	cfg, err := c.config(stdin, stdout)
	if err != nil {
		return err
	}
	if c.trace != "" {
		f, err := os.OpenFile(c.trace, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return fmt.Errorf("-trace: %w", err)
		}
		defer f.Close()
		cfg.Trace = f
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := conformance.Run(ctx, cfg, stdout)
	if err != nil {
		return err
	}
	if n := len(rep.Failed()); n > 0 {
		return fmt.Errorf("%w: %d of %d", errStepsFailed, n, len(rep.Results))
	}
	return nil
}

func (c *conformanceFlags) config(stdin io.Reader, stdout io.Writer) (conformance.Config, error) {
	p, err := csta.LookupProfile(c.profile)
	if err != nil {
		return conformance.Config{}, fmt.Errorf("-pbx-profile: %w", err)
	}
	tlsCfg, err := pbxTLSConfig(&config{pbxTLS: c.tls, pbxCA: c.ca})
	if err != nil {
		return conformance.Config{}, err
	}
	if c.devA == "" || c.devB == "" {
		return conformance.Config{}, errors.New("conformance: -device-a and -device-b are required")
	}
	return conformance.Config{
		Addr: c.addr, Profile: p, TLS: tlsCfg,
		DeviceA: csta.DeviceID(pbx.DeviceNumber(c.template, c.devA)), DeviceB: csta.DeviceID(pbx.DeviceNumber(c.template, c.devB)),
		DeviceC: csta.DeviceID(pbx.DeviceNumber(c.template, c.devC)), Auto: c.auto, Prompt: terminalPrompt(stdin, stdout),
		UserName: c.user, Password: c.password, SwitchName: c.switchName,
		StatusMode: c.status, AgentID: c.agent, Timeout: c.timeout, Heartbeat: c.heartbeat,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}, nil
}

// terminalPrompt asks the person at the terminal to act and waits for
// Enter. One goroutine reads the terminal for the whole run, so a prompt
// given up (interrupted) leaves no reader behind to steal the next line.
func terminalPrompt(in io.Reader, out io.Writer) func(context.Context, string) error {
	lines := make(chan error)
	var start sync.Once
	return func(ctx context.Context, msg string) error {
		start.Do(func() { go readLines(in, lines) })
		// An Enter pressed before the question does not answer it.
	drain:
		for {
			select {
			case _, ok := <-lines:
				if !ok {
					break drain
				}
			default:
				break drain
			}
		}
		fmt.Fprintf(out, "\n>>> %s ", msg)
		select {
		case err, ok := <-lines:
			if !ok || err != nil {
				return fmt.Errorf("no answer on the terminal (use -auto where the switch answers by AnswerCall): %w", io.EOF)
			}
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func readLines(in io.Reader, lines chan<- error) {
	br := bufio.NewReader(in)
	for {
		_, err := br.ReadString('\n')
		lines <- err
		if err != nil {
			close(lines)
			return
		}
	}
}
