package client

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"crmcti/gateway/backoff"
	"crmcti/gateway/wire"
)

// frame is one decoded message from the gateway, or why reading stopped.
type frame struct {
	env wire.Envelope
	err error
}

// session runs one connection: hello (login or resume), then frames and
// intents until it breaks.
func (c *Core) session(ctx context.Context, login *Intent, delays *backoff.Backoff) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	conn, err := c.connect(ctx, login)
	if err != nil {
		return err
	}
	defer conn.Close()
	frames := make(chan frame, 256)
	go readFrames(ctx, conn, frames)
	out := &sender{conn: conn, ctx: ctx, pending: map[string]Intent{}}
	if login != nil {
		err = out.send(wire.TLogin, wire.Login{Username: login.Username, Password: login.Password, Version: c.cfg.Version}, *login)
	} else {
		err = out.send(wire.TResume, wire.Resume{Token: c.cfg.Tokens.Load(), Version: c.cfg.Version}, Intent{Type: wire.TResume})
	}
	if err != nil {
		return fmt.Errorf("hello: %w", err)
	}
	return c.serveSession(ctx, out, frames, delays)
}

// connect dials the gateway; a login waiting on it is told when it fails.
func (c *Core) connect(ctx context.Context, login *Intent) (conn, error) {
	dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
	defer dcancel()
	conn, err := dial(dctx, c.cfg.Settings.GatewayURL, wire.Subprotocol)
	if err == nil {
		return conn, nil
	}
	if login != nil {
		c.update(func(s *state) {
			s.loginBusy, s.loginErr = false, "Cannot reach the CTI gateway. Check the network and try again."
		})
	}
	return nil, fmt.Errorf("connect: %w", err)
}

// readFrames decodes frames until the connection breaks. A panic here
// (a defect in decoding) ends the session as a fault, not the module.
func readFrames(ctx context.Context, conn conn, frames chan<- frame) {
	defer func() {
		if p := Recovered(recover()); p != nil {
			select {
			case frames <- frame{err: p}:
			case <-ctx.Done():
			}
		}
	}()
	for {
		b, err := conn.Read(ctx)
		if err != nil {
			select {
			case frames <- frame{err: err}:
			case <-ctx.Done():
			}
			return
		}
		env, err := wire.Decode(b)
		select {
		case frames <- frame{env: env, err: err}:
		case <-ctx.Done():
			return
		}
	}
}

// serveSession handles intents and frames on a live connection.
func (c *Core) serveSession(ctx context.Context, out *sender, frames <-chan frame, delays *backoff.Backoff) error {
	silence := time.NewTimer(c.cfg.Silence)
	defer silence.Stop()
	tick := time.NewTicker(time.Second) // call timers in the view
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.wake:
			return errors.New("reconnect requested")
		case <-silence.C:
			return errors.New("no heartbeat from the gateway")
		case <-tick.C:
			c.tick()
		case in := <-c.intents:
			if err := c.intent(out, in); err != nil {
				return err
			}
		case f := <-frames:
			if f.err != nil {
				return f.err
			}
			silence.Reset(c.cfg.Silence)
			if err := c.frame(out, f.env); err != nil {
				return err
			}
			if f.env.Type == wire.TSnapshot {
				delays.Reset()
			}
		}
	}
}

// tick refreshes the view for the call timers, and expires transient
// notices.
func (c *Core) tick() {
	c.mu.Lock()
	busy := len(c.st.calls) > 0 || c.st.expiring()
	c.mu.Unlock()
	if busy {
		c.update(func(s *state) { s.expire(time.Now()) })
	}
}

// sender writes commands and remembers what each id asked for.
type sender struct {
	conn    conn
	ctx     context.Context
	n       int
	pending map[string]Intent
}

func (o *sender) send(typ string, data any, in Intent) error {
	o.n++
	id := strconv.Itoa(o.n)
	b, err := wire.Encode(typ, id, data)
	if err != nil {
		return err
	}
	o.pending[id] = in
	wctx, cancel := context.WithTimeout(o.ctx, 10*time.Second)
	defer cancel()
	return o.conn.Write(wctx, b)
}
