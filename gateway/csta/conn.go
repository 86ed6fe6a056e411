package csta

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var (
	// ErrClosed is returned by requests on a closed connection, and by
	// requests still waiting when it closes.
	ErrClosed = errors.New("csta: connection closed")
	// ErrFenced ends a link whose Config.Fence refused a frame.
	ErrFenced = errors.New("csta: fenced")
	// ErrEventOverflow ends a connection whose event consumer fell more
	// than Config.EventQueue events behind. Dropping events silently would
	// leave call state wrong with nobody knowing; ending the link makes
	// the owner reconnect and resynchronise by SnapshotDevice instead.
	ErrEventOverflow = errors.New("csta: event queue overflow, link dropped for resync")
	// ErrSilent ends a link on which the switch said nothing for
	// Config.Liveness, not even to a probe: silent, or half-open.
	ErrSilent = errors.New("csta: switch silent")
	// ErrNoInvokeID means 9998 requests are already waiting.
	ErrNoInvokeID = errors.New("csta: no free invoke ID")
)

// Direction tells OnMessage which way a message went.
type Direction int

// Directions for Config.OnMessage.
const (
	In Direction = iota
	Out
)

// Config sets up a Conn. The zero value works: profile "none", plain TCP.
type Config struct {
	Profile Profile
	// TLS, when set, makes Dial use TLS.
	TLS *tls.Config
	// MaxFrame bounds incoming frames (default and maximum 65535).
	MaxFrame int
	// RequestTimeout bounds the wait for a request's answer once written
	// (default 10s).
	RequestTimeout time.Duration
	// EventQueue is how many events may wait for OnEvent (default 4096).
	EventQueue int
	// OnEvent receives every event in order, from one goroutine. It may
	// take its time up to the queue size; it must not call Close and wait.
	OnEvent func(Event)
	// OnMessage is told of every message in and out, for metrics. It runs
	// on the reader or the requester and must not block.
	OnMessage func(dir Direction, name string)
	Logger    *slog.Logger
	// UserName and Password authenticate the application to a switch that
	// requires it (DMCC profiles: SessionLoginInfo).
	UserName, Password string
	// SessionCleanupDelay is how long an Avaya AES keeps a session whose
	// link was lost, for RecoverSession (default 60s).
	SessionCleanupDelay time.Duration
	// OnStall, when set, is told (on its own goroutine) that the switch
	// spoke again after a silence of at least StallAfter during which it
	// owed an answer to a request: it stalled and the link survived, but
	// what the switch meant to say meanwhile (events) may be lost, so the
	// caller resynchronises.
	OnStall func(silence time.Duration)
	// StallAfter is the silence OnStall reports (default 3s: an idle
	// switch answers in milliseconds, but one at a morning's login peak
	// can take a second or two and lose nothing, and a false alarm costs
	// a snapshot of every monitored phone: 10,000 at 10,000 agents).
	StallAfter time.Duration
	// Liveness, when set, is how long the switch may stay silent before
	// the link is declared down: after a third of it without a frame, a
	// cheap request per profile (Probe) asks the switch to speak, and a
	// read deadline ends a link that still says nothing, be it idle,
	// half-open, or stopped in the middle of a frame.
	Liveness time.Duration
	// Trace, when set, receives every frame in and out with passwords
	// redacted (TraceWriter writes them to a file). It runs on the reader
	// or the writer: keep it quick.
	Trace func(TraceRecord)
	// RecoverSession, when set, asks the switch to resume that earlier
	// session (DMCC: its sessionID in SessionLoginInfo), keeping its device
	// IDs and monitors; if the switch refuses, a new session is started.
	// Recovered says which happened.
	RecoverSession string
	// Fence, when set, is asked right before every frame is written, with
	// the name of the message the frame carries (MessageName); an error
	// refuses the frame and ends the link at once, discarding what the
	// kernel still holds unsent (a gateway that lost its leadership must
	// not reach the switch, even with bytes written before). The name
	// lets a link that only watches (a standby's) be held to monitoring.
	Fence func(message string) error
}

