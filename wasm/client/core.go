// Package client is the extension's core: one WebSocket to the gateway per
// browser, login and resume, reconnection with backoff, the agent's and
// calls' state, the rules that enable each control (the gateway's own,
// from package gateway), the caller list, and the view model every panel
// renders. It builds natively and for GOOS=js, so that its tests run on
// the host against a real gateway; package main in wasm/ only bridges it
// to JavaScript.
//
// The files follow what happens: core.go runs and supervises, session.go
// keeps one connection, intents.go turns the agent's clicks into
// commands, frames.go applies what the gateway sends, effects.go asks the
// browser for notifications and screen pops, state.go and view.go hold
// the state and render it.
package client

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"crmcti/gateway/backoff"
	"crmcti/gateway/wire"
)

// Config sets up a Core.
type Config struct {
	Settings Settings
	Tokens   TokenStore
	// OnView receives the view after every change, from the core's
	// goroutine; it must not block for long.
	OnView   func(View)
	OnEffect func(Effect)
	// MinBackoff and MaxBackoff bound reconnect delays (1s, 30s).
	MinBackoff, MaxBackoff time.Duration
	// Silence is how long without any frame before the connection is
	// taken for dead (default 45s), or less: two of the gateway's
	// heartbeat intervals and 2 s, once a heartbeat says its interval.
	Silence time.Duration
	// RestartDelay is the pause after the core stopped on a fault before
	// it starts over (default 2s): long enough for the panel to say so.
	RestartDelay time.Duration
	// Version is the extension's version, sent with login and resume so
	// that a gateway can refuse an extension older than it serves
	// (update_required) instead of failing in odd ways.
	Version string
}

// Core is the extension's state machine.
type Core struct {
	cfg     Config
	intents chan Intent
	wake    chan struct{}
	done    chan struct{}

	mu     sync.Mutex // guards st for View(), and cancel
	st     state
	cancel context.CancelFunc
}

// New builds a core; Run starts it.
func New(cfg Config) *Core {
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.Silence <= 0 {
		cfg.Silence = 45 * time.Second
	}
	if cfg.RestartDelay <= 0 {
		cfg.RestartDelay = 2 * time.Second
	}
	if cfg.Tokens == nil {
		cfg.Tokens = &MemoryTokens{}
	}
	if cfg.OnView == nil {
		cfg.OnView = func(View) {}
	}
	if cfg.OnEffect == nil {
		cfg.OnEffect = func(Effect) {}
	}
	c := &Core{cfg: cfg, intents: make(chan Intent, 64), wake: make(chan struct{}, 1), done: make(chan struct{})}
	c.st = newState(cfg.Settings)
	return c
}

// Intent queues what the agent asked for; it never blocks the caller (a
// click beyond 64 pending ones is dropped, which no person can do).
func (c *Core) Intent(in Intent) {
	select {
	case c.intents <- in:
	default:
	}
}

// Reconnect asks for an immediate reconnect (the network came back, the
// worker woke up).
func (c *Core) Reconnect() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// View returns the current view.
func (c *Core) View() View {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.viewLocked()
}

// viewLocked is the view of the state (c.mu held).
func (c *Core) viewLocked() View {
	v := c.st.view(time.Now())
	// Not while the settings cannot work: nothing is resumed then.
	v.Resuming = !v.LoggedIn && len(v.Problems) == 0 && v.Fault == "" && c.cfg.Tokens.Load() != ""
	return v
}

// Close stops the core and its connection. It is safe to call twice, and
// before Run (then it only marks the core stopped).
func (c *Core) Close() {
	c.mu.Lock()
	cancel := c.cancel
	if cancel == nil {
		c.cancel = func() {}
		close(c.done)
	}
	c.mu.Unlock()
	if cancel != nil {
		cancel()
		<-c.done
	}
}

// errLoggedOut ends a connection after logout or a dead session.
var errLoggedOut = errors.New("logged out")

// PanicError is a panic in the core (or in a host callback it called),
// recovered so that the module lives on.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprint(e.Value) }

// Recovered turns a recover() value into a *PanicError, or nil.
func Recovered(v any) error {
	if v == nil {
		return nil
	}
	return &PanicError{Value: v, Stack: debug.Stack()}
}

// FaultMessage is what the panel shows while the core restarts.
func FaultMessage(err error) string {
	return "The CTI core stopped: " + strings.TrimSuffix(err.Error(), ".") + ". Reloading…"
}

