// Package pbxsim is a simulated PBX that serves CSTA XML (ECMA-323) over
// the common TCP framing, faithful enough to develop the gateway against,
// demonstrate the product, test every call flow and load the system.
//
// It models devices (a range of extensions), external parties (any other
// number), calls and their connections in ECMA-269 connection states, and
// per-device do-not-disturb and agent state. Applications connect over
// CSTA and monitor devices; every monitor receives what a switch emits, in
// order, with consistent call IDs and cross-reference IDs. An HTTP control
// API plays the outside world: callers ringing in, far ends answering and
// hanging up, phones changing state, and faults.
//
// A vendor profile (Config.Vendor) makes it play one vendor's switch as
// that switch really behaves — OpenScape Voice's device forms and
// heartbeats, Avaya AES's login, device IDs and session recovery — so
// that a gateway fails here where it would fail on the real switch. The
// files are split by layer: link.go is the transport (framing, the
// link's loops), session.go and avaya.go the application session,
// services.go and transfer.go the switch services (one handler per CSTA
// request), vendor.go how each vendor names devices, model.go the calls.
package pbxsim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"crmcti/gateway/csta"
)

// Config sets up the simulator. The zero value is usable: extensions
// 1000-1099, the default profile (an OpenScape-style session with devices
// named as they are), calls to unavailable devices fail.
type Config struct {
	FirstExtension, LastExtension int
	// Vendor selects a vendor profile (VendorOpenScape, VendorAvaya,
	// VendorECMA354, VendorNone, VendorDefault); it sets Profile. When
	// empty, Profile is used as given with devices named as VendorDefault
	// names them.
	Vendor string
	// Profile chooses the session style and the namespace written until an
	// application shows its own.
	Profile csta.Profile
	// DeviceTemplate (openscape) is the full number the switch knows an
	// extension's device by, "{ext}" standing for the extension; default
	// "3572210{ext}" (1001 -> 35722101001).
	DeviceTemplate string
	// User and Password (avaya) are what StartApplicationSession's
	// SessionLoginInfo must carry; default "cti" and "cti-password".
	User, Password string
	// SwitchName and SwitchIP (avaya) make the DMCC device IDs
	// ("1001:CM1:10.0.0.1:0"); default "CM1" and "10.0.0.1". GetDeviceId
	// must name this switch.
	SwitchName, SwitchIP string
	// Faults are misbehaviours shown from the start (FaultNoClearResponse,
	// FaultNoCallID, FaultAnswerAny), for the conformance command's tests.
	Faults []string
	// AutoAnswer is how long an external party lets an outbound call ring
	// before answering; 0 means it answers only through the control API.
	AutoAnswer time.Duration
	// DivertTo, when set, receives calls a device does not take (do not
	// disturb, agent not ready); when empty such calls fail.
	DivertTo string
	// Heartbeat is the interval of the switch's SystemStatus on OpenScape
	// links (default 30s).
	Heartbeat time.Duration
	Logger    *slog.Logger
	// OnEventWritten, if set, is told of every event as soon as its frame
	// is written to an application: the load benchmark's start of the
	// clock. It runs on the link's writer and must be quick.
	OnEventWritten func(ev csta.Event, at time.Time)
}

// Sim is the simulated switch.
type Sim struct {
	cfg Config
	log *slog.Logger

	naming naming
	byFull map[string]string // openscape: full number (no +) -> extension

	mu       sync.Mutex
	devices  map[string]*device
	calls    map[string]*call
	links    map[*link]struct{}
	monitors map[string][]*monitor // by device
	nextCall uint64
	nextXref uint64
	stalled  bool
	auto     time.Duration
	batching bool // a request is being served: its events wait in batch
	batch    []batched
	closed   bool
	modes    map[string]bool           // misbehaviours in force
	parked   map[string]*parkedSession // avaya: sessions of lost links, by session ID

	framesIn, framesOut atomic.Uint64

	listeners map[net.Listener]struct{}
	wg        sync.WaitGroup
	timers    map[*time.Timer]struct{}
}

