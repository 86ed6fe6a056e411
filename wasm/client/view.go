package client

import (
	"encoding/json"
	"sort"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/wire"
)

// View is what every panel renders; JSON field names are the panel's API.
type View struct {
	Connection string `json:"connection"`
	ConnError  string `json:"connError,omitempty"`
	// Gateway is the URL of the gateway connected to (or being tried):
	// with several gateways, an admin asks which one serves the agent.
	Gateway string `json:"gateway,omitempty"`
	PBX     string `json:"pbx"`
	// Phone is "connecting" for the first seconds after a login at the
	// morning peak, while the switch is asked to watch the agent's phone.
	Phone    string `json:"phone,omitempty"`
	LoggedIn bool   `json:"loggedIn"`
	// Resuming is set while the core holds a session it has not resumed
	// yet (a restarted worker, a reconnect): the panel keeps the agent's
	// screen rather than offer the login form, and holds her clicks until
	// the session is back, since the core drops what needs a login.
	Resuming   bool        `json:"resuming,omitempty"`
	Agent      *wire.Agent `json:"agent,omitempty"`
	Status     string      `json:"status,omitempty"`
	LoginBusy  bool        `json:"loginBusy"`
	LoginError string      `json:"loginError,omitempty"`
	// Fault is set while the core restarts after it stopped; Problems
	// while the settings cannot work (nothing connects until they are
	// fixed).
	Fault      string     `json:"fault,omitempty"`
	Problems   []Problem  `json:"problems"`
	Notice     string     `json:"notice,omitempty"`
	NoticeKind string     `json:"noticeKind,omitempty"` // error | info
	Calls      []CallView `json:"calls"`
	// CurrentCall is the call a customer chosen from a search goes to:
	// the one the agent is talking on ("" when there is none).
	CurrentCall string       `json:"currentCall,omitempty"`
	Dial        Control      `json:"dial"`
	Dialing     bool         `json:"dialing"`
	Search      SearchView   `json:"search"`
	Recent      []RecentView `json:"recent"`
	// Wrap is the after-call note form, nil when closed.
	Wrap      *WrapView `json:"wrap,omitempty"`
	Announce  string    `json:"announce,omitempty"`
	AnnounceN int       `json:"announceN"`
	Settings  Settings  `json:"settings"`
}

// CallView is one call card.
type CallView struct {
	wire.Call
	// Matches shadows the embedded field to be present even when empty.
	Matches []wire.Match `json:"matches"`
	// Heading says what the card is: "Incoming call", "Calling", "On a
	// call", "On hold".
	Heading string `json:"heading"`
	// Caller is the best name for the far end: the chosen contact, the
	// only match, the best match, the colleague, or the number.
	Caller string `json:"caller"`
	// Number is Remote formatted for people.
	Number string `json:"number"`
	// Parties are the far ends of a conference, by name; the heading is
	// then "Conference".
	Parties []string `json:"parties,omitempty"`
	// Colleague is set when the far end is an extension of ours.
	Colleague bool `json:"colleague,omitempty"`
	// Seconds is the call timer: since answer, or since it began.
	// TimerFrom is the same moment in the browser's clock (Unix ms), for
	// a timer the panel keeps exact between views.
	Seconds   int   `json:"seconds"`
	TimerFrom int64 `json:"timerFrom"`
	// HeldFrom is when the call was put on hold (Unix ms, browser clock).
	HeldFrom int64              `json:"heldFrom,omitempty"`
	Ignored  bool               `json:"ignored,omitempty"`
	Controls map[string]Control `json:"controls"`
	// Pending is the action sent and not yet answered ("hold", …).
	Pending string `json:"pending,omitempty"`
	// NoMatch says to offer "Search manually" (R7): nobody has this
	// number and nobody was chosen.
	NoMatch bool `json:"noMatch"`
	// JoinWith is the consultation a held call can be transferred to or
	// conferenced with.
	JoinWith string `json:"joinWith,omitempty"`
}

// RecentView is one ended call in the recent list.
type RecentView struct {
	wire.Call
	Name   string `json:"name"`
	Number string `json:"number"`
	// When is the start time ("14:02", or "Mon 14:02" before today),
	// Seconds the talk time.
	When    string `json:"when"`
	Seconds int    `json:"seconds"`
	// Missed is an inbound call that rang and was never answered;
	// Refused one the switch turned away while the agent was Busy.
	Missed  bool `json:"missed"`
	Refused bool `json:"refused"`
	// Outcome words the call's disposition ("Callback requested").
	Outcome string `json:"outcome,omitempty"`
}

// SearchView is the manual search box's state.
type SearchView struct {
	Query   string         `json:"query"`
	Page    int            `json:"page"`
	Busy    bool           `json:"busy"`
	Results []wire.Contact `json:"results"`
	More    bool           `json:"more"`
	Error   string         `json:"error,omitempty"`
}

// MarshalView is the view as the panels receive it.
func MarshalView(v View) []byte {
	b, _ := json.Marshal(v)
	return b
}

