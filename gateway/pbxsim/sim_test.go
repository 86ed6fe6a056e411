package pbxsim_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"crmcti/gateway/csta"
	"crmcti/gateway/pbxsim"
)

// rig is a simulator on a loopback port and one application link to it.
type rig struct {
	t    *testing.T
	sim  *pbxsim.Sim
	addr string
	conn *csta.Conn
	ev   chan csta.Event
	xref map[string]string // device -> monitor cross-reference
}

func newRig(t *testing.T, cfg pbxsim.Config) *rig {
	t.Helper()
	sim := pbxsim.New(cfg)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go sim.ServeCSTA(l)
	t.Cleanup(func() { sim.Close() })
	r := &rig{t: t, sim: sim, addr: l.Addr().String(), xref: map[string]string{}}
	r.conn, r.ev = r.dial(cfg.Profile)
	return r
}

func (r *rig) dial(p csta.Profile) (*csta.Conn, chan csta.Event) {
	r.t.Helper()
	if p.Name == "" {
		p, _ = csta.LookupProfile("openscape")
	}
	ev := make(chan csta.Event, 1000)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := csta.Dial(ctx, r.addr, csta.Config{Profile: p, OnEvent: func(e csta.Event) { ev <- e }, RequestTimeout: 2 * time.Second})
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { c.Close() })
	return c, ev
}

func (r *rig) monitor(devs ...string) {
	r.t.Helper()
	for _, d := range devs {
		resp, err := csta.Call[*csta.MonitorStartResponse](context.Background(), r.conn, &csta.MonitorStart{MonitorObject: csta.MonitorObject{DeviceObject: csta.DeviceID(d)}})
		if err != nil {
			r.t.Fatal(err)
		}
		r.xref[d] = resp.MonitorCrossRefID
	}
}

func (r *rig) do(req csta.Message) csta.Message {
	r.t.Helper()
	m, err := r.conn.Do(context.Background(), req)
	if err != nil {
		r.t.Fatalf("%s: %v", req.MessageName(), err)
	}
	return m
}

// next returns the next event, which must be named name and be for dev's
// monitor.
func (r *rig) next(dev, name string) csta.Event {
	r.t.Helper()
	select {
	case e := <-r.ev:
		if e.MessageName() != name || e.CrossRefID() != r.xref[dev] {
			r.t.Fatalf("got %s for monitor %s, want %s for %s (monitor %s)", e.MessageName(), e.CrossRefID(), name, dev, r.xref[dev])
		}
		return e
	case <-time.After(3 * time.Second):
		r.t.Fatalf("no %s for %s", name, dev)
	}
	return nil
}

func (r *rig) quiet() {
	r.t.Helper()
	select {
	case e := <-r.ev:
		r.t.Fatalf("unexpected %s (monitor %s)", e.MessageName(), e.CrossRefID())
	case <-time.After(100 * time.Millisecond):
	}
}

func conn(callID, dev string) csta.ConnectionID {
	return csta.ConnectionID{CallID: callID, DeviceID: csta.DeviceID(dev)}
}

func wantCSTAError(t *testing.T, err error, cat, val string) {
	t.Helper()
	if !errors.Is(err, csta.NewError(cat, val)) {
		t.Fatalf("got %v, want CSTAErrorCode %s/%s", err, cat, val)
	}
}

