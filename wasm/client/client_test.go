//go:build !js

// The core is tested natively against a real gateway (a js build cannot
// start PostgreSQL or slapd).

package client_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"crmcti/gateway/app"
	"crmcti/gateway/gatewaytest"
	"crmcti/wasm/client"
)

// harness runs a core against a real gateway and records what it shows.
type harness struct {
	t        *testing.T
	core     *client.Core
	tokens   *client.MemoryTokens
	mu       sync.Mutex
	view     client.View
	effects  []client.Effect
	connErrs []string
	changed  chan struct{}
	// recording keeps every view from record() on.
	recording bool
	recorded  []client.View
}

// record starts keeping every view the core shows; the function it
// returns yields them.
func (h *harness) record() func() []client.View {
	h.mu.Lock()
	h.recording, h.recorded = true, nil
	h.mu.Unlock()
	return func() []client.View {
		h.mu.Lock()
		defer h.mu.Unlock()
		return append([]client.View(nil), h.recorded...)
	}
}

func newHarness(t *testing.T, url string, mod func(*client.Settings)) *harness {
	t.Helper()
	return newHarnessConfig(t, client.Config{MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}, func(s *client.Settings) {
		s.GatewayURL = url
		if mod != nil {
			mod(s)
		}
	})
}

// newHarnessConfig runs a core with cfg (its settings the defaults
// changed by mod).
func newHarnessConfig(t *testing.T, cfg client.Config, mod func(*client.Settings)) *harness {
	t.Helper()
	h := &harness{t: t, tokens: &client.MemoryTokens{}, changed: make(chan struct{}, 1)}
	cfg.Settings = client.DefaultSettings()
	if mod != nil {
		mod(&cfg.Settings)
	}
	if tokens, ok := cfg.Tokens.(*client.MemoryTokens); ok {
		h.tokens = tokens // a session from before
	}
	cfg.Tokens = h.tokens
	cfg.OnView = func(v client.View) {
		h.mu.Lock()
		if v.ConnError != "" && (len(h.connErrs) == 0 || h.connErrs[len(h.connErrs)-1] != v.ConnError) {
			h.connErrs = append(h.connErrs, v.Connection+": "+v.ConnError)
		}
		h.view = v
		if h.recording {
			h.recorded = append(h.recorded, v)
		}
		h.mu.Unlock()
		h.poke()
	}
	cfg.OnEffect = func(e client.Effect) {
		h.mu.Lock()
		h.effects = append(h.effects, e)
		h.mu.Unlock()
		h.poke()
	}
	h.core = client.New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	go h.core.Run(ctx)
	t.Cleanup(func() { cancel(); h.core.Close() })
	return h
}

func (h *harness) poke() {
	select {
	case h.changed <- struct{}{}:
	default:
	}
}

// until waits for the view to satisfy ok.
func (h *harness) until(what string, ok func(client.View) bool) client.View {
	h.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		h.mu.Lock()
		v := h.view
		h.mu.Unlock()
		if ok(v) {
			return v
		}
		select {
		case <-h.changed:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			h.mu.Lock()
			errs := h.connErrs
			h.mu.Unlock()
			h.t.Fatalf("view never showed %s; connection errors %q; last: %+v", what, errs, v)
		}
	}
}

func (h *harness) effect(kind string) client.Effect {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		for i, e := range h.effects {
			if e.Kind == kind {
				h.effects = append(h.effects[:i:i], h.effects[i+1:]...)
				h.mu.Unlock()
				return e
			}
		}
		h.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	h.t.Fatalf("no %s effect", kind)
	return client.Effect{}
}

func callIn(v client.View, state string) *client.CallView {
	for i := range v.Calls {
		if v.Calls[i].State == state {
			return &v.Calls[i]
		}
	}
	return nil
}

