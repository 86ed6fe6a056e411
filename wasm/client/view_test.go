package client

import (
	"strings"
	"testing"
	"time"

	"crmcti/gateway/wire"
)

// The panel reads every list without guarding against null: the view must
// always carry them, even empty.
func TestViewJSONAlwaysHasLists(t *testing.T) {
	st := newState(DefaultSettings())
	st.conn, st.pbx = connOnline, "up"
	st.agent = &wire.Agent{Username: "a", Extension: "1001"}
	st.calls["c1"] = &wire.Call{ID: "c1", State: "ringing", Remote: "+35722000000"}
	st.order = []string{"c1"}
	js := string(MarshalView(st.view(time.Now())))
	for _, want := range []string{`"matches":[]`, `"recent":[]`, `"results":[]`, `"controls":{`, `"noMatch":true`} {
		if !strings.Contains(js, want) {
			t.Errorf("view JSON lacks %s: %s", want, js)
		}
	}
}

func TestControlsFollowTheGatewayRules(t *testing.T) {
	st := newState(DefaultSettings())
	st.conn, st.pbx = connOnline, "up"
	st.agent = &wire.Agent{Username: "a", Extension: "1001"}
	st.calls["c1"] = &wire.Call{ID: "c1", State: "connected"}
	st.calls["c2"] = &wire.Call{ID: "c2", State: "ringing"}
	st.order = []string{"c1", "c2"}
	if c := st.control("c2", "answer"); c.Enabled || !strings.Contains(c.Reason, "on a call") {
		t.Fatalf("answer while on a call: %+v", c)
	}
	if c := st.control("c1", "hold"); !c.Enabled {
		t.Fatalf("hold: %+v", c)
	}
	st.pbx = "down"
	if c := st.control("c1", "hold"); c.Enabled || !strings.Contains(c.Reason, "not reachable") {
		t.Fatalf("hold with PBX down: %+v", c)
	}
}

// The ringing card says what it is, formats the number and names the best
// match; a held call has its own timer; messages are sentences.
func TestCardHierarchy(t *testing.T) {
	st := newState(DefaultSettings())
	st.conn, st.pbx = connOnline, "up"
	st.agent = &wire.Agent{Username: "a", Extension: "1001"}
	now := time.Now()
	m := wire.Match{Contact: wire.Contact{Code: "C1", FullName: "Andreas Constantinou"}}
	st.applyCall(wire.CallEvent{Event: "rang", Call: wire.Call{ID: "r", State: "ringing", Direction: "inbound", Remote: "+35722123456", Display: "+357 22 123456", Started: now, Matches: []wire.Match{m, m}}}, now)
	st.applyCall(wire.CallEvent{Event: "answered", Call: wire.Call{ID: "c", State: "connected", Direction: "inbound", Remote: "1006", Started: now, Answered: now}}, now)
	v := st.view(now)
	ring, conn := v.Calls[0], v.Calls[1]
	if ring.Heading != "Incoming call" || ring.Number != "+357 22 123456" || ring.Caller != "Andreas Constantinou" {
		t.Fatalf("ringing card %+v", ring)
	}
	if r := ring.Controls["answer"].Reason; r == "" || r[0] != 'Y' || r[len(r)-1] != '.' {
		t.Fatalf("reason %q is not a sentence", r)
	}
	if conn.Caller != "Extension 1006" || conn.NoMatch || !conn.Colleague {
		t.Fatalf("colleague card %+v", conn)
	}
}

// Recent calls from the call log carry only the customer's code: the
// core names them from what it saw, and marks the unanswered as missed.
func TestRecentCallsAreNamedAndMissedMarked(t *testing.T) {
	st := newState(DefaultSettings())
	now := time.Now()
	m := wire.Match{Contact: wire.Contact{Code: "C1", FullName: "Andreas Constantinou"}}
	st.applyCall(wire.CallEvent{Event: "rang", Call: wire.Call{ID: "a", State: "ringing", Direction: "inbound", Remote: "+35722123456", Started: now, Matches: []wire.Match{m}}}, now)
	st.applyCall(wire.CallEvent{Event: "ended", Call: wire.Call{ID: "a", State: "ended", Direction: "inbound", Remote: "+35722123456", Started: now, Ended: now}}, now)
	st.setRecent([]wire.Call{
		{ID: "b", State: "ended", Direction: "outbound", Remote: "+35799654321", Contact: "C1", Started: now, Answered: now, Ended: now.Add(75 * time.Second)},
		{ID: "a", State: "ended", Direction: "inbound", Remote: "+35722123456", Started: now, Ended: now},
	})
	v := st.view(now)
	if b := v.Recent[0]; b.Name != "Andreas Constantinou" || b.Missed || b.Seconds != 75 || b.When == "" {
		t.Fatalf("outbound %+v", b)
	}
	if a := v.Recent[1]; a.Name != "Andreas Constantinou" || !a.Missed {
		t.Fatalf("missed %+v", a)
	}
}

