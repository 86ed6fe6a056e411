package conformance

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"crmcti/gateway/csta"
)

// Step names, as the report shows them.
const (
	StepSession          = "Session"
	StepDeviceIDs        = "GetDeviceId A and B"
	StepMonitorA         = "MonitorStart A"
	StepMonitorB         = "MonitorStart B"
	StepSnapshot         = "SnapshotDevice"
	StepMakeCall         = "MakeCall A→B"
	StepDelivered        = "Delivered on A and B"
	StepAnswer           = "AnswerCall on B"
	StepAnswerByHand     = "Answer on B (by hand)"
	StepEstablished      = "Established on A and B"
	StepSnapshotCall     = "SnapshotDevice during a call"
	StepAnswerNotRinging = "AnswerCall refused when not ringing"
	StepHold             = "HoldCall"
	StepRetrieve         = "RetrieveCall"
	StepClear            = "ClearConnection"
	StepSingleStep       = "SingleStepTransferCall"
	StepConsultation     = "ConsultationCall"
	StepTransfer         = "TransferCall"
	StepConference       = "ConferenceCall"
	StepDoNotDisturb     = "SetDoNotDisturb on A"
	StepAgentState       = "SetAgentState on A"
	StepLiveness         = "Liveness probe answered"
	StepHeartbeat        = "Heartbeat"
)

// steps is the test, in order. A call set up by one step is used by the
// next ones, as an agent's call goes through its life; the three-party
// steps each start a new call.
func (r *runner) steps() []step {
	answer, status := StepAnswer, StepDoNotDisturb
	if !r.cfg.Auto {
		answer = StepAnswerByHand
	}
	if r.cfg.StatusMode == StatusAgentState {
		status = StepAgentState
	}
	// Three-party steps need a working basic call, and ClearConnection to
	// free the phones between calls.
	basic := []string{StepEstablished, StepClear}
	monitor := []string{StepSession} // what addressing a device needs
	var ids []step
	if r.cfg.Profile.DMCC {
		// AES addresses a station only by the ID it hands out.
		monitor = []string{StepDeviceIDs}
		ids = []step{{StepDeviceIDs, []string{StepSession}, r.deviceIDs}}
	}
	return append(append([]step{{StepSession, nil, r.session}}, ids...), []step{
		{StepMonitorA, monitor, r.monitor("A")},
		{StepMonitorB, monitor, r.monitor("B")},
		{StepSnapshot, monitor, r.snapshot},
		{StepMakeCall, []string{StepMonitorA, StepMonitorB}, r.makeCall},
		{StepDelivered, []string{StepMakeCall}, r.delivered},
		{answer, []string{StepDelivered}, r.answerB},
		{StepEstablished, []string{answer}, r.established},
		{StepSnapshotCall, []string{StepEstablished, StepSnapshot}, r.snapshotCall},
		{StepAnswerNotRinging, []string{StepEstablished}, r.answerNotRinging},
		{StepHold, []string{StepEstablished}, r.hold},
		{StepRetrieve, []string{StepHold}, r.retrieve},
		{StepClear, []string{StepEstablished}, r.clear},
		{StepSingleStep, basic, r.third(r.singleStepTransfer)},
		{StepConsultation, basic, r.third(r.consultation)},
		{StepTransfer, []string{StepConsultation}, r.transfer},
		{StepConference, []string{StepConsultation}, r.conference},
		{status, []string{StepMonitorA}, r.status},
		{StepLiveness, []string{StepSession}, r.liveness},
		{StepHeartbeat, []string{StepSession}, r.heartbeat},
	}...)
}

func (r *runner) third(run func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		if r.cfg.DeviceC == "" {
			return skipped("needs a third party (device C)")
		}
		return run(ctx)
	}
}

