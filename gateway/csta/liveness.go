package csta

import (
	"context"
	"fmt"
	"time"
)

// probeLoop asks a quiet switch to speak: after a third of
// Config.Liveness without a frame in, it sends the profile's cheap request.
// Whatever comes back (even a CSTAErrorCode) proves the switch alive; the
// read deadline in readLoop ends the link if nothing does.
func (c *Conn) probeLoop() {
	every := c.cfg.Liveness / 3
	t := time.NewTicker(every / 2)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		if time.Since(time.Unix(0, c.lastRead.Load())) < every {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Liveness)
		_, _ = c.Do(ctx, c.probe())
		cancel()
	}
}

// probe is the profile's cheapest request that every switch of its kind
// answers: the session timer reset on ECMA-354 (it also keeps the session
// alive), SystemStatus elsewhere (ECMA-269 lets either side send it, and
// OpenScape answers it).
func (c *Conn) probe() Message {
	c.mu.Lock()
	session := c.session
	c.mu.Unlock()
	if c.cfg.Profile.Session == SessionECMA354 && session != "" {
		d := c.cfg.Profile.SessionDuration
		if d <= 0 {
			d = 180 * time.Second
		}
		return &ResetApplicationSessionTimer{SessionID: session, RequestedSessionDuration: int(d / time.Second)}
	}
	return &SystemStatus{SystemStatus: "normal"}
}

// noteFrame records a frame in at now and, when the switch had been silent
// for Config.StallAfter while it owed us an answer, reports the stall: a
// switch that swallowed our request may have swallowed its events too.
// A silence with nothing owed is an idle link, not a stall.
func (c *Conn) noteFrame(now time.Time) {
	prev := time.Unix(0, c.lastRead.Swap(now.UnixNano()))
	silence := now.Sub(prev)
	if c.cfg.OnStall == nil || silence < c.cfg.StallAfter || !c.owedSince(prev, now) {
		return
	}
	go c.cfg.OnStall(silence)
}

// owedSince reports whether a request waited for an answer for at least
// Config.StallAfter of the silence from prev to now (one that timed out
// meanwhile counts: the switch owed it all the same).
func (c *Conn) owedSince(prev, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.pend {
		if p.sent.IsZero() {
			continue
		}
		if now.Sub(later(p.sent, prev)) >= c.cfg.StallAfter {
			return true
		}
	}
	return false
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// settleMark travels the event queue behind the events read before it.
type settleMark struct{ done chan struct{} }

func (settleMark) MessageName() string { return "settle" }
func (settleMark) CrossRefID() string  { return "" }

// Settle returns once every event read before the call has been handed to
// OnEvent. A response overtakes the events queued before it (they wait
// for OnEvent, it goes straight to its requester): a caller that compares
// a response with the state events build (a snapshot) settles first.
// It must not be called from OnEvent.
func (c *Conn) Settle(ctx context.Context) error {
	m := settleMark{done: make(chan struct{})}
	select {
	case c.events <- m:
	case <-ctx.Done():
		return fmt.Errorf("csta: settle: %w", ctx.Err())
	case <-c.done:
		return fmt.Errorf("csta: settle: %w", c.Err())
	}
	select {
	case <-m.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("csta: settle: %w", ctx.Err())
	case <-c.done:
		return fmt.Errorf("csta: settle: %w", c.Err())
	}
}
