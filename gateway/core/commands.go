package core

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/phone"
	"crmcti/gateway/wire"
)

// request is one command being carried out: the connection it came on,
// the agent logged in there (nil before login) and the frame's id, which
// the reply echoes.
type request struct {
	*Conn
	agent *agentState
	id    string
}

// device is the agent's phone.
func (r request) device() string { return r.agent.agent.Extension }

// handler carries out one message type. It returns the "result" data, or
// nil when it replied itself.
type handler struct {
	public bool // allowed before login
	run    func(s *Service, ctx context.Context, r request, env wire.Envelope) (any, error)
}

// handle adapts a handler of T, the message's data, decoded once here.
func handle[T any](f func(s *Service, ctx context.Context, r request, req T) (any, error)) handler {
	return handler{run: func(s *Service, ctx context.Context, r request, env wire.Envelope) (any, error) {
		var req T
		if err := wire.DecodeData(env, &req); err != nil {
			return nil, gateway.Wrap(gateway.CodeInvalidRequest, err, "malformed "+env.Type+" data")
		}
		if err := checkFields(env.Type, req); err != nil {
			return nil, err
		}
		return f(s, ctx, r, req)
	}}
}

// public marks a handler that needs no login.
func public(h handler) handler {
	h.public = true
	return h
}

// onPhone marks a handler that asks the switch about the agent's phone:
// it waits until the phone is monitored after her login (awaitPhone).
func onPhone(h handler) handler {
	run := h.run
	h.run = func(s *Service, ctx context.Context, r request, env wire.Envelope) (any, error) {
		if err := s.awaitPhone(ctx, r.agent); err != nil {
			return nil, err
		}
		return run(s, ctx, r, env)
	}
	return h
}

// commands routes every message type a client may send to its handler.
var commands = map[string]handler{
	wire.TPing:     public(handle((*Service).ping)),
	wire.TLogin:    public(handle((*Service).login)),
	wire.TResume:   public(handle((*Service).resume)),
	wire.TLogout:   handle((*Service).logout),
	wire.TAnswer:   onPhone(handle((*Service).answer)),
	wire.THangup:   onPhone(handle((*Service).hangup)),
	wire.THold:     onPhone(handle((*Service).hold)),
	wire.TRetrieve: onPhone(handle((*Service).retrieve)),
	wire.TTransfer: onPhone(handle((*Service).transfer)),
	wire.TDigits:   onPhone(handle((*Service).digits)),
	wire.TConsult:  onPhone(handle((*Service).consult)),
	wire.TComplete: onPhone(handle(join(false))),
	wire.TConfer:   onPhone(handle(join(true))),
	wire.TCall:     onPhone(handle((*Service).call)),
	wire.TStatus:   onPhone(handle((*Service).status)),
	wire.TLookup:   handle((*Service).lookupNumber),
	wire.TSearch:   handle((*Service).search),
	wire.TSelect:   handle((*Service).choose),
	wire.TRecent:   handle((*Service).recent),
	wire.TNote:     handle((*Service).note),
}

// empty is the data of a result that says only "done".
type empty struct{}

// anyData is the data of a message whose data is ignored.
type anyData = json.RawMessage

func (s *Service) ping(context.Context, request, anyData) (any, error) { return empty{}, nil }

func (s *Service) answer(ctx context.Context, r request, req wire.CallRef) (any, error) {
	return s.control(ctx, r, gateway.ActAnswer, req.CallID, s.sw.Answer)
}

func (s *Service) hangup(ctx context.Context, r request, req wire.CallRef) (any, error) {
	return s.control(ctx, r, gateway.ActHangup, req.CallID, s.sw.Clear)
}

func (s *Service) hold(ctx context.Context, r request, req wire.CallRef) (any, error) {
	return s.control(ctx, r, gateway.ActHold, req.CallID, s.sw.Hold)
}

func (s *Service) retrieve(ctx context.Context, r request, req wire.CallRef) (any, error) {
	return s.control(ctx, r, gateway.ActRetrieve, req.CallID, s.sw.Retrieve)
}

// control checks the rules for act on the call, then asks the switch.
func (s *Service) control(ctx context.Context, r request, act gateway.Action, callID string, op func(ctx context.Context, device, callID string) error) (any, error) {
	settle, err := s.admit(r, act, callID)
	if err != nil {
		return nil, err
	}
	err = op(ctx, r.device(), callID)
	settle("", err)
	s.auditCommand(r, string(act)+" "+callID, err)
	return empty{}, err
}

func (s *Service) transfer(ctx context.Context, r request, req wire.Transfer) (any, error) {
	to := s.dialString(req.To)
	if to == "" {
		return nil, gateway.Errorf(gateway.CodeInvalidRequest, "no number to transfer to")
	}
	if err := s.allowed(r, gateway.ActTransfer, req.CallID); err != nil {
		return nil, err
	}
	err := s.sw.Transfer(ctx, r.device(), req.CallID, to)
	s.auditCommand(r, "transfer "+req.CallID+" to "+to, err)
	return empty{}, err
}

func (s *Service) digits(ctx context.Context, r request, req wire.Digits) (any, error) {
	if !validDTMF(req.Digits) {
		return nil, gateway.Errorf(gateway.CodeInvalidRequest, "tones are 1 to 32 of 0-9, *, # and A-D")
	}
	if err := s.allowed(r, gateway.ActDigits, req.CallID); err != nil {
		return nil, err
	}
	err := s.sw.SendDigits(ctx, r.device(), req.CallID, req.Digits)
	s.auditCommand(r, "digits "+req.CallID, err)
	return empty{}, err
}

