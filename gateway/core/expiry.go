package core

import (
	"container/heap"
	"sync"
	"time"
)

// expiries ends each connection when its session runs out, from one
// runtime timer for all of them rather than one per connection.
//
// Why: every timer in the runtime's heap is visited whenever a timer is
// moved earlier (timers.adjust), and pgx moves one on each query it
// writes (its 15 ms slow-write timer). With a timer per connected agent,
// that was a walk of ten thousand timers every 15 ms under load: 4–7% of
// the gateway's CPU in the load profile, for timers that fire once in
// hours. The heap here is ours: it is touched only by logins, logouts and
// expiries.
type expiries struct {
	mu    sync.Mutex
	h     expiryHeap
	t     *time.Timer // armed for h[0], nil until the first add
	armed time.Time   // when t fires; zero when stopped
	done  bool
}

// expiry is one connection's place in the heap; index is kept by the
// heap so that a logout removes it without a search.
type expiry struct {
	at    time.Time
	c     *Conn
	index int // -1 once out of the heap
}

// add schedules c's end at at.
func (e *expiries) add(c *Conn, at time.Time) *expiry {
	x := &expiry{at: at, c: c}
	e.mu.Lock()
	defer e.mu.Unlock()
	heap.Push(&e.h, x)
	e.armLocked()
	return x
}

// remove forgets x; nil or already removed is fine.
func (e *expiries) remove(x *expiry) {
	if x == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if x.index >= 0 && x.index < len(e.h) && e.h[x.index] == x {
		heap.Remove(&e.h, x.index)
	}
}

// armLocked sets the timer for the earliest expiry, if it is not set
// for it already. The timer is not stopped when the earliest is removed:
// it then fires early, finds nothing due and re-arms.
func (e *expiries) armLocked() {
	if len(e.h) == 0 || e.done {
		return
	}
	next := e.h[0].at
	if !e.armed.IsZero() && !next.Before(e.armed) {
		return
	}
	e.armed = next
	if e.t == nil {
		e.t = time.AfterFunc(time.Until(next), e.fire)
		return
	}
	e.t.Reset(time.Until(next))
}

// fire ends the connections that are due, outside the lock (closing a
// connection wakes its writer), and arms the timer for the next.
func (e *expiries) fire() {
	now := time.Now()
	var due []*Conn
	e.mu.Lock()
	for len(e.h) > 0 && !e.h[0].at.After(now) {
		due = append(due, heap.Pop(&e.h).(*expiry).c)
	}
	e.armed = time.Time{}
	e.armLocked()
	e.mu.Unlock()
	for _, c := range due {
		c.close(errExpired)
	}
}

// stop ends the timer for good (the service's Close).
func (e *expiries) stop() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.done = true
	if e.t != nil {
		e.t.Stop()
	}
}

// expiryHeap orders expiries by time (container/heap).
type expiryHeap []*expiry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *expiryHeap) Push(x any) {
	e := x.(*expiry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *expiryHeap) Pop() any {
	old := *h
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	e.index = -1
	*h = old[:n-1]
	return e
}