func (cfg Config) cleanupDelay() time.Duration {
	if cfg.SessionCleanupDelay > 0 {
		return cfg.SessionCleanupDelay
	}
	return 60 * time.Second
}

// Stats counts what happened on the link.
type Stats struct {
	FramesIn, FramesOut uint64
	Events              uint64
	Unknown             uint64 // messages of a kind we do not know
	Malformed           uint64 // frames whose body was not CSTA XML
	UnknownInvokeID     uint64 // responses nobody was waiting for
	LateResponses       uint64 // responses after their request timed out
	HeartbeatsAnswered  uint64
	EventOverflows      uint64
}

type result struct {
	msg Message
	err error
}

// pending is a request waiting for its response. A nil ch marks an ID
// whose request timed out: it stays reserved for a while so that a late
// answer is not taken for the reply to a new request with the same ID.
type pending struct {
	ch      chan result
	expires time.Time
	sent    time.Time // when the request was allocated, for stall detection
}

// Conn is one application link to a switch.
type Conn struct {
	cfg  Config
	nc   net.Conn
	log  *slog.Logger
	done chan struct{}

	wmu sync.Mutex // serialises frame writes

	mu     sync.Mutex
	pend   map[int]pending
	nextID int
	err    error
	// ns is the session's one CSTA namespace, fixed by whichever comes
	// first: the version the switch grants (ECMA-354), the first CSTA
	// message from the switch, or our first CSTA request (the profile's).
	ns        string
	session   string
	recovered bool

	paceMu   sync.Mutex
	paceNext time.Time

	events     chan Event
	sysStatus  chan struct{}
	sysOnce    sync.Once
	readerDone chan struct{}
	closeOnce  sync.Once

	framesIn, framesOut, nEvents, unknown, malformed, unknownID, late, heartbeats, overflows atomic.Uint64
	lastRead                                                                                 atomic.Int64 // unix nanoseconds of the last frame in
}

// Dial connects to addr over TCP (or TLS when cfg.TLS is set) and opens the
// session the profile asks for. ctx bounds the dial and the start-up.
func Dial(ctx context.Context, addr string, cfg Config) (*Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("csta: dial %s: %w", addr, err)
	}
	if cfg.TLS != nil {
		tc := tls.Client(nc, tlsFor(cfg.TLS, addr))
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("csta: tls handshake with %s: %w", addr, err)
		}
		nc = tc
	}
	return NewConn(ctx, nc, cfg)
}

