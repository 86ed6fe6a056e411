// Package client is the extension's core: one WebSocket to the gateway per
// browser, login and resume, reconnection with backoff, the agent's and
// calls' state, the rules that enable each control (the gateway's own,
// from package gateway), the caller list, and the view model every panel
// renders. It builds natively and for GOOS=js, so that its tests run on
// the host against a real gateway; package main in wasm/ only bridges it
// to JavaScript.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/wire"
)

// Settings are the extension's effective settings: the admin's policy
// (chrome.storage.managed) over the user's options over the defaults.
type Settings struct {
	GatewayURL string `json:"gatewayUrl"`
	// CustomerLoad is "url" (open ContactURLTemplate) or "search" (fill
	// the Communication Centre's search field and press its button).
	CustomerLoad         string   `json:"customerLoad"`
	ContactURLTemplate   string   `json:"contactUrlTemplate"`
	SearchFieldSelector  string   `json:"searchFieldSelector"`
	SearchSubmitSelector string   `json:"searchSubmitSelector"`
	CRMURLPatterns       []string `json:"crmUrlPatterns"`
	DefaultCountry       string   `json:"defaultCountry"`
	// MatchPolicy "list" shows every match; "single" also loads the
	// customer at once when exactly one matches.
	MatchPolicy string `json:"matchPolicy"`
}

// DefaultSettings work with `make demo`.
func DefaultSettings() Settings {
	return Settings{GatewayURL: "ws://127.0.0.1:7080/ws", CustomerLoad: "url",
		ContactURLTemplate: "http://127.0.0.1:7081/customers/{code}", SearchFieldSelector: "#cc-search",
		SearchSubmitSelector: "#cc-search-btn", CRMURLPatterns: []string{"http://127.0.0.1:7081/*"},
		DefaultCountry: "CY", MatchPolicy: "list"}
}

// TokenStore keeps the session token across service-worker restarts
// (chrome.storage.session in the browser).
type TokenStore interface {
	Load() string
	Save(token string)
}

// MemoryTokens is a TokenStore for tests.
type MemoryTokens struct {
	mu  sync.Mutex
	tok string
}

// Load implements TokenStore.
func (m *MemoryTokens) Load() string { m.mu.Lock(); defer m.mu.Unlock(); return m.tok }

// Save implements TokenStore.
func (m *MemoryTokens) Save(t string) { m.mu.Lock(); m.tok = t; m.mu.Unlock() }

// Effect is something the core asks the browser to do.
type Effect struct {
	// Kind is "notify" (a call rings: show a notification with Accept),
	// "unnotify" (it stopped ringing), or "load" (show a customer on the
	// Communication Centre).
	Kind   string `json:"kind"`
	CallID string `json:"callId,omitempty"`
	Title  string `json:"title,omitempty"`
	Body   string `json:"body,omitempty"`
	// For "load": Mode "url" with URL, or "search" with the selectors and
	// the Value to type.
	Mode     string `json:"mode,omitempty"`
	URL      string `json:"url,omitempty"`
	Field    string `json:"field,omitempty"`
	Submit   string `json:"submit,omitempty"`
	Value    string `json:"value,omitempty"`
	Customer string `json:"customer,omitempty"`
}

// Intent is what the agent asked for in a panel.
type Intent struct {
	Type     string `json:"type"` // login, logout, call, answer, hangup, hold, retrieve, transfer, consult, complete, conference, status, search, select, recent, dismiss, ignore
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	Number   string `json:"number,omitempty"`
	Contact  string `json:"contact,omitempty"`
	CallID   string `json:"callId,omitempty"`
	To       string `json:"to,omitempty"`
	With     string `json:"with,omitempty"`
	Digits   string `json:"digits,omitempty"`
	Status   string `json:"status,omitempty"`
	Query    string `json:"query,omitempty"`
	Page     int    `json:"page,omitempty"`
}

// Config sets up a Core.
type Config struct {
	Settings Settings
	Tokens   TokenStore
	// OnView receives the view after every change, from the core's
	// goroutine; it must not block for long.
	OnView   func(View)
	OnEffect func(Effect)
	// MinBackoff and MaxBackoff bound reconnect delays (1s, 30s).
	MinBackoff, MaxBackoff time.Duration
	// Silence is how long without any frame (heartbeats come every 20s)
	// before the connection is taken for dead (default 45s).
	Silence time.Duration
}

