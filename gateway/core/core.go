// Package core is the gateway's application: sessions, the rules on every
// command, the agents' live state built from the switch's events, caller
// identification, the call log and the fan-out of every event to every
// client of an agent. Transports (gateway/http) hand it decoded frames;
// adapters (ldap, postgres, pbx) sit behind the interfaces below.
package core

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/phone"
	"crmcti/gateway/wire"
)

type nopObserver struct{}

func (nopObserver) Command(string, gateway.Code, time.Duration) {}
func (nopObserver) Login(gateway.Code, time.Duration)           {}
func (nopObserver) ClientDropped(string)                        {}
func (nopObserver) Clients(int)                                 {}

// Config tunes the service.
type Config struct {
	// Region is the default country for numbers without one (e.g. "CY").
	Region     string
	SessionTTL time.Duration // default 12h
	// ClientQueue bounds the frames waiting for one client; a client that
	// falls further behind is disconnected and resyncs on reconnect.
	ClientQueue int // default 256
	// LoginFailures in LoginWindow per username or per address lock
	// further attempts until the window passes (default 5 in 5 minutes).
	LoginFailures int
	LoginWindow   time.Duration
	// CallLogBuffer bounds call-log steps kept while the database is down.
	CallLogBuffer int // default 100000
	// SweepEvery is how often expired sessions are ended: their clients
	// told, their phones no longer monitored (default 1m).
	SweepEvery time.Duration
	Logger     *slog.Logger
	Observer   gateway.Observer
}

// Service is the gateway's core.
type Service struct {
	cfg   Config
	log   *slog.Logger
	obs   gateway.Observer
	dir   gateway.Directory
	store gateway.Store
	sw    gateway.Switch

	limiter *limiter
	devices deviceLocks
	calllog *batcher[gateway.LogEntry]
	audit   *batcher[gateway.AuditEntry]

	mu        sync.Mutex
	agents    map[string]*agentState // by username
	byDevice  map[string]*agentState
	sessions  map[string]sessionInfo // by token hash, a cache that survives a database outage
	pending   map[string]string      // device/callID -> contact chosen before the call appeared
	pbxUp     bool
	clients   atomic.Int64
	closed    bool
	stop      chan struct{}
	swept     chan struct{}
	closeOnce sync.Once
}

type sessionInfo struct {
	agent   gateway.Agent
	expires time.Time
}

type agentState struct {
	agent gateway.Agent
	// expires is when the agent's last session ends.
	expires time.Time
	status  gateway.Status
	// settingStatus is the status the panel is setting on the switch.
	settingStatus gateway.Status
	clients       map[*Conn]struct{}
	calls         map[string]*wire.Call // live calls by ID
	recent        []*wire.Call          // ended calls, newest last, bounded
}

const recentKept = 20