// An error notice does not outlive what it was about (defect 9): it goes
// when the call ends, or after a while.
func TestNoticesDoNotOutliveTheirCause(t *testing.T) {
	st := newState(DefaultSettings())
	now := time.Now()
	st.applyCall(wire.CallEvent{Event: "answered", Call: wire.Call{ID: "c", State: "connected", Direction: "inbound", Remote: "+35722123456", Started: now}}, now)
	st.setNotice("the switch refused the transfer")
	if v := st.view(now); v.Notice != "The switch refused the transfer." || v.NoticeKind != "error" {
		t.Fatalf("notice %q (%s)", v.Notice, v.NoticeKind)
	}
	st.applyCall(wire.CallEvent{Event: "ended", Call: wire.Call{ID: "c", State: "ended", Direction: "inbound", Started: now, Ended: now}}, now)
	if v := st.view(now); v.Notice != "" {
		t.Fatalf("notice %q outlived the call", v.Notice)
	}
	st.setNotice("enter a number to call")
	st.expire(now.Add(errorNoticeFor + time.Second))
	if v := st.view(now); v.Notice != "" {
		t.Fatalf("notice %q never expired", v.Notice)
	}
}

// Recent calls fetched while a call is going on do not list it (the call
// log holds it half written, unanswered: it would read "Missed"); when it
// ends it is listed once.
func TestRecentFetchedDuringACallListsItOnceWhenItEnds(t *testing.T) {
	s := newState(DefaultSettings())
	s.agent = &wire.Agent{Username: "alice", Extension: "1001"}
	now := time.Now()
	live := wire.Call{ID: "L1", Direction: "inbound", State: "connected", Remote: "+35722123456", Started: now, Answered: now}
	s.applyCall(wire.CallEvent{Event: "answered", Call: live}, now)
	half := live
	half.Answered = time.Time{}
	s.setRecent([]wire.Call{half, {ID: "OLD", Direction: "outbound", State: "ended", Started: now.Add(-time.Hour)}})
	if v := s.view(now); len(v.Recent) != 1 || v.Recent[0].ID != "OLD" {
		t.Fatalf("recent during the call %+v", v.Recent)
	}
	ended := live
	ended.State, ended.Ended = "ended", now.Add(time.Minute)
	s.applyCall(wire.CallEvent{Event: "ended", Call: ended}, now)
	s.endCall(ended) // told twice (two events, or a refetch): still once
	v := s.view(now)
	if len(v.Recent) != 2 || v.Recent[0].ID != "L1" || v.Recent[0].Missed || v.Recent[1].ID != "OLD" {
		t.Fatalf("recent after the call %+v", v.Recent)
	}
}

// Just after a login at the morning peak the gateway has not yet got the
// phone under watch: the dial box and the call buttons say so, the panel
// shows the phone connecting, and all of it works once "phone" ready
// comes.
func TestPhoneConnectingAfterLogin(t *testing.T) {
	st := newState(DefaultSettings())
	st.conn = connOnline
	now := time.Now()
	st.applySnapshot(wire.Snapshot{Agent: wire.Agent{Username: "a", Extension: "1001"}, Status: "available", PBX: "up", Phone: wire.PhoneConnecting}, now)
	st.calls["c1"] = &wire.Call{ID: "c1", State: "connected"}
	st.order = []string{"c1"}
	v := st.view(now)
	if v.Phone != wire.PhoneConnecting || v.Dial.Enabled || !strings.Contains(v.Dial.Reason, "being connected") {
		t.Fatalf("view while the phone connects: phone %q, dial %+v", v.Phone, v.Dial)
	}
	if c := st.control("c1", "hold"); c.Enabled || !strings.Contains(c.Reason, "being connected") {
		t.Fatalf("hold while the phone connects: %+v", c)
	}
	st.setPhone(wire.PhoneReady)
	if v := st.view(now); v.Phone != wire.PhoneReady || strings.Contains(v.Dial.Reason, "being connected") {
		t.Fatalf("view once ready: phone %q, dial %+v", v.Phone, v.Dial)
	}
	if c := st.control("c1", "hold"); !c.Enabled {
		t.Fatalf("hold once the phone is ready: %+v", c)
	}
	if !strings.Contains(st.announce, "phone is connected") {
		t.Fatalf("announced %q, want the phone connected said to a screen reader", st.announce)
	}
}
