package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"crmcti/gateway/csta"
)

var errLinkDown = errors.New("the link to the switch is down")

// failure is a step's verdict of Fail: what the step waited for, what
// came instead, and the frame that showed it.
type failure struct {
	expected, received string
	frame              *frame
}

func (f *failure) Error() string { return "expected " + f.expected + "; received " + f.received }

// skipped is a step that did not run, and why.
type skipped string

func (s skipped) Error() string { return string(s) }

// step is one line of the report. needs names the steps that must have
// passed for this one to make sense; a step whose prerequisite failed is
// skipped, not failed, so the report points at the cause.
type step struct {
	name  string
	needs []string
	run   func(ctx context.Context) error
}

// call is a call between A and B as the run knows it.
type call struct {
	id   string
	a, b csta.ConnectionID // A's and B's connections
	note string            // what the report should say about how it went
}

// consultation is a call on hold at A and a consultation call from A to C.
type consultation struct {
	held, active csta.ConnectionID // A's connections in the two calls
}

type runner struct {
	cfg  Config
	out  io.Writer
	tr   *tracer
	conn *csta.Conn

	sessionAt   time.Time
	sessionMark int                      // first frame after the session was up
	dev         map[string]csta.DeviceID // what requests address: the configured device, or the ID the switch assigned
	assigned    []csta.DeviceID          // IDs from GetDeviceId, to give back
	xref        map[string]string        // monitored device label -> monitorCrossRefID
	verdicts    map[string]Verdict
	basic       call // the call the basic steps share
	basicMark   int  // where the basic call's frames begin
	consult     consultation
}

func newRunner(cfg Config, out io.Writer) *runner {
	return &runner{
		cfg: cfg, out: out, tr: newTracer(cfg.Trace),
		dev:      map[string]csta.DeviceID{"A": cfg.DeviceA, "B": cfg.DeviceB, "C": cfg.DeviceC},
		xref:     map[string]string{},
		verdicts: map[string]Verdict{},
	}
}

func (r *runner) run(ctx context.Context) Report {
	rep := Report{Addr: r.cfg.Addr, Profile: r.cfg.Profile.Name, Devices: [3]csta.DeviceID{r.cfg.DeviceA, r.cfg.DeviceB, r.cfg.DeviceC}}
	r.tr.note("ctigateway conformance: switch %s, profile %s, A=%s B=%s C=%s, started %s",
		r.cfg.Addr, r.cfg.Profile.Name, r.cfg.DeviceA, r.cfg.DeviceB, r.cfg.DeviceC, time.Now().UTC().Format(time.RFC3339))
	defer r.finish()
	for _, st := range r.steps() {
		res := r.runStep(ctx, st)
		r.verdicts[st.name] = res.Verdict
		rep.Results = append(rep.Results, res)
		fmt.Fprintf(r.out, "%-4s  %-40s %s\n", res.Verdict, st.name, round(res.Duration))
	}
	return rep
}

// runStep runs one step, or skips it when it cannot make sense.
func (r *runner) runStep(ctx context.Context, st step) Result {
	res := Result{Step: st.name}
	if reason := r.why(ctx, st); reason != "" {
		res.Verdict, res.Note = Skip, reason
		return res
	}
	r.tr.note("step: %s", st.name)
	start := time.Now()
	err := st.run(ctx)
	res.Duration = time.Since(start)
	var f *failure
	var s skipped
	var pn passNote
	switch {
	case err == nil:
		res.Verdict = Pass
	case errors.As(err, &pn):
		res.Verdict, res.Note = Pass, string(pn)
	case errors.As(err, &s):
		res.Verdict, res.Note = Skip, string(s)
	case errors.As(err, &f):
		res.Verdict, res.Expected, res.Received = Fail, f.expected, f.received
		if f.frame != nil {
			res.Frame = f.frame.String()
		}
	default:
		res.Verdict, res.Received = Fail, err.Error()
	}
	if res.Verdict == Fail && ctx.Err() != nil {
		res.Verdict, res.Note, res.Expected, res.Received, res.Frame = Skip, "interrupted", "", "", ""
	}
	if res.Verdict == Fail {
		r.tr.note("step failed: %s: %s", st.name, err)
	}
	return res
}

