package client

import (
	"fmt"
	"net/url"
	"strings"

	"crmcti/gateway"
	"crmcti/gateway/wire"
)

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

// afterCall turns call changes into effects: notifications while ringing
// (B2), the customer on screen when an outbound call to a contact is
// answered (R8) or when the only match of a caller is known and the policy
// says "single".
func (c *Core) afterCall(out *sender, prev *wire.Call, ce wire.CallEvent) error {
	call := ce.Call
	wasRinging := prev != nil && prev.State == string(gateway.CallRinging)
	if call.State == string(gateway.CallRinging) {
		c.notifyRinging(call)
	} else if wasRinging {
		c.cfg.OnEffect(Effect{Kind: "unnotify", CallID: call.ID})
	}
	if call.State != string(gateway.CallConnected) {
		return nil
	}
	if ce.Event == string(gateway.EvAnswered) && call.Contact != "" && call.Direction == string(gateway.Outbound) {
		c.loadCustomer(call.Contact)
		return nil
	}
	if call.Contact != "" || (ce.Event != string(gateway.EvAnswered) && ce.Event != evIdentified) {
		return nil
	}
	matches := call.Matches
	if len(matches) == 0 && prev != nil {
		matches = prev.Matches
	}
	// A typed number that is one customer's loads them on answer, as a
	// dial from the customer would (defect 4); an inbound caller does when
	// the policy says "single".
	single := len(matches) == 1 && (call.Direction == string(gateway.Outbound) || c.cfg.Settings.MatchPolicy == "single")
	if single {
		code := matches[0].Contact.Code
		c.update(func(s *state) { s.calls[call.ID].Contact = code })
		c.loadCustomer(code)
		return out.send(wire.TSelect, wire.Select{CallID: call.ID, Contact: code}, Intent{Type: wire.TSelect, CallID: call.ID, Contact: code})
	}
	if len(matches) == 0 && ce.Event == string(gateway.EvAnswered) && call.Direction == string(gateway.Inbound) {
		c.searchUnknown(call.Remote)
	}
	return nil
}

// searchUnknown runs the Communication Centre's search for the number of
// a caller nobody has, when customers are loaded by search: the previous
// caller's record leaves the screen (defect 9), and the agent's manual
// search starts from the number. Loading by URL has no page for "nobody",
// so there the screen stays as it is.
func (c *Core) searchUnknown(number string) {
	s := c.cfg.Settings
	if s.CustomerLoad != "search" || number == "" || isExtension(number) {
		return
	}
	c.cfg.OnEffect(Effect{Kind: "load", Mode: "search", Field: s.SearchFieldSelector, Submit: s.SearchSubmitSelector, Value: number})
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
	who := displayNumber(&call)
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

// displayNumber is the far end's number for people: as the gateway
// formatted it, else as the switch gave it; an extension stays as it is.
func displayNumber(c *wire.Call) string {
	if c.Display == "" || isExtension(c.Remote) {
		return c.Remote
	}
	return c.Display
}

// isExtension reports whether a number is a colleague's extension: a few
// digits, not a subscriber number.
func isExtension(number string) bool { return gateway.IsExtension(number) }
