package pbxsim

import (
	"fmt"
	"sort"
	"time"

	"crmcti/gateway/csta"
)

type device struct {
	id         string
	dnd        bool
	agentState string // csta.AgentState* as GetAgentState reports it
	agentID    string
}

type conn struct {
	device string
	state  string // csta.State*
}

type call struct {
	id      string
	conns   []*conn
	calling string // device that placed the call
	called  string // device originally called
	lastRed string // last redirecting device
	started time.Time
	gen     int // bumps whenever the call changes, to cancel stale timers
}

func (c *call) conn(dev string) *conn {
	for _, cn := range c.conns {
		if cn.device == dev {
			return cn
		}
	}
	return nil
}

// prune forgets parties that have left, so that they hear nothing more
// of the call.
func (c *call) prune() {
	kept := c.conns[:0]
	for _, cn := range c.conns {
		if cn.state != csta.StateNull {
			kept = append(kept, cn)
		}
	}
	c.conns = kept
}

// active is how many parties are still in the call.
func (c *call) active() int {
	n := 0
	for _, cn := range c.conns {
		if cn.state != csta.StateNull && cn.state != csta.StateFail {
			n++
		}
	}
	return n
}

func (s *Sim) isExtension(dev string) bool {
	_, ok := s.devices[dev]
	return ok
}

func (s *Sim) newCallLocked(calling, called string) *call {
	c := &call{id: s.newCallID(), calling: calling, called: called, started: time.Now()}
	s.calls[c.id] = c
	return c
}

func (s *Sim) cid(c *call, dev string) csta.ConnectionID {
	return csta.ConnectionID{CallID: c.id, DeviceID: s.connDevice(dev)}
}

// emit reports an event about call c to every monitor of every extension
// in the call (and of extra devices), each with its own local state.
func (s *Sim) emit(c *call, extra []string, build func(local string) csta.Event) {
	seen := map[string]bool{}
	devs := []string{}
	for _, cn := range c.conns {
		devs = append(devs, cn.device)
	}
	devs = append(devs, extra...)
	for _, d := range devs {
		if seen[d] || !s.isExtension(d) {
			continue
		}
		seen[d] = true
		local := csta.StateNull
		if cn := c.conn(d); cn != nil {
			local = cn.state
		}
		s.emitDevice(d, func() csta.Event { return build(local) })
	}
}

func (s *Sim) emitDevice(dev string, build func() csta.Event) {
	for _, m := range s.monitors[dev] {
		if m.link == nil {
			continue // parked with its session until the application comes back
		}
		ev := build()
		setXref(ev, m.xref)
		m.link.sendEvent(ev)
	}
}

func setXref(ev csta.Event, x string) {
	switch e := ev.(type) {
	case *csta.ServiceInitiatedEvent:
		e.MonitorCrossRefID = x
	case *csta.OriginatedEvent:
		e.MonitorCrossRefID = x
	case *csta.DeliveredEvent:
		e.MonitorCrossRefID = x
	case *csta.EstablishedEvent:
		e.MonitorCrossRefID = x
	case *csta.ConnectionClearedEvent:
		e.MonitorCrossRefID = x
	case *csta.CallClearedEvent:
		e.MonitorCrossRefID = x
	case *csta.HeldEvent:
		e.MonitorCrossRefID = x
	case *csta.RetrievedEvent:
		e.MonitorCrossRefID = x
	case *csta.TransferedEvent:
		e.MonitorCrossRefID = x
	case *csta.ConferencedEvent:
		e.MonitorCrossRefID = x
	case *csta.DivertedEvent:
		e.MonitorCrossRefID = x
	case *csta.FailedEvent:
		e.MonitorCrossRefID = x
	case *csta.DoNotDisturbEvent:
		e.MonitorCrossRefID = x
	case *csta.AgentLoggedOnEvent:
		e.MonitorCrossRefID = x
	case *csta.AgentLoggedOffEvent:
		e.MonitorCrossRefID = x
	case *csta.AgentReadyEvent:
		e.MonitorCrossRefID = x
	case *csta.AgentNotReadyEvent:
		e.MonitorCrossRefID = x
	case *csta.AgentWorkingAfterCallEvent:
		e.MonitorCrossRefID = x
	}
}

// available reports whether a device takes calls now.
func (s *Sim) available(dev string) (bool, string) {
	d, ok := s.devices[dev]
	if !ok {
		return true, "" // external parties always ring
	}
	if d.dnd {
		return false, "doNotDisturb"
	}
	if d.agentState == csta.AgentStateNotReady || d.agentState == csta.AgentStateWorkingAfterCall {
		return false, "busy"
	}
	return true, ""
}

// Outcomes of offering a call to a device.
const (
	OutcomeAlerting = "alerting"
	OutcomeDiverted = "diverted"
	OutcomeFailed   = "failed"
)