// Check reports what New would refuse: an unknown Vendor or Faults.
func (cfg Config) Check() error {
	if cfg.Vendor != "" {
		if _, _, err := vendorProfile(cfg.Vendor); err != nil {
			return err
		}
	}
	for _, f := range cfg.Faults {
		if !misbehaviours[f] {
			return fmt.Errorf("pbxsim: unknown fault %q (known: %s, %s, %s)", f, FaultNoClearResponse, FaultNoCallID, FaultAnswerAny)
		}
	}
	return nil
}

// New builds a simulator. Like regexp.MustCompile it panics on a Config
// that Check refuses: a caller taking a vendor name from outside checks
// it first.
func New(cfg Config) *Sim {
	if err := cfg.Check(); err != nil {
		panic(err)
	}
	nm := namingPlain
	if cfg.Vendor != "" {
		cfg.Profile, nm, _ = vendorProfile(cfg.Vendor)
	}
	applyDefaults(&cfg)
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Sim{
		cfg: cfg, log: log, naming: nm, byFull: map[string]string{}, devices: map[string]*device{}, calls: map[string]*call{},
		links: map[*link]struct{}{}, monitors: map[string][]*monitor{}, modes: map[string]bool{}, parked: map[string]*parkedSession{},
		listeners: map[net.Listener]struct{}{}, timers: map[*time.Timer]struct{}{},
		// Random starting points keep IDs unique across simulator restarts,
		// as a real switch's are; the gateway must never confuse an old
		// call with a new one.
		nextCall: uint64(rand.Uint32()) << 20,
		nextXref: uint64(rand.Uint32() % 1_000_000_000),
		auto:     cfg.AutoAnswer,
	}
	for n := cfg.FirstExtension; n <= cfg.LastExtension; n++ {
		id := strconv.Itoa(n)
		s.devices[id] = &device{id: id, agentState: csta.AgentStateReady}
		s.byFull[strings.TrimPrefix(s.fullNumber(id), "+")] = id
	}
	for _, f := range cfg.Faults {
		s.modes[f] = true
	}
	return s
}

func applyDefaults(cfg *Config) {
	if cfg.FirstExtension == 0 && cfg.LastExtension == 0 {
		cfg.FirstExtension, cfg.LastExtension = 1000, 1099
	}
	if cfg.Profile.Name == "" {
		cfg.Profile, _ = csta.LookupProfile("openscape")
	}
	if cfg.Profile.Namespace == "" {
		cfg.Profile.Namespace = csta.NamespaceEd4
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 30 * time.Second
	}
	if cfg.DeviceTemplate == "" {
		cfg.DeviceTemplate = "3572210{ext}"
	}
	if !strings.Contains(cfg.DeviceTemplate, "{ext}") {
		cfg.DeviceTemplate += "{ext}"
	}
	if cfg.User == "" && cfg.Password == "" {
		cfg.User, cfg.Password = "cti", "cti-password"
	}
	if cfg.SwitchName == "" {
		cfg.SwitchName = "CM1"
	}
	if cfg.SwitchIP == "" {
		cfg.SwitchIP = "10.0.0.1"
	}
}

// ServeCSTA accepts application links on l until l is closed or the
// simulator is.
func (s *Sim) ServeCSTA(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.New("pbxsim: closed")
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	for {
		nc, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			delete(s.listeners, l)
			closed := s.closed
			s.mu.Unlock()
			if closed || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("pbxsim: accept: %w", err)
		}
		s.startLink(nc)
	}
}

// Close drops every link, stops listening and cancels pending timers.
func (s *Sim) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for l := range s.listeners {
		l.Close()
	}
	for lk := range s.links {
		lk.close()
	}
	for t := range s.timers {
		t.Stop()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// Frames reports how many CSTA frames the switch has read and written.
func (s *Sim) Frames() (in, out uint64) { return s.framesIn.Load(), s.framesOut.Load() }

// Describe states the settings in force, for the start-up banner.
func (s *Sim) Describe() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	div := s.cfg.DivertTo
	if div == "" {
		div = "none (calls fail)"
	}
	vendor := s.cfg.Vendor
	if vendor == "" {
		vendor = VendorDefault
	}
	out := fmt.Sprintf("profile=%s session=%s namespace=%s auto-answer=%s divert-to=%s heartbeat=%s",
		vendor, s.cfg.Profile.Session, s.cfg.Profile.Namespace, s.auto, div, s.cfg.Heartbeat)
	switch s.naming {
	case namingOpenScape:
		out += fmt.Sprintf(" devices=%s (%s)", s.cfg.DeviceTemplate, s.fullNumber(strconv.Itoa(s.cfg.FirstExtension)))
	case namingAvaya:
		out += fmt.Sprintf(" user=%s switch=%s devices=%s", s.cfg.User, s.cfg.SwitchName, s.dmccID(strconv.Itoa(s.cfg.FirstExtension)))
	}
	for _, f := range sortedModes(s.modes) {
		out += " fault=" + f
	}
	return out
}

