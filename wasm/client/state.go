package client

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"crmcti/gateway"
	"crmcti/gateway/wire"
)

// Connection states shown in every panel.
const (
	connIdle         = "offline"      // logged out, nothing to connect for
	connConnecting   = "connecting"   // first connection
	connOnline       = "online"       // connected and in sync
	connReconnecting = "reconnecting" // lost, retrying
	connUnconfigured = "unconfigured" // the settings cannot work: see problems
)

// How long a notice stays: an error until the agent has surely read it,
// a confirmation briefly, the news of an outage that is over for longer.
const (
	errorNoticeFor  = 10 * time.Second
	infoNoticeFor   = 4 * time.Second
	outageNoticeFor = 60 * time.Second
)

// holdOverFor is how long the panel keeps a call the gateway it switched
// to did not know yet. A gateway that takes over monitors every logged-in
// agent's phone one after the other; an agent who resumes before it
// reached theirs gets a snapshot without their calls, which arrive as
// events moments later. A call that really ended during the switch
// leaves the panel after this.
const holdOverFor = 15 * time.Second

type searchState struct {
	query   string
	page    int
	busy    bool
	results []wire.Contact
	more    bool
	err     string
}

// notice is a message above the calls: an error, or news.
type notice struct {
	text  string
	kind  string // "error" or "info"
	until time.Time
}

type state struct {
	settings Settings
	problems []Problem
	fault    string
	conn     string
	connErr  string
	gateway  string // the URL connected to, or being tried
	pbx      string
	pbxDown  time.Time // when the PBX link went down, zero while up
	// phone is "connecting" while the gateway has the agent logged in but
	// her phone not yet monitored (wire.Snapshot.Phone).
	phone     string
	agent     *wire.Agent
	status    string
	loginBusy bool
	loginErr  string
	notice    notice
	calls     map[string]*wire.Call
	order     []string // call IDs in arrival order
	ignored   map[string]bool
	// pending is the action in flight on each call, until the gateway
	// answers; dialing is a call being placed.
	pending map[string]string
	dialing bool
	// chosen are customers the agent picked by hand for a call (from a
	// search), so that the card names them.
	chosen map[string]wire.Contact
	// names are the customers' names by code, as matches and searches
	// told them, so that recent calls from the call log (which carry
	// only the code) are named.
	names map[string]string
	// parties are the calls joined into a conference the agent made, by
	// the IDs of those calls (the switch keeps one of them). The calls,
	// not their names, are kept: a caller identified after the join (the
	// lookup answers in the background) is named on the card then.
	parties map[string][]wire.Call
	// heldAt is when each held call was put on hold, for its own timer.
	heldAt map[string]time.Time
	search searchState
	recent []wire.Call
	// wrap is the call whose after-call note form is open ("" for
	// none); noting while its note is being saved.
	wrap   string
	noting bool
	// skew is the gateway's clock minus ours, from heartbeats, so that
	// call timers count from the right moment.
	skew time.Duration
	// announce is the latest screen-reader announcement, and its count so
	// that the same words twice are still announced.
	announce  string
	announceN int

	// servedBy is the gateway whose snapshot the calls came from;
	// unconfirmed are calls kept over a switch to another gateway that
	// did not know them yet, with until when (see holdOverFor).
	servedBy    string
	unconfirmed map[string]time.Time
}