// offerLocked rings dev in call c, or diverts or fails the call when dev
// does not take calls. It returns the outcome and the device now ringing.
func (s *Sim) offerLocked(c *call, dev string) (string, string) {
	if ok, cause := s.available(dev); !ok {
		if s.cfg.DivertTo != "" && s.cfg.DivertTo != dev {
			s.emitDevice(dev, func() csta.Event {
				return &csta.DivertedEvent{Connection: s.cid(c, dev), DivertingDevice: s.present(dev), NewDestination: s.present(s.cfg.DivertTo),
					CallingDevice: s.present(c.calling), CalledDevice: s.present(c.called), LocalConnectionInfo: csta.StateNull, Cause: cause}
			})
			c.lastRed = dev
			if out, at := s.offerLocked(c, s.cfg.DivertTo); out == OutcomeAlerting {
				return OutcomeDiverted, at
			}
			return OutcomeFailed, ""
		}
		// The caller's side fails; an extension caller sees it.
		if cn := c.conn(c.calling); cn != nil {
			cn.state = csta.StateFail
		}
		// The refused device hears of it too, as real switches tell a
		// monitored device in do-not-disturb.
		s.emit(c, []string{dev}, func(local string) csta.Event {
			return &csta.FailedEvent{FailedConnection: s.cid(c, dev), FailingDevice: s.present(dev), CallingDevice: s.present(c.calling),
				CalledDevice: s.present(dev), LocalConnectionInfo: local, Cause: cause}
		})
		if !s.isExtension(c.calling) {
			s.endCallLocked(c, cause)
		}
		return OutcomeFailed, ""
	}
	c.conns = append(c.conns, &conn{device: dev, state: csta.StateAlerting})
	c.gen++
	s.emit(c, nil, func(local string) csta.Event {
		return &csta.DeliveredEvent{Connection: s.cid(c, dev), AlertingDevice: s.present(dev), CallingDevice: s.present(c.calling),
			CalledDevice: s.present(c.called), LastRedirectionDevice: s.present(c.lastRed), LocalConnectionInfo: local, Cause: "newCall"}
	})
	if !s.isExtension(dev) && s.auto > 0 {
		gen := c.gen
		s.afterLocked(s.auto, func() {
			if cur, ok := s.calls[c.id]; ok && cur.gen == gen {
				_ = s.answerLocked(c, dev)
			}
		})
	}
	return OutcomeAlerting, dev
}

func (s *Sim) answerLocked(c *call, dev string) error {
	cn := c.conn(dev)
	if cn == nil || cn.state != csta.StateAlerting {
		return csta.NewError(csta.ErrCatStateIncompatibility, "noCallToAnswer")
	}
	cn.state = csta.StateConnected
	c.gen++
	s.emit(c, nil, func(local string) csta.Event {
		return &csta.EstablishedEvent{EstablishedConnection: s.cid(c, dev), AnsweringDevice: s.present(dev), CallingDevice: s.present(c.calling),
			CalledDevice: s.present(c.called), LastRedirectionDevice: s.present(c.lastRed), LocalConnectionInfo: local, Cause: "newCall"}
	})
	return nil
}

// clearLocked drops dev from c; a call left with one party ends.
func (s *Sim) clearLocked(c *call, dev, cause string) error {
	cn := c.conn(dev)
	if cn == nil || cn.state == csta.StateNull {
		return csta.NewError(csta.ErrCatStateIncompatibility, "noConnectionToClear")
	}
	cn.state = csta.StateNull
	c.gen++
	s.emit(c, nil, func(local string) csta.Event {
		return &csta.ConnectionClearedEvent{DroppedConnection: s.cid(c, dev), ReleasingDevice: s.present(dev), LocalConnectionInfo: local, Cause: cause}
	})
	c.prune()
	if c.active() <= 1 {
		s.endCallLocked(c, cause, dev)
	}
	return nil
}

// endCallLocked clears every remaining party and forgets the call; extra
// devices (one that just left) hear that the call is over.
func (s *Sim) endCallLocked(c *call, cause string, extra ...string) {
	for _, cn := range c.conns {
		if cn.state == csta.StateNull {
			continue
		}
		cn.state = csta.StateNull
		dev := cn.device
		s.emit(c, nil, func(local string) csta.Event {
			return &csta.ConnectionClearedEvent{DroppedConnection: s.cid(c, dev), ReleasingDevice: s.present(dev), LocalConnectionInfo: local, Cause: cause}
		})
	}
	s.emit(c, extra, func(local string) csta.Event {
		return &csta.CallClearedEvent{ClearedCall: csta.ConnectionID{CallID: c.id}, LocalConnectionInfo: csta.StateNull, Cause: cause}
	})
	c.gen++
	delete(s.calls, c.id)
}

