// Package app assembles a running gateway from its configuration: the
// database (migrated, single-instance lock taken), the directory, the
// core, the PBX adapter and the HTTP server. The ctigateway command, the
// demo and the tests all start the gateway through Start, so that what is
// tested is what runs.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"sync"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/contactpull"
	"crmcti/gateway/core"
	"crmcti/gateway/csta"
	gwhttp "crmcti/gateway/http"
	"crmcti/gateway/ldap"
	"crmcti/gateway/pbx"
	"crmcti/gateway/phone"
	"crmcti/gateway/postgres"
	"crmcti/gateway/spool"
)

// Config is everything the gateway needs to know.
type Config struct {
	Listen          string // host:port; port 0 picks one
	TLSCert, TLSKey string
	AllowedOrigins  []string
	Heartbeat       time.Duration
	HeartbeatRate   float64 // gwhttp.Config.HeartbeatRate
	PBXAddr         string
	PBXProfile      string
	PBXTLS          *tls.Config
	StatusMode      pbx.StatusMode
	PBXMinBackoff   time.Duration
	LDAP            ldap.Config
	DatabaseURL     string
	Region          string
	SessionTTL      time.Duration
	ClientQueue     int
	LoginFailures   int
	LoginWindow     time.Duration
	// SessionSweep is how often expired sessions are ended (default 1m).
	SessionSweep time.Duration
	// SpoolDir keeps what the database could not take: call-log and
	// audit rows unwritten at shutdown (written at the next start),
	// quarantined rows, logouts not yet recorded. Empty: no spool (what
	// is unwritten at shutdown is lost, and logged).
	SpoolDir string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For gives
	// the client's address.
	TrustedProxies []netip.Prefix
	// LoginDeadline and MaxUnauthenticated: see core.Config.
	LoginDeadline      time.Duration
	MaxUnauthenticated int
	// MinExtensionVersion refuses older extensions (update_required).
	MinExtensionVersion string
	// AdminListen, when set, serves /metrics and the detailed /readyz
	// there (loopback or a management network) instead of on Listen.
	AdminListen string
	// ContactPull, when set, fetches the CRM's export on a schedule and
	// applies it as a full import (its Store, Region, Registerer and
	// Logger are the gateway's).
	ContactPull *contactpull.Config
	// ExtensionDir, when set, is ctipack's output, served at
	// /extension/ for browsers that force-install and update from the
	// gateway.
	ExtensionDir string
	// PprofListen, when set, serves net/http/pprof there (keep it on
	// loopback): how a missed performance target is profiled.
	PprofListen string
	Logger      *slog.Logger
	// Lease, when set, runs this gateway as one of several sharing the
	// database, active or standby by a lease of that length (gateway/ha;
	// app/ha.go); zero keeps the single-instance lock: a second gateway
	// refuses to start. Node names this one (default host:port).
	Lease time.Duration
	Node  string

	// PBX device mapping, Avaya login and frame trace (see pbx.Config).
	PBXDeviceTemplate, PBXUser, PBXPassword, PBXSwitchName string
	PBXTrace                                               func(csta.TraceRecord)
}

// App is a running gateway.
type App struct {
	// URL is the WebSocket URL (ws:// or wss://…/ws); Addr the listener's.
	URL, Addr string
	Service   *core.Service
	DB        *postgres.DB

	// AdminAddr is the admin listener's address, when there is one.
	AdminAddr string

	hs      *http.Server
	admin   *http.Server
	sw      *switchHolder
	pair    *pair
	release func()
	once    sync.Once
	served  chan struct{}
	pprof   *http.Server
	// stopPull ends the contact pull and waits for it; nil without one.
	stopPull func()
}