func TestInboundAnswerHoldRetrieveClear(t *testing.T) {
	r := newRig(t, pbxsim.Config{})
	r.monitor("1001", "1002")
	res, err := r.sim.StartInbound("+35722123456", "1001")
	if err != nil || res.Outcome != pbxsim.OutcomeAlerting {
		t.Fatalf("%+v %v", res, err)
	}
	d := r.next("1001", "DeliveredEvent").(*csta.DeliveredEvent)
	if d.Connection != conn(res.CallID, "1001") || d.AlertingDevice != "1001" || d.CalledDevice != "1001" ||
		d.CallingDevice != "N<+35722123456>" || d.CallingDevice.Number() != "+35722123456" || d.LocalConnectionInfo != csta.StateAlerting {
		t.Fatalf("Delivered %+v", d)
	}
	r.do(&csta.AnswerCall{CallToBeAnswered: d.Connection})
	e := r.next("1001", "EstablishedEvent").(*csta.EstablishedEvent)
	if e.EstablishedConnection != d.Connection || e.AnsweringDevice != "1001" || e.LocalConnectionInfo != csta.StateConnected {
		t.Fatalf("Established %+v", e)
	}
	r.do(&csta.HoldCall{CallToBeHeld: d.Connection})
	if h := r.next("1001", "HeldEvent").(*csta.HeldEvent); h.HeldConnection != d.Connection || h.LocalConnectionInfo != csta.StateHold {
		t.Fatalf("Held %+v", h)
	}
	r.do(&csta.RetrieveCall{CallToBeRetrieved: d.Connection})
	if rv := r.next("1001", "RetrievedEvent").(*csta.RetrievedEvent); rv.LocalConnectionInfo != csta.StateConnected {
		t.Fatalf("Retrieved %+v", rv)
	}
	r.do(&csta.ClearConnection{ConnectionToBeCleared: d.Connection})
	if c := r.next("1001", "ConnectionClearedEvent").(*csta.ConnectionClearedEvent); c.DroppedConnection != d.Connection || c.LocalConnectionInfo != csta.StateNull {
		t.Fatalf("Cleared %+v", c)
	}
	// A two-party call ends with it.
	r.next("1001", "CallClearedEvent")
	r.quiet() // 1002 saw nothing of a call it was not in
	if len(r.sim.Calls()) != 0 {
		t.Fatalf("calls left: %+v", r.sim.Calls())
	}
}

func TestAnswerAConnectedCallIsRefused(t *testing.T) {
	r := newRig(t, pbxsim.Config{})
	r.monitor("1001")
	res, _ := r.sim.StartInbound("+35799123456", "1001")
	r.next("1001", "DeliveredEvent")
	r.do(&csta.AnswerCall{CallToBeAnswered: conn(res.CallID, "1001")})
	r.next("1001", "EstablishedEvent")
	_, err := r.conn.Do(context.Background(), &csta.AnswerCall{CallToBeAnswered: conn(res.CallID, "1001")})
	wantCSTAError(t, err, csta.ErrCatStateIncompatibility, "noCallToAnswer")
}

func TestFarEndHangsUp(t *testing.T) {
	r := newRig(t, pbxsim.Config{})
	r.monitor("1001")
	res, _ := r.sim.StartInbound("+35799123456", "1001")
	r.next("1001", "DeliveredEvent")
	r.do(&csta.AnswerCall{CallToBeAnswered: conn(res.CallID, "1001")})
	r.next("1001", "EstablishedEvent")
	if err := r.sim.Hangup(res.CallID, "+35799123456"); err != nil {
		t.Fatal(err)
	}
	c := r.next("1001", "ConnectionClearedEvent").(*csta.ConnectionClearedEvent)
	if c.ReleasingDevice.Number() != "+35799123456" || c.LocalConnectionInfo != csta.StateConnected {
		t.Fatalf("%+v", c)
	}
	if c := r.next("1001", "ConnectionClearedEvent").(*csta.ConnectionClearedEvent); c.DroppedConnection.DeviceID != "1001" {
		t.Fatalf("%+v", c)
	}
	r.next("1001", "CallClearedEvent")
}

func TestMakeCallBetweenExtensions(t *testing.T) {
	r := newRig(t, pbxsim.Config{})
	r.monitor("1001", "1002")
	resp := r.do(&csta.MakeCall{CallingDevice: "1001", CalledDirectoryNumber: "1002", AutoOriginate: "doNotPrompt"}).(*csta.MakeCallResponse)
	id := resp.CallingDevice.CallID
	if resp.CallingDevice.DeviceID != "1001" || id == "" {
		t.Fatalf("%+v", resp)
	}
	if s := r.next("1001", "ServiceInitiatedEvent").(*csta.ServiceInitiatedEvent); s.InitiatedConnection.CallID != id || s.LocalConnectionInfo != csta.StateInitiated {
		t.Fatalf("%+v", s)
	}
	if o := r.next("1001", "OriginatedEvent").(*csta.OriginatedEvent); o.CalledDevice != "1002" || o.LocalConnectionInfo != csta.StateConnected {
		t.Fatalf("%+v", o)
	}
	// Delivered goes to both monitors, each with its own local state.
	if d := r.next("1001", "DeliveredEvent").(*csta.DeliveredEvent); d.AlertingDevice != "1002" || d.LocalConnectionInfo != csta.StateConnected {
		t.Fatalf("%+v", d)
	}
	if d := r.next("1002", "DeliveredEvent").(*csta.DeliveredEvent); d.Connection != conn(id, "1002") || d.CallingDevice != "1001" || d.LocalConnectionInfo != csta.StateAlerting {
		t.Fatalf("%+v", d)
	}
	r.do(&csta.AnswerCall{CallToBeAnswered: conn(id, "1002")})
	r.next("1001", "EstablishedEvent")
	if e := r.next("1002", "EstablishedEvent").(*csta.EstablishedEvent); e.AnsweringDevice != "1002" {
		t.Fatalf("%+v", e)
	}
}