func TestLoginCallFlowThroughTheCore(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{})
	h := newHarness(t, sys.URL(), nil)
	h.until("logged out", func(v client.View) bool { return v.Connection == "offline" && !v.LoggedIn })

	h.core.Intent(client.Intent{Type: "login", Username: "alice", Password: "nope"})
	h.until("login error", func(v client.View) bool {
		return strings.Contains(strings.ToLower(v.LoginError), "wrong") && !v.LoginBusy
	})
	h.core.Intent(client.Intent{Type: "login", Username: "mallory", Password: "demo"})
	h.until("not enabled", func(v client.View) bool { return strings.Contains(v.LoginError, "not enabled") })
	h.core.Intent(client.Intent{Type: "login", Username: "alice", Password: "demo"})
	v := h.until("logged in", func(v client.View) bool { return v.LoggedIn && v.Connection == "online" && v.PBX == "up" })
	if v.Agent.Extension != "1001" || !v.Dial.Enabled || h.tokens.Load() == "" {
		t.Fatalf("%+v", v)
	}

	first, _ := sys.Sim.StartInbound("+35722123456", "1001")
	v = h.until("ringing with matches", func(v client.View) bool {
		c := callIn(v, "ringing")
		return c != nil && len(c.Matches) == 2
	})
	ring := callIn(v, "ringing")
	if !ring.Controls["answer"].Enabled || ring.Controls["hold"].Enabled || ring.Controls["answer"].Shortcut == "" || !strings.Contains(v.Announce, "2 possible callers") {
		t.Fatalf("ringing card %+v announce %q", ring, v.Announce)
	}
	// The notification shows at once and is updated when the caller is
	// identified (same call ID: the browser replaces it).
	if n := h.effect("notify"); n.CallID != first.CallID {
		t.Fatalf("notification %+v", n)
	}
	if n := h.effect("notify"); n.CallID != first.CallID || !strings.Contains(n.Body, "2 possible callers") {
		t.Fatalf("updated notification %+v", n)
	}
	h.core.Intent(client.Intent{Type: "answer", CallID: first.CallID})
	h.until("connected", func(v client.View) bool { return callIn(v, "connected") != nil })
	h.effect("unnotify")

	// R6: a second call rings, and Accept says why it is disabled.
	second, _ := sys.Sim.StartInbound("+35799000222", "1001")
	v = h.until("second ringing", func(v client.View) bool { return callIn(v, "ringing") != nil })
	ring = callIn(v, "ringing")
	if ring.Controls["answer"].Enabled || !strings.Contains(ring.Controls["answer"].Reason, "on a call") || !ring.NoMatch {
		t.Fatalf("second call %+v", ring)
	}
	if v.Calls[0].ID != second.CallID {
		t.Fatal("the ringing call is not first")
	}
	h.core.Intent(client.Intent{Type: "answer", CallID: second.CallID}) // refused locally
	h.until("notice", func(v client.View) bool { return strings.Contains(v.Notice, "on a call") })
	h.core.Intent(client.Intent{Type: "ignore", CallID: second.CallID})
	h.until("ignored", func(v client.View) bool { c := callIn(v, "ringing"); return c != nil && c.Ignored })

	// Choosing the caller loads them on the CRM screen (R5).
	h.core.Intent(client.Intent{Type: "select", CallID: first.CallID, Contact: "C000002"})
	if e := h.effect("load"); e.Mode != "url" || e.URL != "http://127.0.0.1:7081/customers/C000002" {
		t.Fatalf("load %+v", e)
	}
	v = h.until("contact chosen", func(v client.View) bool { c := callIn(v, "connected"); return c != nil && c.Contact == "C000002" })
	if callIn(v, "connected").Caller != "Constantinou Trading Ltd" {
		t.Fatalf("caller %+v", callIn(v, "connected"))
	}
	h.core.Intent(client.Intent{Type: "digits", CallID: first.CallID, Digits: "12#"})
	h.core.Intent(client.Intent{Type: "digits", CallID: first.CallID, Digits: "9x"})
	h.until("bad tones refused by the gateway", func(v client.View) bool { return strings.Contains(strings.ToLower(v.Notice), "tones are") })
	h.core.Intent(client.Intent{Type: "hold", CallID: first.CallID})
	h.until("held", func(v client.View) bool { return callIn(v, "held") != nil })
	h.core.Intent(client.Intent{Type: "retrieve", CallID: first.CallID})
	h.until("retrieved", func(v client.View) bool { return callIn(v, "connected") != nil })
	h.core.Intent(client.Intent{Type: "hangup", CallID: first.CallID})
	v = h.until("ended", func(v client.View) bool { return callIn(v, "connected") == nil && len(v.Recent) > 0 })
	if v.Recent[0].ID != first.CallID {
		t.Fatalf("recent %+v", v.Recent)
	}

	h.core.Intent(client.Intent{Type: "search", Query: "georgiou"})
	h.until("search results", func(v client.View) bool { return len(v.Search.Results) > 0 && !v.Search.Busy })

	h.core.Intent(client.Intent{Type: "logout"})
	h.until("logged out", func(v client.View) bool { return !v.LoggedIn && v.Connection == "offline" })
	if h.tokens.Load() != "" {
		t.Fatal("token kept after logout")
	}
}