// Start brings the gateway up. It fails if another gateway holds the
// database's instance lock.
func Start(ctx context.Context, c Config) (*App, error) {
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	profile, err := c.check()
	if err != nil {
		return nil, err
	}
	db, release, err := openDatabase(ctx, c.DatabaseURL, c.Lease == 0)
	if err != nil {
		return nil, err
	}
	var sp gateway.Spool
	if c.SpoolDir != "" {
		dir, err := spool.Open(c.SpoolDir)
		if err != nil {
			release()
			db.Close()
			return nil, err
		}
		sp = dir
	}
	metrics := gwhttp.NewMetrics()
	svc := core.New(core.Config{SharedSessions: c.Lease > 0, Region: c.Region, SessionTTL: c.SessionTTL, ClientQueue: c.ClientQueue,
		LoginFailures: c.LoginFailures, LoginWindow: c.LoginWindow, SweepEvery: c.SessionSweep, Spool: sp,
		LoginDeadline: c.LoginDeadline, MaxUnauthenticated: c.MaxUnauthenticated, MinExtensionVersion: c.MinExtensionVersion,
		Logger: log, Observer: metrics}, ldap.New(c.LDAP), db)
	newSw := func(fence func() error, standby bool) *pbx.Adapter {
		return pbx.New(pbx.Config{Addr: c.PBXAddr, Profile: profile, TLS: c.PBXTLS, StatusMode: c.StatusMode,
			MinBackoff: c.PBXMinBackoff, Logger: log, OnMessage: cstaMessages(metrics), DeviceTemplate: c.PBXDeviceTemplate,
			UserName: c.PBXUser, Password: c.PBXPassword, SwitchName: c.PBXSwitchName, Trace: c.PBXTrace, OnUnattributed: metrics.UnattributedEvent,
			OnResync: metrics.Resync, Fence: fence, Standby: standby}, svc)
	}
	sw := &switchHolder{}
	svc.SetSwitch(sw)
	if c.Lease == 0 {
		sw.set(newSw(nil, false))
		takeOverAtStart(ctx, svc, db) // restart.go
	}
	metrics.WatchService(coreService{svc}.Stats)
	var p *pair // set below, before the listener serves
	hcfg := gwhttp.Config{AllowedOrigins: c.AllowedOrigins, Heartbeat: c.Heartbeat, HeartbeatRate: c.HeartbeatRate, TrustedProxies: c.TrustedProxies,
		SeparateAdmin: c.AdminListen != "", Logger: log}
	wireRole(c, &hcfg, metrics, &p)
	srv := gwhttp.New(hcfg, coreService{svc}, metrics)

	mountAPIs(srv, c, db, metrics, log)
	l, err := net.Listen("tcp", c.Listen)
	if err != nil {
		sw.Close()
		svc.Close()
		release()
		db.Close()
		return nil, err
	}
	a := &App{Addr: l.Addr().String(), Service: svc, DB: db, sw: sw, release: release, served: make(chan struct{}),
		hs: &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}}
	if c.Lease > 0 {
		if p, err = startPair(ctx, c, nodeName(c, a.Addr), db, svc, sw, newSw, log); err != nil {
			l.Close()
			svc.Close()
			db.Close()
			return nil, err
		}
		a.pair, a.release = p, p.release
	}
	a.serve(l, c, log)
	if err := a.startPull(c, db, metrics, log); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.serveExtras(c, srv); err != nil {
		a.Close()
		return nil, err
	}
	log.Info("gateway serving", "websocket", a.URL, "pbx", c.PBXAddr, "profile", profile.Name, "ldap", c.LDAP.URL)
	return a, nil
}

// check validates the configuration and fills in its defaults; it
// returns the PBX profile named.
func (c *Config) check() (csta.Profile, error) {
	profile, err := csta.LookupProfile(c.PBXProfile)
	if err != nil {
		return profile, err
	}
	if c.StatusMode == "" {
		c.StatusMode = pbx.StatusDoNotDisturb
	}
	if c.StatusMode != pbx.StatusDoNotDisturb && c.StatusMode != pbx.StatusAgentState {
		return profile, fmt.Errorf("status mode must be dnd or agent, not %q", c.StatusMode)
	}
	if c.Region == "" {
		c.Region = "CY"
	}
	if c.MinExtensionVersion != "" && !core.ValidVersion(c.MinExtensionVersion) {
		return profile, fmt.Errorf("minimum extension version %q is not a dotted number like 1.4.0", c.MinExtensionVersion)
	}
	if !phone.ValidRegion(c.Region) {
		return profile, fmt.Errorf("default region %q is not a known region", c.Region)
	}
	return profile, nil
}

// openDatabase connects, migrates and, with lock, takes the
// single-instance lock.
func openDatabase(ctx context.Context, url string, lock bool) (*postgres.DB, func(), error) {
	db, err := postgres.Open(ctx, url)
	if err != nil {
		return nil, nil, err
	}
	if _, err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, nil, err
	}
	if !lock {
		return db, func() {}, nil
	}
	release, err := db.LockInstance(ctx)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, release, nil
}

// serve sets the URL and serves the listener until Close.
func (a *App) serve(l net.Listener, c Config, log *slog.Logger) {
	scheme := "ws"
	if c.TLSCert != "" {
		scheme = "wss"
	}
	a.URL = scheme + "://" + a.Addr + "/ws"
	go func() {
		defer close(a.served)
		var err error
		if c.TLSCert != "" {
			err = a.hs.ServeTLS(l, c.TLSCert, c.TLSKey)
		} else {
			err = a.hs.Serve(l)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("app: http", "err", err)
		}
	}()
}

