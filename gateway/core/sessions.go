package core

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/unicode/norm"

	"crmcti/gateway"
	"crmcti/gateway/backoff"
	"crmcti/gateway/wire"
)

// sessionInfo is a session as cached in memory.
type sessionInfo struct {
	agent   gateway.Agent
	expires time.Time
}

// errDatabaseDown is what an agent is told when the database is down.
const errDatabaseDown = "the gateway's database is not reachable; try again shortly"

// login authenticates, starts a session and sends it with the snapshot.
func (s *Service) login(ctx context.Context, r request, req wire.Login) (any, error) {
	if err := s.checkVersion(req.Version); err != nil {
		return nil, err
	}
	r.setVersion(req.Version)
	now := time.Now()
	keys := s.loginKeys(req.Username, r.addr)
	if ok, wait := s.limiter.reserve(now, keys...); !ok {
		s.auditLogin(r, req.Username, false, "rate limited")
		return nil, gateway.Errorf(gateway.CodeRateLimited, "too many failed attempts; try again in %s", wait.Round(time.Second)+time.Second)
	}
	a, err := s.dir.Authenticate(ctx, req.Username, req.Password)
	code := gateway.ErrorCode(err)
	s.limiter.done(time.Now(), code == gateway.CodeBadCredentials, err == nil, keys...)
	if err != nil {
		s.auditLogin(r, req.Username, false, string(code))
		return nil, err
	}
	tok, expires := newToken(), now.Add(s.cfg.SessionTTL)
	h := hashToken(tok)
	// The store applies what an admin set for the agent in the database
	// (CTI disabled, another extension) as it records the session.
	a, err = s.store.CreateSession(ctx, h, a, expires)
	switch {
	case errors.Is(err, gateway.ErrAgentDisabled):
		s.auditLogin(r, a.Username, false, "disabled")
		return nil, gateway.Errorf(gateway.CodeAgentDisabled, "CTI is disabled for your account; ask your administrator")
	case err != nil:
		return nil, gateway.Wrap(gateway.CodeDatabaseDown, err, errDatabaseDown)
	}
	s.cacheSession(h, sessionInfo{agent: a, expires: expires})
	if err := s.attach(ctx, r.Conn, a, h, expires); err != nil {
		return nil, err
	}
	s.auditLogin(r, a.Username, true, "extension "+a.Extension)
	s.welcome(r.Conn, r.id, wire.Session{Token: tok, Agent: agentToWire(a), ExpiresAt: expires})
	return nil, nil
}

// loginKeys are the limiter's keys for a login: the username (compared
// without case or surrounding space) with a higher limit, and the
// username with the client's address. The username is folded as the
// directory compares it (NFKC, any case), so that "BOB" and a fullwidth
// "ｂｏｂ" count against the same bob.
func (s *Service) loginKeys(username, addr string) []limitKey {
	user := strings.ToLower(norm.NFKC.String(strings.TrimSpace(username)))
	return []limitKey{{key: "u:" + user, max: s.cfg.LoginUserFailures}, {key: "ua:" + user + "\x00" + addr, max: s.cfg.LoginFailures}}
}

func (s *Service) auditLogin(r request, username string, allowed bool, detail string) {
	s.audit.add(gateway.AuditEntry{At: time.Now(), Username: username, Client: r.addr, Action: "login", Allowed: allowed, Detail: detail})
}

func (s *Service) cacheSession(h []byte, info sessionInfo) {
	s.mu.Lock()
	s.sessions[string(h)] = info
	s.mu.Unlock()
}

// resume continues a session after a reconnect or a gateway restart: from
// the memory cache (which survives a database outage), else the store.
func (s *Service) resume(ctx context.Context, r request, req wire.Resume) (any, error) {
	if err := s.checkVersion(req.Version); err != nil {
		return nil, err
	}
	r.setVersion(req.Version)
	h := hashToken(req.Token)
	if s.isRevoked(h) {
		return nil, gateway.Errorf(gateway.CodeSessionExpired, "your session has ended; log in again")
	}
	s.mu.Lock()
	info, ok := s.sessions[string(h)]
	s.mu.Unlock()
	if !ok || time.Now().After(info.expires) {
		a, expires, err := s.store.Session(ctx, h)
		switch {
		case errors.Is(err, gateway.ErrNotFound):
			return nil, gateway.Errorf(gateway.CodeSessionExpired, "your session has ended; log in again")
		case err != nil:
			return nil, gateway.Wrap(gateway.CodeDatabaseDown, err, errDatabaseDown)
		}
		info = sessionInfo{agent: a, expires: expires}
		s.cacheSession(h, info)
	}
	if err := s.attach(ctx, r.Conn, info.agent, h, info.expires); err != nil {
		return nil, err
	}
	s.welcome(r.Conn, r.id, wire.Session{Token: req.Token, Agent: agentToWire(info.agent), ExpiresAt: info.expires})
	return nil, nil
}

