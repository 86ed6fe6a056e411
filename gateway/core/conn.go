package core

import (
	"context"
	"sync"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/wire"
)

// Conn is the gateway's end of one WebSocket of an agent's browser (the
// browser's end is wasm/client's Core). The transport feeds it frames
// with Handle, and writes what Take yields whenever the function given to
// Wake is called; when Done closes, the transport says CloseReason and
// hangs up, then calls Close.
type Conn struct {
	s      *Service
	addr   string
	done   chan struct{}
	once   sync.Once
	closed sync.Once

	// The frames waiting to be written. A slice that grows with use
	// rather than a channel of ClientQueue slots: an idle connection
	// (most of ten thousand) holds no queue memory at all.
	qmu   sync.Mutex
	queue [][]byte
	wake  func()

	mu     sync.Mutex
	st     *agentState
	tok    []byte
	reason wire.Error
	// expires is when the session on the connection ends; expiry ends
	// the connection then, not at the next sweep (expiry.go).
	expires time.Time
	expiry  *expiry
	// counted is set while the connection counts as not logged in for its
	// address; deadline ends it if it does not log in by deadlineAt. Its
	// clock stops while a login runs (loginsRunning), with deadlineLeft
	// to go when it starts again.
	counted        bool
	deadline       *time.Timer
	deadlineAt     time.Time
	deadlineLeft   time.Duration
	deadlinePaused bool
	loginsRunning  int
	// version is the extension's, as sent with login or resume.
	version string
}

func (c *Conn) setVersion(v string) {
	c.mu.Lock()
	c.version = versionLabel(v)
	c.mu.Unlock()
}

// NewConn registers a connection from addr (the client's IP address,
// used for rate limiting and the audit log).
func (s *Service) NewConn(addr string) *Conn {
	s.conns.Add(1)
	s.obs.Clients(1)
	c := &Conn{s: s, addr: addr, done: make(chan struct{})}
	s.admitUnauthenticated(c)
	return c
}

// Wake registers f, which the connection calls whenever it queues a
// frame or ends, and calls it once now for what came before. f must not
// block: it runs under the fan-out's lock.
func (c *Conn) Wake(f func()) {
	c.qmu.Lock()
	c.wake = f
	c.qmu.Unlock()
	f()
}

// Take returns the frames queued since the last Take, in order, and
// keeps spare (emptied) for the next ones: a writer that hands back the
// slice it has written saves the queue growing again.
func (c *Conn) Take(spare [][]byte) [][]byte {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	out := c.queue
	clear(spare)
	c.queue = spare[:0]
	return out
}

// notify calls the transport's wake function, if it has given one.
func (c *Conn) notify() {
	c.qmu.Lock()
	f := c.wake
	c.qmu.Unlock()
	if f != nil {
		f()
	}
}

// Done is closed when the gateway ends the connection.
func (c *Conn) Done() <-chan struct{} { return c.done }

// CloseReason says why the gateway ended the connection.
func (c *Conn) CloseReason() wire.Error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reason
}

// state is the agent logged in on the connection, nil before login.
func (c *Conn) state() *agentState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st
}

func (c *Conn) tokenHash() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tok
}

// setAgent binds the connection to an agent's session (nil: none), and
// arms the session's expiry.
func (c *Conn) setAgent(st *agentState, tok []byte, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.st, c.tok, c.expires = st, tok, expires
	c.s.expiries.remove(c.expiry)
	c.expiry = nil
	if st != nil {
		c.expiry = c.s.expiries.add(c, expires)
	}
}

// errExpired is how a connection whose session ran out is ended.
var errExpired = wire.Error{Code: string(gateway.CodeSessionExpired), Message: "your session has ended; log in again"}

// sessionExpires is when the connection's session ends.
func (c *Conn) sessionExpires() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.expires
}

// expired reports whether the connection's session has ended by now.
func (c *Conn) expired(now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st != nil && now.After(c.expires)
}

