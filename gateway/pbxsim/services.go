package pbxsim

import (
	"errors"
	"strconv"

	"crmcti/gateway/csta"
)

// service carries out one CSTA request on the switch. It returns the
// response, nil for messages that take no answer, or an error (a
// *csta.CSTAErrorCode is answered as it is, anything else as generic).
type service func(s *Sim, lk *link, msg csta.Message) (csta.Message, error)

// serviceFor adapts a handler of one request type to the table; the
// typed assertion is checked, so that an *csta.Unknown that happens to
// carry a known name is refused rather than panicking.
func serviceFor[M csta.Message](h func(s *Sim, lk *link, m M) (csta.Message, error)) service {
	return func(s *Sim, lk *link, msg csta.Message) (csta.Message, error) {
		m, ok := msg.(M)
		if !ok {
			return nil, csta.NewError(csta.ErrCatOperation, "generic")
		}
		return h(s, lk, m)
	}
}

// services routes each request, by its element name, to its handler, as
// a SIP stack routes methods; a request not in the table is refused with
// operation/generic.
var services = map[string]service{
	"SystemStatus":                 serviceFor((*Sim).systemStatus),
	"SystemStatusResponse":         serviceFor((*Sim).systemStatusResponse),
	"SystemRegister":               serviceFor((*Sim).systemRegister),
	"StartApplicationSession":      serviceFor((*Sim).startApplicationSession),
	"ResetApplicationSessionTimer": serviceFor((*Sim).resetApplicationSessionTimer),
	"StopApplicationSession":       serviceFor((*Sim).stopApplicationSession),
	"GetDeviceId":                  serviceFor((*Sim).getDeviceID),
	"GetThirdPartyDeviceId":        serviceFor((*Sim).getThirdPartyDeviceID),
	"ReleaseDeviceId":              serviceFor((*Sim).releaseDeviceID),

	"MonitorStart":           serviceFor((*Sim).monitorStart),
	"MonitorStop":            serviceFor((*Sim).monitorStop),
	"SnapshotDevice":         serviceFor((*Sim).snapshotDevice),
	"MakeCall":               serviceFor((*Sim).makeCall),
	"AnswerCall":             serviceFor((*Sim).answerCall),
	"ClearConnection":        serviceFor((*Sim).clearConnection),
	"HoldCall":               serviceFor((*Sim).holdCall),
	"RetrieveCall":           serviceFor((*Sim).retrieveCall),
	"SingleStepTransferCall": serviceFor((*Sim).singleStepTransfer),
	"ConsultationCall":       serviceFor((*Sim).consultationCall),
	"TransferCall":           serviceFor((*Sim).transferCall),
	"ConferenceCall":         serviceFor((*Sim).conferenceCall),
	"GenerateDigits":         serviceFor((*Sim).generateDigits),
	"SetDoNotDisturb":        serviceFor((*Sim).setDoNotDisturb),
	"SetAgentState":          serviceFor((*Sim).setAgentState),
	"GetAgentState":          serviceFor((*Sim).getAgentState),
}

// ownDevice is the extension a device-addressed request (MonitorStart,
// SnapshotDevice, MakeCall's caller, SetDoNotDisturb, agent state) names,
// in the switch's own form: the extension, the full number on OpenScape,
// and on Avaya only a device ID this session obtained by GetDeviceId —
// AES refuses any other (operation/invalidDeviceID, the code ECMA-269
// gives a device identifier the switch does not accept).
func (s *Sim) ownDevice(lk *link, id csta.DeviceID) (string, error) {
	ext, ok := s.extensionOf(id)
	if ok && s.naming == namingAvaya {
		_, ok = lk.deviceIDs[string(id)]
	}
	if !ok {
		return "", csta.NewError(csta.ErrCatOperation, "invalidDeviceID")
	}
	return ext, nil
}

func (s *Sim) callFor(cid csta.ConnectionID) (*call, string, error) {
	c, ok := s.calls[cid.CallID]
	if !ok {
		return nil, "", csta.NewError(csta.ErrCatOperation, "invalidCallID")
	}
	dev := s.party(cid.DeviceID)
	if dev == "" || c.conn(dev) == nil {
		return nil, "", csta.NewError(csta.ErrCatOperation, "invalidConnectionID")
	}
	return c, dev, nil
}

