package core

import (
	"context"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/wire"
)

// standbyBye is what every connection is told when this gateway stops
// being the active one (gateway/ha): the extension moves to the next
// gateway of its list and resumes its session there.
var standbyBye = wire.Error{Code: string(gateway.CodeStandby), Message: "this gateway is now a standby; moving to the active one"}

// StepDown is this gateway losing its leadership: the switch link is
// already fenced (no unmonitor reaches it), every connection is told
// standby and closed, and the agents' live state is dropped — the active
// gateway rebuilds it from the session table and the switch. The session
// cache goes too: sessions may be revoked on the active meanwhile.
func (s *Service) StepDown() {
	s.mu.Lock()
	var all []*Conn
	for _, a := range s.agents {
		all = append(all, a.connList()...)
	}
	s.agents, s.byDevice, s.sessions = map[string]*agentState{}, map[string]*agentState{}, map[string]sessionInfo{}
	s.pbxUp = false
	s.mu.Unlock()
	for _, c := range all {
		c.close(standbyBye)
	}
}

// TakeOver is this gateway becoming the active one: every agent with a
// live session (on whichever gateway it logged in) gets its live state
// back and its phone monitored, before its extension reconnects here, so
// that no call is missed in between. The switch adapter monitors the
// devices when the link is up and reconciles their calls by
// SnapshotDevice; CallChanged restores each call's far end from the call
// log. An agent whose device another agent already holds is skipped.
func (s *Service) TakeOver(ctx context.Context, live []gateway.LiveSession) {
	s.mu.Lock()
	s.sessions = map[string]sessionInfo{}
	var devices []string
	for _, ls := range live {
		a := ls.Agent
		if _, ok := s.agents[a.Username]; ok || a.Extension == "" {
			continue
		}
		if _, taken := s.byDevice[a.Extension]; taken {
			continue
		}
		st := newAgentState(a)
		st.expires = ls.Expires
		s.agents[a.Username], s.byDevice[a.Extension] = st, st
		devices = append(devices, a.Extension)
	}
	s.mu.Unlock()
	start := time.Now()
	failed := 0
	for _, d := range devices {
		if err := s.syncMonitor(ctx, d); err != nil {
			failed++
			s.log.Warn("core: take over: monitor", "device", d, "err", err)
		}
	}
	s.log.Info("core: took over the logged-in agents", "agents", len(devices), "failed", failed, "took", time.Since(start).Round(time.Millisecond).String())
}
