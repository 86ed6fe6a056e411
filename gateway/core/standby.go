package core

import (
	"context"
	"slices"
	"sync"
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
	s.pbxUp, s.synced, s.takenOver = false, nil, nil
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
func (s *Service) TakeOver(ctx context.Context, db gateway.Takeover) {
	live, err := db.LiveSessions(ctx)
	if err != nil {
		// The agents still resume one by one; each monitors its phone.
		s.log.Warn("core: take over: the logged-in agents could not be read", "err", err)
	}
	s.mu.Lock()
	// The live sessions, read after the former active stopped, are the
	// session cache: the agents' resumes, a thousand at once, then need
	// no lookup each.
	s.sessions = map[string]sessionInfo{}
	for _, ls := range live {
		for _, tok := range ls.Tokens {
			s.sessions[string(tok.Hash)] = sessionInfo{agent: ls.Agent, expires: tok.Expires}
		}
	}
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
	failed := s.monitorAll(ctx, devices)
	devices = s.dropUnmonitored(devices, failed)
	// A standby's watching link (pbx/watch.go) monitored these phones
	// before: Monitor had nothing to do, and their calls are in the
	// tracker, not yet in the agents' state. A phone monitored just now
	// reported its calls already; the seed then changes nothing.
	// The call log gets each call's state as the take-over found it: the
	// steps made while no gateway was active reached no call log.
	now := time.Now()
	var lookups []func()
	defer func() { go runLookups(lookups, 8) }()
	for _, d := range devices {
		for _, call := range s.sw.Calls(d) {
			s.callChanged(call, "", &lookups)
			if ev := stateEvent(call.State); ev != "" {
				s.calllog.add(gateway.LogEntry{Call: call, Username: s.usernameAt(d), Event: ev, At: now, Detail: "state at the take-over"})
			}
		}
	}
	s.log.Info("core: took over the logged-in agents", "agents", len(devices)+len(failed), "failed", len(failed), "took", time.Since(start).Round(time.Millisecond).String())
	// Every device is now either resynchronised (monitored on a link that
	// was up) or waiting for the link, whose LinkChanged(true) comes after
	// it resynchronised them all.
	s.mu.Lock()
	s.takenOver = &takeover{db: db, devices: devices}
	s.mu.Unlock()
	if s.sw.Up() {
		s.resyncedAfterTakeover()
	}
}

// monitorAll monitors the devices, takeOverParallel at once (on a link
// already up each is a round trip or two to the switch); it returns those
// that failed.
func (s *Service) monitorAll(ctx context.Context, devices []string) map[string]bool {
	var mu sync.Mutex
	failed := map[string]bool{}
	var wg sync.WaitGroup
	slots := make(chan struct{}, takeOverParallel)
	for _, d := range devices {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			if err := s.syncMonitor(ctx, d); err != nil {
				mu.Lock()
				failed[d] = true
				mu.Unlock()
				s.log.Warn("core: take over: monitor", "device", d, "err", err)
			}
		}()
	}
	wg.Wait()
	return failed
}

