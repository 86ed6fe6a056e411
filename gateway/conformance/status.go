package conformance

import (
	"context"
	"errors"
	"fmt"
	"time"

	"crmcti/gateway/csta"
)

// status sets A Busy and back to Available the way ctigateway serve's
// -status-mode does, and requires the event that tells the gateway of a
// change made on the phone: the same event must come for our own change.
func (r *runner) status(ctx context.Context) error {
	if r.cfg.StatusMode == StatusAgentState {
		return r.agentState(ctx)
	}
	for _, on := range []bool{true, false} {
		mark := r.tr.mark()
		if _, err := request[*csta.SetDoNotDisturbResponse](ctx, r, &csta.SetDoNotDisturb{Device: r.dev["A"], DoNotDisturbOn: on}); err != nil {
			r.restoreDND(on)
			return err
		}
		want := fmt.Sprintf("DoNotDisturbEvent device=%s doNotDisturbOn=%t", r.dev["A"], on)
		if _, err := r.expect(ctx, mark, "A", want, func(ev csta.Event) bool {
			e, ok := ev.(*csta.DoNotDisturbEvent)
			return ok && r.is(e.Device, "A") && e.DoNotDisturbOn == on
		}); err != nil {
			r.restoreDND(on)
			return err
		}
	}
	return nil
}

// restoreDND leaves A taking calls after a failed status step, best
// effort: a test phone left in do-not-disturb would confuse whoever
// uses it next.
func (r *runner) restoreDND(triedOn bool) {
	if !triedOn {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.Timeout)
	defer cancel()
	_, _ = r.conn.Do(ctx, &csta.SetDoNotDisturb{Device: r.dev["A"], DoNotDisturbOn: false})
}

func (r *runner) agentState(ctx context.Context) error {
	for _, st := range []struct {
		requested, event string
	}{{csta.AgentNotReady, "AgentNotReadyEvent"}, {csta.AgentReady, "AgentReadyEvent"}} {
		mark := r.tr.mark()
		if _, err := request[*csta.SetAgentStateResponse](ctx, r, &csta.SetAgentState{
			Device: r.dev["A"], RequestedAgentState: st.requested, AgentID: r.cfg.AgentID}); err != nil {
			return err
		}
		want := fmt.Sprintf("%s agentDevice=%s", st.event, r.dev["A"])
		if _, err := r.expect(ctx, mark, "A", want, func(ev csta.Event) bool {
			d, ok := agentDevice(ev)
			return ok && ev.MessageName() == st.event && r.is(d, "A")
		}); err != nil {
			return err
		}
	}
	return nil
}

// liveness sends the request ctigateway serve sends a switch that has
// been quiet for 3s (csta.Config.Liveness): any answer, even a refusal,
// keeps the gateway's link up; a switch that ignores it loses the link
// every 9s of quiet in production.
func (r *runner) liveness(ctx context.Context) error {
	var probe csta.Message = &csta.SystemStatus{SystemStatus: "normal"}
	if id := r.conn.SessionID(); r.cfg.Profile.Session == csta.SessionECMA354 && id != "" {
		probe = &csta.ResetApplicationSessionTimer{SessionID: id, RequestedSessionDuration: int(r.sessionDuration() / time.Second)}
	}
	mark := r.tr.mark()
	rctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	m, err := r.conn.Do(rctx, probe)
	var ce *csta.CSTAErrorCode
	switch {
	case err == nil:
		return passNote(m.MessageName())
	case errors.As(err, &ce):
		return passNote(received(err) + " (an answer all the same)")
	}
	return &failure{expected: "any answer to " + probe.MessageName() + ", the gateway's probe of a quiet switch",
		received: received(err), frame: r.tr.responseTo(probe.MessageName(), mark)}
}

// heartbeat checks the session is kept alive the profile's way: the
// switch's SystemStatus answered (OpenScape), or our
// ResetApplicationSessionTimer accepted (ECMA-354) — after the session
// was up, within the interval.
func (r *runner) heartbeat(ctx context.Context) error {
	var want string
	var wait time.Duration
	var match func(*frame) bool
	switch r.cfg.Profile.Session {
	case csta.SessionOpenScape:
		wait = r.cfg.Heartbeat
		want = fmt.Sprintf("a SystemStatus from the switch within %s, answered", wait)
		match = func(f *frame) bool { return !f.in && f.name == "SystemStatusResponse" }
	case csta.SessionECMA354:
		wait = r.sessionDuration()/2 + r.cfg.Timeout
		want = fmt.Sprintf("ResetApplicationSessionTimerPosResponse within %s", wait)
		match = func(f *frame) bool {
			return f.in && (f.name == "ResetApplicationSessionTimerPosResponse" || f.name == "ResetApplicationSessionTimerNegResponse")
		}
	default:
		return skipped(fmt.Sprintf("profile %s has no heartbeat", r.cfg.Profile.Name))
	}
	ctx, cancel := context.WithDeadline(ctx, r.sessionAt.Add(wait))
	defer cancel()
	f, err := r.tr.await(ctx, r.conn.Done(), r.sessionMark, match)
	switch {
	case err == errLinkDown:
		return &failure{expected: want, received: "link down: " + r.conn.Err().Error()}
	case err != nil:
		return &failure{expected: want, received: fmt.Sprintf("none in %s", wait)}
	case f.name == "ResetApplicationSessionTimerNegResponse":
		return &failure{expected: want, received: f.name, frame: f}
	}
	return passNote(fmt.Sprintf("%s %s after the session started", f.name, round(f.at.Sub(r.sessionAt))))
}

// sessionDuration is what the switch granted, or what we asked for.
func (r *runner) sessionDuration() time.Duration {
	f := r.tr.find(0, func(f *frame) bool { return f.name == "StartApplicationSessionPosResponse" })
	if f != nil {
		if p, ok := f.msg.(*csta.StartApplicationSessionPosResponse); ok && p.ActualSessionDuration > 0 {
			return time.Duration(p.ActualSessionDuration) * time.Second
		}
	}
	return 2 * r.cfg.Heartbeat
}
