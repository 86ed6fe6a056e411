// Package fake has in-memory fakes of the gateway's ports (gateway.Switch,
// gateway.Directory, gateway.Store) for unit tests of the core's logic:
// no database, directory or PBX is started. They behave like the real
// adapters where the core depends on it (Monitor is a no-op for a device
// already monitored, as in gateway/pbx; a call's events reach the core
// only while its device is monitored), record what they were asked, and
// let a test hold an operation back to force an interleaving.
package fake

import (
	"context"
	"fmt"
	"sync"
	"time"

	"crmcti/gateway"
)

// Switch is a fake PBX with its call tracker. Events go to Events,
// synchronously, after the switch's own lock is released.
type Switch struct {
	Events gateway.SwitchEvents

	// Hooks, when set, run at the start of the operation, outside any lock:
	// a test blocks in them to order concurrent operations.
	BeforeMonitor, BeforeUnmonitor func(device string)
	BeforeAnswer                   func(device, callID string)
	// Fail, when set, is returned by every call-control operation.
	Fail error
	// MonitorFail, when set, is returned by Monitor.
	MonitorFail error
	// DialedLater holds a placed call's first event back until Report.
	DialedLater bool

	mu        sync.Mutex
	monitored map[string]bool
	calls     map[string]*gateway.Call // by call ID
	ops       []string
	seq       int
	down      bool
}

// NewSwitch returns a switch whose link is up.
func NewSwitch() *Switch {
	return &Switch{monitored: map[string]bool{}, calls: map[string]*gateway.Call{}}
}

// Ops are the operations asked of the switch, in order ("monitor 1001",
// "answer 1001 C1", …).
func (s *Switch) Ops() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ops...)
}

// Monitored reports whether the device's events reach the core.
func (s *Switch) Monitored(device string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.monitored[device]
}

func (s *Switch) record(format string, args ...any) {
	s.mu.Lock()
	s.ops = append(s.ops, fmt.Sprintf(format, args...))
	s.mu.Unlock()
}

// Monitor implements gateway.Switch; like the real adapter it does
// nothing for a device it already monitors, and while the link is down
// it remembers the device for when the link returns. MonitorFail, when
// set, is returned instead.
func (s *Switch) Monitor(ctx context.Context, device string) error {
	if s.BeforeMonitor != nil {
		s.BeforeMonitor(device)
	}
	s.record("monitor %s", device)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.MonitorFail != nil {
		return s.MonitorFail
	}
	s.monitored[device] = true
	return nil
}

// SetMonitorFail sets MonitorFail while the switch may be in use.
func (s *Switch) SetMonitorFail(err error) {
	s.mu.Lock()
	s.MonitorFail = err
	s.mu.Unlock()
}

// Unmonitor implements gateway.Switch.
func (s *Switch) Unmonitor(ctx context.Context, device string) error {
	if s.BeforeUnmonitor != nil {
		s.BeforeUnmonitor(device)
	}
	s.record("unmonitor %s", device)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.monitored, device)
	return nil
}

// Calls implements gateway.Switch.
func (s *Switch) Calls(device string) []gateway.Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []gateway.Call
	for _, c := range s.calls {
		if c.Device == device && s.monitored[device] {
			out = append(out, *c)
		}
	}
	return out
}

// Up implements gateway.Switch.
func (s *Switch) Up() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.down
}

// SetLink takes the link down or up and tells the core.
func (s *Switch) SetLink(up bool) {
	s.mu.Lock()
	s.down = !up
	s.mu.Unlock()
	s.Events.LinkChanged(up)
}

// emit reports the call after ev, if its device is monitored.
func (s *Switch) emit(c gateway.Call, ev gateway.CallEvent) {
	s.mu.Lock()
	on := s.monitored[c.Device]
	s.mu.Unlock()
	if on {
		s.Events.CallChanged(c, ev)
	}
}

// change applies f to a live call of device and reports it after ev.
func (s *Switch) change(device, callID string, ev gateway.CallEvent, f func(*gateway.Call) error) error {
	s.mu.Lock()
	c, ok := s.calls[callID]
	if !ok || c.Device != device {
		s.mu.Unlock()
		return gateway.Errorf(gateway.CodePBXRefused, "invalidCallID")
	}
	if err := f(c); err != nil {
		s.mu.Unlock()
		return err
	}
	out := *c
	if !c.State.Live() {
		delete(s.calls, callID)
	}
	s.mu.Unlock()
	s.emit(out, ev)
	return nil
}

func (s *Switch) newCall(device string, dir gateway.Direction, state gateway.CallState, remote string) gateway.Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	c := &gateway.Call{ID: fmt.Sprintf("C%d", s.seq), Device: device, Direction: dir, State: state,
		Remote: remote, RemoteRaw: remote, Started: time.Now()}
	s.calls[c.ID] = c
	return *c
}

// Ring starts an inbound call from remote ringing at device and returns
// its ID.
func (s *Switch) Ring(device, remote string) string {
	c := s.newCall(device, gateway.Inbound, gateway.CallRinging, remote)
	s.emit(c, gateway.EvRang)
	return c.ID
}

// FarAnswer is the far end answering an outbound call.
func (s *Switch) FarAnswer(device, callID string) error {
	return s.change(device, callID, gateway.EvAnswered, func(c *gateway.Call) error {
		c.State, c.Answered = gateway.CallConnected, time.Now()
		return nil
	})
}

// FarHangup is the far end hanging up.
func (s *Switch) FarHangup(device, callID string) error {
	return s.change(device, callID, gateway.EvEnded, func(c *gateway.Call) error {
		c.State, c.Ended, c.Cause = gateway.CallEnded, time.Now(), "normalClearing"
		return nil
	})
}

// Put places a call at the switch as a snapshot after a restart would
// show it, without an event: the tracker knows it, the core is not told.
func (s *Switch) Put(c gateway.Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := c
	s.calls[c.ID] = &cp
}

func want(state gateway.CallState) func(*gateway.Call) error {
	return func(c *gateway.Call) error {
		if c.State != state {
			return gateway.Errorf(gateway.CodePBXRefused, "stateIncompatibility")
		}
		return nil
	}
}

func then(check func(*gateway.Call) error, f func(*gateway.Call)) func(*gateway.Call) error {
	return func(c *gateway.Call) error {
		if err := check(c); err != nil {
			return err
		}
		f(c)
		return nil
	}
}
