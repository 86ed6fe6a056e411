package client

import (
	"strings"

	"crmcti/gateway"
	"crmcti/gateway/wire"
)

// Intents of after-call notes the panel handles without the gateway:
// wrap opens the note form on a recent call, skip closes it.
const (
	intentWrap = "wrap"
	intentSkip = "skip"
)

// Option is one choice of a fixed list, as the panel offers it.
type Option struct {
	Code  string `json:"code"`
	Label string `json:"label"`
}

// dispositionLabels word the gateway's stable outcome codes.
var dispositionLabels = map[gateway.Disposition]string{
	gateway.DispResolved:    "Resolved",
	gateway.DispFollowUp:    "Follow-up needed",
	gateway.DispCallback:    "Callback requested",
	gateway.DispWrongNumber: "Wrong number",
	gateway.DispNoAnswer:    "No answer",
}

// dispositionOptions are the outcomes in the gateway's order.
func dispositionOptions() []Option {
	out := make([]Option, 0, len(gateway.Dispositions))
	for _, d := range gateway.Dispositions {
		out = append(out, Option{Code: string(d), Label: dispositionLabels[d]})
	}
	return out
}

// WrapView is the after-call note form, on the call that just ended (or
// a recent call the agent chose).
type WrapView struct {
	CallID      string   `json:"callId"`
	Caller      string   `json:"caller"`
	Number      string   `json:"number,omitempty"`
	Note        string   `json:"note"`
	Disposition string   `json:"disposition"`
	Busy        bool     `json:"busy"`
	Options     []Option `json:"options"`
}

// wantsNote says whether the agent is asked for a note when a call ends:
// every call she talked on or placed; not one that only rang (missed, or
// refused while Busy), nor the half of a conference the switch merged
// into the other (the conversation goes on).
func wantsNote(c wire.Call) bool {
	return (!c.Answered.IsZero() || c.Direction == string(gateway.Outbound)) && c.Cause != "conferenced"
}

// wrapView is the note form, or nil when none is open.
func (s *state) wrapView() *WrapView {
	if s.wrap == "" {
		return nil
	}
	c := s.findCall(s.wrap)
	if c == nil {
		return nil
	}
	return &WrapView{CallID: c.ID, Caller: s.callerName(c), Number: displayNumber(c), Note: c.Note,
		Disposition: c.Disposition, Busy: s.noting, Options: dispositionOptions()}
}

// noted applies a note the gateway confirmed (from any tab).
func (s *state) noted(n wire.Note) {
	for i := range s.recent {
		if s.recent[i].ID == n.CallID {
			s.recent[i].Note, s.recent[i].Disposition = n.Note, n.Disposition
		}
	}
	if s.wrap == n.CallID {
		s.wrap, s.noting = "", false
	}
}

// noteCommand sends the agent's note; ok is false when there is nothing
// to send.
func (c *Core) noteCommand(in Intent) (string, any, bool) {
	note := strings.TrimSpace(in.Note)
	if in.CallID == "" || note == "" && in.Disposition == "" {
		c.update(func(s *state) { s.setNotice("Write a note or choose an outcome.") })
		return "", nil, false
	}
	c.update(func(s *state) { s.noting = true })
	return wire.TNote, wire.Note{CallID: in.CallID, Note: note, Disposition: in.Disposition}, true
}

// localNote handles the note form's intents that need no gateway.
func (c *Core) localNote(in Intent) {
	c.update(func(s *state) {
		if in.Type == intentWrap && s.findCall(in.CallID) != nil {
			s.wrap = in.CallID
		} else if in.Type == intentSkip {
			s.wrap, s.noting = "", false
		}
	})
}