// Run connects and serves until ctx ends or Close. It owns the state. A
// panic while serving (a defect, or a host callback that threw) does not
// end it: the panels show the fault, and after RestartDelay the core
// starts over from a fresh state; the session token survives, so the
// agent is resumed, calls and all.
func (c *Core) Run(ctx context.Context) {
	c.mu.Lock()
	if c.cancel != nil { // closed before it ran
		c.mu.Unlock()
		return
	}
	ctx, c.cancel = context.WithCancel(ctx)
	c.mu.Unlock()
	defer close(c.done)
	for ctx.Err() == nil {
		err := c.serveGuarded(ctx)
		if err == nil || ctx.Err() != nil {
			return
		}
		c.reportFault(err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(c.cfg.RestartDelay):
		}
		c.mu.Lock()
		c.st = newState(c.cfg.Settings)
		c.mu.Unlock()
	}
}

// serveGuarded serves and turns a panic into an error.
func (c *Core) serveGuarded(ctx context.Context) (err error) {
	defer func() {
		if p := Recovered(recover()); p != nil {
			err = p
		}
	}()
	return c.serve(ctx)
}

// reportFault shows the fault; the host callback that failed may fail
// again, which must not stop the restart.
func (c *Core) reportFault(err error) {
	defer func() { _ = recover() }()
	c.update(func(s *state) {
		s.fault = FaultMessage(err)
		s.conn = connIdle
	})
}

// serve is the connect loop: wait for a login or use the token, keep a
// session, move on to the next gateway when it breaks, and back off once
// every gateway failed in a row. Bad settings stop it before any
// connection is tried.
func (c *Core) serve(ctx context.Context) error {
	if problems := c.cfg.Settings.Problems(); len(problems) > 0 {
		c.update(func(s *state) { s.conn, s.problems = connUnconfigured, problems })
		<-ctx.Done()
		return nil
	}
	delays := backoff.New(c.cfg.MinBackoff, c.cfg.MaxBackoff)
	gws := newGateways(c.cfg.Settings.Gateways())
	// login is the agent's login while it is being tried: it goes to the
	// next gateway with the rest of the round, not back to the agent.
	var login *Intent
	for ctx.Err() == nil {
		// Without a token and without a login to send, there is nothing
		// to connect for: wait for the agent.
		if login == nil && c.cfg.Tokens.Load() == "" {
			c.update(func(s *state) { s.conn = connIdle })
			in, ok := c.waitLogin(ctx)
			if !ok {
				return nil
			}
			login = &in
		}
		url := gws.url()
		c.update(func(s *state) {
			s.gateway = url
			if s.conn != connReconnecting {
				s.conn = connConnecting
			}
		})
		err := c.session(ctx, url, login, func() { delays.Reset(); gws.online() })
		if ctx.Err() != nil {
			return nil
		}
		var p *PanicError
		if errors.As(err, &p) {
			return err
		}
		if c.cfg.Tokens.Load() != "" || errors.Is(err, errLoggedOut) {
			login = nil // a session began (or the login was refused)
		}
		if errors.Is(err, errLoggedOut) {
			delays.Reset()
			continue
		}
		round, standby := gws.fail(err)
		if !round {
			c.showLost(err)
			continue
		}
		if standby {
			delays.Reset()
		}
		if login != nil {
			login = nil
			c.update(func(s *state) {
				s.loginBusy, s.loginErr = false, "Cannot reach the CTI gateway. Check the network and try again."
			})
		}
		c.waitRetry(ctx, err, delays)
	}
	return nil
}

// showLost shows the connection as lost, and why: the standby's words,
// or the error.
func (c *Core) showLost(err error) {
	c.update(func(s *state) {
		s.conn = connReconnecting
		switch {
		case isStandby(err):
			s.connErr = switchingMessage
			s.switching(time.Now())
		case err != nil:
			s.connErr = err.Error()
		}
	})
}

// waitRetry shows the connection as lost and waits for the next attempt:
// the backoff's delay, or at once when asked to reconnect.
func (c *Core) waitRetry(ctx context.Context, err error, delays *backoff.Backoff) {
	c.showLost(err)
	select {
	case <-ctx.Done():
	case <-c.wake:
		delays.Reset()
	case <-time.After(delays.Next()):
	}
}

// waitLogin serves intents while logged out until a login comes.
func (c *Core) waitLogin(ctx context.Context) (Intent, bool) {
	for {
		select {
		case <-ctx.Done():
			return Intent{}, false
		case <-c.wake:
		case in := <-c.intents:
			if in.Type == wire.TLogin {
				if strings.TrimSpace(in.Username) == "" || in.Password == "" {
					c.update(func(s *state) { s.loginErr = "Enter your username and password." })
					continue
				}
				c.update(func(s *state) { s.loginBusy, s.loginErr = true, "" })
				return in, true
			}
			c.local(in)
		}
	}
}

// update changes the state and shows the result.
func (c *Core) update(f func(*state)) {
	c.mu.Lock()
	f(&c.st)
	v := c.viewLocked()
	c.mu.Unlock()
	c.cfg.OnView(v)
}