func TestMakeCallToExternalAutoAnswers(t *testing.T) {
	r := newRig(t, pbxsim.Config{AutoAnswer: 50 * time.Millisecond})
	r.monitor("1001")
	resp := r.do(&csta.MakeCall{CallingDevice: "1001", CalledDirectoryNumber: "+35722123456"}).(*csta.MakeCallResponse)
	r.next("1001", "ServiceInitiatedEvent")
	r.next("1001", "OriginatedEvent")
	r.next("1001", "DeliveredEvent")
	e := r.next("1001", "EstablishedEvent").(*csta.EstablishedEvent)
	if e.EstablishedConnection.CallID != resp.CallingDevice.CallID || e.AnsweringDevice.Number() != "+35722123456" {
		t.Fatalf("%+v", e)
	}
}

func TestDoNotDisturbRefusesInboundCall(t *testing.T) {
	r := newRig(t, pbxsim.Config{})
	r.monitor("1002")
	r.do(&csta.SetDoNotDisturb{Device: "1002", DoNotDisturbOn: true})
	if e := r.next("1002", "DoNotDisturbEvent").(*csta.DoNotDisturbEvent); !e.DoNotDisturbOn || e.Device != "1002" {
		t.Fatalf("%+v", e)
	}
	res, err := r.sim.StartInbound("+35722123456", "1002")
	if err != nil || res.Outcome != pbxsim.OutcomeFailed {
		t.Fatalf("%+v %v", res, err)
	}
	// The refused phone's monitor is told, with who called and why, so
	// that the agent's panel can list the call.
	f := r.next("1002", "FailedEvent").(*csta.FailedEvent)
	if f.FailingDevice != "1002" || f.Cause != "doNotDisturb" || !strings.Contains(string(f.CallingDevice), "35722123456") {
		t.Fatalf("%+v", f)
	}
	r.quiet()
	d, _ := r.sim.Device("1002")
	if !d.DoNotDisturb || len(d.Calls) != 0 {
		t.Fatalf("%+v", d)
	}
}

func TestUnavailableDeviceDivertsWhenConfigured(t *testing.T) {
	r := newRig(t, pbxsim.Config{DivertTo: "1099"})
	r.monitor("1002", "1099")
	r.sim.SetAgentState("1002", csta.AgentNotReady)
	r.next("1002", "AgentNotReadyEvent")
	res, _ := r.sim.StartInbound("+35722123456", "1002")
	if res.Outcome != pbxsim.OutcomeDiverted || res.Device != "1099" {
		t.Fatalf("%+v", res)
	}
	if d := r.next("1002", "DivertedEvent").(*csta.DivertedEvent); d.NewDestination != "1099" || d.Cause != "busy" {
		t.Fatalf("%+v", d)
	}
	if d := r.next("1099", "DeliveredEvent").(*csta.DeliveredEvent); d.LastRedirectionDevice != "1002" {
		t.Fatalf("%+v", d)
	}
}

func TestMakeCallToDNDDeviceFails(t *testing.T) {
	r := newRig(t, pbxsim.Config{})
	r.monitor("1001")
	r.sim.SetDoNotDisturb("1002", true)
	r.do(&csta.MakeCall{CallingDevice: "1001", CalledDirectoryNumber: "1002"})
	r.next("1001", "ServiceInitiatedEvent")
	r.next("1001", "OriginatedEvent")
	f := r.next("1001", "FailedEvent").(*csta.FailedEvent)
	if f.FailingDevice != "1002" || f.LocalConnectionInfo != csta.StateFail || f.Cause != "doNotDisturb" {
		t.Fatalf("%+v", f)
	}
	r.do(&csta.ClearConnection{ConnectionToBeCleared: f.FailedConnection.WithDevice("1001")})
	r.next("1001", "ConnectionClearedEvent")
}

