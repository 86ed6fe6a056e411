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
	c.deadline = time.AfterFunc(s.cfg.LoginDeadline, func() {
		if c.state() == nil {
			s.obs.ClientDropped("login_timeout")
			c.close(wire.Error{Code: string(gateway.CodeLoginTimeout), Message: "no login in time; reconnecting"})
		}
	})
	c.mu.Unlock()
}

// authenticated stops counting a connection that has logged in.
func (s *Service) authenticated(c *Conn) {
	c.mu.Lock()
	counted := c.counted
	c.counted = false
	if c.deadline != nil {
		c.deadline.Stop()
	}
	c.mu.Unlock()
	if counted {
		s.unauth.remove(c.addr)
	}
}
