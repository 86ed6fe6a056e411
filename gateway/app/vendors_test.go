package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"crmcti/gateway/csta"
	"crmcti/gateway/csta/cstatest"
	"crmcti/gateway/gatewaytest"
	"crmcti/gateway/pbxsim"
	"crmcti/gateway/postgres"
	"crmcti/gateway/wire"
)

// caller is a demo customer's number: two contacts have it.
const caller = "+35722123456"

// TestVendors runs what an agent does in a day through the
// real gateway against pbxsim playing each switch as that switch names
// devices and opens its link, with the gateway set up as a deployment
// for that switch would be (issue 10): a call that rings and is
// identified, answer, hold, retrieve, DTMF, blind transfer, consultation
// then transfer, consultation then conference, Busy, hang up, the call
// log, and the resynchronisation after a link outage. One PostgreSQL and
// one slapd serve every vendor, each with its own database.
func TestVendors(t *testing.T) {
	stack := gatewaytest.StartStack(t)
	t.Run("unattributed", func(t *testing.T) { testUnattributedEventIsCounted(t, stack) })
	for _, vendor := range []string{pbxsim.VendorDefault, pbxsim.VendorOpenScape, pbxsim.VendorAvaya,
		pbxsim.VendorECMA354, pbxsim.VendorNone, "alcatel-oxo"} {
		t.Run(vendor, func(t *testing.T) {
			sys, relay := stack.StartVendor(t, vendor, gatewaytest.Options{})
			v := &vendorRun{t: t, sys: sys, relay: relay}
			v.alice = gatewaytest.Dial(t, sys.URL())
			v.alice.Login("alice", "demo")
			v.bob = gatewaytest.Dial(t, sys.URL())
			v.bob.Login("bob", "demo")
			v.carol = gatewaytest.Dial(t, sys.URL())
			v.carol.Login("carol", "demo")

			v.ringAnswerHoldDigitsHangup()
			v.dialOut()
			v.blindTransfer()
			v.consultThen(wire.TComplete)
			v.consultThen(wire.TConfer)
			v.busy()
			v.resyncAfterOutage()
			v.logoutReleasesThePhone()
		})
	}
}

// testUnattributedEventIsCounted: a switch names the ringing phone in a
// form the gateway does not take for the agent's (here a device it never
// monitored). The call cannot ring anyone, but it must show in /metrics,
// not vanish; the next call that names the phone rings as usual.
func testUnattributedEventIsCounted(t *testing.T, stack *gatewaytest.Stack) {
	delivered := func(callID, dev string) *csta.DeliveredEvent {
		return &csta.DeliveredEvent{EventHeader: csta.EventHeader{MonitorCrossRefID: "7"},
			Connection: csta.ConnectionID{CallID: callID, DeviceID: csta.DeviceID(dev)}, AlertingDevice: csta.DeviceID(dev),
			CallingDevice: caller, CalledDevice: csta.DeviceID(dev), LocalConnectionInfo: csta.StateAlerting, Cause: "newCall"}
	}
	sw := cstatest.NewServer(t,
		cstatest.Expect("MonitorStart", nil), cstatest.Reply(&csta.MonitorStartResponse{MonitorCrossRefID: "7"}),
		cstatest.Expect("SnapshotDevice", nil), cstatest.Reply(&csta.SnapshotDeviceResponse{}),
		cstatest.Send(csta.EventInvokeID, delivered("C1", "4711")),
		cstatest.Send(csta.EventInvokeID, delivered("C2", "1001")))
	sys := stack.StartAt(t, sw.Addr, pbxsim.VendorNone, gatewaytest.Options{})
	alice := gatewaytest.Dial(t, sys.URL())
	alice.Login("alice", "demo")
	if c := alice.CallEvent("rang"); c.Call.ID != "C2" {
		t.Fatalf("rang %+v: a call on another device reached alice", c.Call)
	}
	want := `crmcti_pbx_unattributed_events_total{event="DeliveredEvent"} 1`
	if m := metrics(t, sys); !strings.Contains(m, want) {
		t.Fatalf("metrics lack %s:\n%s", want, grepLines(m, "unattributed"))
	}
}

