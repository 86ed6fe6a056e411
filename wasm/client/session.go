package client

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"crmcti/gateway/wire"
)

// frame is one decoded message from the gateway, or why reading stopped.
type frame struct {
	env wire.Envelope
	err error
}

// session runs one connection: hello (login or resume), then frames and
// intents until it breaks.
// online is called when the gateway's snapshot arrives.
func (c *Core) session(ctx context.Context, url string, login *Intent, online func()) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	conn, err := c.connect(ctx, url)
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
	return c.serveSession(ctx, out, frames, online)
}

// connect dials the gateway at url.
func (c *Core) connect(ctx context.Context, url string) (conn, error) {
	dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
	defer dcancel()
	conn, err := dial(dctx, url, wire.Subprotocol)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return conn, nil
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
func (c *Core) serveSession(ctx context.Context, out *sender, frames <-chan frame, online func()) error {
	silenceFor := c.cfg.Silence
	silence := time.NewTimer(silenceFor)
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
		case now := <-tick.C:
			if out.overdue(now, commandTimeout) {
				return errors.New("the gateway does not answer")
			}
			c.tick()
		case in := <-c.intents:
			if err := c.intent(out, in); err != nil {
				return err
			}
		case f := <-frames:
			if f.err != nil {
				return f.err
			}
			if every := heartbeatEvery(f.env); every > 0 {
				silenceFor = min(c.cfg.Silence, 2*every+2*time.Second)
			}
			silence.Reset(silenceFor)
			if err := c.frame(out, f.env); err != nil {
				return err
			}
			if f.env.Type == wire.TSnapshot {
				online()
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

// heartbeatEvery is the interval a heartbeat frame says, 0 for any
// other frame or a gateway that does not say.
func heartbeatEvery(env wire.Envelope) time.Duration {
	if env.Type != wire.THeartbeat {
		return 0
	}
	var h wire.Heartbeat
	if wire.DecodeData(env, &h) != nil || h.Every <= 0 {
		return 0
	}
	return time.Duration(h.Every) * time.Millisecond
}

// commandTimeout is how long a command may go unanswered before the
// gateway is taken for gone: every command is answered within the
// switch's request timeout (5 s), and a gateway frozen or cut off answers
// none. The agent who pressed Hold then is moved to the next gateway in
// seconds, not after the heartbeat's silence. A login or resume is not
// timed: in a morning's login storm it may wait its turn at the
// directory for longer.
const commandTimeout = 8 * time.Second

// sender writes commands and remembers what each id asked for, and when
// each timed one was sent.
type sender struct {
	conn    conn
	ctx     context.Context
	n       int
	pending map[string]Intent
	sent    map[string]time.Time
}

// answered forgets the command id once its reply is in.
func (o *sender) answered(id string) {
	delete(o.pending, id)
	delete(o.sent, id)
}

// overdue reports whether a timed command has waited longer than d.
func (o *sender) overdue(now time.Time, d time.Duration) bool {
	for _, at := range o.sent {
		if now.Sub(at) > d {
			return true
		}
	}
	return false
}

func (o *sender) send(typ string, data any, in Intent) error {
	o.n++
	id := strconv.Itoa(o.n)
	b, err := wire.Encode(typ, id, data)
	if err != nil {
		return err
	}
	o.pending[id] = in
	if typ != wire.TLogin && typ != wire.TResume {
		if o.sent == nil {
			o.sent = map[string]time.Time{}
		}
		o.sent[id] = time.Now()
	}
	wctx, cancel := context.WithTimeout(o.ctx, 10*time.Second)
	defer cancel()
	return o.conn.Write(wctx, b)
}