// dropUnmonitored returns devices without the failed ones, and forgets
// the live state made for a failed one's agent unless a connection has
// attached since: the agent's own resume is then its first and monitors
// again, rather than finding a state nobody monitors. A failed device's
// open call-log rows are left alone: without a snapshot of it, the
// switch's truth about its calls is unknown.
func (s *Service) dropUnmonitored(devices []string, failed map[string]bool) []string {
	if len(failed) == 0 {
		return devices
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := devices[:0:0]
	for _, d := range devices {
		if !failed[d] {
			kept = append(kept, d)
			continue
		}
		if st, ok := s.byDevice[d]; ok && len(st.conns) == 0 {
			s.forgetLocked(st)
		}
	}
	return kept
}

// takeOverParallel bounds the monitors a take-over starts at once.
const takeOverParallel = 32

// takeover is what remains to do once the link is up after a take-over.
type takeover struct {
	db      gateway.Takeover
	devices []string
}

// resyncedAfterTakeover runs when the link is up and every device
// resynchronised (LinkChanged): the call-log rows that the former active
// left open for calls the switch no longer has are closed. Those calls
// ended while no gateway was active; no CTI saw when, so the end is the
// take-over's, with cause "failover".
func (s *Service) resyncedAfterTakeover() {
	s.mu.Lock()
	t := s.takenOver
	s.takenOver = nil
	s.mu.Unlock()
	if t == nil {
		return
	}
	// The agents who resumed here before the take-over registered them
	// are served too: their phones' rows count as much.
	devices := slices.Clone(t.devices)
	taken := make(map[string]bool, len(devices))
	for _, d := range devices {
		taken[d] = true
	}
	s.mu.Lock()
	for d := range s.byDevice {
		if !taken[d] {
			devices = append(devices, d)
		}
	}
	s.mu.Unlock()
	if len(devices) == 0 {
		return
	}
	go s.closeEndedMeanwhile(t.db, devices)
}

// closeEndedMeanwhile closes the open call-log rows at devices of calls
// the switch no longer has (resyncedAfterTakeover). It runs on its own
// goroutine: it may wait for the spool's replay, and neither the take-over
// nor the switch adapter that reported the link up may wait with it.
func (s *Service) closeEndedMeanwhile(db gateway.Takeover, devices []string) {
	// Steps an earlier run left in the spool (a stop or a kill while the
	// database was down) may close some of these rows: they are written
	// first, or their calls would be closed as "failover" and their real
	// ends be lost under it.
	rctx, rcancel := context.WithTimeout(context.Background(), time.Minute)
	defer rcancel()
	if !s.calllog.awaitReplayed(rctx) {
		s.log.Warn("core: take over: the spooled call-log steps are still not written; rows of calls ended meanwhile stay open")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	open, err := db.OpenCalls(ctx, devices)
	if err != nil {
		s.log.Warn("core: take over: open call-log rows not read; they stay open", "err", err)
		return
	}
	now, closed := time.Now(), 0
	for _, c := range open {
		if s.liveAtSwitch(c.Device, c.ID) {
			continue
		}
		end, detail := now, "ended while no gateway was active"
		if at, seen := s.endSeen(c.Device, c.ID); seen {
			end, detail = at, "ended while no gateway was active, as the standby saw"
		}
		c.State, c.Ended, c.Cause = gateway.CallEnded, end, "failover"
		s.calllog.add(gateway.LogEntry{Call: c, Username: s.usernameAt(c.Device), Event: gateway.EvEnded, At: end, Detail: detail})
		closed++
	}
	s.log.Info("core: take over: call-log rows of calls ended meanwhile closed", "closed", closed, "open", len(open))
}

// endSeen is when the switch adapter saw the call end, if it did (a
// standby's watching link sees the ends made while no gateway is active).
func (s *Service) endSeen(device, callID string) (time.Time, bool) {
	if w, ok := s.sw.(gateway.EndWitness); ok {
		return w.EndedAt(device, callID)
	}
	return time.Time{}, false
}

// liveAtSwitch reports whether the switch adapter tracks the call.
func (s *Service) liveAtSwitch(device, callID string) bool {
	for _, c := range s.sw.Calls(device) {
		if c.ID == callID {
			return true
		}
	}
	return false
}

func (s *Service) usernameAt(device string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.byDevice[device]; ok {
		return st.agent.Username
	}
	return ""
}

// stateEvent is the event that leads to a live call's state.
func stateEvent(st gateway.CallState) gateway.CallEvent {
	switch st {
	case gateway.CallRinging:
		return gateway.EvRang
	case gateway.CallDialing:
		return gateway.EvDialed
	case gateway.CallConnected:
		return gateway.EvAnswered
	case gateway.CallHeld:
		return gateway.EvHeld
	}
	return ""
}