// mountAPIs adds what the public listener serves beside the agents'
// WebSocket: the directory API (always; every request needs an API
// token, and with none created it refuses everything) and the packed
// extension (with ExtensionDir).
func mountAPIs(srv *gwhttp.Server, c Config, db *postgres.DB, m *gwhttp.Metrics, log *slog.Logger) {
	api := gwhttp.DirectoryHandler(gwhttp.DirectoryConfig{Store: db, Region: c.Region, Registerer: m.Registerer(), Logger: log})
	srv.Handle("/api/v1/contacts", api)
	srv.Handle("/api/v1/contacts/", api)
	if c.ExtensionDir != "" {
		srv.Handle("GET "+gwhttp.ExtensionPrefix, gwhttp.ExtensionHandler(c.ExtensionDir))
	}
}

// startPull runs the scheduled contact pull until Close.
func (a *App) startPull(c Config, db *postgres.DB, m *gwhttp.Metrics, log *slog.Logger) error {
	if c.ContactPull == nil {
		return nil
	}
	pc := *c.ContactPull
	pc.Store, pc.Region, pc.Registerer, pc.Logger = db, c.Region, m.Registerer(), log
	p, err := contactpull.New(pc)
	if err != nil {
		return fmt.Errorf("contact pull: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx)
	}()
	a.stopPull = func() {
		cancel()
		<-done
	}
	return nil
}

// serveExtras starts the optional listeners: admin and pprof.
func (a *App) serveExtras(c Config, srv *gwhttp.Server) error {
	if c.AdminListen != "" {
		l, err := net.Listen("tcp", c.AdminListen)
		if err != nil {
			return fmt.Errorf("admin listener: %w", err)
		}
		a.AdminAddr = l.Addr().String()
		a.admin = &http.Server{Handler: srv.Admin(), ReadHeaderTimeout: 10 * time.Second}
		go a.admin.Serve(l)
	}
	if c.PprofListen != "" {
		var err error
		if a.pprof, err = servePprof(c.PprofListen); err != nil {
			return err
		}
	}
	return nil
}

// servePprof serves net/http/pprof on addr.
func servePprof(addr string) (*http.Server, error) {
	pl, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprof listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ps := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go ps.Serve(pl)
	return ps, nil
}

// cstaMessages adapts the PBX adapter's message callback to the metrics,
// which know nothing of CSTA.
func cstaMessages(m *gwhttp.Metrics) func(csta.Direction, string) {
	return func(d csta.Direction, name string) {
		if d == csta.In {
			m.CSTAMessage("in", name)
		} else {
			m.CSTAMessage("out", name)
		}
	}
}

// coreService is the core as the HTTP side sees it.
type coreService struct{ *core.Service }

func (s coreService) Connect(addr string) gwhttp.Conn { return s.NewConn(addr) }

func (s coreService) Stats() gwhttp.Stats {
	st := s.Service.Stats()
	return gwhttp.Stats{Agents: st.Agents, MonitoredDevices: st.MonitoredDevices,
		Writers:  map[string]gwhttp.WriterStats{"calls": writerStats(st.CallLog), "audit": writerStats(st.Audit)},
		Versions: st.Versions}
}

func writerStats(w core.WriterStats) gwhttp.WriterStats {
	return gwhttp.WriterStats{Pending: w.Pending, Written: w.Written, Dropped: w.Dropped, Quarantined: w.Quarantined,
		Spooled: w.Spooled, Failures: w.Failures, Stuck: w.Stuck}
}

// Close stops accepting, says goodbye to every client, writes the logs it
// still holds and releases the instance lock. Safe to call twice.
func (a *App) Close() error {
	a.once.Do(func() {
		if a.pair != nil {
			// A clean hand-over: no change of role from here on, the link
			// closed, the lease released, so that the standby takes over
			// while this one says goodbye and writes its logs.
			a.pair.stop()
			a.sw.Close()
			a.release()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = a.hs.Shutdown(ctx)
		if a.pprof != nil {
			a.pprof.Close()
		}
		if a.admin != nil {
			a.admin.Close()
		}
		if a.stopPull != nil {
			a.stopPull()
		}
		// The switch first: a call that ends while the writers flush would
		// otherwise reach the call log after its last write to the spool,
		// and its row stay open for ever.
		a.sw.Close()
		a.Service.Close()
		<-a.served
		a.release()
		a.DB.Close()
	})
	return nil
}