func newState(s Settings) state {
	return state{settings: s, conn: connIdle, calls: map[string]*wire.Call{}, ignored: map[string]bool{},
		pending: map[string]string{}, chosen: map[string]wire.Contact{},
		heldAt: map[string]time.Time{}, names: map[string]string{}, parties: map[string][]wire.Call{}, unconfirmed: map[string]time.Time{}}
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

// setNotice shows an error for a while.
func (s *state) setNotice(text string) {
	s.notice = notice{text: sentence(text), kind: "error", until: time.Now().Add(errorNoticeFor)}
}

// setToast confirms something briefly.
func (s *state) setToast(text string) {
	s.notice = notice{text: sentence(text), kind: "info", until: time.Now().Add(infoNoticeFor)}
}

// expiring reports whether a notice is waiting to expire.
func (s *state) expiring() bool { return s.notice.text != "" || len(s.unconfirmed) > 0 }

// expire drops a notice whose time is up, and calls kept over a switch
// of gateway that the new one never confirmed.
func (s *state) expire(now time.Time) {
	if s.notice.text != "" && now.After(s.notice.until) {
		s.notice = notice{}
	}
	for id, until := range s.unconfirmed {
		if now.After(until) {
			s.forget(id)
		}
	}
}

// switching tells the agent, above the calls, that the core is moving to
// another gateway because this one is standby: the calls stay on the
// panel, greyed, until the new one serves (which clears it). A login
// form has its own words for a gateway it cannot reach.
func (s *state) switching(now time.Time) {
	if s.agent == nil {
		return
	}
	if s.notice.text != switchingMessage {
		s.say(strings.TrimSuffix(switchingMessage, "…"))
	}
	s.notice = notice{text: switchingMessage, kind: "info", until: now.Add(outageNoticeFor)}
}

// setPBX follows the PBX link. An outage too short to see as it happens
// is reported once it is over, with when and how long (defect 11); a
// notice about the outage's effects goes with it.
func (s *state) setPBX(link string, now time.Time) {
	prev := s.pbx
	s.pbx = link
	switch {
	case link != "up" && prev == "up":
		s.pbxDown = now
		s.say("The telephone system is not reachable")
	case link == "up" && prev != "up" && !s.pbxDown.IsZero():
		took := now.Sub(s.pbxDown).Round(time.Second)
		s.notice = notice{kind: "info", until: now.Add(outageNoticeFor),
			text: fmt.Sprintf("The telephone system was unreachable at %s for %s; it is back.", s.pbxDown.Local().Format("15:04:05"), max(took, time.Second))}
		s.pbxDown = time.Time{}
		s.say("The telephone system is back")
	}
}

// setPhone follows the agent's phone coming under the gateway's watch
// after her login.
func (s *state) setPhone(phone string) {
	if s.phone == wire.PhoneConnecting && phone != wire.PhoneConnecting && s.agent != nil {
		s.say("Your phone is connected")
	}
	s.phone = phone
}

func (s *state) applySnapshot(snap wire.Snapshot, now time.Time) {
	a := snap.Agent
	s.agent, s.status, s.conn, s.connErr = &a, snap.Status, connOnline, ""
	s.setPBX(snap.PBX, now)
	s.setPhone(snap.Phone)
	prev, prevOrder := s.calls, s.order
	s.calls, s.order, s.pending, s.dialing = map[string]*wire.Call{}, nil, map[string]string{}, false
	for i := range snap.Calls {
		c := snap.Calls[i]
		keepKnown(&c, prev[c.ID])
		s.calls[c.ID] = &c
		s.order = append(s.order, c.ID)
		s.trackHold(&c, now)
		delete(s.unconfirmed, c.ID)
	}
	if s.servedBy != "" && s.servedBy != s.gateway {
		s.holdOver(prev, prevOrder, now)
	} else {
		clear(s.unconfirmed) // the same gateway's snapshot is the whole truth
	}
	s.servedBy = s.gateway
	if s.notice.kind == "error" || s.notice.text == switchingMessage {
		s.notice = notice{} // whatever failed before the reconnect is moot
	}
}

// holdOver keeps the calls of the previous gateway that the snapshot of
// the one it switched to lacks, for holdOverFor at most: an event about
// one confirms it, and the next snapshot of this gateway settles them.
func (s *state) holdOver(prev map[string]*wire.Call, order []string, now time.Time) {
	for _, id := range order {
		if _, ok := s.calls[id]; ok || prev[id] == nil {
			continue
		}
		s.calls[id] = prev[id]
		s.order = append(s.order, id)
		s.trackHold(prev[id], now)
		if _, ok := s.unconfirmed[id]; !ok {
			s.unconfirmed[id] = now.Add(holdOverFor)
		}
	}
}

// applyCall folds a call event in and returns the call as it was.
func (s *state) applyCall(ce wire.CallEvent, now time.Time) *wire.Call {
	c := ce.Call
	delete(s.unconfirmed, c.ID)
	prev := s.calls[c.ID]
	keepKnown(&c, prev)
	for _, m := range c.Matches {
		s.names[m.Contact.Code] = m.Contact.FullName
	}
	if prev == nil && c.Direction == string(gateway.Outbound) {
		s.dialing = false
	}
	if prev == nil && len(s.calls) == 0 && gateway.CallState(c.State).Live() {
		// A new call starts afresh: the last call's search results are
		// not about this caller (defect 9).
		s.search = searchState{}
	}
	if !gateway.CallState(c.State).Live() {
		s.endCall(c)
	} else {
		if prev == nil {
			s.order = append(s.order, c.ID)
		}
		s.calls[c.ID] = &c
		s.trackHold(&c, now)
		if prev != nil && prev.State != c.State {
			delete(s.pending, c.ID) // the action took effect
		}
	}
	s.announceCall(ce.Event, c)
	return prev
}

// keepKnown fills in what the gateway does not know (yet) of a call the
// panel already shows, from prev. A gateway that just took over, or
// restarted, learns a call from the switch without its far end; the call
// log gives the far end, the customer and the start back a moment later
// ("restored"), and meanwhile the card must not turn into "Unknown
// caller" or restart its timer. A call never loses these, so what the
// panel knew stands until the gateway says otherwise; of two start times
// the earlier is the call's.
func keepKnown(c, prev *wire.Call) {
	if prev == nil {
		return
	}
	if c.Remote == "" && c.RemoteRaw == "" {
		c.Remote, c.RemoteRaw, c.Display = prev.Remote, prev.RemoteRaw, prev.Display
	}
	if c.Direction == "" {
		c.Direction = prev.Direction
	}
	if c.Contact == "" {
		c.Contact = prev.Contact
	}
	if len(c.Matches) == 0 {
		c.Matches = prev.Matches
	}
	c.Started = earlier(c.Started, prev.Started)
	c.Answered = earlier(c.Answered, prev.Answered)
}

// earlier is the earlier of two times, a zero one not counting.
func earlier(a, b time.Time) time.Time {
	if a.IsZero() || !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

// trackHold starts a held call's own timer, and stops it on resume.
func (s *state) trackHold(c *wire.Call, now time.Time) {
	if c.State != string(gateway.CallHeld) {
		delete(s.heldAt, c.ID)
	} else if _, ok := s.heldAt[c.ID]; !ok {
		s.heldAt[c.ID] = now
	}
}

// endCall moves a call from the live ones to the recent ones.
func (s *state) endCall(c wire.Call) {
	s.forget(c.ID)
	s.recent = append([]wire.Call{c}, slices.DeleteFunc(s.recent, func(r wire.Call) bool { return r.ID == c.ID })...)
	if len(s.recent) > 10 {
		s.recent = s.recent[:10]
	}
	if wantsNote(c) && (s.wrap == "" || !s.noting) {
		s.wrap, s.noting = c.ID, false
	}
	if len(s.calls) == 0 && s.notice.kind == "error" {
		s.notice = notice{} // it was about a call that is over
	}
}

// forget drops a call from the live ones.
func (s *state) forget(callID string) {
	delete(s.calls, callID)
	for i, id := range s.order {
		if id == callID {
			s.order = append(s.order[:i:i], s.order[i+1:]...)
			break
		}
	}
	delete(s.ignored, callID)
	delete(s.pending, callID)
	delete(s.chosen, callID)
	delete(s.heldAt, callID)
	delete(s.parties, callID)
	delete(s.unconfirmed, callID)
}

func (s *state) announceCall(event string, c wire.Call) {
	switch event {
	case string(gateway.EvRang):
		s.say("Incoming call from " + callerLine(c))
	case evIdentified:
		if c.State == string(gateway.CallRinging) && len(c.Matches) > 0 {
			s.say("Caller: " + callerLine(c))
		}
	case string(gateway.EvEnded):
		s.say("Call ended")
	case string(gateway.EvFailed):
		if domainCall(&c).Refused() {
			s.say("Call from " + callerLine(c) + " refused while you were Busy")
		}
	}
}

// currentCall is the call the agent is talking on: the connected one,
// else the only held one.
func (s *state) currentCall() string {
	var held []string
	for _, id := range s.order {
		switch s.calls[id].State {
		case string(gateway.CallConnected):
			return id
		case string(gateway.CallHeld):
			held = append(held, id)
		}
	}
	if len(held) == 1 {
		return held[0]
	}
	return ""
}

// choose records the customer picked for a call; when it came from a
// search, the card keeps its name.
func (s *state) choose(callID, code string) {
	for _, ct := range s.search.results {
		s.names[ct.Code] = ct.FullName
		if ct.Code == code {
			s.chosen[callID] = ct
		}
	}
}

// sentence starts a message with a capital letter and ends it with a
// full stop: the gateway's messages are lower-case fragments.
func sentence(msg string) string {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return ""
	}
	r, n := utf8.DecodeRuneInString(msg)
	msg = string(unicode.ToUpper(r)) + msg[n:]
	if !strings.HasSuffix(msg, ".") && !strings.HasSuffix(msg, "?") && !strings.HasSuffix(msg, "!") && !strings.HasSuffix(msg, "…") {
		msg += "."
	}
	return msg
}

// setRecent takes the call log's recent calls, keeping the matches of
// those this core saw, so that they stay named.
func (s *state) setRecent(calls []wire.Call) {
	seen := map[string][]wire.Match{}
	for _, c := range s.recent {
		seen[c.ID] = c.Matches
	}
	// A call still going on is in the call log too, half written: it
	// joins the recent calls when it ends, not as a "missed" one now.
	calls = slices.DeleteFunc(calls, func(c wire.Call) bool { _, live := s.calls[c.ID]; return live })
	for i := range calls {
		if len(calls[i].Matches) == 0 {
			calls[i].Matches = seen[calls[i].ID]
		}
	}
	s.recent = calls
}

// conference records who is in a conference made of two calls, so that
// the call the switch keeps lists them.
func (s *state) conference(held, consult string) {
	var joined []wire.Call
	for _, id := range []string{held, consult} {
		if c := s.findCall(id); c != nil {
			joined = append(joined, *c)
		}
	}
	s.parties[held], s.parties[consult] = joined, joined
}

// partyNames names the calls joined into a conference, each as the panel
// knows it now (live or recent), else as it was when joined.
func (s *state) partyNames(joined []wire.Call) []string {
	names := make([]string, 0, len(joined))
	for i := range joined {
		c := &joined[i]
		if now := s.findCall(c.ID); now != nil {
			c = now
		}
		names = append(names, s.callerName(c))
	}
	return names
}

// findCall is a live or recently ended call.
func (s *state) findCall(id string) *wire.Call {
	if c, ok := s.calls[id]; ok {
		return c
	}
	for i := range s.recent {
		if s.recent[i].ID == id {
			return &s.recent[i]
		}
	}
	return nil
}
