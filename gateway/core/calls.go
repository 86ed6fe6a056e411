package core

import (
	"context"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/phone"
	"crmcti/gateway/wire"
)

// Call events the core adds to the switch's. They are not steps of a
// call's timeline (never written to the call log, not in the
// gateway.CallEvent set): they tell the panel more about a call it
// already has.
const (
	// EventIdentified carries the caller's possible contacts (R4, B3).
	EventIdentified = "identified"
	// EventRestored carries what the call log knew of a call the switch
	// named without its far end (after a gateway restart or a PBX outage).
	EventRestored = "restored"
)

// liveCall is a call as the core tracks it: the switch's view, and the
// contacts whose numbers match the far end. Guarded by Service.mu; only
// copies leave the lock.
type liveCall struct {
	gateway.Call
	Matches []gateway.Match
}

// agentState is a logged-in agent's live state, guarded by Service.mu.
type agentState struct {
	agent gateway.Agent
	// expires is when the agent's last session ends.
	expires time.Time
	status  gateway.Status
	// settingStatus is the status the panel is setting on the switch: its
	// echo is not a change made on the phone.
	settingStatus gateway.Status
	conns         map[*Conn]struct{}
	calls         map[string]*liveCall // live calls by ID
	recent        []*liveCall          // ended calls, newest last, bounded
	// chosen holds contacts chosen for calls the switch has not reported
	// yet (MakeCall can answer before the call's first event), by call ID.
	chosen map[string]string
	// placing is the contact of the call the panel is placing: the call's
	// first events can beat MakeCall's return, and carry it.
	placing string
	// intents are commands let through whose effect the switch has not
	// reported yet, by call ID ("" for a call being placed).
	intents map[string]intent
}

// intent is the state a command is taking a call to, from the moment the
// rules let it through until the switch reports the call in that state
// (or, should it never, until a deadline). The rules count it: without it
// two tabs answering two ringing calls at once would both pass R6, each
// checked before the other's answer reached the switch.
type intent struct {
	state gateway.CallState
	until time.Time
}

// intentGrace is how long a command's effect may take to be reported
// once the switch has accepted it.
const intentGrace = 5 * time.Second

const recentKept = 20

func newAgentState(a gateway.Agent) *agentState {
	return &agentState{agent: a, status: gateway.StatusAvailable, conns: map[*Conn]struct{}{},
		calls: map[string]*liveCall{}, chosen: map[string]string{}, intents: map[string]intent{}}
}

func (st *agentState) connList() []*Conn {
	out := make([]*Conn, 0, len(st.conns))
	for c := range st.conns {
		out = append(out, c)
	}
	return out
}

// callList is the agent's live calls as the rules see them: each in the
// state a command in flight is taking it to, and the call being placed.
func (st *agentState) callList(now time.Time) []gateway.Call {
	for id, in := range st.intents {
		if now.After(in.until) {
			delete(st.intents, id)
		}
	}
	out := make([]gateway.Call, 0, len(st.calls)+1)
	for _, lc := range st.calls {
		c := lc.Call
		if in, ok := st.intents[c.ID]; ok {
			c.State = in.state
		}
		out = append(out, c)
	}
	for id, in := range st.intents {
		if _, known := st.calls[id]; !known { // placed, not reported yet
			out = append(out, gateway.Call{ID: id, State: in.state, Direction: gateway.Outbound})
		}
	}
	return out
}

// reported drops the intents the switch's report of call fulfils (or
// makes moot: the call ended, or the call being placed appeared).
func (st *agentState) reported(call gateway.Call, prev *liveCall) {
	if in, ok := st.intents[call.ID]; ok && (in.state == call.State || !call.State.Live()) {
		delete(st.intents, call.ID)
	}
	if prev == nil && call.Direction == gateway.Outbound {
		delete(st.intents, "")
	}
}

// findRecent returns a live or recently ended call.
func (st *agentState) findRecent(callID string) *liveCall {
	if lc, ok := st.calls[callID]; ok {
		return lc
	}
	var found *liveCall
	for _, r := range st.recent {
		if r.ID == callID {
			found = r
		}
	}
	return found
}

// previous is what the core knew of call: the live call, or an ended one
// back from the dead after a resynchronisation.
func (st *agentState) previous(call gateway.Call) *liveCall {
	if lc, ok := st.calls[call.ID]; ok {
		return lc
	}
	if !call.State.Live() {
		return nil
	}
	return st.findRecent(call.ID)
}

// merge builds the call after a switch report: what the switch leaves
// out (the far end, the contact, the matches) is kept from before, and a
// contact chosen before the call appeared is applied.
func (st *agentState) merge(call gateway.Call, prev *liveCall) *liveCall {
	lc := &liveCall{Call: call}
	if prev != nil {
		lc.Matches = prev.Matches
		if lc.Contact == "" {
			lc.Contact = prev.Contact
		}
		if lc.Remote == "" {
			lc.Remote, lc.RemoteRaw = prev.Remote, prev.RemoteRaw
		}
	}
	if chosen, ok := st.chosen[call.ID]; ok {
		lc.Contact = chosen
		delete(st.chosen, call.ID)
	} else if st.placing != "" && prev == nil && lc.Direction == gateway.Outbound {
		lc.Contact, st.placing = st.placing, ""
	}
	return lc
}

