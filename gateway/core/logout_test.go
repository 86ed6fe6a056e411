package core

import (
	"testing"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/spool"
	"crmcti/gateway/wire"
)

// A logout ends every connection of the session at once: another socket
// with the same (copied) token is told and stops controlling calls; a
// connection of another session of the same agent goes on.
func TestLogoutEndsEverySocketOfTheSession(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tab1, copied, other := h.dial(), h.dial(), h.dial()
	sess, _ := tab1.login("alice")
	copied.ok(wire.TResume, wire.Resume{Token: sess.Token})
	copied.snapshot()
	other.login("alice")
	tab1.ok(wire.TLogout, struct{}{})
	select {
	case <-copied.c.Done():
		if r := copied.c.CloseReason(); r.Code != string(gateway.CodeLoggedOut) {
			t.Errorf("copied socket ended with %+v", r)
		}
	default:
		t.Fatal("the copied socket is still open after logout")
	}
	id := h.sw.Ring(alice.Extension, "+35722123456")
	copied.c.Handle(t.Context(), []byte(`{"type":"answer","id":"x","data":{"callId":"`+id+`"}}`))
	other.ok(wire.TAnswer, ref(id)) // the other session still works
	answers := 0
	for _, op := range h.sw.Ops() {
		if op == "answer "+alice.Extension+" "+id {
			answers++
		}
	}
	if answers != 1 {
		t.Errorf("%d answers reached the switch, want 1 (the other session's)", answers)
	}
	fresh := h.dial()
	fresh.fails(wire.TResume, wire.Resume{Token: sess.Token}, gateway.CodeSessionExpired)
}

// A logout while the database is down still ends the session: the token
// does not work when the database returns, nor after a restart (the
// revocation is in the spool), and the database learns of it.
func TestLogoutWhileDatabaseDownStaysLoggedOut(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir, err := spool.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h.svc.Close()
	h.spool = dir
	h.start()
	tab := h.dial()
	sess, _ := tab.login("alice")
	h.db.SetDown(true)
	tab.ok(wire.TLogout, struct{}{})
	h.db.SetDown(false)
	h.dial().fails(wire.TResume, wire.Resume{Token: sess.Token}, gateway.CodeSessionExpired)

	h.db.SetDown(true)
	h2 := h.restart() // the revocation comes back from the spool
	h.db.SetDown(false)
	h2.dial().fails(wire.TResume, wire.Resume{Token: sess.Token}, gateway.CodeSessionExpired)
	h2.svc.sweep(time.Now()) // recorded in the database at the next sweep
	if _, _, err := h2.db.Session(t.Context(), hashToken(sess.Token)); err != gateway.ErrNotFound {
		t.Errorf("database still has the session: %v", err)
	}
	h3 := h2.restart()
	h3.dial().fails(wire.TResume, wire.Resume{Token: sess.Token}, gateway.CodeSessionExpired)
}

// Without a spool, a logout the database cannot record fails with
// database_unavailable, yet the session is ended on this gateway.
func TestLogoutUnrecordedFails(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tab := h.dial()
	sess, _ := tab.login("alice")
	h.db.SetDown(true)
	tab.fails(wire.TLogout, struct{}{}, gateway.CodeDatabaseDown)
	h.db.SetDown(false)
	h.dial().fails(wire.TResume, wire.Resume{Token: sess.Token}, gateway.CodeSessionExpired)
}

// A session past its TTL stops working on an open socket at once, not at
// the next sweep (the harness sweeps hourly).
func TestSessionEndsAtItsTTLOnAnOpenSocket(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.SessionTTL = 300 * time.Millisecond })
	tab := h.dial()
	tab.login("alice")
	id := h.sw.Ring(alice.Extension, "+35722123456")
	h.eventually("the socket ended", func() bool {
		select {
		case <-tab.c.Done():
			return true
		default:
			return false
		}
	})
	if r := tab.c.CloseReason(); r.Code != string(gateway.CodeSessionExpired) {
		t.Errorf("ended with %+v", r)
	}
	tab.c.Handle(t.Context(), []byte(`{"type":"answer","id":"x","data":{"callId":"`+id+`"}}`))
	for _, op := range h.sw.Ops() {
		if op == "answer "+alice.Extension+" "+id {
			t.Error("an expired session answered a call")
		}
	}
}