// send queues a frame without ever blocking: a connection whose queue is
// full is ended (it resyncs from the snapshot when it reconnects), so one
// slow browser never delays the others or the switch's events.
func (c *Conn) send(b []byte) {
	select {
	case <-c.done:
		return
	default:
	}
	c.qmu.Lock()
	full := len(c.queue) >= c.s.cfg.ClientQueue
	if !full {
		c.queue = append(c.queue, b)
	}
	wake := c.wake
	c.qmu.Unlock()
	if full {
		c.s.obs.ClientDropped("slow")
		c.close(wire.Error{Code: "too_slow", Message: "the connection fell behind; reconnecting"})
		return
	}
	if wake != nil {
		wake()
	}
}

// close ends the connection from the gateway's side.
func (c *Conn) close(reason wire.Error) {
	c.once.Do(func() {
		c.mu.Lock()
		c.reason = reason
		c.mu.Unlock()
		close(c.done)
		c.notify()
	})
}

// Close is called by the transport when the connection is gone. Safe twice.
func (c *Conn) Close() {
	c.closed.Do(func() {
		c.close(wire.Error{Code: "closed", Message: "connection closed"})
		c.s.detach(c)
		c.s.authenticated(c) // no longer counted as waiting to log in
		c.setAgent(nil, nil, time.Time{})
		c.s.conns.Add(-1)
		c.s.obs.Clients(-1)
	})
}

func (c *Conn) reply(typ, id string, data any) {
	b, err := wire.Encode(typ, id, data)
	if err != nil {
		c.s.log.Error("core: encode reply", "type", typ, "err", err)
		return
	}
	c.send(b)
}

func (c *Conn) replyErr(id string, err error) {
	c.reply(wire.TError, id, wire.Error{Code: string(gateway.ErrorCode(err)), Message: gateway.ErrorMessage(err)})
}

// commandTimeout bounds a command, the switch's and the database's part
// included.
const commandTimeout = 15 * time.Second

// Handle carries out one frame from the client. Bad frames get an
// "error" with code invalid_request and change nothing.
func (c *Conn) Handle(ctx context.Context, frame []byte) {
	select {
	case <-c.done: // ended by the gateway: nothing more is carried out
		return
	default:
	}
	start := time.Now()
	env, err := wire.Decode(frame)
	if err != nil {
		c.replyErr(env.ID, gateway.Wrap(gateway.CodeInvalidRequest, err, "malformed message"))
		c.s.obs.Command("malformed", gateway.CodeInvalidRequest, time.Since(start))
		return
	}
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	data, err := c.s.dispatch(ctx, c, env)
	code := gateway.Code("ok")
	if err != nil {
		code = gateway.ErrorCode(err)
		if code == gateway.CodeInternal {
			c.s.log.Error("core: command failed", "type", env.Type, "err", err)
		}
	}
	// Count first, so that whoever reads the reply also sees the metric.
	if env.Type == wire.TLogin || env.Type == wire.TResume {
		c.s.obs.Login(code, time.Since(start))
	} else {
		c.s.obs.Command(env.Type, code, time.Since(start))
	}
	if err != nil {
		c.replyErr(env.ID, err)
	} else if data != nil {
		c.reply(wire.TResult, env.ID, data)
	}
}

// dispatch routes a frame to its handler; every handler but the public
// ones needs a login.
func (s *Service) dispatch(ctx context.Context, c *Conn, env wire.Envelope) (any, error) {
	h, known := commands[env.Type]
	r := request{Conn: c, agent: c.state(), id: env.ID}
	if (!known || !h.public) && r.agent == nil {
		return nil, gateway.Errorf(gateway.CodeNotLoggedIn, "log in first")
	}
	if r.agent != nil && c.expired(time.Now()) {
		c.close(errExpired)
		return nil, gateway.Errorf(gateway.CodeSessionExpired, "your session has ended; log in again")
	}
	if !known {
		return nil, gateway.Errorf(gateway.CodeInvalidRequest, "unknown message type %q", env.Type)
	}
	if env.Type == wire.TLogin || env.Type == wire.TResume {
		defer c.pauseLoginDeadline()()
	}
	return h.run(s, ctx, r, env)
}