func metrics(t *testing.T, sys *gatewaytest.System) string {
	t.Helper()
	res, err := http.Get("http://" + sys.App.Addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// vendorRun is one vendor's system with alice (1001), bob (1002) and
// carol (1003) logged in.
type vendorRun struct {
	t                 *testing.T
	sys               *gatewaytest.System
	relay             *gatewaytest.Relay
	alice, bob, carol *gatewaytest.Client
}

// ring starts a call from the demo customer to ext and checks that the
// agent's panel rings with the caller identified while it rings.
func (v *vendorRun) ring(agent *gatewaytest.Client, ext string) string {
	v.t.Helper()
	res, err := v.sys.Sim.StartInbound(caller, ext)
	if err != nil || res.Outcome != pbxsim.OutcomeAlerting {
		v.t.Fatalf("inbound call: %+v %v", res, err)
	}
	v.rang(agent, res.CallID, ext)
	return res.CallID
}

// rang checks that the agent's panel rings with call id on ext and
// identifies the demo customer while it rings.
func (v *vendorRun) rang(agent *gatewaytest.Client, callID, ext string) {
	v.t.Helper()
	rang := event(agent, "rang", callID)
	if rang.Call.ID != callID || rang.Call.State != "ringing" || rang.Call.Remote != caller || rang.Call.Device != ext {
		v.t.Fatalf("rang %+v, want call %s from %s on %s", rang.Call, callID, caller, ext)
	}
	id := event(agent, "identified", callID)
	if id.Call.ID != callID || id.Call.State != "ringing" || len(id.Call.Matches) != 2 ||
		id.Call.Matches[0].Contact.Code != "C000001" || id.Call.Matches[1].Contact.Code != "C000002" {
		v.t.Fatalf("identified while ringing: %+v", id.Call)
	}
}

func (v *vendorRun) answer(agent *gatewaytest.Client, id string) {
	v.t.Helper()
	agent.Do(wire.TAnswer, wire.CallRef{CallID: id}, nil)
	if c := event(agent, "answered", id); c.Call.ID != id || c.Call.State != "connected" {
		v.t.Fatalf("answered %+v", c.Call)
	}
}

func (v *vendorRun) ringAnswerHoldDigitsHangup() {
	v.t.Helper()
	id := v.ring(v.alice, "1001")
	v.answer(v.alice, id)
	ref := wire.CallRef{CallID: id}
	v.alice.Do(wire.THold, ref, nil)
	if c := event(v.alice, "held", id); c.Call.State != "held" {
		v.t.Fatalf("held %+v", c.Call)
	}
	if d, _ := v.sys.Sim.Device("1001"); len(d.Calls) != 1 || d.Calls[0].State != "hold" {
		v.t.Fatalf("the switch's view of the hold: %+v", d)
	}
	v.alice.Do(wire.TRetrieve, ref, nil)
	if c := event(v.alice, "retrieved", id); c.Call.State != "connected" {
		v.t.Fatalf("retrieved %+v", c.Call)
	}
	v.alice.Do(wire.TDigits, wire.Digits{CallID: id, Digits: "1234#"}, nil)
	v.alice.Do(wire.THangup, ref, nil)
	if c := event(v.alice, "ended", id); c.Call.State != "ended" || c.Call.Ended.IsZero() {
		v.t.Fatalf("ended %+v", c.Call)
	}
	if calls := v.sys.Sim.Calls(); len(calls) != 0 {
		v.t.Fatalf("the switch still has %+v", calls)
	}
	r := v.callLog(id, "alice", "rang", "answered", "held", "retrieved", "ended")
	if r.Remote != caller || r.Answered.IsZero() || r.Ended.IsZero() || r.Direction != "inbound" {
		v.t.Fatalf("call log row %+v", r)
	}
}

// dialOut: alice calls a customer from the panel; the far end answers
// and hangs up.
func (v *vendorRun) dialOut() {
	v.t.Helper()
	var started wire.CallStarted
	v.alice.Do(wire.TCall, wire.CallRequest{Number: "99 123456", Contact: "C000001"}, &started)
	dialed := event(v.alice, "dialed", started.CallID)
	if dialed.Call.ID != started.CallID || dialed.Call.Remote != "+35799123456" || dialed.Call.Direction != "outbound" {
		v.t.Fatalf("dialed %+v", dialed.Call)
	}
	if err := v.sys.Sim.Answer(started.CallID, "+35799123456"); err != nil {
		v.t.Fatal(err)
	}
	if c := event(v.alice, "answered", started.CallID); c.Call.ID != started.CallID || c.Call.State != "connected" {
		v.t.Fatalf("answered %+v", c.Call)
	}
	if err := v.sys.Sim.Hangup(started.CallID, "+35799123456"); err != nil {
		v.t.Fatal(err)
	}
	event(v.alice, "ended", started.CallID)
	r := v.callLog(started.CallID, "alice", "dialed", "answered", "ended")
	if r.Contact != "C000001" || r.Remote != "+35799123456" || r.Direction != "outbound" {
		v.t.Fatalf("call log row %+v", r)
	}
}

// blindTransfer: alice hands the caller to carol (1003) without asking.
func (v *vendorRun) blindTransfer() {
	v.t.Helper()
	id := v.ring(v.alice, "1001")
	v.answer(v.alice, id)
	v.alice.Do(wire.TTransfer, wire.Transfer{CallID: id, To: "1003"}, nil)
	if c := event(v.alice, "transferred", id); c.Call.State != "ended" {
		v.t.Fatalf("alice after the transfer: %+v", c.Call)
	}
	v.rang(v.carol, id, "1003")
	v.answer(v.carol, id)
	if err := v.sys.Sim.Hangup(id, caller); err != nil {
		v.t.Fatal(err)
	}
	event(v.carol, "ended", id)
	v.callLog(id, "alice", "rang", "answered", "transferred")
	v.callLog(id, "carol", "rang", "answered", "ended")
}

// consultThen: alice consults bob, then transfers the caller to him
// (complete) or joins all three (conference).
func (v *vendorRun) consultThen(mode string) {
	v.t.Helper()
	id := v.ring(v.alice, "1001")
	v.answer(v.alice, id)
	var consult wire.CallStarted
	v.alice.Do(wire.TConsult, wire.Transfer{CallID: id, To: "1002"}, &consult)
	event(v.alice, "held", id)
	rang := event(v.bob, "rang", consult.CallID)
	if rang.Call.ID != consult.CallID || rang.Call.Remote == "" {
		v.t.Fatalf("bob sees %+v, consultation %s", rang.Call, consult.CallID)
	}
	v.answer(v.bob, consult.CallID)
	event(v.alice, "answered", consult.CallID)
	v.alice.Do(mode, wire.Join{CallID: id, With: consult.CallID}, nil)
	if mode == wire.TComplete {
		event(v.alice, "transferred", id)
		if tr := event(v.bob, "transferred", consult.CallID); tr.Call.Remote != caller {
			v.t.Fatalf("bob's far end after the transfer: %+v", tr.Call)
		}
		if calls := v.sys.Sim.Calls(); len(calls) != 1 || len(calls[0].Connections) != 2 {
			v.t.Fatalf("the switch after the transfer: %+v", calls)
		}
		v.bob.Do(wire.THangup, wire.CallRef{CallID: consult.CallID}, nil)
		event(v.bob, "ended", consult.CallID)
		v.callLog(id, "alice", "rang", "answered", "held", "transferred")
		return
	}
	if c := event(v.alice, "conferenced", id); c.Call.State != "connected" {
		v.t.Fatalf("alice after the conference: %+v", c.Call)
	}
	if calls := v.sys.Sim.Calls(); len(calls) != 1 || len(calls[0].Connections) != 3 {
		v.t.Fatalf("the switch after the conference: %+v", calls)
	}
	// Bob is still talking, now in the caller's call.
	for seen := map[string]string{}; len(seen) < 2; {
		c := v.bob.CallEvent("conferenced")
		seen[c.Call.ID] = c.Call.State
		if c.Call.ID == id && c.Call.State != "connected" || c.Call.ID == consult.CallID && c.Call.State != "ended" {
			v.t.Fatalf("bob after the conference: %+v", c.Call)
		}
	}
	v.alice.Do(wire.THangup, wire.CallRef{CallID: id}, nil)
	event(v.alice, "ended", id)
	if err := v.sys.Sim.Hangup(id, caller); err != nil {
		v.t.Fatal(err)
	}
	if c := event(v.bob, "ended", id); c.Call.ID != id {
		v.t.Fatalf("bob's end of the conference: %+v", c.Call)
	}
	v.callLog(id, "alice", "rang", "answered", "held", "conferenced", "ended")
}

// busy: Busy reaches the phone, a caller is then refused without the
// panel ringing, and the phone's own change shows in the panel.
func (v *vendorRun) busy() {
	v.t.Helper()
	v.alice.Do(wire.TStatus, wire.StatusRequest{Status: "busy"}, nil)
	if d, _ := v.sys.Sim.Device("1001"); !d.DoNotDisturb {
		v.t.Fatalf("busy did not reach the switch: %+v", d)
	}
	v.status(v.alice, "busy", "panel")
	refused, err := v.sys.Sim.StartInbound(caller, "1001")
	if err != nil || refused.Outcome != pbxsim.OutcomeFailed {
		v.t.Fatalf("a call to a busy agent: %+v %v", refused, err)
	}
	v.sys.Sim.SetDoNotDisturb("1001", false)
	v.status(v.alice, "available", "phone")
	// The refused call never rang: the next call is the first the panel sees.
	id := v.ring(v.alice, "1001")
	if id == refused.CallID {
		v.t.Fatal("the refused call's ID came back")
	}
	v.alice.Do(wire.THangup, wire.CallRef{CallID: id}, nil)
	event(v.alice, "ended", id)
}

func (v *vendorRun) status(c *gatewaytest.Client, status, source string) {
	v.t.Helper()
	var st wire.StatusEvent
	json.Unmarshal(c.Next(wire.TStatusEv).Data, &st)
	if st.Status != status || st.Source != source {
		v.t.Fatalf("status %+v, want %s from the %s", st, status, source)
	}
}

// resyncAfterOutage: while the link is cut, the caller of a ringing
// call gives up and another caller rings; once it is back the panel
// shows the first ended and the second ringing.
func (v *vendorRun) resyncAfterOutage() {
	v.t.Helper()
	gone := v.ring(v.alice, "1001")
	v.relay.Cut()
	v.link(v.alice, "down")
	if err := v.sys.Sim.Hangup(gone, caller); err != nil {
		v.t.Fatal(err)
	}
	fresh, err := v.sys.Sim.StartInbound("+35799000001", "1001")
	if err != nil || fresh.Outcome != pbxsim.OutcomeAlerting {
		v.t.Fatalf("%+v %v", fresh, err)
	}
	v.relay.Mend()
	v.link(v.alice, "up")
	seen := map[string]wire.CallEvent{}
	for seen[gone].Event == "" || seen[fresh.CallID].Event == "" {
		var ce wire.CallEvent
		json.Unmarshal(v.alice.Next(wire.TCallEvent).Data, &ce)
		if _, dup := seen[ce.Call.ID]; !dup {
			seen[ce.Call.ID] = ce // the first word on each call after the outage
		}
	}
	if e := seen[gone]; e.Event != "ended" || e.Call.State != "ended" {
		v.t.Fatalf("the call that ended during the outage: %+v", e)
	}
	if e := seen[fresh.CallID]; e.Event != "rang" || e.Call.State != "ringing" {
		v.t.Fatalf("the call that began during the outage: %+v", e)
	}
	// Control works on the call found by the resync.
	v.answer(v.alice, fresh.CallID)
	v.alice.Do(wire.THangup, wire.CallRef{CallID: fresh.CallID}, nil)
	event(v.alice, "ended", fresh.CallID)
}

// logoutReleasesThePhone: the last agent on a phone logs out and the
// switch stops reporting it (on Avaya the device ID is given back too).
func (v *vendorRun) logoutReleasesThePhone() {
	v.t.Helper()
	v.alice.Do(wire.TLogout, struct{}{}, nil)
	// 15 s, not 5: under a loaded CI machine (the e2e suite's Chromium
	// beside this test, -race) the 5 s once ran out. A monitor left for
	// good still fails here; the message says how many remain.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		d, _ := v.sys.Sim.Device("1001")
		if d.Monitors == 0 {
			return
		}
		if time.Now().After(deadline) {
			v.t.Fatalf("the logged-out agent's phone is still monitored (%d monitors on the switch)", d.Monitors)
		}
	}
}

// event waits for the agent's call event ev on call id, passing over
// other calls' events (a late identification of the call before).
func event(c *gatewaytest.Client, ev, id string) wire.CallEvent {
	for {
		if ce := c.CallEvent(ev); ce.Call.ID == id {
			return ce
		}
	}
}

func (v *vendorRun) link(c *gatewaytest.Client, want string) {
	v.t.Helper()
	var l wire.Link
	json.Unmarshal(c.Next(wire.TLink).Data, &l)
	if l.PBX != want {
		v.t.Fatalf("link %+v, want %s", l, want)
	}
}

// callLog waits for the agent's row of the call in PostgreSQL to have
// the timeline want, and returns it.
func (v *vendorRun) callLog(callID, user string, want ...string) postgres.CallLogRow {
	v.t.Helper()
	var got []string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		rows, err := v.sys.App.DB.CallLog(context.Background(), callID)
		if err != nil {
			continue
		}
		for _, r := range rows {
			if r.Username != user {
				continue
			}
			got = got[:0]
			for _, s := range r.Timeline {
				got = append(got, string(s.Event))
			}
			if slices.Equal(got, want) {
				return r
			}
		}
	}
	v.t.Fatalf("call log of %s for %s: timeline %v, want %v", callID, user, got, want)
	return postgres.CallLogRow{}
}
