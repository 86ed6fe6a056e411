// Package http is the gateway's HTTP face: the agents' WebSocket (the
// wire protocol, handed to core), /healthz, /readyz and /metrics.
package http

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"crmcti/gateway/wire"
)

// Service is what the HTTP side needs of the gateway's core: a
// connection per WebSocket, and the dependencies' health for /readyz.
type Service interface {
	// Connect registers a connection from addr, the client's IP address.
	Connect(addr string) Conn
	// Ready maps each dependency to its health (nil when fine).
	Ready(ctx context.Context) map[string]error
}

// Conn is one agent connection as the core sees it. The transport feeds
// it frames with Handle, and writes what Take yields whenever the
// function it gave Wake is called; when Done closes, it says goodbye with
// CloseReason and hangs up, then calls Close.
type Conn interface {
	Handle(ctx context.Context, frame []byte)
	// Wake registers f, called without blocking whenever frames are
	// queued or the connection ends, and once at once.
	Wake(f func())
	// Take returns the frames queued, in order, keeping spare for the
	// next ones.
	Take(spare [][]byte) [][]byte
	Done() <-chan struct{}
	CloseReason() wire.Error
	Close()
}

// Config sets up the HTTP side.
type Config struct {
	// AllowedOrigins are the Origin patterns (path.Match) a browser may
	// connect from, e.g. "chrome-extension://amkhmoonbbfpbpgpaciafkkodeiodbkg".
	// Clients that send no Origin (tools, the load command) are allowed:
	// they must still log in.
	AllowedOrigins []string
	// Heartbeat is the interval of the application heartbeat, which also
	// keeps the extension's service worker alive (DefaultHeartbeat).
	Heartbeat time.Duration
	// HeartbeatRate caps the heartbeats a second across all agents
	// (default DefaultHeartbeatRate; negative: no cap): beyond Heartbeat ×
	// HeartbeatRate agents the interval grows with their number.
	HeartbeatRate float64
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client (for rate limiting and the audit log); a request from any
	// other peer is the client itself.
	TrustedProxies []netip.Prefix
	// SeparateAdmin moves /metrics off this server: it is then served by
	// Admin only, on its own listener. Without it /metrics is served here
	// to loopback peers only (see localOnly).
	SeparateAdmin bool
	// Role, when set (gateways sharing a database, gateway/ha), tells
	// whether this gateway is the active one. A standby answers /readyz
	// 503 with "role":"standby", so that a load balancer sends it no
	// agents, and says bye standby (WebSocket status 1013) to any socket.
	Role func() Role
	// AwaitActive, when set, is asked about a socket that reaches a
	// standby: it waits while this standby is about to take over (the
	// active stopped renewing its lease) and reports whether it did, so
	// that an agent whose gateway died is served as soon as the take-over
	// is done instead of being sent round the list again.
	AwaitActive func(ctx context.Context) bool
	Logger      *slog.Logger
}

// Role is this gateway's part among the gateways sharing a database.
type Role struct {
	Standby bool
	// Node names this gateway; Active the active one ("" unknown).
	Node, Active string
	// Watching is how many phones a standby watches on its own switch
	// link, ready to take over (pbx/watch.go).
	Watching int
}

// DefaultHeartbeat is the application heartbeat's shortest interval.
// Each frame says the interval (wire.Heartbeat.Every), and the extension
// takes its gateway for gone after about two missed: an active gateway
// frozen or cut off from its agents (which no socket error reveals) loses
// them to the standby within 12 s, while the agents are few enough for
// DefaultHeartbeatRate. The frame is encoded once per tick.
const DefaultHeartbeat = 5 * time.Second

// DefaultHeartbeatRate is the most heartbeats a second the gateway sends
// by default: every 5 s up to 2,500 agents, then less often (10,000
// agents: every 20 s, a frozen gateway left after 42 s). Each is a system
// call and a goroutine woken; at 2,000 a second they were most of a
// loaded gateway's CPU (BENCHMARKS.md).
const DefaultHeartbeatRate = 500

// statusStandby is the close status for a standby: 1013 Try Again Later.
const statusStandby = websocket.StatusTryAgainLater

// Server serves the gateway's endpoints.
type Server struct {
	cfg     Config
	svc     Service
	log     *slog.Logger
	metrics *Metrics
	mux     *http.ServeMux
	beats   *heartbeats
}

// New builds the server. Its Metrics are the core's Observer and count
// CSTA traffic; wire them before serving.
func New(cfg Config, svc Service, m *Metrics) *Server {
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.HeartbeatRate == 0 {
		cfg.HeartbeatRate = DefaultHeartbeatRate
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, svc: svc, log: log, metrics: m, mux: http.NewServeMux(), beats: newHeartbeats(cfg.Heartbeat, cfg.HeartbeatRate)}
	s.mux.HandleFunc("GET /ws", s.serveWS)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok\n"))
	})
	s.mux.HandleFunc("GET /readyz", s.serveReady(false))
	if m != nil && !cfg.SeparateAdmin {
		s.mux.Handle("GET /metrics", localOnly(promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}), cfg.TrustedProxies))
	}
	return s
}