func (s *Service) consult(ctx context.Context, r request, req wire.Transfer) (any, error) {
	to := s.dialString(req.To)
	if to == "" || to == r.device() {
		return nil, gateway.Errorf(gateway.CodeInvalidRequest, "no number to consult")
	}
	if err := s.allowed(r, gateway.ActConsult, req.CallID); err != nil {
		return nil, err
	}
	id, err := s.sw.Consult(ctx, r.device(), req.CallID, to)
	s.auditCommand(r, "consult "+req.CallID+" with "+to, err)
	if err != nil {
		return nil, err
	}
	return wire.CallStarted{CallID: id}, nil
}

// join completes a consultation: an attended transfer, or a conference.
func join(conference bool) func(s *Service, ctx context.Context, r request, req wire.Join) (any, error) {
	typ := wire.TComplete
	if conference {
		typ = wire.TConfer
	}
	return func(s *Service, ctx context.Context, r request, req wire.Join) (any, error) {
		if err := s.allowed(r, gateway.ActComplete, req.CallID); err != nil {
			return nil, err
		}
		if err := s.allowed(r, gateway.ActHangup, req.With); err != nil { // the consultation must be the agent's too
			return nil, err
		}
		err := s.sw.Complete(ctx, r.device(), req.CallID, req.With, conference)
		s.auditCommand(r, typ+" "+req.CallID+" with "+req.With, err)
		return empty{}, err
	}
}

func (s *Service) call(ctx context.Context, r request, req wire.CallRequest) (any, error) {
	number := s.dialString(req.Number)
	if number == "" || number == r.device() {
		return nil, gateway.Errorf(gateway.CodeInvalidRequest, "not a number that can be called: %q", req.Number)
	}
	if req.Contact != "" {
		if err := s.checkContact(ctx, r.agent, "", req.Contact); err != nil {
			return nil, err
		}
	}
	settle, err := s.admit(r, gateway.ActCall, "")
	if err != nil {
		return nil, err
	}
	id, err := s.placeCall(ctx, r.agent, number, req.Contact)
	settle(id, err)
	s.auditCommand(r, "call "+number, err)
	if err != nil {
		return nil, err
	}
	return wire.CallStarted{CallID: id}, nil
}

func (s *Service) status(ctx context.Context, r request, req wire.StatusRequest) (any, error) {
	status := gateway.Status(req.Status)
	if !status.Valid() {
		return nil, gateway.Errorf(gateway.CodeInvalidRequest, "status must be available or busy")
	}
	err := s.setStatus(ctx, r.agent, status)
	s.auditCommand(r, "status "+req.Status, err)
	if err != nil {
		return nil, err
	}
	return empty{}, nil
}

func (s *Service) lookupNumber(ctx context.Context, r request, req wire.Lookup) (any, error) {
	ms, err := s.lookup(ctx, req.Number)
	if err != nil {
		return nil, err
	}
	return wire.LookupResult{Matches: matchesToWire(ms)}, nil
}

func (s *Service) search(ctx context.Context, r request, req wire.Search) (any, error) {
	q := strings.TrimSpace(req.Query)
	if q == "" || len(q) > 200 {
		return nil, gateway.Errorf(gateway.CodeInvalidRequest, "search needs 1 to 200 characters")
	}
	size := req.PageSize
	if size <= 0 || size > 100 {
		size = 20
	}
	page := max(req.Page, 0)
	cs, more, err := s.store.SearchContacts(ctx, q, page*size, size)
	if err != nil {
		return nil, gateway.Wrap(gateway.CodeDatabaseDown, err, "search is unavailable")
	}
	res := wire.SearchResult{Contacts: []wire.Contact{}, More: more}
	for _, x := range cs {
		res.Contacts = append(res.Contacts, contactToWire(x))
	}
	return res, nil
}

// choose records the caller the agent chose for a call (R5).
func (s *Service) choose(ctx context.Context, r request, req wire.Select) (any, error) {
	if req.Contact == "" || len(req.Contact) > 100 {
		return nil, gateway.Errorf(gateway.CodeInvalidRequest, "no contact chosen")
	}
	if err := s.ownsRecent(r.agent, req.CallID); err != nil {
		return nil, err
	}
	if err := s.checkContact(ctx, r.agent, req.CallID, req.Contact); err != nil {
		return nil, err
	}
	s.selectContact(r.device(), req.CallID, req.Contact)
	return empty{}, nil
}

func (s *Service) recent(ctx context.Context, r request, req wire.Recent) (any, error) {
	limit := req.Limit
	if limit <= 0 || limit > 100 {
		limit = 20
	}
	calls, err := s.store.RecentCalls(ctx, r.agent.agent.Username, limit)
	if err != nil {
		return nil, gateway.Wrap(gateway.CodeDatabaseDown, err, "recent calls are unavailable")
	}
	res := wire.RecentResult{Calls: []wire.Call{}}
	for _, x := range calls {
		x.RemoteName = s.colleagueName(ctx, x.Remote)
		res.Calls = append(res.Calls, callToWire(x, displayNumber(x.Remote, s.phones)))
	}
	return res, nil
}

// auditCommand records a command the switch was asked to carry out, with
// the error code if it failed.
func (s *Service) auditCommand(r request, action string, err error) {
	s.audit.add(gateway.AuditEntry{At: time.Now(), Username: r.agent.agent.Username, Client: r.addr,
		Action: action, Allowed: err == nil, Detail: string(gateway.ErrorCode(err))})
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
