package core

import (
	"encoding/json"
	"testing"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/wire"
)

// A call from a colleague's extension carries her name from the
// directory, looked up once for a while; an admin's extension override
// counts, both ways.
func TestColleagueNamed(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	carol := gateway.Agent{Username: "carol", DisplayName: "Carol Christou", Extension: "2003"}
	h.dir.Add(carol, "pw")
	h.db.SetOverride("carol", gateway.AgentOverride{Extension: "1003"})
	tab := h.dial()
	tab.login("alice")

	id := h.sw.Ring(alice.Extension, bob.Extension)
	if c := tab.event(EventIdentified, id); c.RemoteName != "Bob" {
		t.Fatalf("call from bob %+v", c)
	}
	lookups := h.dir.Lookups()
	tab.ok(wire.THangup, ref(id))
	if c := tab.event(string(gateway.EvEnded), id); c.RemoteName != "Bob" {
		t.Fatalf("ended call lost the name: %+v", c)
	}
	id = h.sw.Ring(alice.Extension, bob.Extension)
	tab.event(string(gateway.EvRang), id)
	id2 := h.sw.Ring(alice.Extension, "1003")
	if c := tab.event(EventIdentified, id2); c.RemoteName != "Carol Christou" {
		t.Fatalf("call from carol's overridden extension %+v", c)
	}
	if n := h.dir.Lookups(); n != lookups+1 {
		t.Fatalf("%d directory lookups for a cached name and a new one", n-lookups)
	}
	// Her directory extension is not hers any more.
	id3 := h.sw.Ring(alice.Extension, "2003")
	tab.event(string(gateway.EvRang), id3)
	var recent wire.RecentResult
	h.eventually("calls logged", func() bool { return len(h.db.CallLogEntries()) >= 5 })
	json.Unmarshal(tab.ok(wire.TRecent, wire.Recent{}), &recent)
	names := map[string]string{}
	for _, c := range recent.Calls {
		names[c.Remote] = c.RemoteName
	}
	if names["1002"] != "Bob" || names["1003"] != "Carol Christou" || names["2003"] != "" {
		t.Fatalf("recent names %v", names)
	}
}

// A call the switch refused while the agent was Busy reaches her tabs
// and the call log, though it never rang.
func TestRefusedCallReachesPanelAndLog(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tab := h.dial()
	tab.login("alice")
	now := time.Now()
	refused := gateway.Call{ID: "R1", Device: alice.Extension, Direction: gateway.Inbound, State: gateway.CallFailed,
		Remote: "+35722123456", Started: now, Ended: now, Cause: "doNotDisturb"}
	h.svc.CallChanged(refused, gateway.EvFailed)
	if c := tab.event(string(gateway.EvFailed), "R1"); c.State != "failed" || c.Remote != "+35722123456" || c.Cause != "doNotDisturb" {
		t.Fatalf("event %+v", c)
	}
	if e := h.logged("R1", 1); e[0].Event != gateway.EvFailed || !e[0].Call.Refused() || e[0].Username != "alice" {
		t.Fatalf("logged %+v", e)
	}
	var recent wire.RecentResult
	json.Unmarshal(tab.ok(wire.TRecent, wire.Recent{}), &recent)
	if len(recent.Calls) != 1 || recent.Calls[0].State != "failed" || recent.Calls[0].Direction != "inbound" {
		t.Fatalf("recent %+v", recent.Calls)
	}
}
