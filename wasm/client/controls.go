package client

import (
	"crmcti/gateway"
	"crmcti/gateway/wire"
)

// Control is one button: whether it works now, and if not, why.
type Control struct {
	Enabled  bool   `json:"enabled"`
	Reason   string `json:"reason,omitempty"`
	Shortcut string `json:"shortcut,omitempty"`
}

// Keyboard shortcuts, shown on the buttons. They work in the panel, and
// from the CRM page through chrome.commands (the browser lets the agent
// change them at chrome://extensions/shortcuts); Alt+Shift keeps clear of
// the CRM's own shortcuts.
var shortcuts = map[gateway.Action]string{
	gateway.ActAnswer: "Alt+Shift+A", gateway.ActHangup: "Alt+Shift+E", gateway.ActHold: "Alt+Shift+H",
	gateway.ActRetrieve: "Alt+Shift+H", gateway.ActTransfer: "Alt+Shift+T",
}

// cardActions are the controls every call card carries.
var cardActions = []gateway.Action{gateway.ActAnswer, gateway.ActHangup, gateway.ActHold, gateway.ActRetrieve,
	gateway.ActTransfer, gateway.ActConsult, gateway.ActComplete, gateway.ActDigits}

// domainCall is the one conversion of a call from the wire to the
// domain, so that the gateway's rules are evaluated on domain values.
func domainCall(w *wire.Call) gateway.Call {
	return gateway.Call{ID: w.ID, Device: w.Device, Direction: gateway.Direction(w.Direction),
		State: gateway.CallState(w.State), Remote: w.Remote, RemoteRaw: w.RemoteRaw, Contact: w.Contact,
		Started: w.Started, Answered: w.Answered, Ended: w.Ended, Cause: w.Cause}
}

// liveCalls are the agent's calls as domain values, in arrival order.
func (s *state) liveCalls() []gateway.Call {
	out := make([]gateway.Call, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, domainCall(s.calls[id]))
	}
	return out
}

// linkReason says why nothing works while the gateway or the PBX is out
// of reach, or "".
func (s *state) linkReason() string {
	if s.conn != connOnline {
		return "Not connected to the CTI gateway."
	}
	if s.pbx != "up" {
		return "The telephone system is not reachable."
	}
	if s.phone == wire.PhoneConnecting {
		return phoneConnectingReason
	}
	return ""
}

// phoneConnectingReason is why the buttons wait just after a login.
const phoneConnectingReason = "Your phone is being connected."

// control is one action on one call against the gateway's rules.
func (s *state) control(callID string, a gateway.Action) Control {
	return controlOn(s.linkReason(), s.liveCalls(), callID, a)
}

// controlOn evaluates an action on the call callID among calls.
func controlOn(linkReason string, calls []gateway.Call, callID string, a gateway.Action) Control {
	ctl := Control{Shortcut: shortcuts[a]}
	if linkReason != "" {
		ctl.Reason = linkReason
		return ctl
	}
	var target *gateway.Call
	for i := range calls {
		if calls[i].ID == callID {
			target = &calls[i]
		}
	}
	if err := gateway.CheckAction(a, target, calls); err != nil {
		ctl.Reason = sentence(gateway.ErrorMessage(err))
		return ctl
	}
	ctl.Enabled = true
	return ctl
}

// callControl is the Call button.
func (s *state) callControl() Control {
	if s.conn != connOnline || s.pbx != "up" {
		return Control{Reason: "Not connected to the telephone system."}
	}
	if s.phone == wire.PhoneConnecting {
		return Control{Reason: phoneConnectingReason}
	}
	if err := gateway.CheckAction(gateway.ActCall, nil, s.liveCalls()); err != nil {
		return Control{Reason: sentence(gateway.ErrorMessage(err))}
	}
	return Control{Enabled: true}
}

// joinWith is the connected call a held call would be joined with by an
// attended transfer or a conference: the consultation.
func joinWith(calls []gateway.Call, callID string) string {
	for _, c := range calls {
		if c.ID != callID && c.State == gateway.CallConnected {
			return c.ID
		}
	}
	return ""
}