func TestAgentStateAndGetAgentState(t *testing.T) {
	r := newRig(t, pbxsim.Config{})
	r.monitor("1001")
	r.do(&csta.SetAgentState{Device: "1001", RequestedAgentState: csta.AgentNotReady, AgentID: "alice"})
	if e := r.next("1001", "AgentNotReadyEvent").(*csta.AgentNotReadyEvent); e.AgentID != "alice" || e.AgentDevice != "1001" {
		t.Fatalf("%+v", e)
	}
	g := r.do(&csta.GetAgentState{Device: "1001"}).(*csta.GetAgentStateResponse)
	if len(g.AgentStateList.Entries) != 1 || g.AgentStateList.Entries[0].AgentState != csta.AgentStateNotReady {
		t.Fatalf("%+v", g)
	}
	// Changed on the phone: the application hears of it.
	r.sim.SetAgentState("1001", csta.AgentReady)
	r.next("1001", "AgentReadyEvent")
	_, err := r.conn.Do(context.Background(), &csta.SetAgentState{Device: "1001", RequestedAgentState: "dancing"})
	wantCSTAError(t, err, csta.ErrCatOperation, "valueOutOfRange")
}

func TestSnapshotDevice(t *testing.T) {
	r := newRig(t, pbxsim.Config{})
	a, _ := r.sim.StartInbound("+35722000001", "1001")
	b, _ := r.sim.StartInbound("+35722000002", "1001")
	r.sim.Answer(a.CallID, "1001")
	r.sim.Hold(a.CallID, "1001")
	s := r.do(&csta.SnapshotDevice{SnapshotObject: "1001"}).(*csta.SnapshotDeviceResponse)
	got := map[string]string{}
	for _, c := range s.Calls() {
		got[c.ConnectionIdentifier.CallID] = c.LocalCallState.CompoundCallState.LocalConnectionState
	}
	if len(got) != 2 || got[a.CallID] != csta.StateHold || got[b.CallID] != csta.StateAlerting {
		t.Fatalf("snapshot %+v", got)
	}
	empty := r.do(&csta.SnapshotDevice{SnapshotObject: "1050"}).(*csta.SnapshotDeviceResponse)
	if len(empty.Calls()) != 0 {
		t.Fatalf("%+v", empty)
	}
}

func TestServiceErrors(t *testing.T) {
	r := newRig(t, pbxsim.Config{})
	r.monitor("1001")
	res, _ := r.sim.StartInbound("+35722123456", "1001")
	r.next("1001", "DeliveredEvent")
	ctx := context.Background()
	cases := []struct {
		req      csta.Message
		cat, val string
	}{
		{&csta.HoldCall{CallToBeHeld: conn(res.CallID, "1001")}, csta.ErrCatStateIncompatibility, "noActiveCall"},
		{&csta.RetrieveCall{CallToBeRetrieved: conn(res.CallID, "1001")}, csta.ErrCatStateIncompatibility, "noHeldCall"},
		{&csta.AnswerCall{CallToBeAnswered: conn("NOPE", "1001")}, csta.ErrCatOperation, "invalidCallID"},
		{&csta.AnswerCall{CallToBeAnswered: conn(res.CallID, "1002")}, csta.ErrCatOperation, "invalidConnectionID"},
		{&csta.MonitorStart{MonitorObject: csta.MonitorObject{DeviceObject: "5555"}}, csta.ErrCatOperation, "invalidDeviceID"},
		{&csta.MonitorStop{MonitorCrossRefID: "0"}, csta.ErrCatOperation, "invalidCrossRefID"},
		{&csta.MakeCall{CallingDevice: "+35722123456", CalledDirectoryNumber: "1001"}, csta.ErrCatOperation, "invalidCallingDevice"},
		{&csta.SetDoNotDisturb{Device: "9999999"}, csta.ErrCatOperation, "invalidDeviceID"},
		{&csta.GenerateDigits{ConnectionToSendDigits: conn(res.CallID, "1001"), CharactersToSend: "1"}, csta.ErrCatStateIncompatibility, "noActiveCall"},
	}
	for _, c := range cases {
		_, err := r.conn.Do(ctx, c.req)
		wantCSTAError(t, err, c.cat, c.val)
	}
	r.quiet() // refused services change nothing
}