func TestOutboundCallLoadsCustomerOnAnswer(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{AutoAnswer: 100 * time.Millisecond})
	h := newHarness(t, sys.URL(), func(s *client.Settings) {
		s.CustomerLoad = "search"
	})
	h.core.Intent(client.Intent{Type: "login", Username: "bob", Password: "demo"})
	h.until("logged in", func(v client.View) bool { return v.LoggedIn && v.Connection == "online" })
	h.core.Intent(client.Intent{Type: "status", Status: "busy"})
	h.until("busy", func(v client.View) bool { return v.Status == "busy" })
	h.core.Intent(client.Intent{Type: "call", Number: "+357 99 654321", Contact: "C000003"})
	e := h.effect("load")
	if e.Mode != "search" || e.Value != "C000003" || e.Field != "#cc-search" || e.Submit != "#cc-search-btn" {
		t.Fatalf("%+v", e)
	}
	v := h.until("connected", func(v client.View) bool { return callIn(v, "connected") != nil })
	if v.Dial.Enabled {
		t.Fatal("dial enabled during a call")
	}
}

func TestReconnectAfterGatewayRestart(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{})
	h := newHarness(t, sys.URL(), nil)
	h.core.Intent(client.Intent{Type: "login", Username: "carol", Password: "demo"})
	h.until("logged in", func(v client.View) bool { return v.LoggedIn && v.Connection == "online" })
	res, _ := sys.Sim.StartInbound("+35722123456", "1003")
	h.until("ringing", func(v client.View) bool { return callIn(v, "ringing") != nil })
	h.core.Intent(client.Intent{Type: "answer", CallID: res.CallID})
	h.until("connected", func(v client.View) bool { return callIn(v, "connected") != nil })

	sys.StopGateway()
	h.until("reconnecting", func(v client.View) bool { return v.Connection == "reconnecting" })
	sys.Config.Listen = sys.App.Addr
	sys.StartGateway()
	v := h.until("back with the call", func(v client.View) bool {
		return v.Connection == "online" && v.LoggedIn && callIn(v, "connected") != nil
	})
	if callIn(v, "connected").ID != res.CallID {
		t.Fatalf("%+v", v.Calls)
	}
}

func TestConsultAndConferenceThroughTheCore(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{AutoAnswer: 0})
	h := newHarness(t, sys.URL(), nil)
	h.core.Intent(client.Intent{Type: "login", Username: "erin", Password: "demo"})
	h.until("logged in", func(v client.View) bool { return v.LoggedIn && v.Connection == "online" })
	res, _ := sys.Sim.StartInbound("+35722123456", "1005")
	h.until("ringing", func(v client.View) bool { return callIn(v, "ringing") != nil })
	h.core.Intent(client.Intent{Type: "answer", CallID: res.CallID})
	v := h.until("connected", func(v client.View) bool { return callIn(v, "connected") != nil })
	if c := callIn(v, "connected"); !c.Controls["consult"].Enabled || c.Controls["complete"].Enabled {
		t.Fatalf("controls %+v", c.Controls)
	}
	h.core.Intent(client.Intent{Type: "consult", CallID: res.CallID, To: "1006"})
	h.until("held and dialing", func(v client.View) bool { return callIn(v, "held") != nil && callIn(v, "dialing") != nil })
	var consultID string
	for _, c := range sys.Sim.Calls() {
		if c.Called == "1006" {
			consultID = c.CallID
		}
	}
	if err := sys.Sim.Answer(consultID, "1006"); err != nil {
		t.Fatal(err)
	}
	v = h.until("joinable", func(v client.View) bool { c := callIn(v, "held"); return c != nil && c.JoinWith == consultID })
	h.core.Intent(client.Intent{Type: "conference", CallID: res.CallID, With: consultID})
	h.until("one conferenced call", func(v client.View) bool { return len(v.Calls) == 1 && callIn(v, "connected") != nil })
	if calls := sys.Sim.Calls(); len(calls) != 1 || len(calls[0].Connections) != 3 {
		t.Fatalf("PBX %+v", calls)
	}
	// The colleague at 1006 is named from the directory (Frank Fotiou in
	// the demo LDIF) when the lookup, made in the background, answered
	// before the consultation call was joined; otherwise by extension.
	// The caller is looked up in the background too: when the answer
	// comes after the join, the card names the caller then.
	v = h.until("the conference lists its parties, the caller named", func(v client.View) bool {
		c := callIn(v, "connected")
		return c != nil && len(c.Parties) == 2 && c.Parties[0] == "Andreas Constantinou"
	})
	if c := callIn(v, "connected"); c.Heading != "Conference" || c.Parties[0] != "Andreas Constantinou" ||
		(c.Parties[1] != "Frank Fotiou" && c.Parties[1] != "Extension 1006") {
		t.Fatalf("conference card %+v", c)
	}
}