// tlsFor completes a TLS configuration for addr: without a ServerName,
// crypto/tls cannot verify the switch's certificate and refuses to
// connect, so it is taken from the address (a host name or an IP, which
// the certificate must then name).
func tlsFor(cfg *tls.Config, addr string) *tls.Config {
	if cfg.ServerName != "" || cfg.InsecureSkipVerify {
		return cfg
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	cfg = cfg.Clone()
	cfg.ServerName = host
	return cfg
}

// NewConn runs the link over an established connection and opens the
// session. On error nc is closed.
func NewConn(ctx context.Context, nc net.Conn, cfg Config) (*Conn, error) {
	if cfg.Profile.Name == "" {
		cfg.Profile = profiles["none"]
	}
	if cfg.Profile.Namespace == "" {
		cfg.Profile.Namespace = NamespaceEd4
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	if cfg.EventQueue <= 0 {
		cfg.EventQueue = 4096
	}
	if cfg.StallAfter <= 0 {
		cfg.StallAfter = 3 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Conn{
		cfg: cfg, nc: nc, done: make(chan struct{}), pend: map[int]pending{}, nextID: 1,
		log:        log.With("peer", nc.RemoteAddr().String()),
		events:     make(chan Event, cfg.EventQueue),
		sysStatus:  make(chan struct{}),
		readerDone: make(chan struct{}),
	}
	c.lastRead.Store(time.Now().UnixNano())
	go c.readLoop()
	go c.dispatch()
	if err := c.startSession(ctx); err != nil {
		c.shutdown(err)
		<-c.readerDone
		return nil, err
	}
	if cfg.Liveness > 0 {
		go c.probeLoop() // the read deadline alone guards the start-up
	}
	return c, nil
}

func (c *Conn) startSession(ctx context.Context) error {
	switch c.cfg.Profile.Session {
	case SessionOpenScape:
		select {
		case <-c.sysStatus:
		case <-ctx.Done():
			return fmt.Errorf("csta: openscape session: waiting for SystemStatus: %w", ctx.Err())
		case <-c.done:
			return fmt.Errorf("csta: openscape session: %w", c.Err())
		}
		if _, err := c.Do(ctx, &SystemRegister{RequestTypes: RequestTypes{SystemStatus: true}}); err != nil {
			return fmt.Errorf("csta: openscape session: %w", err)
		}
	case SessionECMA354:
		err := c.startApplicationSession(ctx, c.cfg.RecoverSession)
		if err != nil && c.cfg.RecoverSession != "" && errors.As(err, new(*sessionRefused)) {
			// The switch no longer has the old session (past its cleanup
			// delay, or restarted): start afresh.
			c.log.Info("csta: session not recovered; starting a new one", "session", c.cfg.RecoverSession, "err", err)
			err = c.startApplicationSession(ctx, "")
		}
		return err
	}
	return nil
}

// sessionRefused is a StartApplicationSessionNegResponse.
type sessionRefused struct{ reason string }

func (e *sessionRefused) Error() string { return "refused: " + e.reason }

// startApplicationSession opens an ECMA-354 session, with Avaya's
// SessionLoginInfo when the profile is DMCC; resume names the session to
// resume. It starts the keep-alive and fixes the session's namespace to
// the protocol version the switch granted.
func (c *Conn) startApplicationSession(ctx context.Context, resume string) error {
	d := c.cfg.Profile.SessionDuration
	if d <= 0 {
		d = 180 * time.Second
	}
	appID := c.cfg.Profile.ApplicationID
	if appID == "" {
		appID = "CRM-CTI"
	}
	info := ApplicationInfo{ApplicationID: appID}
	if c.cfg.Profile.DMCC {
		info.ApplicationSpecificInfo.SessionLoginInfo = &SessionLoginInfo{UserName: c.cfg.UserName, Password: c.cfg.Password,
			SessionCleanupDelay: int(c.cfg.cleanupDelay() / time.Second), SessionID: resume}
	}
	resp, err := c.Do(ctx, &StartApplicationSession{ApplicationInfo: info,
		RequestedProtocolVersions: ProtocolVersions{ProtocolVersion: []string{c.cfg.Profile.Namespace}},
		RequestedSessionDuration:  int(d / time.Second)})
	if err != nil {
		return fmt.Errorf("csta: start application session: %w", err)
	}
	switch r := resp.(type) {
	case *StartApplicationSessionPosResponse:
		c.mu.Lock()
		c.session = r.SessionID
		c.recovered = resume != "" && r.SessionID == resume
		if c.ns == "" && strings.Contains(r.ActualProtocolVersion, "ecma-323") {
			c.ns = r.ActualProtocolVersion
		}
		c.mu.Unlock()
		if r.ActualSessionDuration > 0 {
			d = time.Duration(r.ActualSessionDuration) * time.Second
		}
		go c.keepAlive(r.SessionID, d)
		return nil
	case *StartApplicationSessionNegResponse:
		return fmt.Errorf("csta: start application session: %w", &sessionRefused{r.ErrorCode.DefinedError})
	default:
		return fmt.Errorf("csta: start application session: unexpected %s", resp.MessageName())
	}
}

// keepAlive resets the ECMA-354 session timer at half its duration; a
// refused reset means the session is gone, so the link is dropped.
func (c *Conn) keepAlive(session string, d time.Duration) {
	t := time.NewTicker(d / 2)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		resp, err := c.Do(context.Background(), &ResetApplicationSessionTimer{SessionID: session, RequestedSessionDuration: int(d / time.Second)})
		if err == nil {
			if _, ok := resp.(*ResetApplicationSessionTimerPosResponse); !ok {
				err = fmt.Errorf("refused (%s)", resp.MessageName())
			}
		}
		if err != nil && !errors.Is(err, ErrClosed) {
			c.shutdown(fmt.Errorf("csta: reset application session timer: %w", err))
			return
		}
	}
}

// Do sends a request and waits for its response. A CSTAErrorCode answer
// comes back as the error (match it with errors.Is or errors.As).
//
// The request first waits its turn at the profile's request rate, for as
// long as ctx allows; the answer is then awaited for at most
// Config.RequestTimeout. The two are apart because they mean different
// things: a queue of our own requests (a thousand logins at once queue
// for seconds at a switch's 1,000 a second) is not a switch that does
// not answer.
func (c *Conn) Do(ctx context.Context, req Message) (Message, error) {
	name := req.MessageName()
	if err := c.pace(ctx); err != nil {
		return nil, fmt.Errorf("csta: %s: %w", name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	id, ch, err := c.allocate()
	if err != nil {
		return nil, fmt.Errorf("csta: %s: %w", name, err)
	}
	body, err := Encode(req, c.writeNamespace(name))
	if err == nil {
		err = c.writeFrame(ctx, id, body, name)
	}
	if err != nil {
		c.release(id, false)
		return nil, fmt.Errorf("csta: %s: %w", name, err)
	}
	select {
	case r := <-ch:
		return answer(name, r)
	case <-ctx.Done():
		c.release(id, true)
		return nil, fmt.Errorf("csta: %s: no response: %w", name, ctx.Err())
	case <-c.done:
		// A response that arrived just before the link ended is still
		// the answer.
		select {
		case r := <-ch:
			return answer(name, r)
		default:
		}
		return nil, fmt.Errorf("csta: %s: %w", name, c.Err())
	}
}

// answer turns a delivered result into Do's return values.
func answer(name string, r result) (Message, error) {
	if r.err != nil {
		return nil, fmt.Errorf("csta: %s: %w", name, r.err)
	}
	if e, ok := r.msg.(*CSTAErrorCode); ok {
		return nil, fmt.Errorf("csta: %s: %w", name, e)
	}
	return r.msg, nil
}

// Call sends req and returns its response as the type the caller expects.
func Call[R Message](ctx context.Context, c *Conn, req Message) (R, error) {
	var zero R
	m, err := c.Do(ctx, req)
	if err != nil {
		return zero, err
	}
	r, ok := m.(R)
	if !ok {
		return zero, fmt.Errorf("csta: %s: unexpected response %s", req.MessageName(), m.MessageName())
	}
	return r, nil
}

func (c *Conn) pace(ctx context.Context) error {
	rps := c.cfg.Profile.RequestsPerSecond
	if rps <= 0 {
		return nil
	}
	c.paceMu.Lock()
	now := time.Now()
	at := c.paceNext
	if at.Before(now) {
		at = now
	}
	c.paceNext = at.Add(time.Duration(float64(time.Second) / rps))
	c.paceMu.Unlock()
	if wait := time.Until(at); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done:
			return c.Err()
		}
	}
	return nil
}

// allocate takes the next invoke ID in 0001-9998 that is not in flight
// (nor reserved after a timeout).
func (c *Conn) allocate() (int, chan result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, nil, c.err
	}
	now := time.Now()
	for range 9998 {
		id := c.nextID
		c.nextID = c.nextID%9998 + 1
		p, busy := c.pend[id]
		if busy && p.ch == nil && now.After(p.expires) {
			busy = false
		}
		if !busy {
			ch := make(chan result, 1)
			c.pend[id] = pending{ch: ch, sent: now}
			return id, ch, nil
		}
	}
	return 0, nil, ErrNoInvokeID
}

func (c *Conn) release(id int, timedOut bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if timedOut {
		c.pend[id] = pending{expires: time.Now().Add(time.Minute), sent: c.pend[id].sent}
		return
	}
	delete(c.pend, id)
}

func (c *Conn) writeFrame(ctx context.Context, id int, body []byte, name string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	dl := time.Now().Add(c.cfg.RequestTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	_ = c.nc.SetWriteDeadline(dl)
	if err := c.fenced(name); err != nil {
		return err
	}
	c.trace(Out, id, body) // before the write, so that it precedes its answer
	if err := WriteFrame(c.nc, id, body); err != nil {
		c.shutdown(fmt.Errorf("csta: write: %w", err))
		return err
	}
	c.framesOut.Add(1)
	if c.cfg.OnMessage != nil {
		c.cfg.OnMessage(Out, name)
	}
	return nil
}

func (c *Conn) readLoop() {
	defer close(c.readerDone)
	br := bufio.NewReaderSize(c.nc, 16<<10)
	for {
		if c.cfg.Liveness > 0 {
			_ = c.nc.SetReadDeadline(time.Now().Add(c.cfg.Liveness))
		}
		f, err := ReadFrame(br, c.cfg.MaxFrame)
		if err != nil {
			var ne net.Error
			switch {
			case errors.Is(err, io.EOF):
				err = fmt.Errorf("csta: switch closed the link: %w", err)
			case errors.As(err, &ne) && ne.Timeout():
				err = fmt.Errorf("csta: switch silent for %v, link declared down: %w", c.cfg.Liveness, ErrSilent)
			case !errors.As(err, new(*FrameError)):
				err = fmt.Errorf("csta: read: %w", err)
			}
			c.shutdown(err)
			return
		}
		c.noteFrame(time.Now())
		c.framesIn.Add(1)
		c.trace(In, f.InvokeID, f.Body)
		c.handle(f)
		select {
		case <-c.done:
			return // frames already buffered belong to a link that is gone
		default:
		}
	}
}

func (c *Conn) handle(f Frame) {
	msg, ns, err := Decode(f.Body)
	if err != nil {
		c.malformed.Add(1)
		c.log.Warn("csta: malformed message", "invokeID", f.InvokeID, "err", err)
		// Fail the request it answers rather than let it wait for a timeout.
		c.deliver(f.InvokeID, result{err: err}, false)
		return
	}
	name := msg.MessageName()
	if c.cfg.OnMessage != nil {
		c.cfg.OnMessage(In, name)
	}
	if strings.Contains(ns, "ecma-323") {
		c.mu.Lock()
		if c.ns == "" {
			c.ns = ns
		}
		c.mu.Unlock()
	}
	switch m := msg.(type) {
	case *SystemStatus:
		c.answerHeartbeat(f.InvokeID)
		return
	case Event:
		c.nEvents.Add(1)
		select {
		case c.events <- m:
		default:
			c.overflows.Add(1)
			c.shutdown(ErrEventOverflow)
		}
		return
	case *Unknown:
		if !c.deliver(f.InvokeID, result{msg: m}, true) {
			c.unknown.Add(1)
			c.log.Info("csta: unknown message ignored", "name", name, "invokeID", f.InvokeID)
		}
		return
	}
	if !c.deliver(f.InvokeID, result{msg: msg}, false) {
		c.unknownID.Add(1)
		c.log.Warn("csta: response for no pending request", "name", name, "invokeID", f.InvokeID)
	}
}

// deliver hands a response to its waiter. quiet skips the late-response
// bookkeeping for messages that may legitimately be unsolicited.
func (c *Conn) deliver(id int, r result, quiet bool) bool {
	c.mu.Lock()
	p, ok := c.pend[id]
	if ok {
		delete(c.pend, id)
	}
	c.mu.Unlock()
	if !ok {
		return false
	}
	if p.ch == nil {
		if !quiet {
			c.late.Add(1)
			c.log.Warn("csta: late response after timeout", "invokeID", id)
		}
		return true
	}
	p.ch <- r
	return true
}

// answerHeartbeat replies to the switch's SystemStatus with the same
// invoke ID. It writes from its own goroutine so the reader never waits
// on the socket's send buffer.
func (c *Conn) answerHeartbeat(id int) {
	body, err := Encode(&SystemStatusResponse{}, c.Namespace())
	if err != nil {
		return
	}
	go func() {
		if err := c.writeFrame(context.Background(), id, body, "SystemStatusResponse"); err == nil {
			c.heartbeats.Add(1)
		}
		// The OpenScape start-up sends SystemRegister only after the
		// first SystemStatus has been answered.
		c.sysOnce.Do(func() { close(c.sysStatus) })
	}()
}

func (c *Conn) dispatch() {
	for {
		select {
		case <-c.done:
			return
		case ev := <-c.events:
			if m, ok := ev.(settleMark); ok {
				close(m.done)
				continue
			}
			if c.cfg.OnEvent != nil {
				c.cfg.OnEvent(ev)
			}
		}
	}
}

// fenced asks Config.Fence about a frame carrying message, the last step
// before its write; a refusal ends the link.
func (c *Conn) fenced(message string) error {
	if c.cfg.Fence == nil {
		return nil
	}
	if err := c.cfg.Fence(message); err != nil {
		err = fmt.Errorf("%w: %w", ErrFenced, err)
		c.shutdown(err)
		return err
	}
	return nil
}

// discardUnsent makes the coming Close reset the connection: the kernel
// drops what it has not sent yet instead of delivering it later.
func discardUnsent(nc net.Conn) {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	if tcp, ok := nc.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
}

// shutdown records why the link ended and wakes every waiter.
func (c *Conn) shutdown(err error) {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
		close(c.done)
		if errors.Is(err, ErrFenced) {
			discardUnsent(c.nc)
		}
		c.nc.Close()
		if err != ErrClosed {
			c.log.Warn("csta: link down", "err", err)
		}
	})
}