func (s *Sim) holdLocked(c *call, dev string) error {
	cn := c.conn(dev)
	if cn == nil || cn.state != csta.StateConnected {
		return csta.NewError(csta.ErrCatStateIncompatibility, "noActiveCall")
	}
	cn.state = csta.StateHold
	s.emit(c, nil, func(local string) csta.Event {
		return &csta.HeldEvent{HeldConnection: s.cid(c, dev), HoldingDevice: s.present(dev), LocalConnectionInfo: local, Cause: "normal"}
	})
	return nil
}

func (s *Sim) retrieveLocked(c *call, dev string) error {
	cn := c.conn(dev)
	if cn == nil || cn.state != csta.StateHold {
		return csta.NewError(csta.ErrCatStateIncompatibility, "noHeldCall")
	}
	cn.state = csta.StateConnected
	s.emit(c, nil, func(local string) csta.Event {
		return &csta.RetrievedEvent{RetrievedConnection: s.cid(c, dev), RetrievingDevice: s.present(dev), LocalConnectionInfo: local, Cause: "normal"}
	})
	return nil
}

// makeCallLocked: ServiceInitiated and Originated at the caller, then the
// called party is offered the call.
func (s *Sim) makeCallLocked(from, to string) (*call, error) {
	if !s.isExtension(from) {
		return nil, csta.NewError(csta.ErrCatOperation, "invalidCallingDevice")
	}
	if to == "" || to == from {
		return nil, csta.NewError(csta.ErrCatOperation, "invalidCalledDevice")
	}
	c := s.newCallLocked(from, to)
	c.conns = append(c.conns, &conn{device: from, state: csta.StateInitiated})
	s.emit(c, nil, func(local string) csta.Event {
		return &csta.ServiceInitiatedEvent{InitiatedConnection: s.cid(c, from), InitiatingDevice: s.present(from), LocalConnectionInfo: local, Cause: "makeCall"}
	})
	c.conns[0].state = csta.StateConnected
	s.emit(c, nil, func(local string) csta.Event {
		// OpenScape Voice names the calling device here bare, as in its
		// connections (capture openscape-voice-OriginatedEvent.frame).
		return &csta.OriginatedEvent{OriginatedConnection: s.cid(c, from), CallingDevice: s.connDevice(from), CalledDevice: s.present(to), LocalConnectionInfo: local, Cause: "newCall"}
	})
	return c, nil
}

// Result of StartInbound.
type Result struct {
	CallID  string `json:"callId"`
	Outcome string `json:"outcome"`          // alerting, diverted or failed
	Device  string `json:"device,omitempty"` // the device now ringing
}

// StartInbound rings extension to from the external number from.
func (s *Sim) StartInbound(from, to string) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Result{}, fmt.Errorf("pbxsim: closed")
	}
	to = s.resolve(to)
	if !s.isExtension(to) {
		return Result{}, fmt.Errorf("pbxsim: %q is not an extension of this switch", to)
	}
	if from == "" || s.isExtension(from) {
		return Result{}, fmt.Errorf("pbxsim: %q is not an external number (use MakeCall between extensions)", from)
	}
	c := s.newCallLocked(from, to)
	c.conns = append(c.conns, &conn{device: from, state: csta.StateConnected})
	out, at := s.offerLocked(c, to)
	return Result{CallID: c.id, Outcome: out, Device: at}, nil
}

func (s *Sim) withCall(id string, f func(*call) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.calls[id]
	if !ok {
		return fmt.Errorf("pbxsim: no call %q: %w", id, errNotFound)
	}
	return f(c)
}

// The control API names devices by extension or by any form the switch
// uses (full number, DMCC ID); the model by extension.

func (s *Sim) withCallParty(id, dev string, f func(c *call, dev string) error) error {
	return s.withCall(id, func(c *call) error { return f(c, s.resolve(dev)) })
}

// Answer makes dev (an external party, or a phone picked up) answer.
func (s *Sim) Answer(callID, dev string) error {
	return s.withCallParty(callID, dev, s.answerLocked)
}

// Hangup makes dev leave the call.
func (s *Sim) Hangup(callID, dev string) error {
	return s.withCallParty(callID, dev, func(c *call, dev string) error { return s.clearLocked(c, dev, "normalClearing") })
}

// Hold puts dev's connection on hold from the phone.
func (s *Sim) Hold(callID, dev string) error {
	return s.withCallParty(callID, dev, s.holdLocked)
}

// Retrieve takes dev's held connection back from the phone.
func (s *Sim) Retrieve(callID, dev string) error {
	return s.withCallParty(callID, dev, s.retrieveLocked)
}

