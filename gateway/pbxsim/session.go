package pbxsim

import (
	"strconv"
	"time"

	"crmcti/gateway/csta"
)

// This file is the link's session layer: how an application opens, keeps
// and ends its session (OpenScape SystemStatus/SystemRegister, ECMA-354
// application sessions) and the switch's heartbeats. Switch services are
// in services.go, framing and the link's loops in link.go.

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
			if !lk.heartbeat() {
				s.log.Warn("pbxsim: application answers no heartbeats, dropping its link", "peer", lk.nc.RemoteAddr().String())
				lk.close()
				return
			}
		case <-check.C:
			s.mu.Lock()
			expired := lk.session != "" && time.Now().After(lk.sessionEnd)
			if expired {
				lk.session = "" // an expired session is gone, not kept for recovery
			}
			s.mu.Unlock()
			if expired {
				s.log.Warn("pbxsim: application session expired", "peer", lk.nc.RemoteAddr().String())
				lk.close()
				return
			}
		}
	}
}

// maxMissedBeats is how many SystemStatus heartbeats an OpenScape Voice
// link may leave unanswered before the switch drops it: the switch checks
// that the application is alive as the application checks the switch
// (SystemStatus both ways: OpenScape Voice Interface Manual, Volume 4,
// CSTA Interface, A31003-H8090-T103). The count of three is our choice;
// we could not read the switch's own figure.
const maxMissedBeats = 3

// heartbeat sends the OpenScape SystemStatus heartbeat; it reports false
// when the openscape profile has seen too many go unanswered.
func (lk *link) heartbeat() bool {
	s := lk.sim
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.Profile.Session != csta.SessionOpenScape || s.stalled {
		return true
	}
	if s.naming == namingOpenScape && lk.missedBeats >= maxMissedBeats {
		return false
	}
	lk.missedBeats++
	lk.sendRequestLocked(&csta.SystemStatus{SystemStatus: "normal"})
	return true
}

// sessionAllows reports whether msg may be served on lk before its
// session is open: on an ECMA-354 switch only the session messages and
// SystemStatus are.
func (s *Sim) sessionAllows(lk *link, msg csta.Message) bool {
	if s.cfg.Profile.Session != csta.SessionECMA354 || lk.session != "" {
		return true
	}
	switch msg.(type) {
	case *csta.StartApplicationSession, *csta.SystemStatus, *csta.SystemStatusResponse:
		return true
	}
	return false
}

func (s *Sim) systemStatus(lk *link, m *csta.SystemStatus) (csta.Message, error) {
	return &csta.SystemStatusResponse{}, nil
}

// systemStatusResponse is the answer to our heartbeat: no reply.
func (s *Sim) systemStatusResponse(lk *link, m *csta.SystemStatusResponse) (csta.Message, error) {
	lk.missedBeats = 0
	return nil, nil
}

func (s *Sim) systemRegister(lk *link, m *csta.SystemRegister) (csta.Message, error) {
	return &csta.SystemRegisterResponse{SysStatRegisterID: "1"}, nil
}

func (s *Sim) startApplicationSession(lk *link, m *csta.StartApplicationSession) (csta.Message, error) {
	if s.naming == namingAvaya {
		return s.startDMCCSession(lk, m), nil
	}
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
}

func (s *Sim) resetApplicationSessionTimer(lk *link, m *csta.ResetApplicationSessionTimer) (csta.Message, error) {
	if m.SessionID != lk.session || lk.session == "" {
		return &csta.ResetApplicationSessionTimerNegResponse{ErrorCode: csta.SessionErrorCode{DefinedError: "invalidSessionID"}}, nil
	}
	d := m.RequestedSessionDuration
	if d <= 0 {
		d = 180
	}
	lk.sessionEnd = time.Now().Add(time.Duration(d) * time.Second)
	return &csta.ResetApplicationSessionTimerPosResponse{ActualSessionDuration: d}, nil
}

// stopApplicationSession ends the session; serve closes the link once the
// response is out.
func (s *Sim) stopApplicationSession(lk *link, m *csta.StopApplicationSession) (csta.Message, error) {
	lk.session = ""
	return &csta.StopApplicationSessionPosResponse{}, nil
}
