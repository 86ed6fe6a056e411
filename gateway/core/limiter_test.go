package core

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/wire"
)

// Forty wrong passwords for one user at once: the attempts are reserved
// before the directory is asked, so at most the limit reach it.
func TestConcurrentWrongPasswordsReserveBeforeTheDirectory(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.MaxUnauthenticated = 100 })
	var asked atomic.Int32
	release := make(chan struct{})
	h.dir.BeforeAuthenticate = func(string) {
		asked.Add(1)
		<-release // every attempt in flight at once
	}
	var wg sync.WaitGroup
	codes := make(chan string, 40)
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tab := h.dial()
			_, werr := tab.do(wire.TLogin, wire.Login{Username: "alice", Password: "nope"})
			codes <- werr.Code
		}()
	}
	h.eventually("the limit's attempts at the directory", func() bool { return asked.Load() == 5 })
	time.Sleep(50 * time.Millisecond) // give a wrongly let-through attempt the time to show
	close(release)
	wg.Wait()
	close(codes)
	if n := asked.Load(); n > 5 {
		t.Errorf("%d attempts reached the directory, want at most 5", n)
	}
	limited := 0
	for c := range codes {
		if c == string(gateway.CodeRateLimited) {
			limited++
		}
	}
	if limited != 35 {
		t.Errorf("%d attempts rate limited, want 35", limited)
	}
}

// Five wrong passwords from one address slow that user there, not the
// other agents behind the same address (a call centre's NAT).
func TestWrongPasswordsFromOneAddressDoNotLockOutOthers(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	guesser := h.dial()
	for range 5 {
		guesser.fails(wire.TLogin, wire.Login{Username: "alice", Password: "nope"}, gateway.CodeBadCredentials)
	}
	guesser.fails(wire.TLogin, wire.Login{Username: "alice", Password: "pw"}, gateway.CodeRateLimited)
	h.dial().login("bob") // same address, another agent
	// Alice from another address is not blocked by a guesser at hers.
	other := &tab{t: t, c: h.svc.NewConn("198.51.100.7")}
	t.Cleanup(other.c.Close)
	other.login("alice")
}

// The delay grows with every failure past the limit, up to the window,
// and is forgotten a window after the last failure.
func TestLimiterDelaysGrow(t *testing.T) {
	t.Parallel()
	l := newLimiter(time.Minute)
	k := limitKey{key: "ua:alice", max: 2}
	now := time.Unix(1000, 0)
	fail := func() {
		t.Helper()
		if ok, w := l.reserve(now, k); !ok {
			t.Fatalf("refused at %v (wait %v)", now, w)
		}
		l.done(now, true, false, k)
	}
	fail()
	fail()
	for _, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		if ok, w := l.reserve(now, k); ok || w != want {
			t.Fatalf("after %d failures: ok %v wait %v, want %v", l.keys["ua:alice"].fails, ok, w, want)
		}
		now = now.Add(want)
		fail()
	}
	now = now.Add(time.Hour)
	if ok, _ := l.reserve(now, k); !ok {
		t.Fatal("still limited a window after the last failure")
	}
}
