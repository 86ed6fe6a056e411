package core

import (
	"context"
	"strings"
	"sync"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/phone"
	"crmcti/gateway/wire"
)

// Conn is the gateway's end of one WebSocket of an agent's browser (the
// browser's end is wasm/client's Core). The transport feeds it frames
// with Handle and writes what Out yields; when Done closes, the transport
// says CloseReason and hangs up.
type Conn struct {
	s      *Service
	addr   string
	out    chan []byte
	done   chan struct{}
	once   sync.Once
	closed sync.Once

	mu     sync.Mutex
	st     *agentState
	tok    []byte
	reason wire.Error
}

// NewConn registers a connection from addr (the client's IP address,
// used for rate limiting and the audit log).
func (s *Service) NewConn(addr string) *Conn {
	s.clients.Add(1)
	s.obs.Clients(1)
	return &Conn{s: s, addr: addr, out: make(chan []byte, s.cfg.ClientQueue), done: make(chan struct{})}
}

// Out yields frames to write, in order.
func (c *Conn) Out() <-chan []byte { return c.out }

// Done is closed when the gateway ends the connection.
func (c *Conn) Done() <-chan struct{} { return c.done }

// CloseReason says why the gateway ended the connection.
func (c *Conn) CloseReason() wire.Error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reason
}

func (c *Conn) agentState() *agentState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st
}

func (c *Conn) tokenHash() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tok
}

func (c *Conn) setAgent(st *agentState, tok []byte) {
	c.mu.Lock()
	c.st, c.tok = st, tok
	c.mu.Unlock()
}

// send queues a frame without ever blocking: a client whose queue is full
// is disconnected (it resyncs from the snapshot when it reconnects), so
// one slow browser never delays the others or the switch's events.
func (c *Conn) send(b []byte) {
	select {
	case <-c.done:
		return
	default:
	}
	select {
	case c.out <- b:
	default:
		c.s.obs.ClientDropped("slow")
		c.close(wire.Error{Code: "too_slow", Message: "the connection fell behind; reconnecting"})
	}
}

func (c *Conn) close(reason wire.Error) {
	c.once.Do(func() {
		c.mu.Lock()
		c.reason = reason
		c.mu.Unlock()
		close(c.done)
	})
}

// Close is called by the transport when the connection is gone. Safe twice.
func (c *Conn) Close() {
	c.closed.Do(func() {
		c.close(wire.Error{Code: "closed", Message: "connection closed"})
		c.s.detach(c)
		c.s.clients.Add(-1)
		c.s.obs.Clients(-1)
	})
}

func (c *Conn) reply(typ, id string, data any) {
	b, err := wire.Encode(typ, id, data)
	if err != nil {
		c.s.log.Error("core: encode reply", "type", typ, "err", err)
		return
	}
	c.send(b)
}

func (c *Conn) replyErr(id string, err error) {
	c.reply(wire.TError, id, wire.Error{Code: string(gateway.ErrorCode(err)), Message: gateway.ErrorMessage(err)})
}

