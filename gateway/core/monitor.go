package core

import (
	"context"
	"sync"
)

// deviceLocks serialises what the core asks the switch about one device's
// monitor. Without it a logout's Unmonitor could overtake a new login's
// Monitor of the same phone (which the adapter skips, as it still knows
// the device), leaving the agent logged in and deaf.
type deviceLocks struct {
	mu    sync.Mutex
	locks map[string]*deviceLock
}

type deviceLock struct {
	sync.Mutex
	users int // holders and waiters, so that an idle lock is forgotten
}

func (d *deviceLocks) lock(device string) (unlock func()) {
	d.mu.Lock()
	if d.locks == nil {
		d.locks = map[string]*deviceLock{}
	}
	l := d.locks[device]
	if l == nil {
		l = &deviceLock{}
		d.locks[device] = l
	}
	l.users++
	d.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		d.mu.Lock()
		if l.users--; l.users == 0 {
			delete(d.locks, device)
		}
		d.mu.Unlock()
	}
}

// syncMonitor makes the switch's monitor of device match whether an agent
// is logged in on it now: it monitors or unmonitors, one decision at a
// time per device, so that the last word is always the current state.
func (s *Service) syncMonitor(ctx context.Context, device string) error {
	unlock := s.devices.lock(device)
	defer unlock()
	s.mu.Lock()
	_, loggedIn := s.byDevice[device]
	s.mu.Unlock()
	if loggedIn {
		return s.sw.Monitor(ctx, device)
	}
	return s.sw.Unmonitor(ctx, device)
}