// track keeps a live call, or moves an ended one to the recent calls.
func (st *agentState) track(lc *liveCall) {
	if lc.State.Live() {
		st.calls[lc.ID] = lc
		return
	}
	delete(st.calls, lc.ID)
	st.recent = append(st.recent, lc)
	if len(st.recent) > recentKept {
		st.recent = st.recent[1:]
	}
}

// needsLookup says whether the caller is to be identified after ev:
// while it rings or dials (B3), again on answer (R4), and when a seeded
// call has no matches yet.
func (lc *liveCall) needsLookup(ev gateway.CallEvent) bool {
	if lc.Remote == "" {
		return false
	}
	switch ev {
	case gateway.EvRang, gateway.EvDialed:
		return true
	case gateway.EvAnswered:
		return lc.Direction == gateway.Inbound
	case "":
		return len(lc.Matches) == 0
	}
	return false
}

// CallChanged implements gateway.SwitchEvents: it updates the agent's view,
// logs the step and tells every connection. An empty ev only seeds state.
func (s *Service) CallChanged(call gateway.Call, ev gateway.CallEvent) {
	s.mu.Lock()
	st, ok := s.byDevice[call.Device]
	if !ok {
		s.mu.Unlock()
		return
	}
	prev := st.previous(call)
	lc := st.merge(call, prev)
	st.track(lc)
	st.reported(call, prev)
	if ev != "" {
		s.broadcastCallLocked(st, string(ev), lc)
	}
	entry := gateway.LogEntry{Call: lc.Call, Username: st.agent.Username, Event: ev, At: time.Now(), Detail: call.Cause}
	lookup, remote := lc.needsLookup(ev), lc.Remote
	s.mu.Unlock()
	if ev != "" {
		s.calllog.add(entry)
	}
	if lookup {
		go s.identify(call.Device, call.ID, remote)
	}
	if remote == "" && prev == nil {
		go s.restore(call.Device, call.ID)
	}
}

// liveCallLocked finds a live call of the agent at device.
func (s *Service) liveCallLocked(device, callID string) (*agentState, *liveCall) {
	st, ok := s.byDevice[device]
	if !ok {
		return nil, nil
	}
	return st, st.calls[callID]
}

// restore fills in, from the call log, a call the switch's snapshot named
// without its far end (after a gateway restart or a PBX outage): who it
// is with, which way it went, the contact chosen, when it began.
func (s *Service) restore(device, callID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	logged, err := s.store.LoggedCall(ctx, callID, device)
	if err != nil {
		return
	}
	s.mu.Lock()
	st, lc := s.liveCallLocked(device, callID)
	if lc == nil || lc.Remote != "" {
		s.mu.Unlock()
		return
	}
	lc.Remote, lc.Direction, lc.Started = logged.Remote, logged.Direction, logged.Started
	if lc.Contact == "" {
		lc.Contact = logged.Contact
	}
	if lc.Answered.IsZero() {
		lc.Answered = logged.Answered
	}
	s.broadcastCallLocked(st, EventRestored, lc)
	remote := lc.Remote
	s.mu.Unlock()
	if remote != "" {
		s.identify(device, callID, remote)
	}
}