// Core is the extension's state machine.
type Core struct {
	cfg     Config
	intents chan Intent
	wake    chan struct{}
	done    chan struct{}
	cancel  context.CancelFunc

	mu sync.Mutex // guards st for View()
	st state
}

// New builds a core; Run starts it.
func New(cfg Config) *Core {
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.Silence <= 0 {
		cfg.Silence = 45 * time.Second
	}
	if cfg.Tokens == nil {
		cfg.Tokens = &MemoryTokens{}
	}
	if cfg.OnView == nil {
		cfg.OnView = func(View) {}
	}
	if cfg.OnEffect == nil {
		cfg.OnEffect = func(Effect) {}
	}
	c := &Core{cfg: cfg, intents: make(chan Intent, 64), wake: make(chan struct{}, 1), done: make(chan struct{})}
	c.st = newState(cfg.Settings)
	return c
}

// Intent queues what the agent asked for; it never blocks the caller (a
// click beyond 64 pending ones is dropped, which no person can do).
func (c *Core) Intent(in Intent) {
	select {
	case c.intents <- in:
	default:
	}
}

// Reconnect asks for an immediate reconnect (the network came back, the
// worker woke up).
func (c *Core) Reconnect() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// View returns the current view.
func (c *Core) View() View {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.view(time.Now())
}

// Close stops the core and its connection.
func (c *Core) Close() {
	if c.cancel != nil {
		c.cancel()
	}
	<-c.done
}

// errLoggedOut ends a connection after logout or a dead session.
var errLoggedOut = errors.New("logged out")

// Run connects and serves until ctx ends or Close. It owns the state.
func (c *Core) Run(ctx context.Context) {
	ctx, c.cancel = context.WithCancel(ctx)
	defer close(c.done)
	backoff := c.cfg.MinBackoff
	for ctx.Err() == nil {
		// Without a token and without a login to send, there is nothing
		// to connect for: wait for the agent.
		var pendingLogin *Intent
		if c.cfg.Tokens.Load() == "" {
			c.update(func(s *state) { s.conn = connIdle })
			in, ok := c.waitLogin(ctx)
			if !ok {
				return
			}
			pendingLogin = &in
		}
		c.update(func(s *state) {
			if s.conn != connReconnecting {
				s.conn = connConnecting
			}
		})
		err := c.session(ctx, pendingLogin, &backoff)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errLoggedOut) {
			backoff = c.cfg.MinBackoff
			continue
		}
		c.update(func(s *state) {
			s.conn = connReconnecting
			if err != nil {
				s.connErr = err.Error()
			}
		})
		delay := backoff + time.Duration(rand.Int64N(int64(backoff)/4+1))
		backoff = min(backoff*2, c.cfg.MaxBackoff)
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
			backoff = c.cfg.MinBackoff
		case <-time.After(delay):
		}
	}
}

// waitLogin serves intents while logged out until a login comes.
func (c *Core) waitLogin(ctx context.Context) (Intent, bool) {
	for {
		select {
		case <-ctx.Done():
			return Intent{}, false
		case <-c.wake:
		case in := <-c.intents:
			if in.Type == wire.TLogin {
				if strings.TrimSpace(in.Username) == "" || in.Password == "" {
					c.update(func(s *state) { s.loginErr = "Enter your username and password." })
					continue
				}
				c.update(func(s *state) { s.loginBusy, s.loginErr = true, "" })
				return in, true
			}
			c.local(in)
		}
	}
}

// local handles intents that need no gateway.
func (c *Core) local(in Intent) {
	switch in.Type {
	case "dismiss":
		c.update(func(s *state) { s.notice = "" })
	case "ignore":
		c.update(func(s *state) { s.ignored[in.CallID] = true })
		c.cfg.OnEffect(Effect{Kind: "unnotify", CallID: in.CallID})
	}
}

func (c *Core) update(f func(*state)) {
	c.mu.Lock()
	f(&c.st)
	v := c.st.view(time.Now())
	c.mu.Unlock()
	c.cfg.OnView(v)
}

type frame struct {
	env wire.Envelope
	err error
}

