package core

import (
	"context"
	"sync"
	"time"

	"crmcti/gateway"
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
	// display is Remote formatted for people, kept with the Remote it
	// was formatted from: libphonenumber runs once per number, not once
	// per event.
	display, displayOf string
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
	// connecting is open while the agent's phone is being monitored after
	// her login (connectPhone), nil once it is.
	connecting chan struct{}
	// loginConn is the connection whose login started connectPhone while
	// it waits for the switch's first answer; refused is the refusal it
	// then gets.
	loginConn *Conn
	refused   error
}

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
		if lc.Remote == prev.Remote {
			lc.RemoteName = prev.RemoteName
		}
		lc.Note, lc.Disposition = prev.Note, prev.Disposition
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
func (s *Service) CallChanged(call gateway.Call, ev gateway.CallEvent) { s.callChanged(call, ev, nil) }

// callChanged is CallChanged; the lookups it needs (the caller's matches,
// a colleague's name, the far end from the call log) start at once, or,
// when later is set, are added to it: a take-over seeds a thousand calls
// and runs their lookups once the agents are served (runLookups).
func (s *Service) callChanged(call gateway.Call, ev gateway.CallEvent, later *[]func()) {
	s.mu.Lock()
	st, ok := s.byDevice[call.Device]
	if !ok || (ev == "" && st.findRecent(call.ID) != nil) {
		// A seed (ev "") copies the tracker at a login while the events
		// go on: a call the events already brought, or ended, is newer
		// news than the copy.
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
	var work []func()
	if lookup && gateway.IsExtension(remote) {
		work = append(work, func() { s.nameColleague(call.Device, call.ID, remote) })
	} else if lookup {
		work = append(work, func() { s.identify(call.Device, call.ID, remote) })
	}
	if remote == "" && prev == nil {
		work = append(work, func() { s.restore(call.Device, call.ID) })
	}
	if later != nil {
		*later = append(*later, work...)
		return
	}
	for _, w := range work {
		go w()
	}
}

// runLookups runs lookups a few at a time: the database serves the
// agents' own requests meanwhile.
func runLookups(lookups []func(), parallel int) {
	var wg sync.WaitGroup
	slots := make(chan struct{}, parallel)
	for _, l := range lookups {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			l()
		}()
	}
	wg.Wait()
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
	n := s.phones.Normalize(number)
	if n.E164 == "" && len(n.National) < 4 {
		return []gateway.Match{}, nil // an extension or garbage: not a customer
	}
	ms, err := s.store.LookupNumber(ctx, n.E164, n.National)
	if err != nil {
		return nil, gateway.Wrap(gateway.CodeDatabaseDown, err, "customer lookup is unavailable")
	}
	out := make([]gateway.Match, 0, len(ms))
	for _, m := range ms {
		m.Number = s.phones.Display(m.Number)
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
