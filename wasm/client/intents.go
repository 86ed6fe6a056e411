package client

import (
	"strings"

	"crmcti/gateway"
	"crmcti/gateway/wire"
)

// Intent is what the agent asked for in a panel.
type Intent struct {
	Type     string `json:"type"` // login, logout, call, answer, hangup, hold, retrieve, transfer, consult, complete, conference, status, search, select, recent, note, dismiss, ignore, wrap, skip
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
	// Note and Disposition are an after-call note and outcome.
	Note        string `json:"note,omitempty"`
	Disposition string `json:"disposition,omitempty"`
}

// Intents the panel handles without the gateway.
const (
	intentDismiss = "dismiss"
	intentIgnore  = "ignore"
)

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

// local handles intents that need no gateway.
func (c *Core) local(in Intent) {
	switch in.Type {
	case intentDismiss:
		c.update(func(s *state) { s.notice = notice{} })
	case intentIgnore:
		c.update(func(s *state) { s.ignored[in.CallID] = true })
		c.cfg.OnEffect(Effect{Kind: "unnotify", CallID: in.CallID})
	}
}

// intent turns a panel intent into a command, after checking the same
// rules the gateway will (so a disabled button is never sent).
func (c *Core) intent(out *sender, in Intent) error {
	c.mu.Lock()
	loggedIn := c.st.agent != nil
	c.mu.Unlock()
	switch {
	case in.Type == intentDismiss || in.Type == intentIgnore:
		c.local(in)
		return nil
	case in.Type == intentWrap || in.Type == intentSkip:
		c.localNote(in)
		return nil
	case in.Type == wire.TLogin:
		if loggedIn {
			return nil
		}
		c.update(func(s *state) { s.loginBusy, s.loginErr = true, "" })
		return out.send(wire.TLogin, wire.Login{Username: in.Username, Password: in.Password, Version: c.cfg.Version}, in)
	case !loggedIn:
		return nil
	}
	if _, ok := callActions[in.Type]; ok {
		return c.callAction(out, in)
	}
	typ, data, ok := c.command(in)
	if !ok {
		return nil
	}
	return out.send(typ, data, in)
}

// callAction sends an action on one call once the gateway's rules allow
// it; otherwise the notice says why. The call shows the action as
// pending until the gateway answers.
func (c *Core) callAction(out *sender, in Intent) error {
	c.mu.Lock()
	if in.CallID == "" {
		in = c.st.resolveShortcut(in)
	}
	ctl := c.st.control(in.CallID, callActions[in.Type])
	c.mu.Unlock()
	if !ctl.Enabled {
		c.update(func(s *state) { s.setNotice(ctl.Reason) })
		return nil
	}
	if ask, needsNumber := numberPrompt[in.Type]; needsNumber && strings.TrimSpace(in.To) == "" {
		c.update(func(s *state) { s.setNotice(ask) })
		return nil
	}
	var data any
	switch in.Type {
	case wire.TTransfer, wire.TConsult:
		data = wire.Transfer{CallID: in.CallID, To: strings.TrimSpace(in.To)}
	case wire.TDigits:
		data = wire.Digits{CallID: in.CallID, Digits: strings.ToUpper(strings.TrimSpace(in.Digits))}
	case wire.TComplete, wire.TConfer:
		data = wire.Join{CallID: in.CallID, With: in.With}
	default:
		data = wire.CallRef{CallID: in.CallID}
	}
	c.update(func(s *state) { s.pending[in.CallID] = in.Type })
	return out.send(in.Type, data, in)
}

// command builds the other commands; ok is false when there is nothing
// to send (refused here, with a notice, or unknown).
func (c *Core) command(in Intent) (typ string, data any, ok bool) {
	switch in.Type {
	case wire.TLogout:
		return wire.TLogout, struct{}{}, true
	case wire.TCall:
		return c.dialCommand(in)
	case wire.TStatus:
		return wire.TStatus, wire.StatusRequest{Status: in.Status}, true
	case wire.TSearch:
		q := strings.TrimSpace(in.Query)
		if q == "" {
			return "", nil, false
		}
		c.update(func(s *state) { s.search = searchState{query: q, page: in.Page, busy: true} })
		return wire.TSearch, wire.Search{Query: q, Page: in.Page, PageSize: 10}, true
	case wire.TSelect:
		return c.selectCommand(in)
	case wire.TRecent:
		return wire.TRecent, wire.Recent{Limit: 10}, true
	case wire.TNote:
		return c.noteCommand(in)
	}
	return "", nil, false
}

// dialCommand places a call unless the rules or an empty number stop it.
func (c *Core) dialCommand(in Intent) (string, any, bool) {
	c.mu.Lock()
	ctl := c.st.callControl()
	c.mu.Unlock()
	if !ctl.Enabled || strings.TrimSpace(in.Number) == "" {
		reason := ctl.Reason
		if reason == "" {
			reason = "Enter a number to call."
		}
		c.update(func(s *state) { s.setNotice(reason) })
		return "", nil, false
	}
	c.update(func(s *state) { s.dialing = true })
	return wire.TCall, wire.CallRequest{Number: strings.TrimSpace(in.Number), Contact: in.Contact}, true
}

// selectCommand attaches a customer to a call and shows them on the CRM
// screen. Without a call named (a search result's "Caller" button), it is
// the call the agent is talking on, never one still ringing (defect 3).
func (c *Core) selectCommand(in Intent) (string, any, bool) {
	c.mu.Lock()
	callID := in.CallID
	if callID == "" {
		callID = c.st.currentCall()
	}
	c.mu.Unlock()
	if callID == "" {
		c.update(func(s *state) { s.setNotice("Accept the call before choosing its customer.") })
		return "", nil, false
	}
	c.update(func(s *state) { s.choose(callID, in.Contact) })
	c.loadCustomer(in.Contact)
	return wire.TSelect, wire.Select{CallID: callID, Contact: in.Contact}, true
}

// resolveShortcut picks the call a keyboard shortcut acts on: the first
// that can take the action. Hold on a call that cannot be held resumes
// the held one instead, so one key toggles. Transfer and consult act on
// the call the agent is talking on.
func (s *state) resolveShortcut(in Intent) Intent {
	first := func(a gateway.Action) string {
		for _, id := range s.order {
			if s.control(id, a).Enabled {
				return id
			}
		}
		return ""
	}
	in.CallID = first(callActions[in.Type])
	if in.CallID == "" && in.Type == wire.THold {
		if id := first(gateway.ActRetrieve); id != "" {
			in.Type, in.CallID = wire.TRetrieve, id
		}
	}
	if in.CallID == "" {
		in.CallID = s.currentCall()
	}
	return in
}