// SetAutoAnswer changes how fast external parties answer outbound calls.
func (s *Sim) SetAutoAnswer(d time.Duration) {
	s.mu.Lock()
	s.auto = d
	s.mu.Unlock()
}

// Fault kinds for InjectFault.
const (
	FaultDropLink       = "drop-link"       // every CSTA link is closed
	FaultStall          = "stall"           // the switch stops answering and reporting; what it swallowed is lost
	FaultMalformedFrame = "malformed-frame" // a frame with a broken header on every link
	FaultMalformedXML   = "malformed-xml"   // a well-framed body that is not XML
	FaultClear          = "clear"           // ends a stall and every misbehaviour
)

// InjectFault makes the switch misbehave; a stall lasts d (0: until
// FaultClear).
func (s *Sim) InjectFault(kind string, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch kind {
	case FaultDropLink:
		for lk := range s.links {
			lk.close()
		}
	case FaultStall:
		s.stalled = true
		if d > 0 {
			s.afterLocked(d, func() { s.stalled = false })
		}
	case FaultClear:
		s.stalled = false
		clear(s.modes)
	case FaultNoClearResponse, FaultNoCallID, FaultAnswerAny:
		s.modes[kind] = true
	case FaultMalformedFrame:
		for lk := range s.links {
			lk.sendRaw([]byte("\x01\x02\x00\x10garbage!"))
		}
	case FaultMalformedXML:
		b, _ := csta.AppendFrame(nil, csta.EventInvokeID, []byte("<DeliveredEvent><unclosed"))
		for lk := range s.links {
			lk.sendRaw(b)
		}
	default:
		return fmt.Errorf("pbxsim: unknown fault %q (drop-link, stall, malformed-frame, malformed-xml, %s, %s, %s, clear)",
			kind, FaultNoClearResponse, FaultNoCallID, FaultAnswerAny)
	}
	return nil
}

// afterLocked runs f under s.mu after d, unless the simulator closes first.
func (s *Sim) afterLocked(d time.Duration, f func()) {
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, ok := s.timers[t]; !ok {
			return
		}
		delete(s.timers, t)
		f()
	})
	s.timers[t] = struct{}{}
}

// RunLoad places inbound calls from random external numbers to random
// extensions at rate per second until ctx ends. Each call is answered by
// the agent's device after ring, held for part of the talk time, retrieved
// and hung up by the caller: the traffic the benchmark measures. It
// returns how many calls it started.
func (s *Sim) RunLoad(ctx context.Context, rate float64, ring, talk time.Duration) int {
	if rate <= 0 {
		return 0
	}
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	n := 0
	for {
		select {
		case <-ctx.Done():
			return n
		case <-tick.C:
		}
		ext := strconv.Itoa(s.cfg.FirstExtension + rand.IntN(s.cfg.LastExtension-s.cfg.FirstExtension+1))
		from := fmt.Sprintf("+3572%07d", rand.IntN(10_000_000))
		res, err := s.StartInbound(from, ext)
		if err != nil || res.Outcome != OutcomeAlerting {
			continue
		}
		n++
		id := res.CallID
		jitter := func(d time.Duration) time.Duration { return d/2 + time.Duration(rand.Int64N(int64(d)+1)) }
		r, tk := jitter(ring), jitter(talk)
		time.AfterFunc(r, func() {
			if s.Answer(id, ext) != nil {
				return
			}
			time.AfterFunc(tk/3, func() {
				if s.Hold(id, ext) != nil {
					return
				}
				time.AfterFunc(tk/3, func() {
					_ = s.Retrieve(id, ext)
					time.AfterFunc(tk/3, func() { _ = s.Hangup(id, from) })
				})
			})
		})
	}
}
