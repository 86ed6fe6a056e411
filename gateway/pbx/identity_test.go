package pbx_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/csta"
	cs "crmcti/gateway/csta/cstatest"
	"crmcti/gateway/pbx"
)

// TestOpenScapeFormsRingAndUnattributedAreCounted plays what OpenScape
// Voice sends for a phone known by its full number: the connection with
// the bare number, alertingDevice as N<…>;noa=…, the caller with Line…,
// displayNumber and uid. The call must ring at the agent's extension; a
// switch's events that name no call, an unknown call or no monitor must be
// counted, not dropped silently; and a ClearConnection the switch never
// answers is settled by the ConnectionCleared event.
func TestOpenScapeFormsRingAndUnattributedAreCounted(t *testing.T) {
	const full = "+35722101001"
	hdr := csta.EventHeader{MonitorCrossRefID: "M1"}
	srv := cs.NewServer(t,
		cs.Expect("MonitorStart", func(m csta.Message) error {
			if d := m.(*csta.MonitorStart).MonitorObject.DeviceObject; d != full {
				return fmt.Errorf("monitored %q, want the templated %q", d, full)
			}
			return nil
		}),
		cs.Reply(&csta.MonitorStartResponse{MonitorCrossRefID: "M1"}),
		cs.Expect("SnapshotDevice", nil),
		cs.Reply(&csta.SnapshotDeviceResponse{}),
		cs.Send(9999, &csta.DeliveredEvent{EventHeader: hdr, Connection: csta.ConnectionID{CallID: "C1", DeviceID: "35722101001"},
			AlertingDevice: "N<+35722101001>;noa=international", CallingDevice: "N<7868772298>Line71001;displayNumber=7868772298;uid=4f2a11",
			CalledDevice: "N<+35722101001>;noa=international", LocalConnectionInfo: csta.StateAlerting, Cause: "newCall"}),
		cs.Send(9999, &csta.DeliveredEvent{EventHeader: hdr, Connection: csta.ConnectionID{DeviceID: "35722101001"}, AlertingDevice: "N<+35722101001>"}),
		cs.Send(9999, &csta.HeldEvent{EventHeader: hdr, HeldConnection: csta.ConnectionID{CallID: "C9", DeviceID: full}, HoldingDevice: full}),
		cs.Send(9999, &csta.HeldEvent{EventHeader: csta.EventHeader{MonitorCrossRefID: "M9"}, HeldConnection: csta.ConnectionID{CallID: "C1", DeviceID: full}}),
		cs.Expect("ClearConnection", func(m csta.Message) error {
			if d := m.(*csta.ClearConnection).ConnectionToBeCleared.DeviceID; d != full {
				return fmt.Errorf("cleared at %q, want %q", d, full)
			}
			return nil
		}),
		// No response, ever: the event settles it.
		cs.Send(9999, &csta.ConnectionClearedEvent{EventHeader: hdr, DroppedConnection: csta.ConnectionID{CallID: "C1", DeviceID: "35722101001"},
			ReleasingDevice: "N<+35722101001>;noa=international", LocalConnectionInfo: csta.StateNull, Cause: "normalClearing"}),
		cs.Send(9999, &csta.CallClearedEvent{EventHeader: hdr, ClearedCall: csta.ConnectionID{CallID: "C1"}, Cause: "normalClearing"}),
		cs.Send(9999, &csta.DoNotDisturbEvent{EventHeader: hdr, Device: "N<+35722101001>", DoNotDisturbOn: true}),
		cs.Pause(time.Second),
	)
	var unattributed atomic.Int32
	s := newSink()
	a := pbx.New(pbx.Config{Addr: srv.Addr, DeviceTemplate: "+3572210{ext}", Timeout: 5 * time.Second,
		OnUnattributed: func(string) { unattributed.Add(1) }}, s)
	defer a.Close()
	s.waitLink(t, true)
	if err := a.Monitor(context.Background(), "1001"); err != nil {
		t.Fatal(err)
	}
	c := s.next(t, gateway.EvRang, gateway.CallRinging)
	if c.ID != "C1" || c.Device != "1001" || c.Remote != "7868772298" || c.Direction != gateway.Inbound {
		t.Fatalf("rang %+v", c)
	}
	for deadline := time.Now().Add(5 * time.Second); unattributed.Load() < 3; {
		if time.Now().After(deadline) {
			t.Fatalf("%d events counted as unattributed, want 3", unattributed.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if calls := a.Calls("1001"); len(calls) != 1 || calls[0].ID != "C1" {
		t.Fatalf("tracker %+v (the call without an ID must not be tracked)", calls)
	}
	if err := a.Clear(context.Background(), "1001", "C1"); err != nil {
		t.Fatalf("clear settled by ConnectionCleared: %v", err)
	}
	s.next(t, gateway.EvEnded, gateway.CallEnded)
	if got := <-s.status; got != "1001=busy" {
		t.Fatalf("status %s", got)
	}
	if n := unattributed.Load(); n != 3 {
		t.Fatalf("%d unattributed, want 3: the CallCleared of a call just ended is expected", n)
	}
}

// TestRemonitorFailureIsRetried: after a reconnect, a device the switch
// refuses to monitor once is monitored again, and its calls ring.
func TestRemonitorFailureIsRetried(t *testing.T) {
	ok := func(xref string) []cs.Step {
		return []cs.Step{
			cs.Expect("MonitorStart", nil),
			cs.Reply(&csta.MonitorStartResponse{MonitorCrossRefID: xref}),
			cs.Expect("SnapshotDevice", nil),
			cs.Reply(&csta.SnapshotDeviceResponse{}),
		}
	}
	second := append([]cs.Step{
		cs.Expect("MonitorStart", nil),
		cs.Reply(csta.NewError(csta.ErrCatSystemResource, "resourceBusy")),
	}, ok("M2")...)
	second = append(second,
		cs.Send(9999, &csta.DeliveredEvent{EventHeader: csta.EventHeader{MonitorCrossRefID: "M2"}, Connection: csta.ConnectionID{CallID: "C2", DeviceID: "1001"},
			AlertingDevice: "1001", CallingDevice: "+35799000222", LocalConnectionInfo: csta.StateAlerting, Cause: "newCall"}),
		cs.Pause(500*time.Millisecond))
	srv := cs.NewServers(t, append(ok("M1"), cs.Hangup()), second)
	s := newSink()
	a := pbx.New(pbx.Config{Addr: srv.Addr, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Liveness: -1}, s)
	defer a.Close()
	s.waitLink(t, true)
	if err := a.Monitor(context.Background(), "1001"); err != nil {
		t.Fatal(err)
	}
	s.waitLink(t, false)
	s.waitLink(t, true)
	if c := s.next(t, gateway.EvRang, gateway.CallRinging); c.ID != "C2" || c.Remote != "+35799000222" {
		t.Fatalf("rang %+v", c)
	}
	if err := srv.Wait(5 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestCallRingingAtLoginSurvivesTheSnapshot: a call that starts ringing
// right after the switch answered SnapshotDevice (so the snapshot does not
// have it) must stay ringing, not be ended by the resync. The event and
// the snapshot race inside the adapter, so the test plays it many times.
func TestCallRingingAtLoginSurvivesTheSnapshot(t *testing.T) {
	for i := range 25 {
		srv := cs.NewServer(t,
			cs.Expect("MonitorStart", nil),
			cs.Reply(&csta.MonitorStartResponse{MonitorCrossRefID: "M1"}),
			cs.Expect("SnapshotDevice", nil),
			cs.Reply(&csta.SnapshotDeviceResponse{}),
			cs.Send(9999, &csta.DeliveredEvent{EventHeader: csta.EventHeader{MonitorCrossRefID: "M1"}, Connection: csta.ConnectionID{CallID: "C1", DeviceID: "1001"},
				AlertingDevice: "1001", CallingDevice: "+35799000222", LocalConnectionInfo: csta.StateAlerting, Cause: "newCall"}),
		)
		s := newSink()
		a := pbx.New(pbx.Config{Addr: srv.Addr, Liveness: -1}, s)
		s.waitLink(t, true)
		if err := a.Monitor(context.Background(), "1001"); err != nil {
			t.Fatal(err)
		}
		s.next(t, gateway.EvRang, gateway.CallRinging)
		select {
		case u := <-s.calls:
			t.Fatalf("run %d: after ringing, %s %+v", i, u.ev, u.c)
		case <-time.After(20 * time.Millisecond):
		}
		if calls := a.Calls("1001"); len(calls) != 1 {
			t.Fatalf("run %d: tracker %+v", i, calls)
		}
		a.Close()
	}
}

// TestCallEndingRightAfterTheSnapshotStaysEnded: a call the snapshot
// names whose end the switch reports right after its answer must not stay
// tracked (a ghost ringing for ever): the end may reach the tracker
// before the reconcile does. The two race, so the test plays it many
// times.
func TestCallEndingRightAfterTheSnapshotStaysEnded(t *testing.T) {
	for i := range 25 {
		alerting := csta.SnapshotDeviceInfo{ConnectionIdentifier: csta.ConnectionID{CallID: "C1", DeviceID: "1001"}}
		alerting.LocalCallState.CompoundCallState.LocalConnectionState = csta.StateAlerting
		srv := cs.NewServer(t,
			cs.Expect("MonitorStart", nil),
			cs.Reply(&csta.MonitorStartResponse{MonitorCrossRefID: "M1"}),
			cs.Expect("SnapshotDevice", nil),
			cs.Reply(&csta.SnapshotDeviceResponse{CrossRefIDorSnapshotData: csta.SnapshotChoice{SnapshotData: csta.SnapshotData{Info: []csta.SnapshotDeviceInfo{alerting}}}}),
			cs.Send(9999, &csta.ConnectionClearedEvent{EventHeader: csta.EventHeader{MonitorCrossRefID: "M1"},
				DroppedConnection: csta.ConnectionID{CallID: "C1", DeviceID: "1001"}, ReleasingDevice: "1001", Cause: "normalClearing"}),
			cs.Pause(100*time.Millisecond),
		)
		s := newSink()
		a := pbx.New(pbx.Config{Addr: srv.Addr, Liveness: -1, Audit: -1}, s)
		s.waitLink(t, true)
		if err := a.Monitor(context.Background(), "1001"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		if calls := a.Calls("1001"); len(calls) != 0 {
			t.Fatalf("run %d: a call the switch ended is still tracked: %+v", i, calls)
		}
		a.Close()
	}
}

// TestSnapshotBusyIsAskedAgainAndAFailedStartLeavesNoMonitor: a switch
// over its rate (performanceLimitExceeded) on the snapshot of a monitor
// just started is asked again, not given up on; a snapshot it refuses
// outright fails the monitor and stops what was started, so that the
// next attempt does not leave a second monitor whose events no one
// claims.
func TestSnapshotBusyIsAskedAgainAndAFailedStartLeavesNoMonitor(t *testing.T) {
	srv := cs.NewServer(t,
		cs.Expect("MonitorStart", nil),
		cs.Reply(&csta.MonitorStartResponse{MonitorCrossRefID: "M1"}),
		cs.Expect("SnapshotDevice", nil),
		cs.Reply(csta.NewError(csta.ErrCatPerformance, "performanceLimitExceeded")),
		cs.Expect("SnapshotDevice", nil),
		cs.Reply(&csta.SnapshotDeviceResponse{}),
		cs.Expect("MonitorStart", nil),
		cs.Reply(&csta.MonitorStartResponse{MonitorCrossRefID: "M2"}),
		cs.Expect("SnapshotDevice", nil),
		cs.Reply(csta.NewError(csta.ErrCatOperation, "invalidDeviceID")),
		cs.Expect("MonitorStop", func(m csta.Message) error {
			if x := m.(*csta.MonitorStop).MonitorCrossRefID; x != "M2" {
				return fmt.Errorf("stopped %q, want the monitor just started, M2", x)
			}
			return nil
		}),
		cs.Reply(&csta.MonitorStopResponse{}),
		cs.Pause(500*time.Millisecond),
	)
	s := newSink()
	a := pbx.New(pbx.Config{Addr: srv.Addr, Liveness: -1}, s)
	defer a.Close()
	s.waitLink(t, true)
	if err := a.Monitor(context.Background(), "1001"); err != nil {
		t.Fatalf("a busy snapshot was not asked again: %v", err)
	}
	if err := a.Monitor(context.Background(), "1002"); gateway.ErrorCode(err) != gateway.CodePBXRefused {
		t.Fatalf("a refused snapshot: %v, want pbx_refused", err)
	}
	if err := srv.Wait(5 * time.Second); err != nil {
		t.Fatal(err)
	}
}