// handleLocked carries out one service. It returns the response, a
// CSTAErrorCode, or nil for messages that take no answer.
func (s *Sim) handleLocked(lk *link, msg csta.Message) csta.Message {
	if !s.sessionAllows(lk, msg) {
		return csta.NewError(csta.ErrCatSecurity, "requestNotAllowed")
	}
	resp, err := s.dispatchLocked(lk, msg)
	if err != nil {
		var ce *csta.CSTAErrorCode
		if errors.As(err, &ce) {
			return ce
		}
		return csta.NewError(csta.ErrCatOperation, "generic")
	}
	return resp
}

func (s *Sim) dispatchLocked(lk *link, msg csta.Message) (csta.Message, error) {
	svc, ok := services[msg.MessageName()]
	if !ok {
		s.log.Info("pbxsim: unsupported request", "name", msg.MessageName())
		return nil, csta.NewError(csta.ErrCatOperation, "generic")
	}
	return svc(s, lk, msg)
}

// ---- Monitoring ----

func (s *Sim) monitorStart(lk *link, m *csta.MonitorStart) (csta.Message, error) {
	dev, err := s.ownDevice(lk, m.MonitorObject.DeviceObject)
	if err != nil {
		return nil, err
	}
	s.nextXref++
	mon := &monitor{xref: strconv.FormatUint(s.nextXref, 10), device: dev, link: lk}
	lk.monitors[mon.xref] = mon
	s.monitors[dev] = append(s.monitors[dev], mon)
	return &csta.MonitorStartResponse{MonitorCrossRefID: mon.xref}, nil
}

func (s *Sim) monitorStop(lk *link, m *csta.MonitorStop) (csta.Message, error) {
	mon, ok := lk.monitors[m.MonitorCrossRefID]
	if !ok {
		return nil, csta.NewError(csta.ErrCatOperation, "invalidCrossRefID")
	}
	s.removeMonitorLocked(mon)
	return &csta.MonitorStopResponse{}, nil
}

func (s *Sim) snapshotDevice(lk *link, m *csta.SnapshotDevice) (csta.Message, error) {
	dev, err := s.ownDevice(lk, m.SnapshotObject)
	if err != nil {
		return nil, err
	}
	r := &csta.SnapshotDeviceResponse{}
	for _, c := range s.sortedCallsLocked() {
		if cn := c.conn(dev); cn != nil && cn.state != csta.StateNull {
			r.CrossRefIDorSnapshotData.SnapshotData.Info = append(r.CrossRefIDorSnapshotData.SnapshotData.Info, csta.SnapshotDeviceInfo{
				ConnectionIdentifier: s.cid(c, dev),
				LocalCallState:       csta.LocalCallState{CompoundCallState: csta.CompoundCallState{LocalConnectionState: cn.state}},
			})
		}
	}
	return r, nil
}

// ---- Call control ----

func (s *Sim) makeCall(lk *link, m *csta.MakeCall) (csta.Message, error) {
	from, _ := s.ownDevice(lk, m.CallingDevice) // "" is refused as invalidCallingDevice
	to := s.dialled(m.CalledDirectoryNumber)
	c, err := s.makeCallLocked(from, to)
	if err != nil {
		return nil, err
	}
	s.offerLocked(c, to)
	return &csta.MakeCallResponse{CallingDevice: s.cid(c, from)}, nil
}

func (s *Sim) answerCall(lk *link, m *csta.AnswerCall) (csta.Message, error) {
	c, dev, err := s.callFor(m.CallToBeAnswered)
	if err != nil {
		return nil, err
	}
	if err := s.answerLocked(c, dev); err != nil && !s.modes[FaultAnswerAny] {
		return nil, err
	}
	return &csta.AnswerCallResponse{}, nil
}