// why says why a step must be skipped, or "".
func (r *runner) why(ctx context.Context, st step) string {
	if ctx.Err() != nil {
		return "interrupted"
	}
	for _, n := range st.needs {
		if r.verdicts[n] != Pass {
			return "needs " + n
		}
	}
	if r.conn != nil && r.conn.Err() != nil {
		return "link down: " + r.conn.Err().Error()
	}
	return ""
}

// passNote is a pass that has something to say (returned as an error
// only to travel the same way as the other verdicts).
type passNote string

func (p passNote) Error() string { return string(p) }

// finish leaves the devices as it found them and ends the session.
func (r *runner) finish() {
	if r.conn == nil {
		return
	}
	if r.conn.Err() == nil {
		ctx, cancel := context.WithTimeout(context.Background(), r.cfg.Timeout)
		r.hangUpAll(ctx)
		for _, x := range r.xref {
			_, _ = r.conn.Do(ctx, &csta.MonitorStop{MonitorCrossRefID: x})
		}
		for _, id := range r.assigned {
			_, _ = r.conn.Do(ctx, &csta.ReleaseDeviceId{Device: id})
		}
		cancel()
	}
	r.conn.Close()
	r.tr.note("done")
}

// request sends req and returns the response as R. A refusal, a silence
// or an answer of another kind is a failure showing the frame received.
func request[R csta.Message](ctx context.Context, r *runner, req csta.Message) (R, error) {
	var zero R
	want := zero.MessageName()
	mark := r.tr.mark()
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	m, err := r.conn.Do(ctx, req)
	if err != nil {
		return zero, &failure{expected: want, received: received(err), frame: r.tr.responseTo(req.MessageName(), mark)}
	}
	resp, ok := m.(R)
	if !ok {
		return zero, &failure{expected: want, received: m.MessageName(), frame: r.tr.responseTo(req.MessageName(), mark)}
	}
	return resp, nil
}

// received words an error from the link for the report.
func received(err error) string {
	var ce *csta.CSTAErrorCode
	switch {
	case errors.As(err, &ce):
		cat, val := ce.Category()
		return fmt.Sprintf("CSTAErrorCode %s/%s", cat, val)
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer in time"
	}
	return err.Error()
}

// expect waits for an event on label's monitor that match accepts; what
// describes it for the report.
func (r *runner) expect(ctx context.Context, mark int, label, what string, match func(csta.Event) bool) (csta.Event, error) {
	xref := r.xref[label]
	onMonitor := func(f *frame) (csta.Event, bool) {
		ev, ok := f.msg.(csta.Event)
		return ev, ok && f.in && ev.CrossRefID() == xref
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	f, err := r.tr.await(ctx, r.conn.Done(), mark, func(f *frame) bool {
		ev, ok := onMonitor(f)
		return ok && match(ev)
	})
	if err == nil {
		return f.msg.(csta.Event), nil
	}
	fail := &failure{expected: what + " on " + label + "'s monitor"}
	var seen []string
	for _, g := range r.tr.since(mark) {
		if ev, ok := onMonitor(g); ok {
			seen = append(seen, describe(ev))
			fail.frame = g
		}
	}
	switch {
	case errors.Is(err, errLinkDown):
		fail.received = "link down: " + r.conn.Err().Error()
	case len(seen) == 0:
		fail.received = fmt.Sprintf("no event on %s's monitor in %s", label, r.cfg.Timeout)
	default:
		fail.received = fmt.Sprintf("none in %s; the monitor had only %s", r.cfg.Timeout, strings.Join(seen, ", "))
	}
	return nil, fail
}

// is reports whether id names the device labelled label.
func (r *runner) is(id csta.DeviceID, label string) bool {
	return csta.SameDevice(id, r.dev[label]) || csta.SameDevice(id, r.given(label))
}

// given is the device as configured, before any switch-assigned ID.
func (r *runner) given(label string) csta.DeviceID {
	switch label {
	case "A":
		return r.cfg.DeviceA
	case "B":
		return r.cfg.DeviceB
	}
	return r.cfg.DeviceC
}

func round(d time.Duration) time.Duration {
	if d > time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}
