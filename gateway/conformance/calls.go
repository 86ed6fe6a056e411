package conformance

import (
	"context"
	"errors"
	"fmt"
	"time"

	"crmcti/gateway/csta"
)

// originate places a call from A to B. A switch that names the call only
// in its events (no callID in MakeCallResponse) passes, with a note: the
// gateway must then learn the call from the events too.
func (r *runner) originate(ctx context.Context, mark int) (call, error) {
	resp, err := request[*csta.MakeCallResponse](ctx, r, &csta.MakeCall{
		CallingDevice: r.dev["A"], CalledDirectoryNumber: r.dev["B"], AutoOriginate: "doNotPrompt"})
	if err != nil {
		return call{}, err
	}
	c := call{id: resp.CallingDevice.CallID, a: resp.CallingDevice}
	if c.id == "" {
		ev, err := r.expect(ctx, mark, "A", "MakeCallResponse or an event naming the new call's callID", func(ev csta.Event) bool {
			return connOf(ev).CallID != ""
		})
		if err != nil {
			return call{}, err
		}
		c.id, c.note = connOf(ev).CallID, "MakeCallResponse has no callID; taken from "+ev.MessageName()
	}
	c.a = orDevice(c.a, c.id, r.dev["A"])
	return c, nil
}

// awaitDelivered waits for B's ringing on both monitors, attributed to B
// by identity, and learns B's connection from B's own event.
func (r *runner) awaitDelivered(ctx context.Context, mark int, c *call) error {
	want := fmt.Sprintf("DeliveredEvent alertingDevice=%s call=%s", r.dev["B"], c.id)
	match := func(ev csta.Event) bool {
		e, ok := ev.(*csta.DeliveredEvent)
		return ok && r.is(e.AlertingDevice, "B") && sameCall(e.Connection.CallID, c.id)
	}
	ev, err := r.expect(ctx, mark, "B", want, match)
	if err != nil {
		return err
	}
	d := ev.(*csta.DeliveredEvent)
	c.b = orDevice(d.Connection, c.id, r.dev["B"])
	if _, err = r.expect(ctx, mark, "A", want, match); err != nil {
		return err
	}
	return r.namedAs(d.AlertingDevice, "B")
}

// namedAs passes, noting the form the switch gave a device in when it is
// not the one we monitor: what a vendor's and an admin's eye should see.
func (r *runner) namedAs(id csta.DeviceID, label string) error {
	if id == r.dev[label] {
		return nil
	}
	return passNote(fmt.Sprintf("the switch names %s %q; matched by number", label, id))
}

// answer makes label's ringing device answer: by AnswerCall in Auto mode,
// else by asking a person to pick up.
func (r *runner) answer(ctx context.Context, label string, conn csta.ConnectionID) error {
	if r.cfg.Auto {
		_, err := request[*csta.AnswerCallResponse](ctx, r, &csta.AnswerCall{CallToBeAnswered: conn})
		return err
	}
	r.tr.note("prompting a person to pick up device %s", label)
	if err := r.cfg.Prompt(ctx, fmt.Sprintf("Pick up device %s (%s) now, then press Enter.", label, r.dev[label])); err != nil {
		return fmt.Errorf("waiting for device %s to be picked up: %w", label, err)
	}
	return nil
}

func (r *runner) answeredBy(label, callID string) func(csta.Event) bool {
	return func(ev csta.Event) bool {
		e, ok := ev.(*csta.EstablishedEvent)
		return ok && r.is(e.AnsweringDevice, label) && sameCall(e.EstablishedConnection.CallID, callID)
	}
}

// awaitEstablished waits for B's answer on both monitors.
func (r *runner) awaitEstablished(ctx context.Context, mark int, callID string) error {
	want := fmt.Sprintf("EstablishedEvent answeringDevice=%s call=%s", r.dev["B"], callID)
	var ev csta.Event
	for _, l := range []string{"B", "A"} {
		var err error
		if ev, err = r.expect(ctx, mark, l, want, r.answeredBy("B", callID)); err != nil {
			return err
		}
	}
	return r.namedAs(ev.(*csta.EstablishedEvent).AnsweringDevice, "B")
}

