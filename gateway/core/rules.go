package core

import (
	"time"

	"crmcti/gateway"
)

// The rules themselves are gateway.CheckAction, shared with the
// extension; here they are enforced on the agent's live state, with the
// effect of commands in flight counted.

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
		return gateway.Errorf(gateway.CodeNotLoggedIn, "log in first")
	}
	calls := st.callList(time.Now())
	var target *gateway.Call
	if act != gateway.ActCall {
		if _, ok := st.calls[callID]; !ok {
			if s.someoneElsesLocked(st, callID) {
				s.auditDenied(r, act, callID, "not your call")
				return gateway.Errorf(gateway.CodeNotYourCall, "that call is not at your phone")
			}
			return gateway.Errorf(gateway.CodeNoSuchCall, "no such call (it may have ended)")
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
		return gateway.Errorf(gateway.CodeNotYourCall, "that call is not at your phone")
	}
	return gateway.Errorf(gateway.CodeNoSuchCall, "no such call")
}