// SetDoNotDisturb changes do-not-disturb as if pressed on the phone.
func (s *Sim) SetDoNotDisturb(dev string, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.setDNDLocked(s.resolve(dev), on)
}

func (s *Sim) setDNDLocked(dev string, on bool) error {
	d, ok := s.devices[dev]
	if !ok {
		return csta.NewError(csta.ErrCatOperation, "invalidDeviceID")
	}
	d.dnd = on
	s.emitDevice(dev, func() csta.Event {
		return &csta.DoNotDisturbEvent{Device: s.present(dev), DoNotDisturbOn: on}
	})
	return nil
}

// SetAgentState changes the agent state as if set on the phone; state is
// a requested state (ready, notReady, loggedOn, loggedOff,
// workingAfterCall).
func (s *Sim) SetAgentState(dev, state string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.setAgentLocked(s.resolve(dev), state, "")
}

func (s *Sim) setAgentLocked(dev, requested, agentID string) error {
	d, ok := s.devices[dev]
	if !ok {
		return csta.NewError(csta.ErrCatOperation, "invalidDeviceID")
	}
	if agentID != "" {
		d.agentID = agentID
	}
	body := csta.AgentEventBody{AgentDevice: s.present(dev), AgentID: d.agentID}
	var ev func() csta.Event
	switch requested {
	case csta.AgentReady:
		d.agentState = csta.AgentStateReady
		ev = func() csta.Event { return &csta.AgentReadyEvent{AgentEventBody: body} }
	case csta.AgentNotReady:
		d.agentState = csta.AgentStateNotReady
		ev = func() csta.Event { return &csta.AgentNotReadyEvent{AgentEventBody: body} }
	case csta.AgentWorkingAfterCall:
		d.agentState = csta.AgentStateWorkingAfterCall
		ev = func() csta.Event { return &csta.AgentWorkingAfterCallEvent{AgentEventBody: body} }
	case csta.AgentLoggedOn:
		d.agentState = csta.AgentStateNotReady
		ev = func() csta.Event { return &csta.AgentLoggedOnEvent{AgentEventBody: body} }
	case csta.AgentLoggedOff:
		d.agentState = csta.AgentStateNull
		ev = func() csta.Event { return &csta.AgentLoggedOffEvent{AgentEventBody: body} }
	default:
		return csta.NewError(csta.ErrCatOperation, "valueOutOfRange")
	}
	s.emitDevice(dev, ev)
	return nil
}

// ConnInfo is one party of a call in the control API.
type ConnInfo struct {
	Device string `json:"device"`
	State  string `json:"state"`
}

// CallInfo is a call in the control API.
type CallInfo struct {
	CallID      string     `json:"callId"`
	Calling     string     `json:"calling"`
	Called      string     `json:"called"`
	Connections []ConnInfo `json:"connections"`
	Started     time.Time  `json:"started"`
}

// DeviceInfo is a device in the control API.
type DeviceInfo struct {
	Device       string     `json:"device"`
	DoNotDisturb bool       `json:"doNotDisturb"`
	AgentState   string     `json:"agentState"`
	AgentID      string     `json:"agentId,omitempty"`
	Monitors     int        `json:"monitors"`
	Calls        []ConnInfo `json:"calls"` // device is the call ID here
}

// Calls lists the calls in progress, oldest first.
func (s *Sim) Calls() []CallInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []CallInfo{}
	for _, c := range s.calls {
		ci := CallInfo{CallID: c.id, Calling: c.calling, Called: c.called, Started: c.started}
		for _, cn := range c.conns {
			ci.Connections = append(ci.Connections, ConnInfo{Device: cn.device, State: cn.state})
		}
		out = append(out, ci)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CallID < out[j].CallID })
	return out
}

// Device reports one extension's state.
func (s *Sim) Device(dev string) (DeviceInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	dev = s.resolve(dev)
	d, ok := s.devices[dev]
	if !ok {
		return DeviceInfo{}, fmt.Errorf("pbxsim: no extension %q: %w", dev, errNotFound)
	}
	di := DeviceInfo{Device: dev, DoNotDisturb: d.dnd, AgentState: d.agentState, AgentID: d.agentID,
		Monitors: len(s.monitors[dev]), Calls: []ConnInfo{}}
	for _, c := range s.sortedCallsLocked() {
		if cn := c.conn(dev); cn != nil && cn.state != csta.StateNull {
			di.Calls = append(di.Calls, ConnInfo{Device: c.id, State: cn.state})
		}
	}
	return di, nil
}

func (s *Sim) sortedCallsLocked() []*call {
	out := make([]*call, 0, len(s.calls))
	for _, c := range s.calls {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// Extensions is the simulator's extension range, for callers that need it.
func (s *Sim) Extensions() (first, last int) { return s.cfg.FirstExtension, s.cfg.LastExtension }
