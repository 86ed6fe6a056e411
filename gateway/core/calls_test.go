package core

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/wire"
)

// A call the switch's snapshot names without its far end (after a gateway
// restart) is restored from the call log, while the switch keeps
// reporting it: the restore and the events must not race.
func TestRestoreWhileTheCallChanges(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	started := time.Now().Add(-time.Minute)
	logged := gateway.Call{ID: "C9", Device: alice.Extension, Direction: gateway.Inbound, State: gateway.CallConnected,
		Remote: "+35722123456", Contact: andreas.Code, Started: started, Answered: started.Add(5 * time.Second)}
	h.db.Log(gateway.LogEntry{Call: logged, Username: alice.Username, Event: gateway.EvAnswered, At: started})
	bare := gateway.Call{ID: "C9", Device: alice.Extension, State: gateway.CallConnected, Started: time.Now()}
	h.sw.Put(bare)
	release := make(chan struct{})
	h.db.BeforeLoggedCall = func(string) { <-release }

	tab := h.dial()
	_, snap := tab.login("alice")
	if len(snap.Calls) != 1 || snap.Calls[0].Remote != "" {
		t.Fatalf("snapshot %+v", snap.Calls)
	}
	held := bare
	held.State = gateway.CallHeld
	// The switch reports it again, still without its far end, from its
	// own goroutine, while the restore is under way.
	go h.svc.CallChanged(held, gateway.EvHeld)
	tab.event(string(gateway.EvHeld), "C9")
	close(release)

	c := tab.event(EventRestored, "C9")
	if c.Remote != logged.Remote || c.Direction != string(gateway.Inbound) || c.Contact != andreas.Code || c.State != string(gateway.CallHeld) {
		t.Fatalf("restored %+v", c)
	}
	if c = tab.event(EventIdentified, "C9"); len(c.Matches) != 1 || c.Matches[0].Contact.Code != andreas.Code {
		t.Fatalf("identified %+v", c)
	}
}

// An inbound call from ring to hang-up: every tab is told each step, the
// caller is identified while it rings and again on answer, and the call
// log holds its timeline.
func TestInboundCallPath(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tab := h.dial()
	tab.login("alice")
	id := h.sw.Ring(alice.Extension, "+35722123456")
	if c := tab.event(string(gateway.EvRang), id); c.State != "ringing" || c.Direction != "inbound" || c.Remote != "+35722123456" {
		t.Fatalf("rang %+v", c)
	}
	c := tab.event(EventIdentified, id)
	if len(c.Matches) != 1 || c.Matches[0].Contact.Code != andreas.Code || c.Matches[0].Number != "+357 22 123456" {
		t.Fatalf("identified %+v", c.Matches)
	}
	tab.ok(wire.TAnswer, ref(id))
	if c := tab.event(string(gateway.EvAnswered), id); c.State != "connected" || len(c.Matches) != 1 {
		t.Fatalf("answered %+v", c)
	}
	tab.event(EventIdentified, id)
	tab.ok(wire.TSelect, wire.Select{CallID: id, Contact: andreas.Code})
	if c := tab.event(string(gateway.EvContact), id); c.Contact != andreas.Code {
		t.Fatalf("contact %+v", c)
	}
	tab.ok(wire.THold, ref(id))
	tab.event(string(gateway.EvHeld), id)
	tab.ok(wire.TRetrieve, ref(id))
	tab.event(string(gateway.EvRetrieved), id)
	tab.ok(wire.THangup, ref(id))
	if c := tab.event(string(gateway.EvEnded), id); c.State != "ended" || c.Contact != andreas.Code {
		t.Fatalf("ended %+v", c)
	}
	var events []gateway.CallEvent
	for _, e := range h.logged(id, 6) {
		events = append(events, e.Event)
	}
	want := []gateway.CallEvent{gateway.EvRang, gateway.EvAnswered, gateway.EvContact, gateway.EvHeld, gateway.EvRetrieved, gateway.EvEnded}
	if len(events) != 6 || !slices.Equal(events, want) {
		t.Fatalf("call log %v, want %v", events, want)
	}
}

