package pbxsim

import (
	"bufio"
	"errors"
	"net"
	"strconv"
	"sync"
	"time"

	"crmcti/gateway/csta"
)

var errNotFound = errors.New("not found")

// linkQueue bounds what may wait to be written to one application. An
// application that falls this far behind is disconnected, as a switch
// protecting itself would.
const linkQueue = 16384

type monitor struct {
	xref   string
	device string
	link   *link
}

// outFrame is a frame waiting to be written, with the event it carries
// (nil for responses) for the OnEventWritten hook.
type outFrame struct {
	b  []byte
	ev csta.Event
}

// link is one application's CSTA connection.
type link struct {
	sim  *Sim
	nc   net.Conn
	out  chan outFrame
	done chan struct{}
	once sync.Once

	// guarded by sim.mu
	ns         string
	monitors   map[string]*monitor
	session    string
	sessionEnd time.Time
	nextInvoke int
}

func (s *Sim) startLink(nc net.Conn) {
	lk := &link{sim: s, nc: nc, out: make(chan outFrame, linkQueue), done: make(chan struct{}),
		ns: s.cfg.Profile.Namespace, monitors: map[string]*monitor{}}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		nc.Close()
		return
	}
	s.links[lk] = struct{}{}
	if s.cfg.Profile.Session == csta.SessionOpenScape {
		lk.sendRequestLocked(&csta.SystemStatus{SystemStatus: "normal"})
	}
	s.mu.Unlock()
	s.log.Info("pbxsim: link up", "peer", nc.RemoteAddr().String())
	s.wg.Add(3)
	go lk.writeLoop()
	go lk.readLoop()
	go lk.sessionLoop()
}

func (lk *link) close() {
	lk.once.Do(func() {
		close(lk.done)
		lk.nc.Close()
	})
}

func (lk *link) writeLoop() {
	defer lk.sim.wg.Done()
	for {
		select {
		case <-lk.done:
			return
		case f := <-lk.out:
			_ = lk.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := lk.nc.Write(f.b); err != nil {
				lk.close()
				return
			}
			lk.sim.framesOut.Add(1)
			if f.ev != nil && lk.sim.cfg.OnEventWritten != nil {
				lk.sim.cfg.OnEventWritten(f.ev, time.Now())
			}
		}
	}
}

// enqueue is called under sim.mu, which keeps every link's frames in the
// order the model produced them.
func (lk *link) enqueue(b []byte) { lk.enqueueFrame(outFrame{b: b}) }

func (lk *link) enqueueFrame(f outFrame) {
	select {
	case lk.out <- f:
	case <-lk.done:
	default:
		lk.sim.log.Warn("pbxsim: application too slow, dropping its link", "peer", lk.nc.RemoteAddr().String())
		lk.close()
	}
}

func (lk *link) sendRaw(b []byte) { lk.enqueue(b) }

func (lk *link) send(invokeID int, m csta.Message) {
	body, err := csta.Encode(m, lk.ns)
	if err != nil {
		lk.sim.log.Error("pbxsim: encode", "msg", m.MessageName(), "err", err)
		return
	}
	b, err := csta.AppendFrame(nil, invokeID, body)
	if err != nil {
		lk.sim.log.Error("pbxsim: frame", "msg", m.MessageName(), "err", err)
		return
	}
	lk.enqueue(b)
}

// sendEvent is called under sim.mu. While a request is being served its
// events wait in the batch, so that the response goes first.
func (lk *link) sendEvent(ev csta.Event) {
	s := lk.sim
	if s.stalled {
		return
	}
	if s.batching {
		s.batch = append(s.batch, batched{lk, ev})
		return
	}
	lk.sendEventNow(ev)
}

func (lk *link) sendEventNow(ev csta.Event) {
	body, err := csta.Encode(ev, lk.ns)
	if err != nil {
		lk.sim.log.Error("pbxsim: encode", "msg", ev.MessageName(), "err", err)
		return
	}
	b, _ := csta.AppendFrame(nil, csta.EventInvokeID, body)
	lk.enqueueFrame(outFrame{b: b, ev: ev})
}

// sendRequestLocked sends a switch-originated request (SystemStatus) with
// the switch's own invoke IDs.
func (lk *link) sendRequestLocked(m csta.Message) {
	lk.nextInvoke = lk.nextInvoke%9998 + 1
	lk.send(lk.nextInvoke, m)
}

func (lk *link) readLoop() {
	s := lk.sim
	defer s.wg.Done()
	defer s.dropLink(lk)
	br := bufio.NewReader(lk.nc)
	for {
		f, err := csta.ReadFrame(br, 0)
		if err != nil {
			var fe *csta.FrameError
			if errors.As(err, &fe) {
				s.log.Warn("pbxsim: bad frame from application, dropping link", "err", err)
			}
			return
		}
		s.framesIn.Add(1)
		s.serve(lk, f)
	}
}

