package core

import (
	"context"
	"errors"

	"crmcti/gateway"
	"crmcti/gateway/wire"
)

// setStatus sets Available/Busy on the phone (R11) and tells every tab.
func (s *Service) setStatus(ctx context.Context, st *agentState, status gateway.Status) error {
	// The switch echoes the change as an event, which may arrive before
	// SetStatus returns: mark it as ours so that it is not reported as a
	// change made on the phone.
	s.mu.Lock()
	st.settingStatus = status
	s.mu.Unlock()
	err := s.sw.SetStatus(ctx, st.agent.Extension, st.agent.Username, status)
	s.mu.Lock()
	defer s.mu.Unlock()
	st.settingStatus = ""
	if err != nil {
		return err
	}
	if st.status != status {
		st.status = status
		s.broadcastLocked(st, wire.TStatusEv, wire.StatusEvent{Status: string(status), Source: "panel"})
	}
	return nil
}

// StatusChanged implements gateway.SwitchEvents.
func (s *Service) StatusChanged(device string, status gateway.Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.byDevice[device]
	if !ok || st.status == status {
		return
	}
	st.status = status
	source := "phone"
	if st.settingStatus == status {
		source = "panel"
	}
	s.broadcastLocked(st, wire.TStatusEv, wire.StatusEvent{Status: string(status), Source: source})
}

// linkDown says why the PBX link is down, for the admin's /readyz: a
// switch adapter that knows (pbx.Adapter.Health: since when, the kind of
// the last error, failed attempts) says so; the public /readyz shows only
// "down".
func (s *Service) linkDown() error {
	if h, ok := s.sw.(interface{ Health() error }); ok {
		if err := h.Health(); err != nil {
			return err
		}
	}
	return errors.New("PBX link down")
}