func TestSingleStepTransfer(t *testing.T) {
	r := newRig(t, pbxsim.Config{})
	r.monitor("1001", "1002")
	res, _ := r.sim.StartInbound("+35722123456", "1001")
	r.next("1001", "DeliveredEvent")
	r.do(&csta.AnswerCall{CallToBeAnswered: conn(res.CallID, "1001")})
	r.next("1001", "EstablishedEvent")
	resp := r.do(&csta.SingleStepTransferCall{ActiveCall: conn(res.CallID, "1001"), TransferredTo: "1002"}).(*csta.SingleStepTransferCallResponse)
	if resp.TransferredCall.DeviceID != "1002" {
		t.Fatalf("%+v", resp)
	}
	if tr := r.next("1001", "TransferedEvent").(*csta.TransferedEvent); tr.TransferredToDevice != "1002" || tr.LocalConnectionInfo != csta.StateNull {
		t.Fatalf("%+v", tr)
	}
	d := r.next("1002", "DeliveredEvent").(*csta.DeliveredEvent)
	if d.CallingDevice.Number() != "+35722123456" || d.LastRedirectionDevice != "1001" {
		t.Fatalf("%+v", d)
	}
}

func TestConsultationTransferAndConference(t *testing.T) {
	for _, mode := range []string{"transfer", "conference"} {
		t.Run(mode, func(t *testing.T) {
			r := newRig(t, pbxsim.Config{})
			r.monitor("1001", "1002")
			res, _ := r.sim.StartInbound("+35722123456", "1001")
			r.next("1001", "DeliveredEvent")
			r.do(&csta.AnswerCall{CallToBeAnswered: conn(res.CallID, "1001")})
			r.next("1001", "EstablishedEvent")
			cons := r.do(&csta.ConsultationCall{ExistingCall: conn(res.CallID, "1001"), ConsultedDevice: "1002"}).(*csta.ConsultationCallResponse)
			r.next("1001", "HeldEvent")
			r.next("1001", "ServiceInitiatedEvent")
			r.next("1001", "OriginatedEvent")
			r.next("1001", "DeliveredEvent")
			r.next("1002", "DeliveredEvent")
			r.do(&csta.AnswerCall{CallToBeAnswered: conn(cons.InitiatedCall.CallID, "1002")})
			r.next("1001", "EstablishedEvent")
			r.next("1002", "EstablishedEvent")
			if mode == "transfer" {
				r.do(&csta.TransferCall{HeldCall: conn(res.CallID, "1001"), ActiveCall: cons.InitiatedCall})
				a := r.next("1001", "TransferedEvent").(*csta.TransferedEvent)
				b := r.next("1002", "TransferedEvent").(*csta.TransferedEvent)
				if a.LocalConnectionInfo != csta.StateNull || b.LocalConnectionInfo != csta.StateConnected || len(b.TransferredConnections.Items) != 1 {
					t.Fatalf("%+v / %+v", a, b)
				}
				calls := r.sim.Calls()
				if len(calls) != 1 || len(calls[0].Connections) != 2 {
					t.Fatalf("%+v", calls)
				}
				return
			}
			r.do(&csta.ConferenceCall{HeldCall: conn(res.CallID, "1001"), ActiveCall: cons.InitiatedCall})
			c := r.next("1001", "ConferencedEvent").(*csta.ConferencedEvent)
			r.next("1002", "ConferencedEvent")
			if c.AddedParty != "1002" || c.LocalConnectionInfo != csta.StateConnected {
				t.Fatalf("%+v", c)
			}
			// The agent leaves; the customer and 1002 stay connected.
			r.do(&csta.ClearConnection{ConnectionToBeCleared: conn(res.CallID, "1001")})
			r.next("1001", "ConnectionClearedEvent")
			r.next("1002", "ConnectionClearedEvent")
			if calls := r.sim.Calls(); len(calls) != 1 {
				t.Fatalf("%+v", calls)
			}
		})
	}
}