// A gateway URL without a scheme (defect 1) is a clear problem in the
// view, not a dial that throws; the core never connects with it.
func TestBadSettingsAreReportedNotDialled(t *testing.T) {
	h := newHarness(t, "127.0.0.1:7080", func(s *client.Settings) { s.ManagedKeys = []string{"gatewayUrl"} })
	v := h.until("problem shown", func(v client.View) bool { return len(v.Problems) > 0 })
	if v.Connection != "unconfigured" || v.Problems[0].Field != "gatewayUrl" ||
		!strings.Contains(v.Problems[0].Message, "wss://") || !strings.Contains(v.Problems[0].Message, "administrator") {
		t.Fatalf("%+v", v)
	}
	h.core.Intent(client.Intent{Type: "login", Username: "alice", Password: "demo"})
	time.Sleep(100 * time.Millisecond)
	if v := h.core.View(); v.LoginBusy || v.Connection != "unconfigured" {
		t.Fatalf("a login went ahead with bad settings: %+v", v)
	}
}

func TestSettingsProblems(t *testing.T) {
	for _, tc := range []struct {
		mod   func(*client.Settings)
		field string
	}{
		{func(s *client.Settings) { s.GatewayURL = "127.0.0.1:7080" }, "gatewayUrl"},
		{func(s *client.Settings) { s.GatewayURL = "http://cti.example.com/ws" }, "gatewayUrl"},
		{func(s *client.Settings) { s.GatewayURL = "" }, "gatewayUrl"},
		{func(s *client.Settings) { s.GatewayURL = "ws://127.0.0.1:7080/ws#" }, "gatewayUrl"},
		{func(s *client.Settings) { s.ContactURLTemplate = "http://crm/customers/" }, "contactUrlTemplate"},
		{func(s *client.Settings) { s.CustomerLoad = "popup" }, "customerLoad"},
		{func(s *client.Settings) { s.DefaultCountry = "Cyprus" }, "defaultCountry"},
		{func(s *client.Settings) { s.MatchPolicy = "all" }, "matchPolicy"},
		{func(s *client.Settings) { s.PanelMode = "float" }, "panelMode"},
		{func(s *client.Settings) { s.PanelSelector = " " }, "panelSelector"},
	} {
		s := client.DefaultSettings()
		tc.mod(&s)
		p := s.Problems()
		if len(p) != 1 || p[0].Field != tc.field || p[0].Message == "" {
			t.Errorf("%+v: problems %+v, want one on %s", s, p, tc.field)
		}
	}
	if p := client.DefaultSettings().Problems(); len(p) != 0 {
		t.Fatalf("defaults have problems: %+v", p)
	}
}