// identify looks the caller up (B3: while it rings, and again on accept)
// and sends the matches as an "identified" call event.
func (s *Service) identify(device, callID, number string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ms, err := s.lookup(ctx, number)
	if err != nil {
		s.log.Warn("core: caller lookup", "err", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, lc := s.liveCallLocked(device, callID)
	if lc == nil {
		return
	}
	lc.Matches = ms
	s.broadcastCallLocked(st, EventIdentified, lc)
}

// lookup finds the contacts whose numbers match number, each number
// formatted for display.
func (s *Service) lookup(ctx context.Context, number string) ([]gateway.Match, error) {
	n := phone.Normalize(number, s.cfg.Region)
	if n.E164 == "" && len(n.National) < 4 {
		return []gateway.Match{}, nil // an extension or garbage: not a customer
	}
	ms, err := s.store.LookupNumber(ctx, n.E164, n.National)
	if err != nil {
		return nil, gateway.Wrap(gateway.ErrDatabaseDown, err, "customer lookup is unavailable")
	}
	out := make([]gateway.Match, 0, len(ms))
	for _, m := range ms {
		m.Number = phone.Display(m.Number, s.cfg.Region)
		out = append(out, m)
	}
	return out, nil
}

// selectContact records the contact on the call (R5) and tells every tab.
func (s *Service) selectContact(device, callID, contact string) {
	s.mu.Lock()
	st, ok := s.byDevice[device]
	if !ok {
		s.mu.Unlock()
		return
	}
	lc := st.findRecent(callID)
	if lc == nil {
		// The call has not been reported yet (MakeCall answers before
		// the events): apply when it appears.
		st.chosen[callID] = contact
		s.mu.Unlock()
		return
	}
	lc.Contact = contact
	s.broadcastCallLocked(st, string(gateway.EvContact), lc)
	entry := gateway.LogEntry{Call: lc.Call, Username: st.agent.Username, Event: gateway.EvContact, At: time.Now(), Detail: contact}
	s.mu.Unlock()
	s.calllog.add(entry)
}

// placeCall asks the switch to call number from the agent's phone, with
// the contact called (if any) riding on the call's first events.
func (s *Service) placeCall(ctx context.Context, st *agentState, number, contact string) (string, error) {
	if contact == "" {
		return s.sw.MakeCall(ctx, st.agent.Extension, number)
	}
	s.mu.Lock()
	st.placing = contact
	s.mu.Unlock()
	id, err := s.sw.MakeCall(ctx, st.agent.Extension, number)
	s.mu.Lock()
	unused := st.placing != ""
	st.placing = ""
	s.mu.Unlock()
	if unused && err == nil {
		s.selectContact(st.agent.Extension, id, contact)
	}
	return id, err
}

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

// allowed applies the rules: the call must be the agent's own, and the
// action must fit its state and the agent's other calls. A refusal is
// audited.
func (s *Service) allowed(r request, act gateway.Action, callID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.allowedLocked(r, act, callID)
}

func (s *Service) allowedLocked(r request, act gateway.Action, callID string) error {
	st := r.agent
	if r.state() != st {
		return gateway.Errorf(gateway.ErrNotLoggedIn, "log in first")
	}
	calls := st.callList(time.Now())
	var target *gateway.Call
	if act != gateway.ActCall {
		if _, ok := st.calls[callID]; !ok {
			if s.someoneElsesLocked(st, callID) {
				s.auditDenied(r, act, callID, "not your call")
				return gateway.Errorf(gateway.ErrNotYourCall, "that call is not at your phone")
			}
			return gateway.Errorf(gateway.ErrNoSuchCall, "no such call (it may have ended)")
		}
		for i := range calls {
			if calls[i].ID == callID {
				target = &calls[i]
			}
		}
	}
	if err := gateway.CheckAction(act, target, calls); err != nil {
		s.auditDenied(r, act, callID, string(gateway.ErrorCode(err)))
		return err
	}
	return nil
}

// admit is allowed and, for the actions that start or resume talking
// (answer, retrieve, call), records the command's intent in the same
// step, so that the rules see it before the switch reports it. The
// caller reports the switch's answer to settle, with the new call's ID
// for a call placed.
func (s *Service) admit(r request, act gateway.Action, callID string) (settle func(newID string, err error), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.allowedLocked(r, act, callID); err != nil {
		return nil, err
	}
	var state gateway.CallState
	switch act {
	case gateway.ActAnswer, gateway.ActRetrieve:
		state = gateway.CallConnected
	case gateway.ActCall:
		callID, state = "", gateway.CallDialing
	default:
		return func(string, error) {}, nil
	}
	st := r.agent
	st.intents[callID] = intent{state: state, until: time.Now().Add(commandTimeout)}
	return func(newID string, err error) { s.settle(st, callID, newID, err) }, nil
}

// settle keeps an intent the switch accepted until the switch reports it
// (a short while at most), and drops one it refused.
func (s *Service) settle(st *agentState, key, newID string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := st.intents[key]
	if !ok {
		return // already reported
	}
	delete(st.intents, key)
	if err != nil {
		return
	}
	if key == "" { // the call placed is known by its ID from now on
		if st.findRecent(newID) != nil {
			return
		}
		key = newID
	}
	in.until = time.Now().Add(intentGrace)
	st.intents[key] = in
}

func (s *Service) auditDenied(r request, act gateway.Action, callID, detail string) {
	s.audit.add(gateway.AuditEntry{At: time.Now(), Username: r.agent.agent.Username, Client: r.addr,
		Action: string(act) + " " + callID, Detail: detail})
}

func (s *Service) someoneElsesLocked(me *agentState, callID string) bool {
	for _, a := range s.agents {
		if a == me {
			continue
		}
		if _, ok := a.calls[callID]; ok {
			return true
		}
	}
	return false
}

// ownsRecent accepts a live or recently ended call of the agent: the
// caller is often chosen while or just after talking.
func (s *Service) ownsRecent(st *agentState, callID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st.findRecent(callID) != nil {
		return nil
	}
	if s.someoneElsesLocked(st, callID) {
		return gateway.Errorf(gateway.ErrNotYourCall, "that call is not at your phone")
	}
	return gateway.Errorf(gateway.ErrNoSuchCall, "no such call")
}