func (s *state) view(now time.Time) View {
	v := View{Connection: s.conn, ConnError: s.connErr, Gateway: s.gateway, PBX: s.pbx, Phone: s.phone, LoggedIn: s.agent != nil, Agent: s.agent, Status: s.status,
		LoginBusy: s.loginBusy, LoginError: s.loginErr, Fault: s.fault, Problems: s.problems,
		Notice: s.notice.text, NoticeKind: s.notice.kind, Calls: []CallView{}, Recent: s.recentViews(now),
		Dialing: s.dialing, Wrap: s.wrapView(), Announce: s.announce, AnnounceN: s.announceN, Settings: s.settings,
		Search: SearchView{Query: s.search.query, Page: s.search.page, Busy: s.search.busy, Results: s.search.results, More: s.search.more, Error: s.search.err}}
	if v.Problems == nil {
		v.Problems = []Problem{}
	}
	if v.Search.Results == nil {
		v.Search.Results = []wire.Contact{}
	}
	if s.agent == nil {
		return v
	}
	v.Dial = s.callControl()
	v.CurrentCall = s.currentCall()
	live, reason := s.liveCalls(), s.linkReason()
	for _, id := range s.order {
		v.Calls = append(v.Calls, s.callView(s.calls[id], live, reason, now))
	}
	// Ringing calls first: they need the agent's attention.
	sort.SliceStable(v.Calls, func(i, j int) bool {
		return v.Calls[i].State == string(gateway.CallRinging) && v.Calls[j].State != string(gateway.CallRinging)
	})
	return v
}

// callView renders one card; live are the agent's calls as domain values,
// converted once per view.
func (s *state) callView(c *wire.Call, live []gateway.Call, linkReason string, now time.Time) CallView {
	cv := CallView{Call: *c, Matches: c.Matches, Heading: heading(c), Number: displayNumber(c),
		Ignored: s.ignored[c.ID], Pending: s.pending[c.ID], Controls: map[string]Control{}, Colleague: isExtension(c.Remote)}
	if cv.Matches == nil {
		cv.Matches = []wire.Match{}
	}
	cv.Caller = s.callerName(c)
	if p := s.parties[c.ID]; len(p) > 0 && c.State != string(gateway.CallRinging) {
		cv.Parties, cv.Heading = s.partyNames(p), "Conference"
	}
	cv.NoMatch = len(c.Matches) == 0 && c.Remote != "" && c.Contact == "" && !cv.Colleague
	since := c.Started
	if !c.Answered.IsZero() {
		since = c.Answered
	}
	if !since.IsZero() {
		local := since.Add(-s.skew)
		cv.TimerFrom = local.UnixMilli()
		if now.After(local) {
			cv.Seconds = int(now.Sub(local) / time.Second)
		}
	}
	if t, ok := s.heldAt[c.ID]; ok {
		cv.HeldFrom = t.UnixMilli()
	}
	for _, a := range cardActions {
		cv.Controls[string(a)] = controlOn(linkReason, live, c.ID, a)
	}
	if cv.Controls[string(gateway.ActComplete)].Enabled {
		cv.JoinWith = joinWith(live, c.ID)
	}
	return cv
}

// callerName is the best name for the far end of a call.
func (s *state) callerName(c *wire.Call) string {
	if ct, ok := s.chosen[c.ID]; ok && ct.Code == c.Contact {
		return ct.FullName
	}
	for _, m := range c.Matches {
		if m.Contact.Code == c.Contact {
			return m.Contact.FullName
		}
	}
	if name := s.names[c.Contact]; c.Contact != "" && name != "" {
		return name
	}
	if len(c.Matches) > 0 {
		return c.Matches[0].Contact.FullName // the best match
	}
	if c.RemoteName != "" {
		return c.RemoteName // a colleague, named by the directory
	}
	if isExtension(c.Remote) {
		return "Extension " + c.Remote
	}
	if c.Remote == "" {
		return "Unknown caller"
	}
	return displayNumber(c)
}

// heading says what a call card is.
func heading(c *wire.Call) string {
	switch gateway.CallState(c.State) {
	case gateway.CallRinging:
		return "Incoming call"
	case gateway.CallDialing:
		return "Calling"
	case gateway.CallHeld:
		return "On hold"
	}
	return "On a call"
}

// recentViews are the ended calls, newest first, with names and times.
func (s *state) recentViews(now time.Time) []RecentView {
	out := make([]RecentView, 0, len(s.recent))
	for i := range s.recent {
		c := &s.recent[i]
		r := RecentView{Call: *c, Name: s.callerName(c), Number: displayNumber(c), Refused: domainCall(c).Refused(),
			Outcome: dispositionLabels[gateway.Disposition(c.Disposition)]}
		r.Missed = c.Direction == string(gateway.Inbound) && c.Answered.IsZero() && !r.Refused
		if c.Matches == nil && c.Contact != "" && r.Name == r.Number {
			r.Name = c.Contact
		}
		if !c.Started.IsZero() {
			r.When = when(c.Started.Add(-s.skew).Local(), now)
		}
		if !c.Answered.IsZero() && c.Ended.After(c.Answered) {
			r.Seconds = int(c.Ended.Sub(c.Answered) / time.Second)
		}
		out = append(out, r)
	}
	return out
}

// when is a start time as a person reads it in a list.
func when(t, now time.Time) string {
	y1, m1, d1 := t.Date()
	y2, m2, d2 := now.Local().Date()
	if y1 == y2 && m1 == m2 && d1 == d2 {
		return t.Format("15:04")
	}
	return t.Format("Mon 2 Jan 15:04")
}