// A panic in the core (here a host callback that throws, as a JavaScript
// exception does through syscall/js) is shown as a fault, and the core
// starts over and resumes the session.
func TestPanicIsReportedAndTheCoreRestarts(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{})
	var mu sync.Mutex
	var faults []string
	thrown, back, last := false, false, client.View{}
	changed := make(chan struct{}, 1)
	var core *client.Core
	core = client.New(client.Config{Settings: func() client.Settings {
		s := client.DefaultSettings()
		s.GatewayURL = sys.URL()
		return s
	}(), RestartDelay: 50 * time.Millisecond, MinBackoff: 50 * time.Millisecond,
		OnView: func(v client.View) {
			mu.Lock()
			defer mu.Unlock()
			last = v
			if v.Fault != "" {
				faults = append(faults, v.Fault)
			}
			back = back || (len(faults) > 0 && v.LoggedIn && v.Connection == "online")
			select {
			case changed <- struct{}{}:
			default:
			}
			if v.LoggedIn && v.Connection == "online" && !thrown {
				thrown = true
				panic("host view callback threw")
			}
		}})
	ctx, cancel := context.WithCancel(context.Background())
	go core.Run(ctx)
	t.Cleanup(func() { cancel(); core.Close() })
	core.Intent(client.Intent{Type: "login", Username: "alice", Password: "demo"})
	deadline := time.After(10 * time.Second)
	for {
		mu.Lock()
		ok := back
		mu.Unlock()
		if ok {
			break
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("never back online after the panic; faults %q, last %+v", faults, last)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(faults) == 0 || !strings.Contains(faults[0], "The CTI core stopped: host view callback threw") || !strings.Contains(faults[0], "Reloading") {
		t.Fatalf("faults %q", faults)
	}
}

func TestCloseIsSafeTwiceAndBeforeRun(t *testing.T) {
	c := client.New(client.Config{})
	c.Close()
	c.Close()
	c.Run(context.Background()) // returns at once: closed
}

// Defects 3, 4 and 5: a customer chosen from a search goes to the call
// in progress, never to one ringing beside it, and the card then names
// them; a typed number that is one customer's loads them on answer.
func TestChosenCustomerGoesToTheCallInProgress(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{})
	h := newHarness(t, sys.URL(), nil)
	h.core.Intent(client.Intent{Type: "login", Username: "grace", Password: "demo"})
	h.until("logged in", func(v client.View) bool { return v.LoggedIn && v.Connection == "online" })
	first, _ := sys.Sim.StartInbound("+35799000111", "1007")
	h.until("ringing, nobody has the number", func(v client.View) bool { c := callIn(v, "ringing"); return c != nil && c.NoMatch })
	h.core.Intent(client.Intent{Type: "answer", CallID: first.CallID})
	h.until("connected", func(v client.View) bool { return callIn(v, "connected") != nil })
	sys.Sim.SetDoNotDisturb("1007", false)
	if _, err := sys.Sim.StartInbound("+35722123456", "1007"); err != nil {
		t.Fatal(err)
	}
	h.until("second ringing", func(v client.View) bool { return callIn(v, "ringing") != nil })
	h.core.Intent(client.Intent{Type: "search", Query: "georgiou"})
	v := h.until("results", func(v client.View) bool { return len(v.Search.Results) > 0 && !v.Search.Busy })
	if v.CurrentCall != first.CallID {
		t.Fatalf("current call %q, want %q", v.CurrentCall, first.CallID)
	}
	pick := v.Search.Results[0]
	h.core.Intent(client.Intent{Type: "select", Contact: pick.Code})
	if e := h.effect("load"); e.Customer != pick.Code {
		t.Fatalf("load %+v", e)
	}
	v = h.until("chosen on the connected call", func(v client.View) bool { c := callIn(v, "connected"); return c != nil && c.Contact == pick.Code })
	if c := callIn(v, "connected"); c.Caller != pick.FullName || c.NoMatch {
		t.Fatalf("card after choosing by hand: %+v", c)
	}
	if c := callIn(v, "ringing"); c.Contact != "" {
		t.Fatalf("the ringing call got the customer: %+v", c)
	}
}

func TestTypedNumberOfOneCustomerLoadsOnAnswer(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{AutoAnswer: 100 * time.Millisecond})
	h := newHarness(t, sys.URL(), nil)
	h.core.Intent(client.Intent{Type: "login", Username: "henry", Password: "demo"})
	h.until("logged in", func(v client.View) bool { return v.LoggedIn && v.Connection == "online" })
	h.core.Intent(client.Intent{Type: "call", Number: "99 654321"}) // C000003's mobile, typed
	if e := h.effect("load"); e.Customer != "C000003" {
		t.Fatalf("load %+v", e)
	}
	h.until("the call carries the customer", func(v client.View) bool { c := callIn(v, "connected"); return c != nil && c.Contact == "C000003" })
}

