package core

import (
	"sync"
	"time"
)

// limiter slows password guessing without locking anyone else out. Each
// login attempt reserves a slot on its keys — the username, and the
// username with the client's address — before the directory is asked, so
// that forty attempts at once count as forty, not as none until the
// first answer. A key with max failures (attempts in flight included)
// waits a delay before the next attempt, doubling with every further
// failure up to the window; a key's failures are forgotten a window
// after its last one, and a success clears them.
//
// There is no key for the address alone: a call centre behind one NAT
// or proxy shares it, and five typos by one agent must not lock out the
// others. The username key has a higher limit than the (username,
// address) key, so that a guesser spread over many addresses is slowed
// too while the agent's own address is not blocked by a guesser at
// another.
type limiter struct {
	mu     sync.Mutex
	window time.Duration
	base   time.Duration
	keys   map[string]*attempts
}

// attempts is one key's state.
type attempts struct {
	max      int
	fails    int
	inflight int
	last     time.Time // of the last failure
}

// firstDelay is the wait after a key's max-th failure; it doubles with
// each further one, up to the window.
const firstDelay = time.Second

func newLimiter(window time.Duration) *limiter {
	return &limiter{window: window, base: firstDelay, keys: map[string]*attempts{}}
}

// limitKey is a key and the failures it may have before delays start.
type limitKey struct {
	key string
	max int
}

// reserve takes a slot on every key, or none: it returns how long to
// wait when a key is at its limit.
func (l *limiter) reserve(now time.Time, keys ...limitKey) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if w := l.waitLocked(l.get(k, now), now); w > 0 {
			return false, w
		}
	}
	for _, k := range keys {
		l.get(k, now).inflight++
	}
	return true, 0
}

// waitLocked is how long a key must wait before its next attempt.
func (l *limiter) waitLocked(a *attempts, now time.Time) time.Duration {
	switch {
	case a.fails+a.inflight < a.max:
		return 0
	case a.inflight > 0:
		return l.base // the slots are taken by attempts in flight: wait for their answers
	}
	delay := min(l.base<<min(a.fails-a.max, 20), l.window)
	return max(a.last.Add(delay).Sub(now), 0)
}

// get returns a key's state, forgetting failures older than the window.
func (l *limiter) get(k limitKey, now time.Time) *attempts {
	a, ok := l.keys[k.key]
	if !ok {
		if len(l.keys) >= 100_000 { // bounded memory under a spray of names
			l.pruneLocked(now)
		}
		a = &attempts{max: k.max}
		l.keys[k.key] = a
	}
	if a.fails > 0 && now.Sub(a.last) > l.window {
		a.fails = 0
	}
	return a
}

func (l *limiter) pruneLocked(now time.Time) {
	for key, a := range l.keys {
		if a.inflight == 0 && (a.fails == 0 || now.Sub(a.last) > l.window) {
			delete(l.keys, key)
		}
	}
}

// done settles a reservation: failed counts a wrong password, success
// clears the keys' failures, neither (the directory down) just frees the
// slot.
func (l *limiter) done(now time.Time, failed, success bool, keys ...limitKey) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		a := l.get(k, now)
		a.inflight = max(a.inflight-1, 0)
		switch {
		case failed:
			a.fails++
			a.last = now
		case success:
			a.fails = 0
		}
	}
}
