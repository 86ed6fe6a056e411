// Package core is the gateway's application: sessions, the rules on every
// command, the agents' live state built from the switch's events, caller
// identification, the call log and the fan-out of every event to every
// connection of an agent. Transports (gateway/http) hand it decoded
// frames; it reaches the switch, the directory and the database only
// through the ports of package gateway (ports.go).
//
// The files follow the concerns: sessions.go (login, resume, logout,
// expiry, the phone's monitor), calls.go (tracking the switch's calls,
// identification, restore after a restart), commands.go (one handler per
// message type), rules.go (the call-control rules enforced, commands in
// flight counted), status.go (Available/Busy), conn.go and fanout.go (the
// connections and what is sent to them).
package core

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/phone"
	"crmcti/gateway/wire"
)

// Config tunes the service.
type Config struct {
	// Region is the default country for numbers without one (e.g. "CY").
	Region     string
	SessionTTL time.Duration // default 12h
	// ClientQueue bounds the frames waiting for one connection; one that
	// falls further behind is disconnected and resyncs on reconnect.
	ClientQueue int // default 256
	// LoginFailures wrong passwords for one username from one address,
	// or LoginUserFailures for one username from anywhere, make the next
	// attempt wait, a delay that doubles with each further failure up to
	// LoginWindow; failures are forgotten LoginWindow after the last
	// (defaults 5, 20 and 5 minutes). See limiter.go.
	LoginFailures     int
	LoginUserFailures int
	LoginWindow       time.Duration
	// CallLogBuffer bounds call-log steps kept while the database is down.
	CallLogBuffer int // default 100000
	// SweepEvery is how often expired sessions are ended: their
	// connections told, their phones no longer monitored (default 1m).
	SweepEvery time.Duration
	// LoginDeadline ends a connection that has not logged in by then
	// (default 10s); MaxUnauthenticated caps the connections not logged
	// in from one address (default 20). See unauth.go.
	LoginDeadline      time.Duration
	MaxUnauthenticated int
	// MinExtensionVersion, when set ("1.4.0"), refuses logins and
	// resumes from older extensions with update_required (version.go).
	MinExtensionVersion string
	// Spool keeps on local disk what the database could not take (steps
	// unwritten at shutdown, quarantined rows, revocations not yet
	// recorded); nil keeps nothing.
	Spool gateway.Spool
	// SharedSessions: other gateways may serve this database's sessions
	// (an active/standby pair). A logout the database cannot record then
	// fails instead of going to the spool: this host's spool never
	// reaches the gateway that takes over, which would resume the token.
	SharedSessions bool
	Logger         *slog.Logger
	Observer       gateway.Observer
}