func TestSeveralLinksEachGetEvents(t *testing.T) {
	r := newRig(t, pbxsim.Config{})
	r.monitor("1001")
	c2, ev2 := r.dial(csta.Profile{})
	m, err := csta.Call[*csta.MonitorStartResponse](context.Background(), c2, &csta.MonitorStart{MonitorObject: csta.MonitorObject{DeviceObject: "1001"}})
	if err != nil || m.MonitorCrossRefID == r.xref["1001"] {
		t.Fatalf("%+v %v", m, err)
	}
	r.sim.StartInbound("+35722123456", "1001")
	r.next("1001", "DeliveredEvent")
	select {
	case e := <-ev2:
		if e.CrossRefID() != m.MonitorCrossRefID {
			t.Fatalf("second link got xref %s", e.CrossRefID())
		}
	case <-time.After(2 * time.Second):
		t.Fatal("second link got nothing")
	}
}

func TestFaults(t *testing.T) {
	t.Run("drop-link", func(t *testing.T) {
		r := newRig(t, pbxsim.Config{})
		r.sim.InjectFault(pbxsim.FaultDropLink, 0)
		select {
		case <-r.conn.Done():
		case <-time.After(3 * time.Second):
			t.Fatal("link not dropped")
		}
	})
	t.Run("malformed-frame", func(t *testing.T) {
		r := newRig(t, pbxsim.Config{})
		r.sim.InjectFault(pbxsim.FaultMalformedFrame, 0)
		<-r.conn.Done()
		var fe *csta.FrameError
		if !errors.As(r.conn.Err(), &fe) {
			t.Fatalf("Err %v", r.conn.Err())
		}
	})
	t.Run("malformed-xml", func(t *testing.T) {
		r := newRig(t, pbxsim.Config{})
		r.sim.InjectFault(pbxsim.FaultMalformedXML, 0)
		r.monitor("1001") // the link survives a bad body
		if r.conn.Stats().Malformed != 1 {
			t.Fatalf("%+v", r.conn.Stats())
		}
	})
	t.Run("stall", func(t *testing.T) {
		r := newRig(t, pbxsim.Config{})
		r.sim.InjectFault(pbxsim.FaultStall, 0)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if _, err := r.conn.Do(ctx, &csta.GetAgentState{Device: "1001"}); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("stalled switch answered: %v", err)
		}
		r.sim.InjectFault(pbxsim.FaultClear, 0)
		r.do(&csta.GetAgentState{Device: "1001"})
	})
}

func TestECMA354Session(t *testing.T) {
	p, _ := csta.LookupProfile("ecma354")
	r := newRig(t, pbxsim.Config{Profile: p})
	r.monitor("1001")
	if r.conn.Namespace() != csta.NamespaceEd5 {
		t.Errorf("namespace %s", r.conn.Namespace())
	}
	// An application that skips the session is refused.
	raw, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	body, _ := csta.Encode(&csta.MonitorStart{MonitorObject: csta.MonitorObject{DeviceObject: "1001"}}, csta.NamespaceEd5)
	csta.WriteFrame(raw, 17, body)
	f, err := csta.ReadFrame(raw, 0)
	if err != nil {
		t.Fatal(err)
	}
	m, _, _ := csta.Decode(f.Body)
	if _, ok := m.(*csta.CSTAErrorCode); !ok || f.InvokeID != 17 {
		t.Fatalf("got %s id %d", m.MessageName(), f.InvokeID)
	}
}

func TestOpenScapeHeartbeat(t *testing.T) {
	r := newRig(t, pbxsim.Config{Heartbeat: 50 * time.Millisecond})
	deadline := time.Now().Add(3 * time.Second)
	for r.conn.Stats().HeartbeatsAnswered < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("heartbeats answered: %d", r.conn.Stats().HeartbeatsAnswered)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCloseIsIdempotentAndDropsLinks(t *testing.T) {
	r := newRig(t, pbxsim.Config{})
	r.sim.Close()
	r.sim.Close()
	<-r.conn.Done()
	if _, err := r.sim.StartInbound("+1", "1001"); err == nil {
		t.Fatal("closed simulator started a call")
	}
}

var _ = fmt.Sprint