// sessionLoop sends OpenScape heartbeats and enforces the ECMA-354 session
// duration.
func (lk *link) sessionLoop() {
	s := lk.sim
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.Heartbeat)
	defer t.Stop()
	check := time.NewTicker(time.Second)
	defer check.Stop()
	for {
		select {
		case <-lk.done:
			return
		case <-t.C:
			s.mu.Lock()
			if s.cfg.Profile.Session == csta.SessionOpenScape && !s.stalled {
				lk.sendRequestLocked(&csta.SystemStatus{SystemStatus: "normal"})
			}
			s.mu.Unlock()
		case <-check.C:
			s.mu.Lock()
			expired := lk.session != "" && time.Now().After(lk.sessionEnd)
			s.mu.Unlock()
			if expired {
				s.log.Warn("pbxsim: application session expired", "peer", lk.nc.RemoteAddr().String())
				lk.close()
				return
			}
		}
	}
}

func (s *Sim) dropLink(lk *link) {
	lk.close()
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.links, lk)
	for _, m := range lk.monitors {
		s.removeMonitorLocked(m)
	}
	s.log.Info("pbxsim: link down", "peer", lk.nc.RemoteAddr().String())
}

func (s *Sim) removeMonitorLocked(m *monitor) {
	list := s.monitors[m.device]
	for i, x := range list {
		if x == m {
			s.monitors[m.device] = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(s.monitors[m.device]) == 0 {
		delete(s.monitors, m.device)
	}
	delete(m.link.monitors, m.xref)
}

type batched struct {
	lk *link
	ev csta.Event
}

// serve answers one request from an application.
func (s *Sim) serve(lk *link, f csta.Frame) {
	msg, ns, err := csta.Decode(f.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stalled {
		return // a stalled switch swallows requests
	}
	if err != nil {
		s.log.Warn("pbxsim: malformed request", "invokeID", f.InvokeID, "err", err)
		lk.send(f.InvokeID, csta.NewError(csta.ErrCatOperation, "generic"))
		return
	}
	if ns != "" && ns != csta.NamespaceApplSession {
		lk.ns = ns
	}
	s.batching, s.batch = true, s.batch[:0]
	resp := s.handleLocked(lk, msg)
	s.batching = false
	if resp != nil {
		lk.send(f.InvokeID, resp)
	}
	for _, b := range s.batch {
		b.lk.sendEventNow(b.ev)
	}
	s.batch = s.batch[:0]
	if _, ok := msg.(*csta.StopApplicationSession); ok {
		// Let the response go out, then end the link.
		go func() {
			time.Sleep(100 * time.Millisecond)
			lk.close()
		}()
	}
}

// key turns a device in a request into the model's name for it: an
// extension as it is, anything else as its dialable number.
func (s *Sim) key(id csta.DeviceID) string {
	if s.isExtension(string(id)) {
		return string(id)
	}
	return csta.ParseDevice(id).Number
}

func (s *Sim) callFor(cid csta.ConnectionID) (*call, string, error) {
	c, ok := s.calls[cid.CallID]
	if !ok {
		return nil, "", csta.NewError(csta.ErrCatOperation, "invalidCallID")
	}
	dev := s.key(cid.DeviceID)
	if c.conn(dev) == nil {
		return nil, "", csta.NewError(csta.ErrCatOperation, "invalidConnectionID")
	}
	return c, dev, nil
}

// handleLocked carries out one service. It returns the response, a
// CSTAErrorCode, or nil for messages that take no answer.
func (s *Sim) handleLocked(lk *link, msg csta.Message) csta.Message {
	if s.cfg.Profile.Session == csta.SessionECMA354 && lk.session == "" {
		switch msg.(type) {
		case *csta.StartApplicationSession, *csta.SystemStatus, *csta.SystemStatusResponse:
		default:
			return csta.NewError(csta.ErrCatSecurity, "requestNotAllowed")
		}
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
	switch m := msg.(type) {
	case *csta.SystemStatus:
		return &csta.SystemStatusResponse{}, nil
	case *csta.SystemStatusResponse:
		return nil, nil // the answer to our heartbeat
	case *csta.SystemRegister:
		return &csta.SystemRegisterResponse{SysStatRegisterID: "1"}, nil
	case *csta.StartApplicationSession:
		d := m.RequestedSessionDuration
		if d <= 0 {
			d = 180
		}
		ver := lk.ns
		if len(m.RequestedProtocolVersions.ProtocolVersion) > 0 {
			ver = m.RequestedProtocolVersions.ProtocolVersion[0]
		}
		lk.ns = ver
		s.nextXref++
		lk.session = "S" + strconv.FormatUint(s.nextXref, 10)
		lk.sessionEnd = time.Now().Add(time.Duration(d) * time.Second)
		return &csta.StartApplicationSessionPosResponse{SessionID: lk.session, ActualProtocolVersion: ver, ActualSessionDuration: d}, nil
	case *csta.ResetApplicationSessionTimer:
		if m.SessionID != lk.session || lk.session == "" {
			return &csta.ResetApplicationSessionTimerNegResponse{ErrorCode: csta.SessionErrorCode{DefinedError: "invalidSessionID"}}, nil
		}
		d := m.RequestedSessionDuration
		if d <= 0 {
			d = 180
		}
		lk.sessionEnd = time.Now().Add(time.Duration(d) * time.Second)
		return &csta.ResetApplicationSessionTimerPosResponse{ActualSessionDuration: d}, nil
	case *csta.StopApplicationSession:
		lk.session = ""
		return &csta.StopApplicationSessionPosResponse{}, nil

	case *csta.MonitorStart:
		dev := string(m.MonitorObject.DeviceObject)
		if !s.isExtension(dev) {
			return nil, csta.NewError(csta.ErrCatOperation, "invalidDeviceID")
		}
		s.nextXref++
		mon := &monitor{xref: strconv.FormatUint(s.nextXref, 10), device: dev, link: lk}
		lk.monitors[mon.xref] = mon
		s.monitors[dev] = append(s.monitors[dev], mon)
		return &csta.MonitorStartResponse{MonitorCrossRefID: mon.xref}, nil
	case *csta.MonitorStop:
		mon, ok := lk.monitors[m.MonitorCrossRefID]
		if !ok {
			return nil, csta.NewError(csta.ErrCatOperation, "invalidCrossRefID")
		}
		s.removeMonitorLocked(mon)
		return &csta.MonitorStopResponse{}, nil
	case *csta.SnapshotDevice:
		dev := string(m.SnapshotObject)
		if !s.isExtension(dev) {
			return nil, csta.NewError(csta.ErrCatOperation, "invalidDeviceID")
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

	case *csta.MakeCall:
		from, to := s.key(m.CallingDevice), s.key(m.CalledDirectoryNumber)
		c, err := s.makeCallLocked(from, to)
		if err != nil {
			return nil, err
		}
		s.offerLocked(c, to)
		return &csta.MakeCallResponse{CallingDevice: s.cid(c, from)}, nil
	case *csta.AnswerCall:
		c, dev, err := s.callFor(m.CallToBeAnswered)
		if err != nil {
			return nil, err
		}
		if err := s.answerLocked(c, dev); err != nil {
			return nil, err
		}
		return &csta.AnswerCallResponse{}, nil
	case *csta.ClearConnection:
		c, dev, err := s.callFor(m.ConnectionToBeCleared)
		if err != nil {
			return nil, err
		}
		if err := s.clearLocked(c, dev, "normalClearing"); err != nil {
			return nil, err
		}
		return &csta.ClearConnectionResponse{}, nil
	case *csta.HoldCall:
		c, dev, err := s.callFor(m.CallToBeHeld)
		if err != nil {
			return nil, err
		}
		if err := s.holdLocked(c, dev); err != nil {
			return nil, err
		}
		return &csta.HoldCallResponse{}, nil
	case *csta.RetrieveCall:
		c, dev, err := s.callFor(m.CallToBeRetrieved)
		if err != nil {
			return nil, err
		}
		if err := s.retrieveLocked(c, dev); err != nil {
			return nil, err
		}
		return &csta.RetrieveCallResponse{}, nil
	case *csta.SingleStepTransferCall:
		return s.singleStepTransferLocked(m)
	case *csta.ConsultationCall:
		c, dev, err := s.callFor(m.ExistingCall)
		if err != nil {
			return nil, err
		}
		to := s.key(m.ConsultedDevice)
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
	case *csta.TransferCall:
		return s.transferLocked(m)
	case *csta.ConferenceCall:
		return s.conferenceLocked(m)
	case *csta.GenerateDigits:
		c, dev, err := s.callFor(m.ConnectionToSendDigits)
		if err != nil {
			return nil, err
		}
		if c.conn(dev).state != csta.StateConnected {
			return nil, csta.NewError(csta.ErrCatStateIncompatibility, "noActiveCall")
		}
		return &csta.GenerateDigitsResponse{}, nil
	case *csta.SetDoNotDisturb:
		if err := s.setDNDLocked(string(m.Device), m.DoNotDisturbOn); err != nil {
			return nil, err
		}
		return &csta.SetDoNotDisturbResponse{}, nil
	case *csta.SetAgentState:
		if err := s.setAgentLocked(string(m.Device), m.RequestedAgentState, m.AgentID); err != nil {
			return nil, err
		}
		return &csta.SetAgentStateResponse{}, nil
	case *csta.GetAgentState:
		d, ok := s.devices[string(m.Device)]
		if !ok {
			return nil, csta.NewError(csta.ErrCatOperation, "invalidDeviceID")
		}
		return &csta.GetAgentStateResponse{AgentStateList: csta.AgentStateList{Entries: []csta.AgentStateEntry{{
			AgentID: d.agentID, LoggedOnState: d.agentState != csta.AgentStateNull, AgentState: d.agentState}}}}, nil
	case *csta.Unknown:
		s.log.Info("pbxsim: unsupported request", "name", m.Name)
		return nil, csta.NewError(csta.ErrCatOperation, "generic")
	}
	return nil, csta.NewError(csta.ErrCatOperation, "generic")
}

func (s *Sim) singleStepTransferLocked(m *csta.SingleStepTransferCall) (csta.Message, error) {
	c, dev, err := s.callFor(m.ActiveCall)
	if err != nil {
		return nil, err
	}
	to := s.key(m.TransferredTo)
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
