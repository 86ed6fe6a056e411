package core

import (
	"testing"
	"time"

	"crmcti/gateway"
)

// The seed at a first login copies the switch tracker's calls while the
// switch's events keep coming: a copy taken before a call's end and
// applied after it must not bring the call back ("a call ringing through
// a SIGKILL stayed ringing": the login after the restart raced the
// caller's hang-up).
func TestStaleSeedDoesNotReviveAnEndedCall(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tab := h.dial()
	tab.login("alice")
	id := h.sw.Ring(alice.Extension, "+35722123456")
	tab.event(string(gateway.EvRang), id)
	stale := gateway.Call{ID: id, Device: alice.Extension, Direction: gateway.Inbound, State: gateway.CallRinging,
		Remote: "+35722123456", Started: time.Now()}
	h.sw.FarHangup(alice.Extension, id)
	tab.event(string(gateway.EvEnded), id)
	h.svc.CallChanged(stale, "")
	_, snap := h.dial().login("alice")
	for _, c := range snap.Calls {
		if c.ID == id {
			t.Fatalf("the ended call is back in the panel: %+v", c)
		}
	}
}
