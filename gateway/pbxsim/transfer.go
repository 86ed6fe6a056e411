package pbxsim

import "crmcti/gateway/csta"

func (s *Sim) singleStepTransferLocked(m *csta.SingleStepTransferCall) (csta.Message, error) {
	c, dev, err := s.callFor(m.ActiveCall)
	if err != nil {
		return nil, err
	}
	to := s.dialled(m.TransferredTo)
	if to == "" || to == dev {
		return nil, csta.NewError(csta.ErrCatOperation, "invalidDestination")
	}
	if c.conn(dev).state != csta.StateConnected {
		return nil, csta.NewError(csta.ErrCatStateIncompatibility, "noActiveCall")
	}
	c.conn(dev).state = csta.StateNull
	c.called, c.lastRed = to, dev
	s.emit(c, []string{dev}, func(local string) csta.Event {
		return &csta.TransferedEvent{PrimaryOldCall: s.cid(c, dev), TransferringDevice: s.present(dev), TransferredToDevice: s.present(to),
			LocalConnectionInfo: local, Cause: "singleStepTransfer"}
	})
	c.prune()
	if out, _ := s.offerLocked(c, to); out == OutcomeFailed {
		if _, ok := s.calls[c.id]; ok && c.active() <= 1 {
			s.endCallLocked(c, "busy")
		}
	}
	return &csta.SingleStepTransferCallResponse{TransferredCall: s.cid(c, to)}, nil
}

// heldAndActiveLocked checks the two calls of a transfer or conference:
// one device, on hold in the first and connected in the second.
func (s *Sim) heldAndActiveLocked(heldID, activeID csta.ConnectionID) (held, active *call, dev string, err error) {
	held, dev, err = s.callFor(heldID)
	if err != nil {
		return nil, nil, "", err
	}
	active, dev2, err := s.callFor(activeID)
	if err != nil {
		return nil, nil, "", err
	}
	switch {
	case dev != dev2 || held == active:
		err = csta.NewError(csta.ErrCatOperation, "invalidConnectionID")
	case held.conn(dev).state != csta.StateHold:
		err = csta.NewError(csta.ErrCatStateIncompatibility, "noHeldCall")
	case active.conn(dev).state != csta.StateConnected:
		err = csta.NewError(csta.ErrCatStateIncompatibility, "noActiveCall")
	}
	if err != nil {
		return nil, nil, "", err
	}
	return held, active, dev, nil
}

// transferLocked joins the held call's other parties to the active call
// and drops the transferring device from both.
func (s *Sim) transferLocked(m *csta.TransferCall) (csta.Message, error) {
	held, active, dev, err := s.heldAndActiveLocked(m.HeldCall, m.ActiveCall)
	if err != nil {
		return nil, err
	}
	var target string
	for _, cn := range active.conns {
		if cn.device != dev && cn.state != csta.StateNull {
			target = cn.device
			break
		}
	}
	var list csta.ConnectionList
	for _, cn := range held.conns {
		if cn.device == dev || cn.state == csta.StateNull {
			continue
		}
		list.Items = append(list.Items, csta.ConnectionListItem{NewConnection: s.cid(active, cn.device), OldConnection: s.cid(held, cn.device),
			Endpoint: csta.Endpoint{DeviceID: s.present(cn.device)}})
		active.conns = append(active.conns, &conn{device: cn.device, state: cn.state})
	}
	if target == "" {
		return nil, csta.NewError(csta.ErrCatStateIncompatibility, "noActiveCall")
	}
	held.conn(dev).state = csta.StateNull
	active.conn(dev).state = csta.StateNull
	if active.calling == dev {
		active.calling = held.calling
	}
	active.gen++
	extra := []string{dev}
	for _, cn := range held.conns {
		extra = append(extra, cn.device)
	}
	s.emit(active, extra, func(local string) csta.Event {
		return &csta.TransferedEvent{PrimaryOldCall: s.cid(held, dev), SecondaryOldCall: s.cid(active, dev), TransferringDevice: s.present(dev),
			TransferredToDevice: s.present(target), TransferredConnections: list, LocalConnectionInfo: local, Cause: "transfer"}
	})
	held.gen++
	delete(s.calls, held.id)
	active.prune()
	if active.active() <= 1 {
		s.endCallLocked(active, "normalClearing")
	}
	return &csta.TransferCallResponse{TransferredCall: s.cid(active, target)}, nil
}

// conferenceLocked merges the active call's parties into the held call.
func (s *Sim) conferenceLocked(m *csta.ConferenceCall) (csta.Message, error) {
	held, active, dev, err := s.heldAndActiveLocked(m.HeldCall, m.ActiveCall)
	if err != nil {
		return nil, err
	}
	var added string
	var list csta.ConnectionList
	for _, cn := range active.conns {
		if cn.device == dev || cn.state == csta.StateNull {
			continue
		}
		if added == "" {
			added = cn.device
		}
		held.conns = append(held.conns, &conn{device: cn.device, state: cn.state})
		list.Items = append(list.Items, csta.ConnectionListItem{NewConnection: s.cid(held, cn.device), OldConnection: s.cid(active, cn.device),
			Endpoint: csta.Endpoint{DeviceID: s.present(cn.device)}})
	}
	held.conn(dev).state = csta.StateConnected
	held.gen++
	active.gen++
	delete(s.calls, active.id)
	s.emit(held, nil, func(local string) csta.Event {
		return &csta.ConferencedEvent{PrimaryOldCall: s.cid(held, dev), SecondaryOldCall: s.cid(active, dev), ConferencingDevice: s.present(dev),
			AddedParty: s.present(added), ConferenceConnections: list, LocalConnectionInfo: local, Cause: "conference"}
	})
	return &csta.ConferenceCallResponse{ConferenceCall: s.cid(held, dev)}, nil
}