// A call placed for a contact carries the contact from its first event,
// even when that event beats MakeCall's return.
func TestCallForAContact(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tab := h.dial()
	tab.login("alice")
	var started wire.CallStarted
	json.Unmarshal(tab.ok(wire.TCall, wire.CallRequest{Number: "22 123456", Contact: andreas.Code}), &started)
	if c := tab.event(string(gateway.EvDialed), started.CallID); c.Contact != andreas.Code || c.Remote != "+35722123456" || c.Direction != "outbound" {
		t.Fatalf("dialed %+v", c)
	}
	if ops := h.sw.Ops(); ops[len(ops)-1] != "call 1001 +35722123456" {
		t.Fatalf("switch asked %v", ops)
	}
	if e := h.logged(started.CallID, 1)[0]; e.Event != gateway.EvDialed || e.Call.Contact != andreas.Code {
		t.Fatalf("logged %+v", e)
	}
	// The next call, for no one, carries no contact.
	h.sw.FarHangup(alice.Extension, started.CallID)
	json.Unmarshal(tab.ok(wire.TCall, wire.CallRequest{Number: "1002"}), &started)
	if c := tab.event(string(gateway.EvDialed), started.CallID); c.Contact != "" {
		t.Fatalf("dialed %+v", c)
	}
}

// A call placed for a contact whose first event comes after MakeCall
// returned carries the contact too.
func TestCallForAContactReportedLater(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.sw.DialedLater = true
	tab := h.dial()
	tab.login("alice")
	var started wire.CallStarted
	json.Unmarshal(tab.ok(wire.TCall, wire.CallRequest{Number: "22 123456", Contact: andreas.Code}), &started)
	h.sw.Report(started.CallID, gateway.EvDialed)
	if c := tab.event(string(gateway.EvDialed), started.CallID); c.Contact != andreas.Code {
		t.Fatalf("dialed %+v", c)
	}
	// Until a call placed is reported, the rules count it: no second call.
	h.sw.FarHangup(alice.Extension, started.CallID)
	tab.event(string(gateway.EvEnded), started.CallID)
	json.Unmarshal(tab.ok(wire.TCall, wire.CallRequest{Number: "1003"}), &started)
	tab.fails(wire.TCall, wire.CallRequest{Number: "1004"}, gateway.CodeOnCall)
}

// The caller can be chosen just after the call ended.
func TestSelectOnARecentlyEndedCall(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tab := h.dial()
	tab.login("alice")
	id := h.connected(alice.Extension, "+35722123456")
	h.sw.FarHangup(alice.Extension, id)
	tab.event(string(gateway.EvEnded), id)
	tab.ok(wire.TSelect, wire.Select{CallID: id, Contact: andreas.Code})
	if c := tab.event(string(gateway.EvContact), id); c.Contact != andreas.Code || c.State != "ended" {
		t.Fatalf("contact %+v", c)
	}
	if e := h.logged(id, 4)[3]; e.Event != gateway.EvContact || e.Detail != andreas.Code {
		t.Fatalf("logged %+v", e)
	}
	tab.fails(wire.TSelect, wire.Select{CallID: "C404", Contact: andreas.Code}, gateway.CodeNoSuchCall)
	tab.fails(wire.TSelect, wire.Select{CallID: id}, gateway.CodeInvalidRequest)
}

// After a gateway restart the switch's snapshot names calls without their
// far end; the call log fills it in.
func TestRestoreAfterResync(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tab := h.dial()
	sess, _ := tab.login("alice")
	id := h.sw.Ring(alice.Extension, "+35722123456")
	tab.ok(wire.TAnswer, ref(id))
	tab.ok(wire.TSelect, wire.Select{CallID: id, Contact: andreas.Code})
	h.logged(id, 3)

	h2 := h.restart()
	h2.sw.Put(gateway.Call{ID: id, Device: alice.Extension, State: gateway.CallConnected, Started: time.Now()}) // what a snapshot knows
	tab = h2.dial()
	tab.ok(wire.TResume, wire.Resume{Token: sess.Token})
	if snap := tab.snapshot(); len(snap.Calls) != 1 || snap.Calls[0].ID != id {
		t.Fatalf("snapshot %+v", snap)
	}
	c := tab.event(EventRestored, id)
	if c.Remote != "+35722123456" || c.Direction != "inbound" || c.Contact != andreas.Code || c.Answered.IsZero() {
		t.Fatalf("restored %+v", c)
	}
	if c := tab.event(EventIdentified, id); len(c.Matches) != 1 {
		t.Fatalf("identified %+v", c)
	}
	// It is hers to control.
	tab.ok(wire.THold, ref(id))
}