// Handle mounts another handler beside the agents' endpoints on the public
// listener: the directory API the CRM pushes to, the packed extension
// browsers update from.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Admin serves what only operators should see, for a listener of its own
// (loopback or a management network): /metrics and a /readyz that gives
// each failing dependency's error.
func (s *Server) Admin() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", s.serveReady(true))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	if s.metrics != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	}
	return mux
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// serveReady answers 200 when every dependency is fine, else 503, with
// each dependency's state: "ok" or "down" — or, when detailed (the admin
// listener only), the error, which may name hosts and users.
func (s *Server) serveReady(detailed bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Role != nil && s.cfg.Role().Standby {
			s.serveStandbyReady(w)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		out := map[string]string{}
		if s.cfg.Role != nil {
			out["role"], out["node"] = "active", s.cfg.Role().Node
		}
		ok := true
		for k, err := range s.svc.Ready(ctx) {
			switch {
			case err == nil:
				out[k] = "ok"
			case detailed:
				out[k], ok = err.Error(), false
			default:
				out[k], ok = "down", false
			}
		}
		w.Header().Set("Content-Type", "application/json")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		json.NewEncoder(w).Encode(out)
	}
}

// serveStandbyReady is /readyz on a standby: 503, with the active
// gateway's name for whoever looks.
func (s *Server) serveStandbyReady(w http.ResponseWriter) {
	role := s.cfg.Role()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusServiceUnavailable)
	json.NewEncoder(w).Encode(map[string]string{"role": "standby", "node": role.Node, "active": role.Active,
		"watching": strconv.Itoa(role.Watching)})
}

// awaitActive is Config.AwaitActive, bounded; false without one.
func (s *Server) awaitActive() bool {
	if s.cfg.AwaitActive == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.cfg.AwaitActive(ctx)
}

// refuseStandby says bye standby on a socket a standby accepted: the
// extension moves on to the next gateway of its list.
func refuseStandby(conn *websocket.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, _ := wire.Encode(wire.TBye, "", wire.Error{Code: "standby", Message: "this gateway is a standby; use the active one"})
	conn.Write(ctx, websocket.MessageText, b)
	conn.Close(statusStandby, "standby")
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if err := checkOrigin(r, s.cfg.AllowedOrigins); err != nil {
		s.log.Info("http: websocket refused", "err", err)
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return
	}
	hijack := &smallReads{ResponseWriter: w}
	conn, err := websocket.Accept(hijack, r, &websocket.AcceptOptions{
		Subprotocols:   []string{wire.Subprotocol},
		OriginPatterns: s.cfg.AllowedOrigins,
	})
	if err != nil {
		s.log.Info("http: websocket refused", "origin", r.Header.Get("Origin"), "err", err)
		return
	}
	if conn.Subprotocol() != wire.Subprotocol {
		conn.Close(websocket.StatusPolicyViolation, "unsupported protocol: use "+wire.Subprotocol)
		return
	}
	conn.SetReadLimit(wire.MaxMessage)
	// Counted before a standby holds it: the cap on sockets not logged in
	// per address holds for held ones too (a socket refused by it is told
	// so by readLoop at once).
	c := s.svc.Connect(clientIP(r, s.cfg.TrustedProxies))
	if s.cfg.Role != nil && s.cfg.Role().Standby && !isDone(c) && !s.awaitActive() {
		c.Close()
		refuseStandby(conn)
		return
	}
	// The socket is read on a goroutine of its own and this handler
	// returns: net/http's connection (its 4 KiB read buffer, the request)
	// is then garbage instead of living as long as the agent's socket.
	go s.readLoop(conn, hijack.out, c)
}

// isDone reports whether the core has ended c already.
func isDone(c Conn) bool {
	select {
	case <-c.Done():
		return true
	default:
		return false
	}
}

// readLoop reads the agent's frames into the core until the socket ends;
// writes happen on demand (socket.go).
func (s *Server) readLoop(conn *websocket.Conn, out *corked, c Conn) {
	defer c.Close()
	defer conn.CloseNow() // a writer blocked on the socket returns
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sock := &socket{conn: conn, c: c, out: out}
	s.beats.add(sock)
	defer s.beats.remove(sock)
	defer sock.end() // runs first: Close below must not start a writer
	c.Wake(sock.kick)
	for {
		// No deadline and no cancellation: a context that could end would
		// cost a registration per frame read, and what ends the read is
		// the socket closing (the goodbye, CloseNow above, a dead peer).
		typ, data, err := conn.Read(context.Background())
		if err != nil {
			if s := websocket.CloseStatus(err); s == -1 && !errors.Is(err, context.Canceled) {
				// Read limit or protocol error: tell the client, then hang up.
				conn.Close(websocket.StatusPolicyViolation, "bad frame")
			}
			return
		}
		if typ != websocket.MessageText {
			data = []byte(`{"type":"binary"}`)
		}
		handle(ctx, c, data)
	}
}

// handle runs a command on a goroutine of its own and waits for it: a
// login's deep stack (directory, database, switch) grows and is freed
// there, so that the reading goroutine an idle agent keeps stays small.
// Commands still run one at a time, in order.
func handle(ctx context.Context, c Conn, frame []byte) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Handle(ctx, frame)
	}()
	<-done
}