// attach binds a connection to its agent's live state, monitoring the
// device on the agent's first connection.
func (s *Service) attach(ctx context.Context, c *Conn, a gateway.Agent, tokenHash []byte, expires time.Time) error {
	s.mu.Lock()
	st, ok := s.agents[a.Username]
	first := !ok
	if first {
		if other, taken := s.byDevice[a.Extension]; taken {
			s.mu.Unlock()
			return gateway.Errorf(gateway.CodeInvalidState, "extension %s is in use by %s", a.Extension, other.agent.Username)
		}
		st = newAgentState(a)
		st.connecting, st.loginConn = make(chan struct{}), c
		s.agents[a.Username] = st
		s.byDevice[a.Extension] = st
	}
	if old := c.state(); old != nil && old != st {
		delete(old.conns, c)
	}
	if expires.After(st.expires) {
		st.expires = expires
	}
	st.conns[c] = struct{}{}
	c.setAgent(st, tokenHash, expires)
	s.mu.Unlock()
	s.authenticated(c)
	if !first {
		return nil
	}
	connected := st.connecting
	go s.connectPhone(st)
	t := time.NewTimer(loginWaitsForPhone)
	defer t.Stop()
	select {
	case <-connected:
	case <-t.C:
	case <-ctx.Done():
	}
	s.mu.Lock()
	st.loginConn = nil
	refused := st.refused
	var others []*Conn
	if refused != nil {
		// Not a login, here or in a tab that joined meanwhile.
		for other := range st.conns {
			if other != c {
				others = append(others, other)
			}
			other.setAgent(nil, nil, time.Time{})
		}
		clear(st.conns)
		s.forgetLocked(st)
	}
	s.mu.Unlock()
	for _, o := range others {
		o.close(wire.Error{Code: string(gateway.ErrorCode(refused)), Message: gateway.ErrorMessage(refused)})
	}
	return refused
}

// loginWaitsForPhone is how long a login waits for the switch to monitor
// the agent's phone before it is answered anyway, the phone then shown
// "connecting". An idle switch answers in milliseconds, and the login
// then tells at once of a phone the switch refuses; at the morning peak,
// logins queue behind the switch's request rate and are not held.
const loginWaitsForPhone = 250 * time.Millisecond

// phoneConnectTimeout bounds one attempt to monitor a logged-in agent's
// phone, her turn at the switch's request rate included: 10,000 logins at
// once are 20,000 requests, 20 s at OpenScape's 1,000 a second.
const phoneConnectTimeout = 2 * time.Minute

// phoneRetryMax is the longest pause between attempts to monitor a phone
// that the switch could not be asked about (link down, no answer).
const phoneRetryMax = 15 * time.Second

// connectPhone monitors the phone of an agent whose login (or first
// resume) has already been answered. A login does not wait for the switch:
// every login costs the switch a MonitorStart and a SnapshotDevice, and at
// the morning peak those queue behind the switch's request rate for far
// longer than a login may take. Until the phone is monitored the panel
// shows it "connecting" and phone commands wait for it (awaitPhone). A
// switch that cannot be asked is asked again until the agent logs out; a
// switch that refuses the phone ends the agent's session, as a refused
// login did.
func (s *Service) connectPhone(st *agentState) {
	dev := st.agent.Extension
	// Jittered: a thousand phones turned away together by a busy switch
	// do not all come back in the same instant.
	retry := backoff.New(500*time.Millisecond, phoneRetryMax)
	for {
		ctx, cancel := context.WithTimeout(s.life, phoneConnectTimeout)
		err := s.syncMonitor(ctx, dev)
		cancel()
		s.mu.Lock()
		if s.byDevice[dev] != st {
			// Logged out meanwhile (syncMonitor then unmonitored, or the
			// logout's own syncMonitor will), or the gateway stopped.
			s.phoneDoneLocked(st)
			s.mu.Unlock()
			return
		}
		if err == nil {
			s.mu.Unlock()
			// Seed from the tracker: calls already at the phone, in the
			// agent's state before the login's snapshot or "ready".
			for _, call := range s.sw.Calls(dev) {
				s.CallChanged(call, "")
			}
			s.mu.Lock()
			if s.byDevice[dev] == st {
				// Not to a login still waiting: its snapshot, after its
				// reply, says ready.
				b, _ := wire.Encode(wire.TPhone, "", wire.PhoneState{State: wire.PhoneReady})
				for c := range st.conns {
					if c != st.loginConn {
						c.send(b)
					}
				}
			}
			s.phoneDoneLocked(st)
			s.mu.Unlock()
			return
		}
		if gateway.ErrorCode(err) != gateway.CodePBXUnavailable {
			if st.loginConn != nil {
				// The login is still waiting: it fails with the refusal
				// (attach), as it always did.
				st.refused = err
				s.phoneDoneLocked(st)
				s.mu.Unlock()
				return
			}
			s.mu.Unlock()
			s.refusePhone(st, err)
			return
		}
		s.mu.Unlock()
		s.phoneRetries.note(s.log, dev, err)
		select {
		case <-s.life.Done():
			s.mu.Lock()
			s.phoneDoneLocked(st)
			s.mu.Unlock()
			return
		case <-time.After(retry.Next()):
		}
	}
}