func (cfg *Config) defaults() {
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.ClientQueue <= 0 {
		cfg.ClientQueue = 256
	}
	if cfg.LoginFailures <= 0 {
		cfg.LoginFailures = 5
	}
	if cfg.LoginUserFailures <= 0 {
		cfg.LoginUserFailures = 4 * cfg.LoginFailures
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
	if cfg.LoginDeadline <= 0 {
		cfg.LoginDeadline = 10 * time.Second
	}
	if cfg.MaxUnauthenticated <= 0 {
		cfg.MaxUnauthenticated = 20
	}
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
}

type nopObserver struct{}

func (nopObserver) Command(string, gateway.Code, time.Duration) {}
func (nopObserver) Login(gateway.Code, time.Duration)           {}
func (nopObserver) ClientDropped(string)                        {}
func (nopObserver) Clients(int)                                 {}

// Service is the gateway's core.
type Service struct {
	cfg   Config
	log   *slog.Logger
	obs   gateway.Observer
	dir   gateway.Directory
	store gateway.Store
	sw    gateway.Switch

	limiter    *limiter
	phones     *phone.Cache // the callers' numbers, normalised and formatted
	minVersion []int        // parsed MinExtensionVersion, nil for none
	unauth     unauthCount
	devices    deviceLocks
	calllog    *batcher[gateway.LogEntry]
	audit      *batcher[gateway.AuditEntry]
	colleagues colleagueCache // names of extensions (colleagues.go)
	expiries   expiries       // each connection's session end (expiry.go)
	// phoneRetries counts the monitors asked again (connectPhone).
	phoneRetries retryLog

	// mu guards the agents' live state below and orders every frame sent
	// to their connections.
	mu       sync.Mutex
	agents   map[string]*agentState // by username
	byDevice map[string]*agentState
	sessions map[string]sessionInfo // by token hash, a cache that survives a database outage
	// revoked are logouts the database has not recorded yet, by token
	// hash, with the session's expiry (see revoke.go).
	revoked   map[string]time.Time
	revMu     sync.Mutex // orders the spool's revocation file
	pbxUp     bool
	synced    map[string]bool // devices resynchronised while the link is not yet up (devicesync.go)
	takenOver *takeover       // set by TakeOver until the link is up (standby.go)
	conns     atomic.Int64
	stop      chan struct{}
	swept     chan struct{}
	// life ends with Close: the background work it bounds (connectPhone)
	// stops.
	life      context.Context
	endLife   context.CancelFunc
	closeOnce sync.Once
}

// New builds the service. Call SetSwitch before serving.
// A MinExtensionVersion that ValidVersion refuses is ignored (and
// logged): check it first.
func New(cfg Config, dir gateway.Directory, store gateway.Store) *Service {
	cfg.defaults()
	minVersion, ok := parseVersion(cfg.MinExtensionVersion)
	if !ok && cfg.MinExtensionVersion != "" {
		cfg.Logger.Error("core: minimum extension version ignored: not a dotted number", "version", cfg.MinExtensionVersion)
	}
	s := &Service{cfg: cfg, log: cfg.Logger, obs: cfg.Observer, dir: dir, store: store, minVersion: minVersion,
		limiter: newLimiter(cfg.LoginWindow), phones: phone.NewCache(cfg.Region, phoneCacheSize),
		agents: map[string]*agentState{}, byDevice: map[string]*agentState{}, sessions: map[string]sessionInfo{},
		revoked: map[string]time.Time{}, stop: make(chan struct{}), swept: make(chan struct{})}
	s.life, s.endLife = context.WithCancel(context.Background())
	s.calllog = newBatcher("calls", cfg.CallLogBuffer, s.log, cfg.Spool, store.WriteCallLog)
	s.audit = newBatcher("audit", 10_000, s.log, cfg.Spool, store.Audit)
	s.loadRevocations()
	go s.sweepLoop(cfg.SweepEvery)
	return s
}

// SetSwitch connects the PBX adapter, which is built with the service as
// its event sink.
func (s *Service) SetSwitch(sw gateway.Switch) { s.sw = sw }

// Close disconnects every connection and writes what the logs still hold.
// Safe twice.
func (s *Service) Close() { s.closeOnce.Do(s.close) }

func (s *Service) close() {
	s.mu.Lock()
	var all []*Conn
	for _, a := range s.agents {
		all = append(all, a.connList()...)
	}
	s.mu.Unlock()
	close(s.stop)
	s.endLife()
	s.expiries.stop()
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
	CallLog, Audit                    WriterStats
	// Versions counts logged-in connections by extension version
	// ("unknown" for one that sent none).
	Versions map[string]int
}

// WriterStats are the numbers of one background writer (the call log or
// the audit log).
type WriterStats struct {
	// Pending items wait to be written; Written were; Dropped were lost
	// to a full buffer (or to a shutdown with no spool); Quarantined were
	// refused by the database for their data and set aside; Spooled were
	// written to the spool at shutdown; Failures counts failed writes.
	Pending                                          int
	Written, Dropped, Quarantined, Spooled, Failures uint64
	// Failing is set while writes fail; Stuck once they have failed for
	// longer than stuckAfter.
	Failing, Stuck bool
}

// stuckAfter is how long a writer may fail before readiness says so.
const stuckAfter = 30 * time.Second

func writerStats[T any](b *batcher[T], now time.Time) WriterStats {
	return WriterStats{Pending: b.pending(), Written: b.written.Load(), Dropped: b.dropped.Load(),
		Quarantined: b.quarantined.Load(), Spooled: b.spooled.Load(), Failures: b.failures.Load(),
		Failing: b.failingSince.Load() != 0, Stuck: b.stuck(now, stuckAfter)}
}

// Stats reports the service's numbers.
func (s *Service) Stats() Stats {
	s.mu.Lock()
	st := Stats{Agents: len(s.agents), MonitoredDevices: len(s.byDevice), Versions: map[string]int{}}
	for _, a := range s.agents {
		for c := range a.conns {
			c.mu.Lock()
			st.Versions[c.version]++
			c.mu.Unlock()
		}
	}
	s.mu.Unlock()
	st.Clients = int(s.conns.Load())
	now := time.Now()
	st.CallLog, st.Audit = writerStats(s.calllog, now), writerStats(s.audit, now)
	return st
}

// Ready reports the dependencies' health for /readyz: the PBX link, the
// database, the directory, and the call-log and audit writers (failing
// for longer than stuckAfter).
func (s *Service) Ready(ctx context.Context) map[string]error {
	out := map[string]error{"pbx": nil, "database": s.store.Ping(ctx), "directory": s.dir.Ping(ctx), "calllog": nil, "audit": nil}
	if s.sw == nil || !s.sw.Up() {
		out["pbx"] = s.linkDown()
	}
	now := time.Now()
	if s.calllog.stuck(now, stuckAfter) {
		out["calllog"] = fmt.Errorf("call-log writes failing for over %s, %d steps waiting", stuckAfter, s.calllog.pending())
	}
	if s.audit.stuck(now, stuckAfter) {
		out["audit"] = fmt.Errorf("audit writes failing for over %s, %d entries waiting", stuckAfter, s.audit.pending())
	}
	return out
}

// LinkChanged implements gateway.SwitchEvents.
func (s *Service) LinkChanged(up bool) {
	if up {
		defer s.resyncedAfterTakeover() // standby.go; after the unlock
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Agents told "up" as their phone was resynchronised (devicesync.go)
	// are told "up" once, and "down" even if the whole link never was up.
	synced := s.synced
	s.synced = nil
	if s.pbxUp == up && len(synced) == 0 {
		return
	}
	wasUp := s.pbxUp
	s.pbxUp = up
	state := "down"
	if up {
		state = "up"
	}
	for _, a := range s.agents {
		if was := wasUp || synced[a.agent.Extension]; was != up {
			s.broadcastLocked(a, wire.TLink, wire.Link{PBX: state})
		}
	}
}
