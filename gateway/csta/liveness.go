package csta

import (
	"context"
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