// Available/Busy set in the panel or on the phone reaches every tab,
// saying where it was set (R11).
func TestStatus(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tab1, tab2 := h.dial(), h.dial()
	tab1.login("alice")
	tab2.login("alice")
	tab1.ok(wire.TStatus, wire.StatusRequest{Status: "busy"})
	for _, tb := range []*tab{tab1, tab2} {
		if ev := tb.status(); ev.Status != "busy" || ev.Source != "panel" {
			t.Fatalf("status %+v", ev)
		}
	}
	h.svc.StatusChanged(alice.Extension, gateway.StatusAvailable)
	if ev := tab2.status(); ev.Status != "available" || ev.Source != "phone" {
		t.Fatalf("status %+v", ev)
	}
	h.sw.Fail = gateway.Errorf(gateway.CodePBXUnavailable, "down")
	tab1.fails(wire.TStatus, wire.StatusRequest{Status: "busy"}, gateway.CodePBXUnavailable)
}

// The PBX link going down and up reaches every agent.
func TestLinkChanges(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tab := h.dial()
	tab.login("alice")
	h.sw.SetLink(false)
	var l wire.Link
	json.Unmarshal(tab.next("link", func(e wire.Envelope) bool { return e.Type == wire.TLink }).Data, &l)
	if l.PBX != "down" {
		t.Fatalf("link %+v", l)
	}
	if _, snap := h.dial().login("bob"); snap.PBX != "down" {
		t.Fatalf("snapshot %+v", snap)
	}
}

// A tab that stops reading is disconnected; the other tabs go on.
func TestSlowConnectionIsDropped(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.ClientQueue = 4 })
	fast, slow := h.dial(), h.dial()
	fast.login("alice")
	slow.login("alice")
	for range 6 {
		id := h.sw.Ring(alice.Extension, "+35799000001")
		fast.event(string(gateway.EvRang), id)
		h.sw.FarHangup(alice.Extension, id)
		fast.event(string(gateway.EvEnded), id)
	}
	select {
	case <-slow.c.Done():
		if r := slow.c.CloseReason(); r.Code != "too_slow" {
			t.Fatalf("reason %+v", r)
		}
	default:
		t.Fatal("slow tab kept")
	}
}

func TestLookupAndSearch(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tab := h.dial()
	tab.login("alice")
	var lr wire.LookupResult
	json.Unmarshal(tab.ok(wire.TLookup, wire.Lookup{Number: "22123456"}), &lr)
	if len(lr.Matches) != 1 || lr.Matches[0].Contact.Code != andreas.Code {
		t.Fatalf("lookup %+v", lr)
	}
	if b := tab.ok(wire.TLookup, wire.Lookup{Number: "1002"}); string(b) != `{"matches":[]}` {
		t.Fatalf("lookup of an extension: %s", b)
	}
	var sr wire.SearchResult
	json.Unmarshal(tab.ok(wire.TSearch, wire.Search{Query: "constantinou"}), &sr)
	if len(sr.Contacts) != 1 || sr.More {
		t.Fatalf("search %+v", sr)
	}
	h.db.SetDown(true)
	tab.fails(wire.TLookup, wire.Lookup{Number: "22123456"}, gateway.CodeDatabaseDown)
	tab.fails(wire.TRecent, wire.Recent{}, gateway.CodeDatabaseDown)
}

// The panel shows the caller's number as people write it, formatted by
// the gateway (the extension's core carries no libphonenumber); a
// colleague's extension is left as the switch gave it.
func TestCallsCarryTheNumberFormattedForPeople(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tab := h.dial()
	tab.login("alice")
	id := h.sw.Ring(alice.Extension, "+35722123456")
	if c := tab.event(string(gateway.EvRang), id); c.Display != "+357 22 123456" {
		t.Fatalf("display of an outside number: %q", c.Display)
	}
	id = h.sw.Ring(alice.Extension, "1002")
	if c := tab.event(string(gateway.EvRang), id); c.Display != "" || c.Remote != "1002" {
		t.Fatalf("an extension: display %q, remote %q", c.Display, c.Remote)
	}
}