func (s *Sim) clearConnection(lk *link, m *csta.ClearConnection) (csta.Message, error) {
	c, dev, err := s.callFor(m.ConnectionToBeCleared)
	if err != nil {
		return nil, err
	}
	if err := s.clearLocked(c, dev, "normalClearing"); err != nil {
		return nil, err
	}
	if s.modes[FaultNoClearResponse] {
		return nil, nil
	}
	return &csta.ClearConnectionResponse{}, nil
}

func (s *Sim) holdCall(lk *link, m *csta.HoldCall) (csta.Message, error) {
	c, dev, err := s.callFor(m.CallToBeHeld)
	if err != nil {
		return nil, err
	}
	if err := s.holdLocked(c, dev); err != nil {
		return nil, err
	}
	return &csta.HoldCallResponse{}, nil
}

func (s *Sim) retrieveCall(lk *link, m *csta.RetrieveCall) (csta.Message, error) {
	c, dev, err := s.callFor(m.CallToBeRetrieved)
	if err != nil {
		return nil, err
	}
	if err := s.retrieveLocked(c, dev); err != nil {
		return nil, err
	}
	return &csta.RetrieveCallResponse{}, nil
}

func (s *Sim) singleStepTransfer(lk *link, m *csta.SingleStepTransferCall) (csta.Message, error) {
	return s.singleStepTransferLocked(m)
}

// consultationCall holds the existing call and places a new one from the
// same device.
func (s *Sim) consultationCall(lk *link, m *csta.ConsultationCall) (csta.Message, error) {
	c, dev, err := s.callFor(m.ExistingCall)
	if err != nil {
		return nil, err
	}
	to := s.dialled(m.ConsultedDevice)
	if to == "" || to == dev {
		return nil, csta.NewError(csta.ErrCatOperation, "invalidCalledDevice")
	}
	if err := s.holdLocked(c, dev); err != nil {
		return nil, err
	}
	c2, err := s.makeCallLocked(dev, to)
	if err != nil {
		return nil, err
	}
	s.offerLocked(c2, to)
	return &csta.ConsultationCallResponse{InitiatedCall: s.cid(c2, dev)}, nil
}

func (s *Sim) transferCall(lk *link, m *csta.TransferCall) (csta.Message, error) {
	return s.transferLocked(m)
}

func (s *Sim) conferenceCall(lk *link, m *csta.ConferenceCall) (csta.Message, error) {
	return s.conferenceLocked(m)
}

func (s *Sim) generateDigits(lk *link, m *csta.GenerateDigits) (csta.Message, error) {
	c, dev, err := s.callFor(m.ConnectionToSendDigits)
	if err != nil {
		return nil, err
	}
	if c.conn(dev).state != csta.StateConnected {
		return nil, csta.NewError(csta.ErrCatStateIncompatibility, "noActiveCall")
	}
	return &csta.GenerateDigitsResponse{}, nil
}

// ---- Device features ----

func (s *Sim) setDoNotDisturb(lk *link, m *csta.SetDoNotDisturb) (csta.Message, error) {
	dev, err := s.ownDevice(lk, m.Device)
	if err != nil {
		return nil, err
	}
	if err := s.setDNDLocked(dev, m.DoNotDisturbOn); err != nil {
		return nil, err
	}
	return &csta.SetDoNotDisturbResponse{}, nil
}

func (s *Sim) setAgentState(lk *link, m *csta.SetAgentState) (csta.Message, error) {
	dev, err := s.ownDevice(lk, m.Device)
	if err != nil {
		return nil, err
	}
	if err := s.setAgentLocked(dev, m.RequestedAgentState, m.AgentID); err != nil {
		return nil, err
	}
	return &csta.SetAgentStateResponse{}, nil
}

func (s *Sim) getAgentState(lk *link, m *csta.GetAgentState) (csta.Message, error) {
	dev, err := s.ownDevice(lk, m.Device)
	if err != nil {
		return nil, err
	}
	d := s.devices[dev]
	return &csta.GetAgentStateResponse{AgentStateList: csta.AgentStateList{Entries: []csta.AgentStateEntry{{
		AgentID: d.agentID, LoggedOnState: d.agentState != csta.AgentStateNull, AgentState: d.agentState}}}}, nil
}