// Handle carries out one frame from the client. Bad frames get an
// "error" with code invalid_request and change nothing.
func (c *Conn) Handle(ctx context.Context, frame []byte) {
	start := time.Now()
	env, err := wire.Decode(frame)
	if err != nil {
		c.replyErr(env.ID, gateway.Wrap(gateway.ErrInvalidRequest, err, "malformed message"))
		c.s.obs.Command("malformed", gateway.ErrInvalidRequest, time.Since(start))
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	data, err := c.dispatch(ctx, env)
	code := gateway.Code("ok")
	if err != nil {
		code = gateway.ErrorCode(err)
		if code == gateway.ErrInternal {
			c.s.log.Error("core: command failed", "type", env.Type, "err", err)
		}
	}
	// Count first, so that whoever reads the reply also sees the metric.
	if env.Type == wire.TLogin || env.Type == wire.TResume {
		c.s.obs.Login(code, time.Since(start))
	} else {
		c.s.obs.Command(env.Type, code, time.Since(start))
	}
	if err != nil {
		c.replyErr(env.ID, err)
	} else if data != nil {
		c.reply(wire.TResult, env.ID, data)
	}
}

func decodeData[T any](env wire.Envelope) (T, error) {
	var v T
	if err := wire.DecodeData(env, &v); err != nil {
		return v, gateway.Wrap(gateway.ErrInvalidRequest, err, "malformed "+env.Type+" data")
	}
	return v, nil
}

type empty struct{}

// dispatch returns the result data, or nil when it replied itself.
func (c *Conn) dispatch(ctx context.Context, env wire.Envelope) (any, error) {
	s := c.s
	switch env.Type {
	case wire.TPing:
		return empty{}, nil
	case wire.TLogin:
		req, err := decodeData[wire.Login](env)
		if err != nil {
			return nil, err
		}
		sess, err := s.login(ctx, c, req.Username, req.Password)
		if err != nil {
			return nil, err
		}
		c.welcome(env.ID, sess)
		return nil, nil
	case wire.TResume:
		req, err := decodeData[wire.Resume](env)
		if err != nil {
			return nil, err
		}
		sess, err := s.resume(ctx, c, req.Token)
		if err != nil {
			return nil, err
		}
		c.welcome(env.ID, sess)
		return nil, nil
	}
	st := c.agentState()
	if st == nil {
		return nil, gateway.Errorf(gateway.ErrNotLoggedIn, "log in first")
	}
	dev := st.agent.Extension
	switch env.Type {
	case wire.TLogout:
		return empty{}, s.logout(ctx, c)
	case wire.TAnswer, wire.THangup, wire.THold, wire.TRetrieve:
		req, err := decodeData[wire.CallRef](env)
		if err != nil {
			return nil, err
		}
		act := map[string]gateway.Action{wire.TAnswer: gateway.ActAnswer, wire.THangup: gateway.ActHangup,
			wire.THold: gateway.ActHold, wire.TRetrieve: gateway.ActRetrieve}[env.Type]
		if err := c.allowed(act, req.CallID); err != nil {
			return nil, err
		}
		switch act {
		case gateway.ActAnswer:
			err = s.sw.Answer(ctx, dev, req.CallID)
		case gateway.ActHangup:
			err = s.sw.Clear(ctx, dev, req.CallID)
		case gateway.ActHold:
			err = s.sw.Hold(ctx, dev, req.CallID)
		case gateway.ActRetrieve:
			err = s.sw.Retrieve(ctx, dev, req.CallID)
		}
		s.auditf(c, env.Type+" "+req.CallID, err == nil, string(gateway.ErrorCode(err)))
		return empty{}, err
	case wire.TTransfer:
		req, err := decodeData[wire.Transfer](env)
		if err != nil {
			return nil, err
		}
		to := s.dialString(req.To)
		if to == "" {
			return nil, gateway.Errorf(gateway.ErrInvalidRequest, "no number to transfer to")
		}
		if err := c.allowed(gateway.ActTransfer, req.CallID); err != nil {
			return nil, err
		}
		err = s.sw.Transfer(ctx, dev, req.CallID, to)
		s.auditf(c, "transfer "+req.CallID+" to "+to, err == nil, string(gateway.ErrorCode(err)))
		return empty{}, err
	case wire.TDigits:
		req, err := decodeData[wire.Digits](env)
		if err != nil {
			return nil, err
		}
		if !validDTMF(req.Digits) {
			return nil, gateway.Errorf(gateway.ErrInvalidRequest, "tones are 1 to 32 of 0-9, *, # and A-D")
		}
		if err := c.allowed(gateway.ActDigits, req.CallID); err != nil {
			return nil, err
		}
		err = s.sw.SendDigits(ctx, dev, req.CallID, req.Digits)
		s.auditf(c, "digits "+req.CallID, err == nil, string(gateway.ErrorCode(err)))
		return empty{}, err
	case wire.TConsult:
		req, err := decodeData[wire.Transfer](env)
		if err != nil {
			return nil, err
		}
		to := s.dialString(req.To)
		if to == "" || to == dev {
			return nil, gateway.Errorf(gateway.ErrInvalidRequest, "no number to consult")
		}
		if err := c.allowed(gateway.ActConsult, req.CallID); err != nil {
			return nil, err
		}
		id, err := s.sw.Consult(ctx, dev, req.CallID, to)
		s.auditf(c, "consult "+req.CallID+" with "+to, err == nil, string(gateway.ErrorCode(err)))
		if err != nil {
			return nil, err
		}
		return wire.CallStarted{CallID: id}, nil
	case wire.TComplete, wire.TConfer:
		req, err := decodeData[wire.Join](env)
		if err != nil {
			return nil, err
		}
		if err := c.allowed(gateway.ActComplete, req.CallID); err != nil {
			return nil, err
		}
		if err := c.allowed(gateway.ActHangup, req.With); err != nil { // the consultation must be the agent's too
			return nil, err
		}
		err = s.sw.Complete(ctx, dev, req.CallID, req.With, env.Type == wire.TConfer)
		s.auditf(c, env.Type+" "+req.CallID+" with "+req.With, err == nil, string(gateway.ErrorCode(err)))
		return empty{}, err
	case wire.TCall:
		req, err := decodeData[wire.CallRequest](env)
		if err != nil {
			return nil, err
		}
		number := s.dialString(req.Number)
		if number == "" || number == dev {
			return nil, gateway.Errorf(gateway.ErrInvalidRequest, "not a number that can be called: %q", req.Number)
		}
		if err := c.allowed(gateway.ActCall, ""); err != nil {
			return nil, err
		}
		if req.Contact != "" {
			s.mu.Lock()
			s.pending[dev+"/next"] = req.Contact
			s.mu.Unlock()
		}
		id, err := s.sw.MakeCall(ctx, dev, number)
		s.auditf(c, "call "+number, err == nil, string(gateway.ErrorCode(err)))
		if req.Contact != "" {
			s.mu.Lock()
			_, unused := s.pending[dev+"/next"]
			delete(s.pending, dev+"/next")
			s.mu.Unlock()
			if unused && err == nil {
				s.selectContact(dev, id, req.Contact)
			}
		}
		if err != nil {
			return nil, err
		}
		return wire.CallStarted{CallID: id}, nil
	case wire.TStatus:
		req, err := decodeData[wire.StatusRequest](env)
		if err != nil {
			return nil, err
		}
		status := gateway.Status(req.Status)
		if !status.Valid() {
			return nil, gateway.Errorf(gateway.ErrInvalidRequest, "status must be available or busy")
		}
		// The switch echoes the change as an event, which may arrive
		// before SetStatus returns: mark it as ours so that it is not
		// reported as a change made on the phone.
		s.mu.Lock()
		st.settingStatus = status
		s.mu.Unlock()
		err = s.sw.SetStatus(ctx, dev, st.agent.Username, status)
		s.mu.Lock()
		st.settingStatus = ""
		s.mu.Unlock()
		if err != nil {
			s.auditf(c, "status "+req.Status, false, string(gateway.ErrorCode(err)))
			return nil, err
		}
		s.mu.Lock()
		if st.status != status {
			st.status = status
			s.broadcastLocked(st, wire.TStatusEv, wire.StatusEvent{Status: string(status), Source: "panel"})
		}
		s.mu.Unlock()
		s.auditf(c, "status "+req.Status, true, "")
		return empty{}, nil
	case wire.TLookup:
		req, err := decodeData[wire.Lookup](env)
		if err != nil {
			return nil, err
		}
		ms, err := s.lookup(ctx, req.Number)
		if err != nil {
			return nil, err
		}
		return wire.LookupResult{Matches: ms}, nil
	case wire.TSearch:
		req, err := decodeData[wire.Search](env)
		if err != nil {
			return nil, err
		}
		q := strings.TrimSpace(req.Query)
		if q == "" || len(q) > 200 {
			return nil, gateway.Errorf(gateway.ErrInvalidRequest, "search needs 1 to 200 characters")
		}
		size := req.PageSize
		if size <= 0 || size > 100 {
			size = 20
		}
		page := max(req.Page, 0)
		cs, more, err := s.store.SearchContacts(ctx, q, page*size, size)
		if err != nil {
			return nil, gateway.Wrap(gateway.ErrDatabaseDown, err, "search is unavailable")
		}
		res := wire.SearchResult{Contacts: []wire.Contact{}, More: more}
		for _, x := range cs {
			res.Contacts = append(res.Contacts, contactToWire(x))
		}
		return res, nil
	case wire.TSelect:
		req, err := decodeData[wire.Select](env)
		if err != nil {
			return nil, err
		}
		if req.Contact == "" || len(req.Contact) > 100 {
			return nil, gateway.Errorf(gateway.ErrInvalidRequest, "no contact chosen")
		}
		if err := c.ownsRecent(req.CallID); err != nil {
			return nil, err
		}
		s.selectContact(dev, req.CallID, req.Contact)
		return empty{}, nil
	case wire.TRecent:
		req, err := decodeData[wire.Recent](env)
		if err != nil {
			return nil, err
		}
		limit := req.Limit
		if limit <= 0 || limit > 100 {
			limit = 20
		}
		calls, err := s.store.RecentCalls(ctx, st.agent.Username, limit)
		if err != nil {
			return nil, gateway.Wrap(gateway.ErrDatabaseDown, err, "recent calls are unavailable")
		}
		res := wire.RecentResult{Calls: []wire.Call{}}
		for _, x := range calls {
			res.Calls = append(res.Calls, toWire(x))
		}
		return res, nil
	}
	return nil, gateway.Errorf(gateway.ErrInvalidRequest, "unknown message type %q", env.Type)
}

// welcome sends the session and the snapshot that always follows it.
func (c *Conn) welcome(id string, sess wire.Session) {
	c.reply(wire.TSession, id, sess)
	// The snapshot is queued under the lock that every broadcast takes:
	// an event that happens after it is taken goes out after it, never
	// before (the client would apply it and then lose it to the snapshot).
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	var snap wire.Snapshot
	if st := c.agentState(); st != nil {
		snap = s.snapshotLocked(st)
	}
	c.reply(wire.TSnapshot, "", snap)
}

// allowed applies the rules: the call must be the agent's own, and the
// action must fit its state and the agent's other calls.
func (c *Conn) allowed(act gateway.Action, callID string) error {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	st := c.st
	if st == nil {
		return gateway.Errorf(gateway.ErrNotLoggedIn, "log in first")
	}
	calls := make([]gateway.Call, 0, len(st.calls))
	for _, w := range st.calls {
		calls = append(calls, fromWire(*w))
	}
	var target *gateway.Call
	if act != gateway.ActCall {
		w, ok := st.calls[callID]
		if !ok {
			if s.someoneElsesLocked(st, callID) {
				s.audit.add(gateway.AuditEntry{At: time.Now(), Username: st.agent.Username, Client: c.addr, Action: string(act) + " " + callID, Detail: "not your call"})
				return gateway.Errorf(gateway.ErrNotYourCall, "that call is not at your phone")
			}
			return gateway.Errorf(gateway.ErrNoSuchCall, "no such call (it may have ended)")
		}
		g := fromWire(*w)
		target = &g
	}
	if err := gateway.CheckAction(act, target, calls); err != nil {
		s.audit.add(gateway.AuditEntry{At: time.Now(), Username: st.agent.Username, Client: c.addr, Action: string(act) + " " + callID, Detail: string(gateway.ErrorCode(err))})
		return err
	}
	return nil
}

func (s *Service) someoneElsesLocked(me *agentState, callID string) bool {
	for _, a := range s.agents {
		if a == me {
			continue
		}
		if _, ok := a.calls[callID]; ok {
			return true
		}
	}
	return false
}

// ownsRecent accepts a live or recently ended call of the agent: the
// caller is often chosen while or just after talking.
func (c *Conn) ownsRecent(callID string) error {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	st := c.st
	if _, ok := st.calls[callID]; ok {
		return nil
	}
	for _, r := range st.recent {
		if r.ID == callID {
			return nil
		}
	}
	if s.someoneElsesLocked(st, callID) {
		return gateway.Errorf(gateway.ErrNotYourCall, "that call is not at your phone")
	}
	return gateway.Errorf(gateway.ErrNoSuchCall, "no such call")
}

// selectContact records the contact on the call (R5) and tells every tab.
func (s *Service) selectContact(dev, callID, contact string) {
	s.mu.Lock()
	st, ok := s.byDevice[dev]
	if !ok {
		s.mu.Unlock()
		return
	}
	var w *wire.Call
	if x, ok := st.calls[callID]; ok {
		w = x
	} else {
		for _, r := range st.recent {
			if r.ID == callID {
				w = r
			}
		}
	}
	if w == nil {
		// The call has not been reported yet (MakeCall answers before
		// the events): apply when it appears.
		s.pending[dev+"/"+callID] = contact
		s.mu.Unlock()
		return
	}
	w.Contact = contact
	s.broadcastLocked(st, wire.TCallEvent, wire.CallEvent{Event: string(gateway.EvContact), Call: *w})
	entry := gateway.LogEntry{Call: fromWire(*w), Username: st.agent.Username, Event: gateway.EvContact, At: time.Now(), Detail: contact}
	s.mu.Unlock()
	s.calllog.add(entry)
}

// dialString turns what an agent typed or clicked into what the switch
// dials: E.164 when the number parses, otherwise its dialable characters
// (extensions, short codes).
func (s *Service) dialString(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > 64 {
		return ""
	}
	if n := phone.Normalize(raw, s.cfg.Region); n.E164 != "" {
		return n.E164
	}
	var b strings.Builder
	for _, r := range raw {
		if r >= '0' && r <= '9' || r == '*' || r == '#' || (r == '+' && b.Len() == 0) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// validDTMF accepts what a telephone keypad (and its rarely used A-D
// column) can send.
func validDTMF(d string) bool {
	if d == "" || len(d) > 32 {
		return false
	}
	for _, r := range d {
		if !(r >= '0' && r <= '9' || r == '*' || r == '#' || r >= 'A' && r <= 'D') {
			return false
		}
	}
	return true
}