// freshCall frees both phones and connects a new call from A to B.
func (r *runner) freshCall(ctx context.Context) (call, error) {
	r.hangUpAll(ctx)
	mark := r.tr.mark()
	c, err := r.originate(ctx, mark)
	if err == nil {
		err = passed(r.awaitDelivered(ctx, mark, &c))
	}
	if err == nil {
		err = r.answer(ctx, "B", c.b)
	}
	if err == nil {
		err = passed(r.awaitEstablished(ctx, mark, c.id))
	}
	return c, setup("a call from A to B", err)
}

// passed drops a pass's note, for steps used as another's preparation.
func passed(err error) error {
	var pn passNote
	if errors.As(err, &pn) {
		return nil
	}
	return err
}

// consultC has A consult C from call c, and C answer.
func (r *runner) consultC(ctx context.Context, c call) (consultation, error) {
	mark := r.tr.mark()
	resp, err := request[*csta.ConsultationCallResponse](ctx, r, &csta.ConsultationCall{ExistingCall: c.a, ConsultedDevice: r.dev["C"]})
	if err != nil {
		return consultation{}, err
	}
	k := consultation{held: c.a, active: resp.InitiatedCall}
	want := fmt.Sprintf("HeldEvent holdingDevice=%s call=%s", r.dev["A"], c.id)
	if _, err := r.expect(ctx, mark, "A", want, func(ev csta.Event) bool {
		e, ok := ev.(*csta.HeldEvent)
		return ok && r.is(e.HoldingDevice, "A") && sameCall(e.HeldConnection.CallID, c.id)
	}); err != nil {
		return k, err
	}
	conn, err := r.reachC(ctx, mark, "A", k.active.CallID)
	k.active = orDevice(k.active, conn.CallID, r.dev["A"])
	return k, err
}

// reachC waits until C rings in a call the monitor mon sees, has C
// answer unless it already has (a voicemail answers by itself), and
// waits until it has. It returns C's connection.
func (r *runner) reachC(ctx context.Context, mark int, mon, callID string) (csta.ConnectionID, error) {
	want := fmt.Sprintf("DeliveredEvent alertingDevice=%s", r.dev["C"])
	ev, err := r.expect(ctx, mark, mon, want, func(ev csta.Event) bool {
		e, ok := ev.(*csta.DeliveredEvent)
		return ok && r.is(e.AlertingDevice, "C") && sameCall(e.Connection.CallID, callID)
	})
	if err != nil {
		return csta.ConnectionID{}, err
	}
	conn := orDevice(ev.(*csta.DeliveredEvent).Connection, callID, r.dev["C"])
	answered := r.answeredBy("C", conn.CallID)
	if r.tr.find(mark, func(f *frame) bool { e, ok := f.msg.(csta.Event); return ok && answered(e) }) == nil {
		if err := r.answer(ctx, "C", conn); err != nil {
			return conn, err
		}
	}
	want = fmt.Sprintf("EstablishedEvent answeringDevice=%s call=%s", r.dev["C"], conn.CallID)
	_, err = r.expect(ctx, mark, mon, want, answered)
	return conn, err
}

// setup marks a failure as one of a step's preparation, so the report
// does not blame the service under test.
func setup(what string, err error) error {
	var f *failure
	if errors.As(err, &f) {
		return &failure{expected: "(setting up " + what + ") " + f.expected, received: f.received, frame: f.frame}
	}
	if err != nil {
		return fmt.Errorf("setting up %s: %w", what, err)
	}
	return nil
}

// hangUpAll clears every call at A and B, as SnapshotDevice lists them,
// so that each scenario starts from idle phones whatever the last one
// left. It is best effort: what it cannot clear shows in the next step.
func (r *runner) hangUpAll(ctx context.Context) {
	r.tr.note("clean-up: clearing what A and B still have")
	for _, l := range []string{"A", "B"} {
		for range 20 {
			calls, err := r.calls(ctx, l)
			if err != nil || len(calls) == 0 {
				break
			}
			for _, info := range calls {
				rctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
				_, _ = r.conn.Do(rctx, &csta.ClearConnection{ConnectionToBeCleared: orDevice(info.ConnectionIdentifier, "", r.dev[l])})
				cancel()
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

func (r *runner) calls(ctx context.Context, label string) ([]csta.SnapshotDeviceInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	resp, err := csta.Call[*csta.SnapshotDeviceResponse](ctx, r.conn, &csta.SnapshotDevice{SnapshotObject: r.dev[label]})
	if err != nil {
		return nil, err
	}
	return resp.Calls(), nil
}