// Shortcuts name no call: the core picks the one that can take the
// action, and Hold on a held call resumes it.
func TestShortcutsPickTheCall(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{})
	h := newHarness(t, sys.URL(), nil)
	h.core.Intent(client.Intent{Type: "login", Username: "alice", Password: "demo"})
	h.until("logged in", func(v client.View) bool { return v.LoggedIn && v.Connection == "online" })
	sys.Sim.StartInbound("+35722123456", "1001")
	h.until("ringing, identified", func(v client.View) bool { c := callIn(v, "ringing"); return c != nil && len(c.Matches) == 2 })
	h.core.Intent(client.Intent{Type: "answer"})
	h.until("connected", func(v client.View) bool { return callIn(v, "connected") != nil })
	h.core.Intent(client.Intent{Type: "hold"})
	h.until("held", func(v client.View) bool { c := callIn(v, "held"); return c != nil && c.HeldFrom != 0 })
	h.core.Intent(client.Intent{Type: "hold"})
	h.until("resumed", func(v client.View) bool { return callIn(v, "connected") != nil })
	h.core.Intent(client.Intent{Type: "hangup"})
	v := h.until("ended", func(v client.View) bool { return len(v.Calls) == 0 && len(v.Recent) == 1 })
	if r := v.Recent[0]; r.Missed || r.Name != "Andreas Constantinou" || r.When == "" {
		t.Fatalf("recent %+v", r)
	}
}

// An extension older than the gateway serves is told to update, in
// words, instead of failing in odd ways; a current one logs in.
func TestOlderExtensionIsToldToUpdate(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *app.Config) { c.MinExtensionVersion = "2.0.0" }})
	for _, tc := range []struct {
		version string
		ok      bool
	}{{"1.9.9", false}, {"2.0.1", true}} {
		views := make(chan client.View, 64)
		s := client.DefaultSettings()
		s.GatewayURL = sys.URL()
		core := client.New(client.Config{Settings: s, Tokens: &client.MemoryTokens{}, Version: tc.version,
			OnView: func(v client.View) {
				select {
				case views <- v:
				default:
				}
			}})
		ctx, cancel := context.WithCancel(context.Background())
		go core.Run(ctx)
		core.Intent(client.Intent{Type: "login", Username: "alice", Password: "demo"})
		deadline := time.After(20 * time.Second)
	wait:
		for {
			select {
			case v := <-views:
				if tc.ok && v.LoggedIn || !tc.ok && strings.Contains(strings.ToLower(v.LoginError), "update") {
					break wait
				}
				if v.LoggedIn && !tc.ok {
					t.Fatalf("version %s logged in past a minimum of 2.0.0", tc.version)
				}
			case <-deadline:
				t.Fatalf("version %s: no verdict", tc.version)
			}
		}
		cancel()
		core.Close()
	}
}

// A core started with a session's token (a restarted worker) says it is
// resuming until the session is back, never showing the agent logged
// out meanwhile; a token the gateway no longer knows ends the resuming
// and offers the login form.
func TestResumingUntilTheSessionIsBack(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{})
	first := newHarness(t, sys.URL(), nil)
	first.core.Intent(client.Intent{Type: "login", Username: "carol", Password: "demo"})
	first.until("logged in", func(v client.View) bool { return v.LoggedIn && v.Connection == "online" })
	first.core.Close()

	tokens := &client.MemoryTokens{}
	tokens.Save(first.tokens.Load())
	h := newHarnessConfig(t, client.Config{Tokens: tokens, MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond},
		func(s *client.Settings) { s.GatewayURL = sys.URL() })
	views := h.record()
	h.until("resumed", func(v client.View) bool { return v.LoggedIn && v.Connection == "online" })
	for _, v := range views() {
		if v.LoggedIn {
			break
		}
		if !v.Resuming {
			t.Fatalf("a view before the session was back does not say it is resuming: %+v", v)
		}
	}
	if v := h.core.View(); v.Resuming {
		t.Fatalf("still resuming once logged in: %+v", v)
	}

	stale := &client.MemoryTokens{}
	stale.Save("a token the gateway never issued")
	h = newHarnessConfig(t, client.Config{Tokens: stale, MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond},
		func(s *client.Settings) { s.GatewayURL = sys.URL() })
	h.until("the login form, the dead session dropped", func(v client.View) bool { return !v.LoggedIn && !v.Resuming && v.LoginError != "" })
}
