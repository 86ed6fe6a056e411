package client

import (
	"sort"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/wire"
)

// Connection states shown in every panel.
const (
	connIdle         = "offline"      // logged out, nothing to connect for
	connConnecting   = "connecting"   // first connection
	connOnline       = "online"       // connected and in sync
	connReconnecting = "reconnecting" // lost, retrying
)

type searchState struct {
	query   string
	page    int
	busy    bool
	results []wire.Contact
	more    bool
	err     string
}

type state struct {
	settings  Settings
	conn      string
	connErr   string
	pbx       string
	agent     *wire.Agent
	status    string
	loginBusy bool
	loginErr  string
	notice    string
	calls     map[string]*wire.Call
	order     []string // call IDs in arrival order
	ignored   map[string]bool
	search    searchState
	recent    []wire.Call
	// announce is the latest screen-reader announcement, and its count so
	// that the same words twice are still announced.
	announce        string
	announceN       int
	outboundContact string
}

func newState(s Settings) state {
	return state{settings: s, conn: connIdle, calls: map[string]*wire.Call{}, ignored: map[string]bool{}}
}

// reset forgets the agent (logout, dead session).
func (s *state) reset() {
	settings, n := s.settings, s.announceN
	*s = newState(settings)
	s.announceN = n
}

func (s *state) say(text string) {
	s.announce = text
	s.announceN++
}

func (s *state) applySnapshot(snap wire.Snapshot) {
	a := snap.Agent
	s.agent, s.status, s.pbx, s.conn, s.connErr = &a, snap.Status, snap.PBX, connOnline, ""
	s.calls, s.order = map[string]*wire.Call{}, nil
	for i := range snap.Calls {
		c := snap.Calls[i]
		s.calls[c.ID] = &c
		s.order = append(s.order, c.ID)
	}
}

// applyCall folds a call event in and returns the call as it was.
func (s *state) applyCall(ce wire.CallEvent) *wire.Call {
	c := ce.Call
	prev := s.calls[c.ID]
	if prev != nil && len(c.Matches) == 0 {
		c.Matches = prev.Matches
	}
	if !gateway.CallState(c.State).Live() {
		delete(s.calls, c.ID)
		for i, id := range s.order {
			if id == c.ID {
				s.order = append(s.order[:i:i], s.order[i+1:]...)
				break
			}
		}
		delete(s.ignored, c.ID)
		s.recent = append([]wire.Call{c}, s.recent...)
		if len(s.recent) > 10 {
			s.recent = s.recent[:10]
		}
	} else {
		if prev == nil {
			s.order = append(s.order, c.ID)
		}
		s.calls[c.ID] = &c
	}
	switch ce.Event {
	case string(gateway.EvRang):
		s.say("Incoming call from " + callerLine(c))
	case "identified":
		if c.State == string(gateway.CallRinging) && len(c.Matches) > 0 {
			s.say("Caller: " + callerLine(c))
		}
	case string(gateway.EvEnded):
		s.say("Call ended")
	}
	return prev
}

func (s *state) liveCalls() []gateway.Call {
	out := make([]gateway.Call, 0, len(s.calls))
	for _, id := range s.order {
		c := s.calls[id]
		out = append(out, gateway.Call{ID: c.ID, State: gateway.CallState(c.State), Direction: gateway.Direction(c.Direction)})
	}
	return out
}

// Control is one button: whether it works now, and if not, why.
type Control struct {
	Enabled  bool   `json:"enabled"`
	Reason   string `json:"reason,omitempty"`
	Shortcut string `json:"shortcut,omitempty"`
}

// Keyboard shortcuts (B10), shown in the buttons' tooltips. They work in
// the panel; Alt+Shift keeps clear of the CRM's own shortcuts.
var shortcuts = map[gateway.Action]string{
	gateway.ActAnswer: "Alt+Shift+A", gateway.ActHangup: "Alt+Shift+E", gateway.ActHold: "Alt+Shift+H",
	gateway.ActRetrieve: "Alt+Shift+H", gateway.ActTransfer: "Alt+Shift+T",
}

// joinWith is the connected call a held call would be joined with by an
// attended transfer or a conference: the consultation.
func (s *state) joinWith(callID string) string {
	for _, id := range s.order {
		if id != callID && s.calls[id].State == string(gateway.CallConnected) {
			return id
		}
	}
	return ""
}

func (s *state) control(callID string, a gateway.Action) Control {
	ctl := Control{Shortcut: shortcuts[a]}
	if s.conn != connOnline {
		ctl.Reason = "Not connected to the CTI gateway"
		return ctl
	}
	if s.pbx != "up" {
		ctl.Reason = "The telephone system is not reachable"
		return ctl
	}
	w, ok := s.calls[callID]
	var target *gateway.Call
	if ok {
		target = &gateway.Call{ID: w.ID, State: gateway.CallState(w.State)}
	}
	if err := gateway.CheckAction(a, target, s.liveCalls()); err != nil {
		ctl.Reason = gateway.ErrorMessage(err)
		return ctl
	}
	ctl.Enabled = true
	return ctl
}