// Close ends the session (ECMA-354: StopApplicationSession, best effort)
// and the connection. Every waiting request fails with ErrClosed. Safe to
// call more than once and from any goroutine except OnEvent.
func (c *Conn) Close() error {
	if c.fenced("StopApplicationSession") != nil {
		<-c.readerDone
		return nil
	}
	c.mu.Lock()
	session, open := c.session, c.err == nil
	c.mu.Unlock()
	if open && session != "" {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, _ = c.Do(ctx, &StopApplicationSession{SessionID: session, SessionEndReason: SessionEndReason{DefinedEndReason: "normal"}})
		cancel()
	}
	c.shutdown(ErrClosed)
	<-c.readerDone
	return nil
}

// Done is closed when the link ends, for whatever reason.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err says why the link ended; nil while it is up.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Namespace is the CSTA namespace we write in: one for the whole session
// (strict switches refuse a request in another edition than the session's),
// the profile's until the session has fixed it.
func (c *Conn) Namespace() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ns != "" {
		return c.ns
	}
	return c.cfg.Profile.Namespace
}

// writeNamespace is the namespace to encode a request in; the first CSTA
// request fixes the session's namespace if nothing has yet. Messages with
// a namespace of their own (FixedNamespace) fix nothing.
func (c *Conn) writeNamespace(name string) string {
	if FixedNamespace(name) != "" {
		return c.Namespace()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ns == "" {
		c.ns = c.cfg.Profile.Namespace
	}
	return c.ns
}

// SessionID is the ECMA-354 session's ID ("" for other profiles): what
// Config.RecoverSession takes after a link loss.
func (c *Conn) SessionID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session
}

// Recovered reports whether the switch resumed Config.RecoverSession, so
// that its device IDs and monitors are still valid.
func (c *Conn) Recovered() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.recovered
}

// Stats returns the link's counters.
func (c *Conn) Stats() Stats {
	return Stats{
		FramesIn: c.framesIn.Load(), FramesOut: c.framesOut.Load(), Events: c.nEvents.Load(),
		Unknown: c.unknown.Load(), Malformed: c.malformed.Load(), UnknownInvokeID: c.unknownID.Load(),
		LateResponses: c.late.Load(), HeartbeatsAnswered: c.heartbeats.Load(), EventOverflows: c.overflows.Load(),
	}
}
