package core

import (
	"testing"
	"time"

	"crmcti/gateway"
)

// A call the switch's snapshot names without its far end (after a gateway
// restart) is restored from the call log, while the switch keeps
// reporting it: the restore and the events must not race.
func TestRestoreWhileTheCallChanges(t *testing.T) {
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