func (s *state) callControl() Control {
	ctl := Control{}
	if s.conn != connOnline || s.pbx != "up" {
		ctl.Reason = "Not connected to the telephone system"
		return ctl
	}
	if err := gateway.CheckAction(gateway.ActCall, nil, s.liveCalls()); err != nil {
		ctl.Reason = gateway.ErrorMessage(err)
		return ctl
	}
	ctl.Enabled = true
	return ctl
}

// View is what every panel renders; JSON field names are the panel's API.
type View struct {
	Connection string      `json:"connection"`
	ConnError  string      `json:"connError,omitempty"`
	PBX        string      `json:"pbx"`
	LoggedIn   bool        `json:"loggedIn"`
	Agent      *wire.Agent `json:"agent,omitempty"`
	Status     string      `json:"status,omitempty"`
	LoginBusy  bool        `json:"loginBusy"`
	LoginError string      `json:"loginError,omitempty"`
	Notice     string      `json:"notice,omitempty"`
	Calls      []CallView  `json:"calls"`
	Dial       Control     `json:"dial"`
	Search     SearchView  `json:"search"`
	Recent     []wire.Call `json:"recent"`
	Announce   string      `json:"announce,omitempty"`
	AnnounceN  int         `json:"announceN"`
	Settings   Settings    `json:"settings"`
}

// CallView is one call card.
type CallView struct {
	wire.Call
	// Matches shadows the embedded field to be present even when empty.
	Matches []wire.Match `json:"matches"`
	// Caller is the best name for the far end: the chosen contact, the
	// only match, or the number.
	Caller string `json:"caller"`
	// Seconds is the call timer: since answer, or since it began.
	Seconds  int                `json:"seconds"`
	Ignored  bool               `json:"ignored,omitempty"`
	Controls map[string]Control `json:"controls"`
	// NoMatch says to offer "Search manually" (R7).
	NoMatch bool `json:"noMatch"`
	// JoinWith is the consultation a held call can be transferred to or
	// conferenced with.
	JoinWith string `json:"joinWith,omitempty"`
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

func (s *state) view(now time.Time) View {
	v := View{Connection: s.conn, ConnError: s.connErr, PBX: s.pbx, LoggedIn: s.agent != nil, Agent: s.agent, Status: s.status,
		LoginBusy: s.loginBusy, LoginError: s.loginErr, Notice: s.notice, Calls: []CallView{}, Recent: s.recent,
		Announce: s.announce, AnnounceN: s.announceN, Settings: s.settings,
		Search: SearchView{Query: s.search.query, Page: s.search.page, Busy: s.search.busy, Results: s.search.results, More: s.search.more, Error: s.search.err}}
	if v.Recent == nil {
		v.Recent = []wire.Call{}
	}
	if v.Search.Results == nil {
		v.Search.Results = []wire.Contact{}
	}
	if s.agent == nil {
		return v
	}
	v.Dial = s.callControl()
	for _, id := range s.order {
		c := s.calls[id]
		cv := CallView{Call: *c, Matches: c.Matches, Caller: c.Remote, Ignored: s.ignored[id], Controls: map[string]Control{}}
		if cv.Matches == nil {
			cv.Matches = []wire.Match{}
		}
		for _, m := range c.Matches {
			if m.Contact.Code == c.Contact || len(c.Matches) == 1 {
				cv.Caller = m.Contact.FullName
			}
		}
		cv.NoMatch = len(c.Matches) == 0 && c.Remote != ""
		since := c.Started
		if !c.Answered.IsZero() {
			since = c.Answered
		}
		if !since.IsZero() && now.After(since) {
			cv.Seconds = int(now.Sub(since) / time.Second)
		}
		for _, a := range []gateway.Action{gateway.ActAnswer, gateway.ActHangup, gateway.ActHold, gateway.ActRetrieve, gateway.ActTransfer,
			gateway.ActConsult, gateway.ActComplete, gateway.ActDigits} {
			cv.Controls[string(a)] = s.control(id, a)
		}
		if cv.Controls[string(gateway.ActComplete)].Enabled {
			cv.JoinWith = s.joinWith(id)
		}
		v.Calls = append(v.Calls, cv)
	}
	// Ringing calls first: they need the agent's attention.
	sort.SliceStable(v.Calls, func(i, j int) bool {
		return v.Calls[i].State == string(gateway.CallRinging) && v.Calls[j].State != string(gateway.CallRinging)
	})
	return v
}
