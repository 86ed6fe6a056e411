package core

import (
	"testing"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/wire"
)

func ended(tb *tab) bool {
	select {
	case <-tb.c.Done():
		return true
	default:
		return false
	}
}

// Many idle sockets from one address: beyond the cap each is ended at
// once with too_many_connections; a logged-in one no longer counts, and
// other addresses are not affected.
func TestUnauthenticatedSocketsCappedPerAddress(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.MaxUnauthenticated = 20 })
	var idle []*tab
	for range 20 {
		idle = append(idle, h.dial())
	}
	for _, tb := range idle {
		if ended(tb) {
			t.Fatal("a socket under the cap was ended")
		}
	}
	over := h.dial()
	if !ended(over) || over.c.CloseReason().Code != string(gateway.CodeTooManyConnections) {
		t.Fatalf("the 21st idle socket: ended %v, %+v", ended(over), over.c.CloseReason())
	}
	over.c.Handle(t.Context(), []byte(`{"type":"login","id":"1","data":{"username":"alice","password":"pw"}}`))
	if h.sw.Monitored(alice.Extension) {
		t.Fatal("a socket over the cap logged in")
	}
	idle[0].login("alice") // logged in: it no longer counts
	h.dial().login("bob")
	elsewhere := &tab{t: t, c: h.svc.NewConn("198.51.100.7")}
	t.Cleanup(elsewhere.c.Close)
	if ended(elsewhere) {
		t.Fatal("another address was capped")
	}
	idle[1].c.Close() // a closed socket frees its place
	if next := h.dial(); ended(next) {
		t.Fatal("a place freed by a close was not reused")
	}
}

// A socket that does not log in within the deadline is ended with
// login_timeout; one that logged in stays.
func TestLoginDeadline(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.LoginDeadline = 100 * time.Millisecond })
	idle, active := h.dial(), h.dial()
	active.login("alice")
	h.eventually("the idle socket ended", func() bool { return ended(idle) })
	if r := idle.c.CloseReason(); r.Code != string(gateway.CodeLoginTimeout) {
		t.Errorf("ended with %+v", r)
	}
	time.Sleep(200 * time.Millisecond)
	if ended(active) {
		t.Errorf("a logged-in socket was ended: %+v", active.c.CloseReason())
	}
	active.ok(wire.TPing, nil)
}

// A login still being carried out when the deadline passes — queued
// behind a slow directory, as in a morning's login storm — is not ended
// by the deadline: it logs in. One that fails gets its deadline back and
// is ended with login_timeout, and while its login runs it still counts
// against its address's cap.
func TestLoginDeadlinePausedWhileLoggingIn(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.LoginDeadline = 100 * time.Millisecond; c.MaxUnauthenticated = 2 })
	release := make(chan struct{})
	h.dir.BeforeAuthenticate = func(string) { <-release }

	slow, failing := h.dial(), h.dial()
	okDone, failDone := make(chan struct{}), make(chan struct{})
	go func() { defer close(okDone); slow.send(wire.TLogin, wire.Login{Username: "alice", Password: "pw"}) }()
	go func() {
		defer close(failDone)
		failing.send(wire.TLogin, wire.Login{Username: "bob", Password: "wrong"})
	}()
	time.Sleep(300 * time.Millisecond) // three deadlines pass while the directory holds both logins
	if over := h.dial(); !ended(over) {
		t.Error("a third socket was let in while two logins were pending on a cap of 2")
	}
	close(release)
	<-okDone
	<-failDone

	if ended(slow) {
		t.Fatalf("a login in progress was ended: %+v", slow.c.CloseReason())
	}
	slow.next("the session", func(e wire.Envelope) bool { return e.Type == wire.TSession })
	if !h.sw.Monitored(alice.Extension) {
		t.Error("the slow login did not monitor alice's extension")
	}
	failing.next("the refusal", func(e wire.Envelope) bool { return e.Type == wire.TError })
	h.eventually("the failed login's socket ended", func() bool { return ended(failing) })
	if r := failing.c.CloseReason(); r.Code != string(gateway.CodeLoginTimeout) {
		t.Errorf("the failed login's socket ended with %+v", r)
	}
	time.Sleep(200 * time.Millisecond)
	if ended(slow) {
		t.Errorf("the logged-in socket was ended: %+v", slow.c.CloseReason())
	}
}