// New builds the service. Call SetSwitch before serving.
func New(cfg Config, dir gateway.Directory, store gateway.Store) *Service {
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.ClientQueue <= 0 {
		cfg.ClientQueue = 256
	}
	if cfg.LoginFailures <= 0 {
		cfg.LoginFailures = 5
	}
	if cfg.LoginWindow <= 0 {
		cfg.LoginWindow = 5 * time.Minute
	}
	if cfg.CallLogBuffer <= 0 {
		cfg.CallLogBuffer = 100_000
	}
	if cfg.Region == "" {
		cfg.Region = "CY"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	obs := cfg.Observer
	if obs == nil {
		obs = nopObserver{}
	}
	s := &Service{cfg: cfg, log: log, obs: obs, dir: dir, store: store,
		limiter: newLimiter(cfg.LoginFailures, cfg.LoginWindow),
		agents:  map[string]*agentState{}, byDevice: map[string]*agentState{},
		sessions: map[string]sessionInfo{}, pending: map[string]string{}}
	s.calllog = newBatcher("calls", cfg.CallLogBuffer, log, store.WriteCallLog)
	s.audit = newBatcher("audit", 10_000, log, store.Audit)
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = time.Minute
	}
	s.stop, s.swept = make(chan struct{}), make(chan struct{})
	go s.sweepLoop(cfg.SweepEvery)
	return s
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
	s.mu.Lock()
	var gone []*agentState
	for name, st := range s.agents {
		if now.After(st.expires) {
			gone = append(gone, st)
			delete(s.agents, name)
			delete(s.byDevice, st.agent.Extension)
		}
	}
	for h, info := range s.sessions {
		if now.After(info.expires) {
			delete(s.sessions, h)
		}
	}
	s.mu.Unlock()
	for _, st := range gone {
		s.mu.Lock()
		clients := make([]*Conn, 0, len(st.clients))
		for c := range st.clients {
			clients = append(clients, c)
		}
		s.mu.Unlock()
		for _, c := range clients {
			c.close(wire.Error{Code: string(gateway.ErrSessionExpired), Message: "your session has ended; log in again"})
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.syncMonitor(ctx, st.agent.Extension); err != nil {
			s.log.Warn("core: unmonitor expired agent", "device", st.agent.Extension, "err", err)
		}
		cancel()
		s.audit.add(gateway.AuditEntry{At: now, Username: st.agent.Username, Action: "session expired", Allowed: true})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.store.DeleteStaleSessions(ctx, now.Add(-24*time.Hour)); err != nil {
		s.log.Warn("core: delete stale sessions", "err", err)
	}
}

// SetSwitch connects the PBX adapter, which is built with the service as
// its event sink.
func (s *Service) SetSwitch(sw gateway.Switch) { s.sw = sw }

// Close disconnects every client and writes what the logs still hold.
func (s *Service) Close() { s.closeOnce.Do(s.close) }

func (s *Service) close() {
	s.mu.Lock()
	s.closed = true
	var all []*Conn
	for _, a := range s.agents {
		for c := range a.clients {
			all = append(all, c)
		}
	}
	s.mu.Unlock()
	close(s.stop)
	<-s.swept
	for _, c := range all {
		c.close(wire.Error{Code: "shutdown", Message: "the gateway is restarting; reconnecting"})
	}
	s.calllog.close()
	s.audit.close()
}

// Stats are the service's numbers for metrics and readiness.
type Stats struct {
	Agents, Clients, MonitoredDevices int
	CallLogPending, AuditPending      int
	CallLogDropped, CallLogWritten    uint64
	CallLogFailing                    bool
}

// Stats reports the service's numbers.
func (s *Service) Stats() Stats {
	s.mu.Lock()
	st := Stats{Agents: len(s.agents), MonitoredDevices: len(s.byDevice)}
	s.mu.Unlock()
	st.Clients = int(s.clients.Load())
	st.CallLogPending, st.AuditPending = s.calllog.pending(), s.audit.pending()
	st.CallLogDropped, st.CallLogWritten = s.calllog.dropped.Load(), s.calllog.written.Load()
	st.CallLogFailing = s.calllog.failing.Load()
	return st
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

func (s *Service) auditf(c *Conn, action string, allowed bool, detail string) {
	e := gateway.AuditEntry{At: time.Now(), Client: c.addr, Action: action, Allowed: allowed, Detail: detail}
	if a := c.agentState(); a != nil {
		e.Username = a.agent.Username
	}
	s.audit.add(e)
}

// login authenticates and starts a session.
func (s *Service) login(ctx context.Context, c *Conn, username, password string) (wire.Session, error) {
	now := time.Now()
	userKey, addrKey := "u:"+strings.ToLower(strings.TrimSpace(username)), "a:"+c.addr
	if !s.limiter.allowed(userKey, now) || !s.limiter.allowed(addrKey, now) {
		s.audit.add(gateway.AuditEntry{At: now, Username: username, Client: c.addr, Action: "login", Detail: "rate limited"})
		return wire.Session{}, gateway.Errorf(gateway.ErrRateLimited, "too many failed attempts; wait a few minutes")
	}
	a, err := s.dir.Authenticate(ctx, username, password)
	if err != nil {
		code := gateway.ErrorCode(err)
		if code == gateway.ErrBadCredentials {
			s.limiter.fail(userKey, now)
			s.limiter.fail(addrKey, now)
		}
		s.audit.add(gateway.AuditEntry{At: now, Username: username, Client: c.addr, Action: "login", Detail: string(code)})
		return wire.Session{}, err
	}
	s.limiter.reset(userKey)
	o, err := s.store.AgentOverride(ctx, a.Username)
	if err != nil {
		return wire.Session{}, gateway.Wrap(gateway.ErrDatabaseDown, err, "the gateway's database is not reachable; try again shortly")
	}
	if o.Disabled {
		s.audit.add(gateway.AuditEntry{At: now, Username: a.Username, Client: c.addr, Action: "login", Detail: "disabled"})
		return wire.Session{}, gateway.Errorf(gateway.ErrAgentDisabled, "CTI is disabled for your account; ask your administrator")
	}
	if o.Extension != "" {
		a.Extension = o.Extension
	}
	tok := newToken()
	expires := now.Add(s.cfg.SessionTTL)
	if err := s.store.CreateSession(ctx, hashToken(tok), a, expires); err != nil {
		return wire.Session{}, gateway.Wrap(gateway.ErrDatabaseDown, err, "the gateway's database is not reachable; try again shortly")
	}
	s.mu.Lock()
	s.sessions[string(hashToken(tok))] = sessionInfo{agent: a, expires: expires}
	s.mu.Unlock()
	if err := s.attach(ctx, c, a, hashToken(tok), expires); err != nil {
		return wire.Session{}, err
	}
	s.audit.add(gateway.AuditEntry{At: now, Username: a.Username, Client: c.addr, Action: "login", Allowed: true, Detail: "extension " + a.Extension})
	return wire.Session{Token: tok, Agent: wireAgent(a), ExpiresAt: expires}, nil
}

// resume continues a session after a reconnect or a gateway restart.
func (s *Service) resume(ctx context.Context, c *Conn, tok string) (wire.Session, error) {
	h := hashToken(tok)
	s.mu.Lock()
	info, ok := s.sessions[string(h)]
	s.mu.Unlock()
	if !ok || time.Now().After(info.expires) {
		a, expires, err := s.store.Session(ctx, h)
		switch {
		case errors.Is(err, gateway.ErrNotFound):
			return wire.Session{}, gateway.Errorf(gateway.ErrSessionExpired, "your session has ended; log in again")
		case err != nil:
			return wire.Session{}, gateway.Wrap(gateway.ErrDatabaseDown, err, "the gateway's database is not reachable; try again shortly")
		}
		info = sessionInfo{agent: a, expires: expires}
		s.mu.Lock()
		s.sessions[string(h)] = info
		s.mu.Unlock()
	}
	if err := s.attach(ctx, c, info.agent, h, info.expires); err != nil {
		return wire.Session{}, err
	}
	return wire.Session{Token: tok, Agent: wireAgent(info.agent), ExpiresAt: info.expires}, nil
}

// attach binds a client to its agent's live state, monitoring the device
// on the agent's first client.
func (s *Service) attach(ctx context.Context, c *Conn, a gateway.Agent, tokenHash []byte, expires time.Time) error {
	s.mu.Lock()
	st, ok := s.agents[a.Username]
	first := !ok
	if first {
		if other, taken := s.byDevice[a.Extension]; taken {
			s.mu.Unlock()
			return gateway.Errorf(gateway.ErrInvalidState, "extension %s is in use by %s", a.Extension, other.agent.Username)
		}
		st = &agentState{agent: a, status: gateway.StatusAvailable, clients: map[*Conn]struct{}{}, calls: map[string]*wire.Call{}}
		s.agents[a.Username] = st
		s.byDevice[a.Extension] = st
	}
	if old := c.agentState(); old != nil && old != st {
		delete(old.clients, c)
	}
	if expires.After(st.expires) {
		st.expires = expires
	}
	st.clients[c] = struct{}{}
	c.setAgent(st, tokenHash)
	s.mu.Unlock()
	if first {
		if err := s.syncMonitor(ctx, a.Extension); err != nil {
			s.mu.Lock()
			delete(st.clients, c)
			if len(st.clients) == 0 {
				delete(s.agents, a.Username)
				delete(s.byDevice, a.Extension)
			}
			c.setAgent(nil, nil)
			s.mu.Unlock()
			return err
		}
		// Seed from the tracker: calls already at the phone.
		for _, call := range s.sw.Calls(a.Extension) {
			s.CallChanged(call, "")
		}
	}
	return nil
}

// logout ends the session; the last session of an agent stops the monitor.
func (s *Service) logout(ctx context.Context, c *Conn) error {
	st, h := c.agentState(), c.tokenHash()
	if st == nil {
		return gateway.Errorf(gateway.ErrNotLoggedIn, "not logged in")
	}
	if err := s.store.RevokeSession(ctx, h); err != nil {
		s.log.Warn("core: revoke session", "err", err)
	}
	s.mu.Lock()
	delete(s.sessions, string(h))
	delete(st.clients, c)
	c.setAgent(nil, nil)
	last := len(st.clients) == 0
	if last {
		delete(s.agents, st.agent.Username)
		delete(s.byDevice, st.agent.Extension)
	}
	s.mu.Unlock()
	s.audit.add(gateway.AuditEntry{At: time.Now(), Username: st.agent.Username, Client: c.addr, Action: "logout", Allowed: true})
	if last {
		if err := s.syncMonitor(ctx, st.agent.Extension); err != nil {
			s.log.Warn("core: unmonitor", "device", st.agent.Extension, "err", err)
		}
	}
	return nil
}

// detach forgets a disconnected client; the agent stays logged in (the
// extension reconnects) until logout or session expiry.
func (s *Service) detach(c *Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := c.agentState(); st != nil {
		delete(st.clients, c)
	}
}

func wireAgent(a gateway.Agent) wire.Agent {
	return wire.Agent{Username: a.Username, DisplayName: a.DisplayName, Extension: a.Extension}
}

// snapshot is the agent's whole state; called with s.mu held.
func (s *Service) snapshotLocked(st *agentState) wire.Snapshot {
	snap := wire.Snapshot{Protocol: wire.Protocol, Agent: wireAgent(st.agent), Status: string(st.status), PBX: "down", Calls: []wire.Call{}}
	if s.pbxUp {
		snap.PBX = "up"
	}
	for _, c := range st.calls {
		snap.Calls = append(snap.Calls, *c)
	}
	sort.Slice(snap.Calls, func(i, j int) bool { return snap.Calls[i].Started.Before(snap.Calls[j].Started) })
	return snap
}

// broadcastLocked queues a frame to every client of an agent.
func (s *Service) broadcastLocked(st *agentState, typ string, data any) {
	b, err := wire.Encode(typ, "", data)
	if err != nil {
		s.log.Error("core: encode", "type", typ, "err", err)
		return
	}
	for c := range st.clients {
		c.send(b)
	}
}

func toWire(c gateway.Call) wire.Call {
	return wire.Call{ID: c.ID, Device: c.Device, Direction: string(c.Direction), State: string(c.State), Remote: c.Remote,
		RemoteRaw: c.RemoteRaw, Contact: c.Contact, Started: c.Started, Answered: c.Answered, Ended: c.Ended, Cause: c.Cause}
}

func fromWire(c wire.Call) gateway.Call {
	return gateway.Call{ID: c.ID, Device: c.Device, Direction: gateway.Direction(c.Direction), State: gateway.CallState(c.State),
		Remote: c.Remote, RemoteRaw: c.RemoteRaw, Contact: c.Contact, Started: c.Started, Answered: c.Answered, Ended: c.Ended, Cause: c.Cause}
}

// CallChanged implements gateway.SwitchEvents: it updates the agent's view,
// logs the step and tells every client. An empty ev only seeds state.
func (s *Service) CallChanged(call gateway.Call, ev gateway.CallEvent) {
	s.mu.Lock()
	st, ok := s.byDevice[call.Device]
	if !ok {
		s.mu.Unlock()
		return
	}
	w, known := st.calls[call.ID]
	if !known {
		for _, r := range st.recent {
			if r.ID == call.ID && call.State.Live() {
				w, known = r, true // a call back from the dead after resync
			}
		}
	}
	matches := []wire.Match(nil)
	contact := ""
	if known {
		matches, contact = w.Matches, w.Contact
	}
	nw := toWire(call)
	nw.Matches = matches
	if nw.Contact == "" {
		nw.Contact = contact
	}
	if chosen, ok := s.pending[call.Device+"/"+call.ID]; ok {
		nw.Contact = chosen
		delete(s.pending, call.Device+"/"+call.ID)
	} else if chosen, ok := s.pending[call.Device+"/next"]; ok && !known && nw.Direction == string(gateway.Outbound) {
		// The first events of a call the panel placed for a contact can
		// beat MakeCall's return: the contact rides on them.
		nw.Contact = chosen
		delete(s.pending, call.Device+"/next")
	}
	if nw.Remote == "" && known {
		nw.Remote, nw.RemoteRaw = w.Remote, w.RemoteRaw
	}
	if call.State.Live() {
		st.calls[call.ID] = &nw
	} else {
		delete(st.calls, call.ID)
		st.recent = append(st.recent, &nw)
		if len(st.recent) > recentKept {
			st.recent = st.recent[1:]
		}
	}
	if ev != "" {
		s.broadcastLocked(st, wire.TCallEvent, wire.CallEvent{Event: string(ev), Call: nw})
	}
	entry := gateway.LogEntry{Call: fromWire(nw), Username: st.agent.Username, Event: ev, At: time.Now(), Detail: call.Cause}
	needLookup := nw.Remote != "" && (ev == gateway.EvRang || ev == gateway.EvDialed || (ev == gateway.EvAnswered && nw.Direction == string(gateway.Inbound)) || (ev == "" && len(nw.Matches) == 0))
	// nw is shared once stored: restore may fill it in as soon as the
	// lock is released, so read it only here.
	remote := nw.Remote
	s.mu.Unlock()
	if ev != "" {
		s.calllog.add(entry)
	}
	if needLookup {
		go s.identify(call.Device, call.ID, remote)
	}
	if remote == "" && !known {
		go s.restore(call.Device, call.ID)
	}
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
	st, ok := s.byDevice[device]
	var w *wire.Call
	if ok {
		w = st.calls[callID]
	}
	if w == nil || w.Remote != "" {
		s.mu.Unlock()
		return
	}
	w.Remote, w.Direction, w.Started = logged.Remote, string(logged.Direction), logged.Started
	if w.Contact == "" {
		w.Contact = logged.Contact
	}
	if w.Answered.IsZero() {
		w.Answered = logged.Answered
	}
	s.broadcastLocked(st, wire.TCallEvent, wire.CallEvent{Event: EventRestored, Call: *w})
	remote := w.Remote
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
	st, ok := s.byDevice[device]
	if !ok {
		return
	}
	w, ok := st.calls[callID]
	if !ok {
		return
	}
	w.Matches = ms
	s.broadcastLocked(st, wire.TCallEvent, wire.CallEvent{Event: EventIdentified, Call: *w})
}

func (s *Service) lookup(ctx context.Context, number string) ([]wire.Match, error) {
	n := phone.Normalize(number, s.cfg.Region)
	if n.E164 == "" && len(n.National) < 4 {
		return []wire.Match{}, nil // an extension or garbage: not a customer
	}
	ms, err := s.store.LookupNumber(ctx, n.E164, n.National)
	if err != nil {
		return nil, gateway.Wrap(gateway.ErrDatabaseDown, err, "customer lookup is unavailable")
	}
	out := make([]wire.Match, 0, len(ms))
	for _, m := range ms {
		out = append(out, wire.Match{Contact: contactToWire(m.Contact), Number: phone.Display(m.Number, s.cfg.Region), Kind: m.Kind})
	}
	return out, nil
}

func contactToWire(c gateway.Contact) wire.Contact {
	w := wire.Contact{Code: c.Code, FullName: c.FullName, Type: c.Type, Fields: c.Fields}
	for _, p := range c.Phones {
		w.Phones = append(w.Phones, wire.Phone{Kind: p.Kind, Raw: p.Raw, E164: p.E164})
	}
	return w
}

// StatusChanged implements gateway.SwitchEvents.
func (s *Service) StatusChanged(device string, st gateway.Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.byDevice[device]
	if !ok || a.status == st {
		return
	}
	a.status = st
	source := "phone"
	if a.settingStatus == st {
		source = "panel"
	}
	s.broadcastLocked(a, wire.TStatusEv, wire.StatusEvent{Status: string(st), Source: source})
}

// LinkChanged implements gateway.SwitchEvents.
func (s *Service) LinkChanged(up bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pbxUp == up {
		return
	}
	s.pbxUp = up
	state := "down"
	if up {
		state = "up"
	}
	for _, a := range s.agents {
		s.broadcastLocked(a, wire.TLink, wire.Link{PBX: state})
	}
}

// Ready reports the dependencies' health for /readyz.
func (s *Service) Ready(ctx context.Context) map[string]error {
	out := map[string]error{"pbx": nil, "database": s.store.Ping(ctx), "directory": s.dir.Ping(ctx)}
	if s.sw == nil || !s.sw.Up() {
		out["pbx"] = errors.New("PBX link down")
	}
	return out
}

// Call events the core adds to the switch's: they are not steps of the
// call's timeline (never written to the call log), only news for the
// panel about a call it already has.
const (
	// EventIdentified carries the caller's possible contacts (R4, B3).
	EventIdentified = "identified"
	// EventRestored carries what the call log knew of a call the switch
	// named without its far end (after a gateway restart or a PBX outage).
	EventRestored = "restored"
)