// session runs one connection: hello (login or resume), then frames and
// intents until it breaks.
func (c *Core) session(ctx context.Context, login *Intent, backoff *time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := dial(dctx, c.cfg.Settings.GatewayURL, wire.Subprotocol)
	dcancel()
	if err != nil {
		if login != nil {
			c.update(func(s *state) {
				s.loginBusy, s.loginErr = false, "Cannot reach the CTI gateway. Check the network and try again."
			})
		}
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	frames := make(chan frame, 256)
	go func() {
		for {
			b, err := conn.Read(ctx)
			if err != nil {
				frames <- frame{err: err}
				return
			}
			env, err := wire.Decode(b)
			select {
			case frames <- frame{env: env, err: err}:
			case <-ctx.Done():
				return
			}
		}
	}()
	out := &sender{conn: conn, ctx: ctx, pending: map[string]Intent{}}
	if login != nil {
		out.send(wire.TLogin, wire.Login{Username: login.Username, Password: login.Password}, *login)
	} else {
		out.send(wire.TResume, wire.Resume{Token: c.cfg.Tokens.Load()}, Intent{Type: wire.TResume})
	}
	silence := time.NewTimer(c.cfg.Silence)
	defer silence.Stop()
	tick := time.NewTicker(time.Second) // call timers in the view
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.wake:
			return errors.New("reconnect requested")
		case <-silence.C:
			return errors.New("no heartbeat from the gateway")
		case <-tick.C:
			if c.hasLiveCalls() {
				c.update(func(*state) {})
			}
		case in := <-c.intents:
			if err := c.intent(out, in); err != nil {
				return err
			}
		case f := <-frames:
			if f.err != nil {
				return f.err
			}
			silence.Reset(c.cfg.Silence)
			if err := c.frame(out, f.env); err != nil {
				return err
			}
			if f.env.Type == wire.TSnapshot {
				*backoff = c.cfg.MinBackoff
			}
		}
	}
}

func (c *Core) hasLiveCalls() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.st.calls) > 0
}

// sender writes commands and remembers what each id asked for.
type sender struct {
	conn    conn
	ctx     context.Context
	n       int
	pending map[string]Intent
}

func (o *sender) send(typ string, data any, in Intent) error {
	o.n++
	id := strconv.Itoa(o.n)
	b, err := wire.Encode(typ, id, data)
	if err != nil {
		return err
	}
	o.pending[id] = in
	wctx, cancel := context.WithTimeout(o.ctx, 10*time.Second)
	defer cancel()
	return o.conn.Write(wctx, b)
}

// intent turns a panel intent into a command, after checking the same
// rules the gateway will (so a disabled button is never sent).
func (c *Core) intent(out *sender, in Intent) error {
	c.mu.Lock()
	loggedIn := c.st.agent != nil
	c.mu.Unlock()
	switch in.Type {
	case "dismiss", "ignore":
		c.local(in)
		return nil
	case wire.TLogin:
		if loggedIn {
			return nil
		}
		c.update(func(s *state) { s.loginBusy, s.loginErr = true, "" })
		return out.send(wire.TLogin, wire.Login{Username: in.Username, Password: in.Password}, in)
	}
	if !loggedIn {
		return nil
	}
	// Call actions are checked against the gateway's rules first, so a
	// disabled button is never sent; the notice says why.
	if act, ok := callActions[in.Type]; ok {
		c.mu.Lock()
		ctl := c.st.control(in.CallID, act)
		c.mu.Unlock()
		if !ctl.Enabled {
			c.update(func(s *state) { s.notice = ctl.Reason })
			return nil
		}
		if ask, needsNumber := numberPrompt[in.Type]; needsNumber && strings.TrimSpace(in.To) == "" {
			c.update(func(s *state) { s.notice = ask })
			return nil
		}
	}
	var typ string
	var data any
	switch in.Type {
	case wire.TLogout:
		typ, data = wire.TLogout, struct{}{}
	case wire.TAnswer, wire.THangup, wire.THold, wire.TRetrieve:
		typ, data = in.Type, wire.CallRef{CallID: in.CallID}
	case wire.TTransfer, wire.TConsult:
		typ, data = in.Type, wire.Transfer{CallID: in.CallID, To: in.To}
	case wire.TDigits:
		typ, data = wire.TDigits, wire.Digits{CallID: in.CallID, Digits: strings.ToUpper(strings.TrimSpace(in.Digits))}
	case wire.TComplete, wire.TConfer:
		typ, data = in.Type, wire.Join{CallID: in.CallID, With: in.With}
	case wire.TCall:
		c.mu.Lock()
		ctl := c.st.callControl()
		c.mu.Unlock()
		if !ctl.Enabled || strings.TrimSpace(in.Number) == "" {
			reason := ctl.Reason
			if reason == "" {
				reason = "Enter a number to call."
			}
			c.update(func(s *state) { s.notice = reason })
			return nil
		}
		typ, data = wire.TCall, wire.CallRequest{Number: in.Number, Contact: in.Contact}
	case wire.TStatus:
		typ, data = wire.TStatus, wire.StatusRequest{Status: in.Status}
	case wire.TSearch:
		if strings.TrimSpace(in.Query) == "" {
			return nil
		}
		c.update(func(s *state) { s.search = searchState{query: in.Query, page: in.Page, busy: true} })
		typ, data = wire.TSearch, wire.Search{Query: in.Query, Page: in.Page, PageSize: 10}
	case wire.TSelect:
		typ, data = wire.TSelect, wire.Select{CallID: in.CallID, Contact: in.Contact}
		c.loadCustomer(in.Contact)
	case wire.TRecent:
		typ, data = wire.TRecent, wire.Recent{Limit: 10}
	default:
		return nil
	}
	return out.send(typ, data, in)
}