// retryLog says that phones are being asked for again, once per
// retryLogEvery for all of them: at the morning peak a busy switch turns
// thousands away at once, and a line each would bury the log.
type retryLog struct {
	mu    sync.Mutex
	last  time.Time
	count int
}

const retryLogEvery = 10 * time.Second

func (r *retryLog) note(log *slog.Logger, dev string, err error) {
	r.mu.Lock()
	r.count++
	now := time.Now()
	if now.Sub(r.last) < retryLogEvery {
		r.mu.Unlock()
		return
	}
	n := r.count
	r.last, r.count = now, 0
	r.mu.Unlock()
	log.Warn("core: the switch did not monitor logged-in agents' phones; asking again", "phones", n, "device", dev, "err", err)
}

// phoneDoneLocked wakes the commands waiting for st's phone; called with
// s.mu held.
func (s *Service) phoneDoneLocked(st *agentState) {
	if st.connecting != nil {
		close(st.connecting)
		st.connecting = nil
	}
}

// refusePhone ends the sessions of an agent whose phone the switch will
// not monitor (a wrong extension or device mapping): every tab is told
// why and goes back to the login form, and the sessions are revoked so
// that no tab resumes into the same refusal.
func (s *Service) refusePhone(st *agentState, err error) {
	msg := "your phone " + st.agent.Extension + " could not be connected: " + gateway.ErrorMessage(err)
	s.mu.Lock()
	s.phoneDoneLocked(st)
	type session struct {
		hash    []byte
		expires time.Time
	}
	var ended []session
	seen := map[string]bool{}
	for c := range st.conns {
		if h := c.tokenHash(); h != nil && !seen[string(h)] {
			seen[string(h)] = true
			ended = append(ended, session{h, c.sessionExpires()})
		}
	}
	s.mu.Unlock()
	var conns []*Conn
	for _, x := range ended {
		others, _ := s.endSession(st, x.hash, x.expires, nil)
		conns = append(conns, others...)
	}
	s.mu.Lock()
	s.forgetLocked(st)
	s.mu.Unlock()
	for _, c := range conns {
		c.close(wire.Error{Code: string(gateway.ErrorCode(err)), Message: msg})
	}
	s.audit.add(gateway.AuditEntry{At: time.Now(), Username: st.agent.Username, Action: "login", Allowed: false, Detail: "phone " + st.agent.Extension + " refused by the switch"})
	ctx, cancel := context.WithTimeout(s.life, 5*time.Second)
	defer cancel()
	for _, x := range ended {
		if rerr := s.recordRevocation(ctx, x.hash, x.expires); rerr != nil {
			s.log.Warn("core: revoke the session of a refused phone", "device", st.agent.Extension, "err", rerr)
		}
	}
}

// awaitPhoneFor bounds how long a phone command waits for the agent's
// phone to be monitored, under the extension's 8 s patience with an
// unanswered command.
const awaitPhoneFor = 3 * time.Second

// awaitPhone holds a phone command until the agent's phone is monitored
// (connectPhone): a call placed before would ring unseen.
func (s *Service) awaitPhone(ctx context.Context, st *agentState) error {
	s.mu.Lock()
	ch := st.connecting
	s.mu.Unlock()
	if ch == nil {
		return nil
	}
	t := time.NewTimer(awaitPhoneFor)
	defer t.Stop()
	select {
	case <-ch:
		s.mu.Lock()
		current := s.byDevice[st.agent.Extension] == st
		s.mu.Unlock()
		if current {
			return nil
		}
		return gateway.Errorf(gateway.CodeNotLoggedIn, "log in first")
	case <-t.C:
	case <-ctx.Done():
	}
	return gateway.Errorf(gateway.CodePBXUnavailable, "your phone is still being connected; try again in a moment")
}

// forgetLocked ends an agent's live state; called with s.mu held.
func (s *Service) forgetLocked(st *agentState) {
	if s.agents[st.agent.Username] == st {
		delete(s.agents, st.agent.Username)
	}
	if s.byDevice[st.agent.Extension] == st {
		delete(s.byDevice, st.agent.Extension)
	}
}

