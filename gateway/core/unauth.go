package core

import (
	"sync"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/wire"
)

// Connections that have not logged in cost memory and a goroutine each
// and prove nothing: each must log in (or resume) within LoginDeadline,
// and one address may hold at most MaxUnauthenticated of them at once
// (a whole call centre behind one NAT opens one per browser, and only
// for the moment of logging in).

// unauthCount counts connections not logged in, by client address.
type unauthCount struct {
	mu     sync.Mutex
	byAddr map[string]int
}

// add counts a new connection from addr; it reports false when the
// address is at its cap (and the connection is not counted).
func (u *unauthCount) add(addr string, limit int) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.byAddr == nil {
		u.byAddr = map[string]int{}
	}
	if u.byAddr[addr] >= limit {
		return false
	}
	u.byAddr[addr]++
	return true
}

func (u *unauthCount) remove(addr string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.byAddr[addr]--; u.byAddr[addr] <= 0 {
		delete(u.byAddr, addr)
	}
}

// admitUnauthenticated counts a new connection and gives it its login
// deadline, or ends it at once when its address has too many.
func (s *Service) admitUnauthenticated(c *Conn) {
	if !s.unauth.add(c.addr, s.cfg.MaxUnauthenticated) {
		s.obs.ClientDropped("unauthenticated_cap")
		c.close(wire.Error{Code: string(gateway.CodeTooManyConnections), Message: "too many connections not logged in from your address; try again shortly"})
		return
	}
	c.mu.Lock()
	c.counted = true
	c.deadlineAt = time.Now().Add(s.cfg.LoginDeadline)
	c.deadline = time.AfterFunc(s.cfg.LoginDeadline, c.loginTimedOut)
	c.mu.Unlock()
}

// loginTimedOut ends a connection that has not logged in by its deadline.
func (c *Conn) loginTimedOut() {
	if c.state() == nil {
		c.s.obs.ClientDropped("login_timeout")
		c.close(wire.Error{Code: string(gateway.CodeLoginTimeout), Message: "no login in time; reconnecting"})
	}
}

// pauseLoginDeadline stops the login deadline's clock while a login or
// resume is carried out, and returns what starts it again. In a morning's
// login storm a login can wait its turn at the directory for longer than
// the deadline; ending it then would throw the work away and send the
// browser back to the end of the queue. The deadline bounds the time a
// socket sits idle without logging in, so a login that fails gets back
// the time it had left (not a fresh deadline: failing logins must not
// keep a socket alive), and the connection counts against its address's
// cap throughout.
func (c *Conn) pauseLoginDeadline() (restart func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loginsRunning++
	// Stop reports false when the deadline has fired: the connection is
	// ending, and there is no clock to start again.
	if c.loginsRunning == 1 && c.counted && c.deadline != nil && c.deadline.Stop() {
		c.deadlineLeft = time.Until(c.deadlineAt)
		c.deadlinePaused = true
	}
	return c.restartLoginDeadline
}

// restartLoginDeadline starts the clock pauseLoginDeadline stopped again,
// once no login is running on a connection still not logged in.
func (c *Conn) restartLoginDeadline() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loginsRunning--; c.loginsRunning > 0 || !c.deadlinePaused {
		return
	}
	c.deadlinePaused = false
	if !c.counted { // logged in: the deadline is done with
		return
	}
	left := max(c.deadlineLeft, 0)
	c.deadlineAt = time.Now().Add(left)
	c.deadline.Reset(left)
}

// authenticated stops counting a connection that has logged in.
func (s *Service) authenticated(c *Conn) {
	c.mu.Lock()
	counted := c.counted
	c.counted = false
	if c.deadline != nil {
		c.deadline.Stop()
		c.deadline = nil // not kept for the rest of the agent's day
	}
	c.mu.Unlock()
	if counted {
		s.unauth.remove(c.addr)
	}
}
