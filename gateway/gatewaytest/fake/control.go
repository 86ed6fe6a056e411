package fake

import (
	"context"
	"time"

	"crmcti/gateway"
)

// MakeCall implements gateway.Switch: the call's first event reaches the
// core before MakeCall returns, as it may from a real switch, unless
// DialedLater is set (then the test calls Report).
func (s *Switch) MakeCall(ctx context.Context, device, number string) (string, error) {
	s.record("call %s %s", device, number)
	if s.Fail != nil {
		return "", s.Fail
	}
	c := s.newCall(device, gateway.Outbound, gateway.CallDialing, number)
	if !s.DialedLater {
		s.emit(c, gateway.EvDialed)
	}
	return c.ID, nil
}

// Report sends a call's current state to the core after ev.
func (s *Switch) Report(callID string, ev gateway.CallEvent) {
	s.mu.Lock()
	c, ok := s.calls[callID]
	var out gateway.Call
	if ok {
		out = *c
	}
	s.mu.Unlock()
	if ok {
		s.emit(out, ev)
	}
}

// Answer implements gateway.Switch.
func (s *Switch) Answer(ctx context.Context, device, callID string) error {
	if s.BeforeAnswer != nil {
		s.BeforeAnswer(device, callID)
	}
	s.record("answer %s %s", device, callID)
	if s.Fail != nil {
		return s.Fail
	}
	return s.change(device, callID, gateway.EvAnswered, then(want(gateway.CallRinging), func(c *gateway.Call) {
		c.State, c.Answered = gateway.CallConnected, time.Now()
	}))
}

// Clear implements gateway.Switch.
func (s *Switch) Clear(ctx context.Context, device, callID string) error {
	s.record("clear %s %s", device, callID)
	if s.Fail != nil {
		return s.Fail
	}
	return s.change(device, callID, gateway.EvEnded, func(c *gateway.Call) error {
		c.State, c.Ended, c.Cause = gateway.CallEnded, time.Now(), "normalClearing"
		return nil
	})
}

// Hold implements gateway.Switch.
func (s *Switch) Hold(ctx context.Context, device, callID string) error {
	s.record("hold %s %s", device, callID)
	if s.Fail != nil {
		return s.Fail
	}
	return s.change(device, callID, gateway.EvHeld, then(want(gateway.CallConnected), func(c *gateway.Call) { c.State = gateway.CallHeld }))
}

// Retrieve implements gateway.Switch.
func (s *Switch) Retrieve(ctx context.Context, device, callID string) error {
	s.record("retrieve %s %s", device, callID)
	if s.Fail != nil {
		return s.Fail
	}
	return s.change(device, callID, gateway.EvRetrieved, then(want(gateway.CallHeld), func(c *gateway.Call) { c.State = gateway.CallConnected }))
}

// Transfer implements gateway.Switch.
func (s *Switch) Transfer(ctx context.Context, device, callID, to string) error {
	s.record("transfer %s %s %s", device, callID, to)
	if s.Fail != nil {
		return s.Fail
	}
	return s.change(device, callID, gateway.EvTransferred, func(c *gateway.Call) error {
		c.State, c.Ended = gateway.CallEnded, time.Now()
		return nil
	})
}

// SendDigits implements gateway.Switch.
func (s *Switch) SendDigits(ctx context.Context, device, callID, digits string) error {
	s.record("digits %s %s %s", device, callID, digits)
	return s.Fail
}

// Consult implements gateway.Switch: the call is held and a new one
// dials to.
func (s *Switch) Consult(ctx context.Context, device, callID, to string) (string, error) {
	s.record("consult %s %s %s", device, callID, to)
	if s.Fail != nil {
		return "", s.Fail
	}
	if err := s.Hold(ctx, device, callID); err != nil {
		return "", err
	}
	c := s.newCall(device, gateway.Outbound, gateway.CallDialing, to)
	s.emit(c, gateway.EvDialed)
	return c.ID, nil
}

// Complete implements gateway.Switch: both calls leave the agent.
func (s *Switch) Complete(ctx context.Context, device, heldID, activeID string, conference bool) error {
	s.record("complete %s %s %s %v", device, heldID, activeID, conference)
	if s.Fail != nil {
		return s.Fail
	}
	ev := gateway.EvTransferred
	if conference {
		ev = gateway.EvConferenced
	}
	end := func(c *gateway.Call) { c.State, c.Ended = gateway.CallEnded, time.Now() }
	if err := s.change(device, heldID, ev, then(want(gateway.CallHeld), end)); err != nil {
		return err
	}
	return s.change(device, activeID, ev, func(c *gateway.Call) error { end(c); return nil })
}

// SetStatus implements gateway.Switch; the switch confirms with an event
// before it answers, as real ones may.
func (s *Switch) SetStatus(ctx context.Context, device, agentID string, st gateway.Status) error {
	s.record("status %s %s", device, st)
	if s.Fail != nil {
		return s.Fail
	}
	s.Events.StatusChanged(device, st)
	return nil
}
