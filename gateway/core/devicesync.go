package core

import "crmcti/gateway/wire"

// DeviceSynced implements gateway.DeviceSync: while the switch adapter
// resynchronises every phone after a reconnect or a take-over (seconds for
// a thousand phones at the switch's pacing), an agent whose own phone is
// monitored again and its calls reconciled is told the link is up at once
// and served, instead of waiting for the last phone. Her snapshot says
// "up" from then on; LinkChanged(true) does not tell her twice, and
// LinkChanged(false) or StepDown forgets every device.
func (s *Service) DeviceSynced(device string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pbxUp || s.synced[device] {
		return
	}
	if s.synced == nil {
		s.synced = map[string]bool{}
	}
	s.synced[device] = true
	if st, ok := s.byDevice[device]; ok {
		s.broadcastLocked(st, wire.TLink, wire.Link{PBX: "up"})
	}
}