// callActions are the intents on one call, with the rule that guards each.
var callActions = map[string]gateway.Action{
	wire.TAnswer: gateway.ActAnswer, wire.THangup: gateway.ActHangup, wire.THold: gateway.ActHold,
	wire.TRetrieve: gateway.ActRetrieve, wire.TTransfer: gateway.ActTransfer, wire.TDigits: gateway.ActDigits,
	wire.TConsult: gateway.ActConsult, wire.TComplete: gateway.ActComplete, wire.TConfer: gateway.ActComplete,
}

// numberPrompt is what to ask for when a call action needs a number.
var numberPrompt = map[string]string{
	wire.TTransfer: "Enter the number to transfer to.",
	wire.TConsult:  "Enter the number to consult.",
}

// loadCustomer asks the browser to show the customer on the CRM screen
// (R5, R8), the way the policy says.
func (c *Core) loadCustomer(code string) {
	if code == "" {
		return
	}
	s := c.cfg.Settings
	if s.CustomerLoad == "search" {
		c.cfg.OnEffect(Effect{Kind: "load", Mode: "search", Field: s.SearchFieldSelector, Submit: s.SearchSubmitSelector, Value: code, Customer: code})
		return
	}
	u := strings.ReplaceAll(s.ContactURLTemplate, "{code}", url.PathEscape(code))
	c.cfg.OnEffect(Effect{Kind: "load", Mode: "url", URL: u, Customer: code})
}

// frame applies one message from the gateway.
func (c *Core) frame(out *sender, env wire.Envelope) error {
	req, isReply := out.pending[env.ID]
	if env.ID != "" {
		delete(out.pending, env.ID)
	}
	switch env.Type {
	case wire.TSession:
		var s wire.Session
		if err := wire.DecodeData(env, &s); err != nil {
			return err
		}
		c.cfg.Tokens.Save(s.Token)
		c.update(func(st *state) {
			st.loginBusy, st.loginErr, st.connErr = false, "", ""
			a := s.Agent
			st.agent = &a
		})
	case wire.TSnapshot:
		var s wire.Snapshot
		if err := wire.DecodeData(env, &s); err != nil {
			return err
		}
		c.update(func(st *state) { st.applySnapshot(s) })
		for _, call := range s.Calls {
			c.notifyRinging(call)
		}
	case wire.TCallEvent:
		var ce wire.CallEvent
		if err := wire.DecodeData(env, &ce); err != nil {
			return err
		}
		var prev *wire.Call
		c.update(func(st *state) { prev = st.applyCall(ce) })
		c.afterCall(prev, ce)
	case wire.TStatusEv:
		var s wire.StatusEvent
		if err := wire.DecodeData(env, &s); err != nil {
			return err
		}
		c.update(func(st *state) { st.status = s.Status })
	case wire.TLink:
		var l wire.Link
		if err := wire.DecodeData(env, &l); err != nil {
			return err
		}
		c.update(func(st *state) { st.pbx = l.PBX })
	case wire.TBye:
		var e wire.Error
		_ = wire.DecodeData(env, &e)
		if e.Code == string(gateway.ErrSessionExpired) {
			c.cfg.Tokens.Save("")
			c.update(func(st *state) { st.reset(); st.loginErr = e.Message })
			return errLoggedOut
		}
		return fmt.Errorf("gateway: %s", e.Message)
	case wire.TError:
		var e wire.Error
		_ = wire.DecodeData(env, &e)
		return c.failed(req, isReply, e)
	case wire.TResult:
		return c.result(req, env)
	}
	return nil
}