// logout ends the session at once on every connection that uses it (a
// copied token stops controlling calls with the tab that logged out), then
// records it (revoke.go); the agent's last connection stops the monitor.
func (s *Service) logout(ctx context.Context, r request, _ anyData) (any, error) {
	st, h := r.agent, r.tokenHash()
	expires := r.sessionExpires()
	others, last := s.endSession(st, h, expires, r.Conn)
	for _, c := range others {
		c.close(wire.Error{Code: string(gateway.CodeLoggedOut), Message: "you logged out; log in again"})
	}
	s.audit.add(gateway.AuditEntry{At: time.Now(), Username: st.agent.Username, Client: r.addr, Action: "logout", Allowed: true})
	if last {
		if err := s.syncMonitor(ctx, st.agent.Extension); err != nil {
			s.log.Warn("core: unmonitor", "device", st.agent.Extension, "err", err)
		}
	}
	if err := s.recordRevocation(ctx, h, expires); err != nil {
		return nil, err
	}
	return empty{}, nil
}

// endSession revokes the session h in memory and unbinds every
// connection on it; it returns the connections other than c, and whether
// the agent has no connection left.
func (s *Service) endSession(st *agentState, h []byte, expires time.Time, c *Conn) (others []*Conn, last bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revokeLocked(h, expires)
	for other := range st.conns {
		if string(other.tokenHash()) != string(h) {
			continue
		}
		delete(st.conns, other)
		if other != c {
			others = append(others, other)
		}
		other.setAgent(nil, nil, time.Time{})
	}
	last = len(st.conns) == 0
	if last {
		s.forgetLocked(st)
	}
	return others, last
}

// detach forgets a closed connection; the agent stays logged in (the
// extension reconnects) until logout or session expiry.
func (s *Service) detach(c *Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := c.state(); st != nil {
		delete(st.conns, c)
	}
}

func (s *Service) sweepLoop(every time.Duration) {
	defer close(s.swept)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			s.sweep(now)
		}
	}
}

// sweep ends what expired: agents whose every session has run out are
// told (if still connected) and their phones are no longer monitored, so
// that a shift's worth of forgotten logins does not pile up on the PBX.
func (s *Service) sweep(now time.Time) {
	for _, x := range s.expire(now) {
		for _, c := range x.conns {
			c.close(errExpired)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.syncMonitor(ctx, x.agent.Extension); err != nil {
			s.log.Warn("core: unmonitor expired agent", "device", x.agent.Extension, "err", err)
		}
		cancel()
		s.audit.add(gateway.AuditEntry{At: now, Username: x.agent.Username, Action: "session expired", Allowed: true})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.retryRevocations(ctx, now)
	if _, err := s.store.DeleteStaleSessions(ctx, now.Add(-24*time.Hour)); err != nil {
		s.log.Warn("core: delete stale sessions", "err", err)
	}
}

// expiredAgent is an agent whose sessions all ended, with the connections
// she still had.
type expiredAgent struct {
	agent gateway.Agent
	conns []*Conn
}

// expire forgets the agents and sessions that expired by now.
func (s *Service) expire(now time.Time) []expiredAgent {
	s.mu.Lock()
	defer s.mu.Unlock()
	var gone []expiredAgent
	for _, st := range s.agents {
		if now.After(st.expires) {
			gone = append(gone, expiredAgent{agent: st.agent, conns: st.connList()})
			s.forgetLocked(st)
		}
	}
	for h, info := range s.sessions {
		if now.After(info.expires) {
			delete(s.sessions, h)
		}
	}
	return gone
}

func hashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// deviceLocks serialises what the core asks the switch about one device's
// monitor. Without it a logout's Unmonitor could overtake a new login's
// Monitor of the same phone (which the adapter skips, as it still knows
// the device), leaving the agent logged in and deaf.
type deviceLocks struct {
	mu    sync.Mutex
	locks map[string]*deviceLock
}

type deviceLock struct {
	sync.Mutex
	users int // holders and waiters, so that an idle lock is forgotten
}

func (d *deviceLocks) lock(device string) (unlock func()) {
	d.mu.Lock()
	if d.locks == nil {
		d.locks = map[string]*deviceLock{}
	}
	l := d.locks[device]
	if l == nil {
		l = &deviceLock{}
		d.locks[device] = l
	}
	l.users++
	d.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		d.mu.Lock()
		if l.users--; l.users == 0 {
			delete(d.locks, device)
		}
		d.mu.Unlock()
	}
}

// syncMonitor makes the switch's monitor of device match whether an agent
// is logged in on it now: it monitors or unmonitors, one decision at a
// time per device, so that the last word is always the current state.
func (s *Service) syncMonitor(ctx context.Context, device string) error {
	unlock := s.devices.lock(device)
	defer unlock()
	s.mu.Lock()
	_, loggedIn := s.byDevice[device]
	s.mu.Unlock()
	if loggedIn {
		return s.sw.Monitor(ctx, device)
	}
	return s.sw.Unmonitor(ctx, device)
}