func (r *runner) session(ctx context.Context) error {
	p := r.cfg.Profile
	if p.Session == csta.SessionECMA354 {
		p.SessionDuration = 2 * r.cfg.Heartbeat
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	c, err := csta.Dial(ctx, r.cfg.Addr, csta.Config{Profile: p, TLS: r.cfg.TLS, RequestTimeout: r.cfg.Timeout, Logger: r.cfg.Logger,
		Trace: r.tr.record, UserName: r.cfg.UserName, Password: r.cfg.Password})
	if err != nil {
		f := &failure{expected: sessionExpected(p.Session), received: err.Error()}
		if in := r.tr.since(0); len(in) > 0 {
			f.frame = in[len(in)-1]
		}
		return f
	}
	r.conn, r.sessionAt, r.sessionMark = c, time.Now(), r.tr.mark()
	return passNote(fmt.Sprintf("%s session; the switch writes %s", p.Session, c.Namespace()))
}

func sessionExpected(s csta.SessionStyle) string {
	switch s {
	case csta.SessionOpenScape:
		return "a connection, SystemStatus from the switch, then SystemRegisterResponse"
	case csta.SessionECMA354:
		return "a connection, then StartApplicationSessionPosResponse"
	}
	return "a connection"
}

// deviceIDs asks AES for the IDs of A and B; the run addresses them by
// these from then on, and gives them back at the end.
func (r *runner) deviceIDs(ctx context.Context) error {
	for _, l := range []string{"A", "B"} {
		resp, err := request[*csta.GetDeviceIdResponse](ctx, r, &csta.GetDeviceId{SwitchName: r.cfg.SwitchName, Extension: string(r.dev[l])})
		if err != nil {
			return about(l, err)
		}
		if resp.Device == "" {
			return &failure{expected: "GetDeviceIdResponse with a device for " + l, received: "none"}
		}
		r.dev[l] = resp.Device
		r.assigned = append(r.assigned, resp.Device)
	}
	return passNote(fmt.Sprintf("A=%s B=%s", r.dev["A"], r.dev["B"]))
}

func (r *runner) monitor(label string) func(context.Context) error {
	return func(ctx context.Context) error {
		mark := r.tr.mark()
		resp, err := request[*csta.MonitorStartResponse](ctx, r, &csta.MonitorStart{MonitorObject: csta.MonitorObject{DeviceObject: r.dev[label]}})
		if err != nil {
			return err
		}
		x := resp.MonitorCrossRefID
		for other, ox := range r.xref {
			if x == "" || x == ox {
				return &failure{expected: "MonitorStartResponse with a monitorCrossRefID of its own",
					received: fmt.Sprintf("%q, as %s's monitor: events could not be told apart", x, other), frame: r.tr.responseTo("MonitorStart", mark)}
			}
		}
		r.xref[label] = x
		return passNote("monitorCrossRefID " + x)
	}
}

func (r *runner) snapshot(ctx context.Context) error {
	note := "A and B idle"
	for _, l := range []string{"A", "B"} {
		resp, err := request[*csta.SnapshotDeviceResponse](ctx, r, &csta.SnapshotDevice{SnapshotObject: r.dev[l]})
		if err != nil {
			return about(l, err)
		}
		if n := len(resp.Calls()); n > 0 {
			note = fmt.Sprintf("%s had %d call(s); cleared them", l, n)
			r.hangUpAll(ctx)
		}
	}
	return passNote(note)
}

// about names the device a failure is about.
func about(label string, err error) error {
	var f *failure
	if errors.As(err, &f) {
		return &failure{expected: f.expected + " for " + label, received: f.received, frame: f.frame}
	}
	return err
}

func (r *runner) makeCall(ctx context.Context) error {
	r.basicMark = r.tr.mark()
	c, err := r.originate(ctx, r.basicMark)
	r.basic = c
	if err == nil && c.note != "" {
		return passNote(c.note)
	}
	if err == nil {
		return passNote("call " + c.id)
	}
	return err
}

func (r *runner) delivered(ctx context.Context) error {
	return r.awaitDelivered(ctx, r.basicMark, &r.basic)
}

func (r *runner) answerB(ctx context.Context) error {
	return r.answer(ctx, "B", r.basic.b)
}

func (r *runner) established(ctx context.Context) error {
	return r.awaitEstablished(ctx, r.basicMark, r.basic.id)
}

// snapshotCall requires B's snapshot to list the call as connected: the
// gateway resynchronises every phone this way after a link loss, so a
// switch whose snapshot leaves calls out shows agents idle mid-call.
func (r *runner) snapshotCall(ctx context.Context) error {
	mark := r.tr.mark()
	resp, err := request[*csta.SnapshotDeviceResponse](ctx, r, &csta.SnapshotDevice{SnapshotObject: r.dev["B"]})
	if err != nil {
		return err
	}
	var seen []string
	for _, info := range resp.Calls() {
		st := info.LocalCallState.CompoundCallState.LocalConnectionState
		if info.ConnectionIdentifier.CallID == r.basic.id && st == csta.StateConnected {
			return nil
		}
		seen = append(seen, fmt.Sprintf("call=%s state=%s", info.ConnectionIdentifier.CallID, st))
	}
	got := "no calls"
	if len(seen) > 0 {
		got = strings.Join(seen, ", ")
	}
	return &failure{expected: fmt.Sprintf("SnapshotDeviceResponse for B listing call=%s state=connected", r.basic.id),
		received: got, frame: r.tr.responseTo("SnapshotDevice", mark)}
}

// answerNotRinging asks B to answer its call, which is connected: the
// switch must refuse. One that claims success would let the gateway show
// an agent a call as answered that never was.
func (r *runner) answerNotRinging(ctx context.Context) error {
	mark := r.tr.mark()
	rctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	_, err := r.conn.Do(rctx, &csta.AnswerCall{CallToBeAnswered: r.basic.b})
	want := "CSTAErrorCode (such as stateIncompatibility/noCallToAnswer): B's call is connected, not ringing"
	var ce *csta.CSTAErrorCode
	switch {
	case errors.As(err, &ce):
		return passNote(received(err))
	case err == nil:
		return &failure{expected: want, received: "AnswerCallResponse: the switch claims it answered", frame: r.tr.responseTo("AnswerCall", mark)}
	}
	return &failure{expected: want, received: received(err), frame: r.tr.responseTo("AnswerCall", mark)}
}

func (r *runner) hold(ctx context.Context) error {
	mark := r.tr.mark()
	if _, err := request[*csta.HoldCallResponse](ctx, r, &csta.HoldCall{CallToBeHeld: r.basic.a}); err != nil {
		return err
	}
	want := fmt.Sprintf("HeldEvent holdingDevice=%s call=%s", r.dev["A"], r.basic.id)
	return r.expectBoth(ctx, mark, want, func(ev csta.Event) bool {
		e, ok := ev.(*csta.HeldEvent)
		return ok && r.is(e.HoldingDevice, "A") && sameCall(e.HeldConnection.CallID, r.basic.id)
	})
}

func (r *runner) retrieve(ctx context.Context) error {
	mark := r.tr.mark()
	if _, err := request[*csta.RetrieveCallResponse](ctx, r, &csta.RetrieveCall{CallToBeRetrieved: r.basic.a}); err != nil {
		return err
	}
	want := fmt.Sprintf("RetrievedEvent retrievingDevice=%s call=%s", r.dev["A"], r.basic.id)
	return r.expectBoth(ctx, mark, want, func(ev csta.Event) bool {
		e, ok := ev.(*csta.RetrievedEvent)
		return ok && r.is(e.RetrievingDevice, "A") && sameCall(e.RetrievedConnection.CallID, r.basic.id)
	})
}

func (r *runner) clear(ctx context.Context) error {
	mark := r.tr.mark()
	if _, err := request[*csta.ClearConnectionResponse](ctx, r, &csta.ClearConnection{ConnectionToBeCleared: r.basic.a}); err != nil {
		return err
	}
	want := fmt.Sprintf("ConnectionClearedEvent releasingDevice=%s call=%s", r.dev["A"], r.basic.id)
	return r.expectBoth(ctx, mark, want, func(ev csta.Event) bool {
		e, ok := ev.(*csta.ConnectionClearedEvent)
		return ok && r.is(e.ReleasingDevice, "A") && sameCall(e.DroppedConnection.CallID, r.basic.id)
	})
}

// singleStepTransfer: A blind-transfers its call with B to C; B then
// talks to C.
func (r *runner) singleStepTransfer(ctx context.Context) error {
	c, err := r.freshCall(ctx)
	if err != nil {
		return err
	}
	mark := r.tr.mark()
	if _, err := request[*csta.SingleStepTransferCallResponse](ctx, r, &csta.SingleStepTransferCall{ActiveCall: c.a, TransferredTo: r.dev["C"]}); err != nil {
		return err
	}
	if err := r.expectBoth(ctx, mark, r.transferredWant(), r.transferredBy("A")); err != nil {
		return err
	}
	_, err = r.reachC(ctx, mark, "B", "")
	return err
}

// consultation: A holds its call with B and calls C, who answers.
func (r *runner) consultation(ctx context.Context) error {
	c, err := r.freshCall(ctx)
	if err != nil {
		return err
	}
	r.consult, err = r.consultC(ctx, c)
	return err
}

// transfer completes the consultation: B and C are joined, A leaves.
func (r *runner) transfer(ctx context.Context) error {
	mark := r.tr.mark()
	if _, err := request[*csta.TransferCallResponse](ctx, r, &csta.TransferCall{HeldCall: r.consult.held, ActiveCall: r.consult.active}); err != nil {
		return err
	}
	return r.expectBoth(ctx, mark, r.transferredWant(), r.transferredBy("A"))
}

// conference: on a new call and consultation, A joins B and C.
func (r *runner) conference(ctx context.Context) error {
	c, err := r.freshCall(ctx)
	if err != nil {
		return err
	}
	k, err := r.consultC(ctx, c)
	if err != nil {
		return setup("a consultation call from A to C", err)
	}
	mark := r.tr.mark()
	if _, err := request[*csta.ConferenceCallResponse](ctx, r, &csta.ConferenceCall{HeldCall: k.held, ActiveCall: k.active}); err != nil {
		return err
	}
	want := fmt.Sprintf("ConferencedEvent conferencingDevice=%s", r.dev["A"])
	return r.expectBoth(ctx, mark, want, func(ev csta.Event) bool {
		e, ok := ev.(*csta.ConferencedEvent)
		return ok && r.is(e.ConferencingDevice, "A")
	})
}

func (r *runner) transferredWant() string {
	return fmt.Sprintf("TransferedEvent transferringDevice=%s", r.dev["A"])
}

func (r *runner) transferredBy(label string) func(csta.Event) bool {
	return func(ev csta.Event) bool {
		e, ok := ev.(*csta.TransferedEvent)
		return ok && r.is(e.TransferringDevice, label)
	}
}

// expectBoth waits for the event on A's monitor, then on B's: every
// monitor of a device in the call must hear of it.
func (r *runner) expectBoth(ctx context.Context, mark int, want string, match func(csta.Event) bool) error {
	for _, l := range []string{"A", "B"} {
		if _, err := r.expect(ctx, mark, l, want, match); err != nil {
			return err
		}
	}
	return nil
}