// failed handles an error reply.
func (c *Core) failed(req Intent, isReply bool, e wire.Error) error {
	switch {
	case isReply && (req.Type == wire.TLogin || req.Type == wire.TResume):
		c.update(func(st *state) {
			st.loginBusy = false
			if req.Type == wire.TLogin {
				st.loginErr = e.Message
			}
		})
		if e.Code == string(gateway.ErrSessionExpired) || req.Type == wire.TLogin {
			// A dead token is dropped; the agent logs in again.
			c.cfg.Tokens.Save("")
			c.update(func(st *state) { st.reset(); st.loginErr = e.Message })
			return errLoggedOut
		}
		return fmt.Errorf("resume: %s", e.Message)
	case isReply && req.Type == wire.TSearch:
		c.update(func(st *state) { st.search.busy, st.search.err = false, e.Message })
	default:
		c.update(func(st *state) { st.notice = e.Message })
	}
	return nil
}

func (c *Core) result(req Intent, env wire.Envelope) error {
	switch req.Type {
	case wire.TLogout:
		c.cfg.Tokens.Save("")
		c.update(func(st *state) { st.reset() })
		return errLoggedOut
	case wire.TSearch:
		var r wire.SearchResult
		if err := wire.DecodeData(env, &r); err != nil {
			return err
		}
		c.update(func(st *state) {
			st.search.busy, st.search.results, st.search.more, st.search.err = false, r.Contacts, r.More, ""
		})
	case wire.TRecent:
		var r wire.RecentResult
		if err := wire.DecodeData(env, &r); err != nil {
			return err
		}
		c.update(func(st *state) { st.recent = r.Calls })
	case wire.TCall:
		if req.Contact != "" {
			c.mu.Lock()
			c.st.outboundContact = req.Contact
			c.mu.Unlock()
		}
	}
	return nil
}

// afterCall turns call changes into effects: notifications while ringing
// (B2), the customer on screen when an outbound call to a contact is
// answered (R8) or when the only match of a caller is known and the policy
// says "single".
func (c *Core) afterCall(prev *wire.Call, ce wire.CallEvent) {
	call := ce.Call
	wasRinging := prev != nil && prev.State == string(gateway.CallRinging)
	if call.State == string(gateway.CallRinging) {
		c.notifyRinging(call)
	} else if wasRinging {
		c.cfg.OnEffect(Effect{Kind: "unnotify", CallID: call.ID})
	}
	if ce.Event == string(gateway.EvAnswered) && call.Direction == string(gateway.Outbound) && call.Contact != "" {
		c.loadCustomer(call.Contact)
	}
	if ce.Event == "identified" && c.cfg.Settings.MatchPolicy == "single" && len(call.Matches) == 1 && call.Contact == "" &&
		call.State == string(gateway.CallConnected) {
		c.loadCustomer(call.Matches[0].Contact.Code)
	}
}

func (c *Core) notifyRinging(call wire.Call) {
	if call.State != string(gateway.CallRinging) {
		return
	}
	c.mu.Lock()
	ignored := c.st.ignored[call.ID]
	c.mu.Unlock()
	if ignored {
		return
	}
	c.cfg.OnEffect(Effect{Kind: "notify", CallID: call.ID, Title: "Incoming call", Body: callerLine(call)})
}

// callerLine names the caller as well as the matches allow.
func callerLine(call wire.Call) string {
	who := call.Remote
	if who == "" {
		who = "unknown number"
	}
	switch len(call.Matches) {
	case 0:
		return who
	case 1:
		return call.Matches[0].Contact.FullName + " · " + who
	default:
		return fmt.Sprintf("%s · %d possible callers", who, len(call.Matches))
	}
}

// MarshalView is the view as the panels receive it.
func MarshalView(v View) []byte {
	b, _ := json.Marshal(v)
	return b
}
