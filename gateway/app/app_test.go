package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"crmcti/gateway/app"
	"crmcti/gateway/gatewaytest"
	"crmcti/gateway/pbxsim"
	"crmcti/gateway/postgres"
	"crmcti/gateway/wire"
)

func TestLogin(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{})
	c := gatewaytest.Dial(t, sys.URL())
	sess, snap := c.Login("alice", "demo")
	if sess.Token == "" || sess.Agent.Extension != "1001" || snap.Agent.Username != "alice" || snap.PBX != "up" || snap.Status != "available" || snap.Protocol != 1 {
		t.Fatalf("session %+v snapshot %+v", sess, snap)
	}
	for _, tc := range []struct{ user, pass, code string }{
		{"alice", "wrong", "bad_credentials"},
		{"mallory", "demo", "not_cti_enabled"},
		{"nigel", "demo", "no_extension"},
		{"*)(uid=*", "demo", "bad_credentials"},
		{"bob", "", "bad_credentials"},
	} {
		other := gatewaytest.Dial(t, sys.URL())
		other.Fail(wire.TLogin, wire.Login{Username: tc.user, Password: tc.pass}, tc.code)
		// Nothing works before a login.
		other.Fail(wire.TAnswer, wire.CallRef{CallID: "x"}, "not_logged_in")
	}
	if d, _ := sys.Sim.Device("1001"); d.Monitors != 1 {
		t.Fatalf("alice's device monitors: %d", d.Monitors)
	}
}

func TestLoginRateLimit(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *app.Config) { c.LoginFailures = 3; c.LoginWindow = time.Minute }})
	c := gatewaytest.Dial(t, sys.URL())
	for range 3 {
		c.Fail(wire.TLogin, wire.Login{Username: "bob", Password: "guess"}, "bad_credentials")
	}
	// Even the right password waits out the window now.
	c.Fail(wire.TLogin, wire.Login{Username: "bob", Password: "demo"}, "rate_limited")
}

func TestBadMessages(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{})
	c := gatewaytest.Dial(t, sys.URL())
	for _, raw := range []string{`not json`, `{"id":"9"}`, `{"type":"login","id":"5","data":"nope"}`, `{"type":"teleport","id":"6"}`} {
		if err := c.SendRaw([]byte(raw)); err != nil {
			t.Fatal(err)
		}
		var we wire.Error
		json.Unmarshal(c.Next(wire.TError).Data, &we)
		if we.Code != "invalid_request" && we.Code != "not_logged_in" {
			t.Fatalf("%s: %+v", raw, we)
		}
	}
	// The connection survives and still works.
	c.Login("carol", "demo")
}

func TestInboundCallEndToEnd(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{})
	alice := gatewaytest.Dial(t, sys.URL())
	alice.Login("alice", "demo")
	tab2 := gatewaytest.Dial(t, sys.URL())
	tab2.Login("alice", "demo") // B1: a second tab sees the same call

	res, err := sys.Sim.StartInbound("+35722123456", "1001")
	if err != nil {
		t.Fatal(err)
	}
	rang := alice.CallEvent("rang")
	if rang.Call.ID != res.CallID || rang.Call.State != "ringing" || rang.Call.Remote != "+35722123456" {
		t.Fatalf("rang %+v", rang)
	}
	id := alice.CallEvent("identified")
	if len(id.Call.Matches) != 2 || id.Call.Matches[0].Contact.Code != "C000001" || id.Call.Matches[1].Contact.Code != "C000002" ||
		id.Call.Matches[0].Number != "+357 22 123456" || id.Call.State != "ringing" {
		t.Fatalf("matches while ringing: %+v", id.Call)
	}
	if r := tab2.CallEvent("rang"); r.Call.ID != res.CallID {
		t.Fatalf("second tab: %+v", r)
	}

	ref := wire.CallRef{CallID: res.CallID}
	alice.Do(wire.TAnswer, ref, nil)
	if c := alice.CallEvent("answered"); c.Call.State != "connected" {
		t.Fatalf("%+v", c)
	}
	alice.Do(wire.TSelect, wire.Select{CallID: res.CallID, Contact: "C000002"}, nil)
	if c := tab2.CallEvent("contact"); c.Call.Contact != "C000002" {
		t.Fatalf("contact in the other tab: %+v", c)
	}
	alice.Do(wire.THold, ref, nil)
	alice.CallEvent("held")
	alice.Fail(wire.THold, ref, "invalid_state")
	alice.Do(wire.TRetrieve, ref, nil)
	alice.CallEvent("retrieved")
	alice.Do(wire.THangup, ref, nil)
	if c := alice.CallEvent("ended"); c.Call.State != "ended" || c.Call.Ended.IsZero() {
		t.Fatalf("%+v", c)
	}

	rows := waitCallLog(t, sys.App.DB, res.CallID, 6)
	r := rows[0]
	if r.Username != "alice" || r.Contact != "C000002" || r.Remote != "+35722123456" || r.Answered.IsZero() || r.Ended.IsZero() {
		t.Fatalf("call log row %+v", r)
	}
	var got []string
	for _, s := range r.Timeline {
		got = append(got, string(s.Event))
	}
	want := []string{"rang", "answered", "contact", "held", "retrieved", "ended"}
	if len(got) != len(want) {
		t.Fatalf("timeline %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("timeline %v, want %v", got, want)
		}
	}
	var recent wire.RecentResult
	alice.Do(wire.TRecent, wire.Recent{Limit: 5}, &recent)
	if len(recent.Calls) != 1 || recent.Calls[0].ID != res.CallID {
		t.Fatalf("recent %+v", recent)
	}
}

func waitCallLog(t *testing.T, db *postgres.DB, callID string, steps int) []postgres.CallLogRow {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		rows, err := db.CallLog(context.Background(), callID)
		if err == nil && len(rows) == 1 && len(rows[0].Timeline) >= steps {
			return rows
		}
		if time.Now().After(deadline) {
			t.Fatalf("call log for %s: %+v %v", callID, rows, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSecondCallCannotBeAcceptedWhileOnCall(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{})
	c := gatewaytest.Dial(t, sys.URL())
	c.Login("bob", "demo")
	first, _ := sys.Sim.StartInbound("+35799000001", "1002")
	c.CallEvent("rang")
	c.Do(wire.TAnswer, wire.CallRef{CallID: first.CallID}, nil)
	c.CallEvent("answered")
	second, _ := sys.Sim.StartInbound("+35799000002", "1002")
	c.CallEvent("rang")
	c.Fail(wire.TAnswer, wire.CallRef{CallID: second.CallID}, "on_call")
	// Held is still "on a call" (R6).
	c.Do(wire.THold, wire.CallRef{CallID: first.CallID}, nil)
	c.CallEvent("held")
	c.Fail(wire.TAnswer, wire.CallRef{CallID: second.CallID}, "on_call")
	if d, _ := sys.Sim.Device("1002"); len(d.Calls) != 2 || d.Calls[1].State != "alerting" {
		t.Fatalf("PBX state changed: %+v", d)
	}
}

func TestStatusBusyStillCallsOutAndPhoneChangesShow(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{AutoAnswer: 50 * time.Millisecond})
	c := gatewaytest.Dial(t, sys.URL())
	c.Login("carol", "demo")
	c.Do(wire.TStatus, wire.StatusRequest{Status: "busy"}, nil)
	if d, _ := sys.Sim.Device("1003"); !d.DoNotDisturb {
		t.Fatalf("busy did not reach the PBX: %+v", d)
	}
	var st wire.StatusEvent
	json.Unmarshal(c.Next(wire.TStatusEv).Data, &st)
	if st.Status != "busy" || st.Source != "panel" {
		t.Fatalf("%+v", st)
	}
	var started wire.CallStarted
	c.Do(wire.TCall, wire.CallRequest{Number: "99 123456", Contact: "C000001"}, &started)
	dialed := c.CallEvent("dialed")
	if dialed.Call.ID != started.CallID || dialed.Call.Remote != "+35799123456" || dialed.Call.Contact != "C000001" {
		t.Fatalf("%+v", dialed)
	}
	c.CallEvent("answered")
	c.Fail(wire.TCall, wire.CallRequest{Number: "1004"}, "on_call")
	// The phone's own change shows in the panel.
	sys.Sim.SetDoNotDisturb("1003", false)
	json.Unmarshal(c.Next(wire.TStatusEv).Data, &st)
	if st.Status != "available" || st.Source != "phone" {
		t.Fatalf("%+v", st)
	}
	c.Fail(wire.TStatus, wire.StatusRequest{Status: "sleeping"}, "invalid_request")
}

func TestAgentCannotTouchAnotherAgentsCall(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{})
	a := gatewaytest.Dial(t, sys.URL())
	a.Login("dave", "demo")
	b := gatewaytest.Dial(t, sys.URL())
	b.Login("erin", "demo")
	res, _ := sys.Sim.StartInbound("+35722123456", "1005")
	b.CallEvent("rang")
	for _, typ := range []string{wire.TAnswer, wire.THangup, wire.THold} {
		a.Fail(typ, wire.CallRef{CallID: res.CallID}, "not_your_call")
	}
	a.Fail(wire.TSelect, wire.Select{CallID: res.CallID, Contact: "C000001"}, "not_your_call")
	a.Fail(wire.TAnswer, wire.CallRef{CallID: "NOPE"}, "no_such_call")
	if d, _ := sys.Sim.Device("1005"); d.Calls[0].State != "alerting" {
		t.Fatalf("erin's call changed: %+v", d)
	}
}

func TestLookupAndSearch(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{})
	c := gatewaytest.Dial(t, sys.URL())
	c.Login("frank", "demo")
	var lr wire.LookupResult
	c.Do(wire.TLookup, wire.Lookup{Number: "0035799654321"}, &lr)
	if len(lr.Matches) != 1 || lr.Matches[0].Contact.FullName != "Maria Georgiou" {
		t.Fatalf("%+v", lr)
	}
	var sr wire.SearchResult
	c.Do(wire.TSearch, wire.Search{Query: "georgiou", PageSize: 2}, &sr)
	if len(sr.Contacts) != 2 || !sr.More {
		t.Fatalf("%+v", sr)
	}
	c.Fail(wire.TSearch, wire.Search{Query: "  "}, "invalid_request")
}

func TestPBXLinkDropMidCall(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{})
	c := gatewaytest.Dial(t, sys.URL())
	c.Login("alice", "demo")
	res, _ := sys.Sim.StartInbound("+35722123456", "1001")
	c.CallEvent("rang")
	c.Do(wire.TAnswer, wire.CallRef{CallID: res.CallID}, nil)
	c.CallEvent("answered")
	sys.Sim.InjectFault(pbxsim.FaultDropLink, 0)
	var l wire.Link
	json.Unmarshal(c.Next(wire.TLink).Data, &l)
	if l.PBX != "down" {
		t.Fatalf("%+v", l)
	}
	json.Unmarshal(c.Next(wire.TLink).Data, &l)
	if l.PBX != "up" {
		t.Fatalf("%+v", l)
	}
	// The call survived; control works again on the new link.
	c.Do(wire.THold, wire.CallRef{CallID: res.CallID}, nil)
	c.CallEvent("held")
}

func TestDatabaseOutageBuffersCallLog(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{})
	c := gatewaytest.Dial(t, sys.URL())
	c.Login("grace", "demo")
	if err := sys.PG.Stop(); err != nil {
		t.Fatal(err)
	}
	res, _ := sys.Sim.StartInbound("+35722123456", "1007")
	c.CallEvent("rang") // call control goes on without the database
	c.Do(wire.TAnswer, wire.CallRef{CallID: res.CallID}, nil)
	c.CallEvent("answered")
	c.Do(wire.THangup, wire.CallRef{CallID: res.CallID}, nil)
	c.CallEvent("ended")
	if st := sys.App.Service.Stats(); st.CallLog.Pending == 0 {
		t.Fatalf("nothing buffered: %+v", st)
	}
	if err := sys.PG.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows := waitCallLog(t, sys.App.DB, res.CallID, 3)
	if rows[0].Ended.IsZero() {
		t.Fatalf("%+v", rows[0])
	}
}

func TestGatewayRestartResumesSession(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{})
	c := gatewaytest.Dial(t, sys.URL())
	sess, _ := c.Login("henry", "demo")
	res, _ := sys.Sim.StartInbound("+35722123456", "1008")
	c.CallEvent("rang")
	c.Do(wire.TAnswer, wire.CallRef{CallID: res.CallID}, nil)
	c.CallEvent("answered")

	sys.StopGateway()
	<-c.Done()
	sys.Config.Listen = sys.App.Addr // same address, as after a restart
	sys.StartGateway()

	c2 := gatewaytest.Dial(t, sys.URL())
	id := c2.Send(wire.TResume, wire.Resume{Token: sess.Token})
	if env := c2.Next(wire.TSession); env.ID != id {
		t.Fatal("no session")
	}
	var snap wire.Snapshot
	json.Unmarshal(c2.Next(wire.TSnapshot).Data, &snap)
	if snap.Agent.Username != "henry" || len(snap.Calls) != 1 || snap.Calls[0].ID != res.CallID || snap.Calls[0].State != "connected" {
		t.Fatalf("after restart: %+v", snap)
	}
	// The switch names the call; the call log says who is on it.
	if snap.Calls[0].Remote != "+35722123456" {
		r := c2.CallEvent("restored")
		if r.Call.Remote != "+35722123456" || r.Call.Direction != "inbound" {
			t.Fatalf("restored %+v", r.Call)
		}
	}
	c2.Do(wire.THangup, wire.CallRef{CallID: res.CallID}, nil)
	c2.CallEvent("ended")
	// A logged-out token is dead.
	c2.Do(wire.TLogout, struct{}{}, nil)
	c3 := gatewaytest.Dial(t, sys.URL())
	c3.Fail(wire.TResume, wire.Resume{Token: sess.Token}, "session_expired")
}

func TestSecondInstanceRefusesToStart(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{})
	cfg := sys.Config
	cfg.Listen = "127.0.0.1:0"
	_, err := app.Start(context.Background(), cfg)
	if !errors.Is(err, postgres.ErrInstanceRunning) {
		t.Fatalf("second instance: %v", err)
	}
}

func TestEndpointsAndReadiness(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{})
	base := "http://" + sys.App.Addr
	get := func(path string) (int, string) {
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Fatalf("healthz %d", code)
	}
	if code, body := get("/readyz"); code != 200 || !strings.Contains(body, `"pbx":"ok"`) {
		t.Fatalf("readyz %d %s", code, body)
	}
	c := gatewaytest.Dial(t, sys.URL())
	c.Login("alice", "demo")
	c.Fail(wire.TAnswer, wire.CallRef{CallID: "nope"}, "no_such_call")
	_, metrics := get("/metrics")
	for _, want := range []string{"crmcti_agents 1", "crmcti_monitored_devices 1", `crmcti_csta_messages_out_total{type="MonitorStart"}`,
		`crmcti_command_errors_total{code="no_such_call"} 1`, "crmcti_clients 1", `crmcti_login_seconds_count{outcome="ok"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	sys.PG.Stop()
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "database") {
		t.Fatalf("readyz with the database down: %d %s", code, body)
	}
	sys.PG.Start(context.Background())
}

func TestSlowClientIsDisconnectedOthersAreNot(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *app.Config) { c.ClientQueue = 8 }})
	fast := gatewaytest.Dial(t, sys.URL())
	fast.Login("bob", "demo")
	// A client that never reads: the core's queue for it fills.
	slow := sys.App.Service.NewConn("10.0.0.1")
	defer slow.Close()
	b, _ := wire.Encode(wire.TLogin, "1", wire.Login{Username: "bob", Password: "demo"})
	slow.Handle(context.Background(), b)
	for i := range 6 {
		sys.Sim.StartInbound(fmt.Sprintf("+3572200%04d", i), "1002")
		fast.CallEvent("rang")
	}
	select {
	case <-slow.Done():
		if slow.CloseReason().Code != "too_slow" {
			t.Fatalf("reason %+v", slow.CloseReason())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("slow client kept")
	}
	// The fast tab of the same agent goes on.
	sys.Sim.StartInbound("+35722999999", "1002")
	fast.CallEvent("rang")
}

func TestExpiredSessionEndsAndPhoneIsReleased(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *app.Config) {
		c.SessionTTL = time.Second
		c.SessionSweep = 100 * time.Millisecond
	}})
	c := gatewaytest.Dial(t, sys.URL())
	sess, _ := c.Login("alice", "demo")
	var bye wire.Error
	json.Unmarshal(c.Next(wire.TBye).Data, &bye)
	if bye.Code != "session_expired" {
		t.Fatalf("bye %+v", bye)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if d, _ := sys.Sim.Device("1001"); d.Monitors == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the expired agent's phone is still monitored")
		}
		time.Sleep(50 * time.Millisecond)
	}
	c2 := gatewaytest.Dial(t, sys.URL())
	c2.Fail(wire.TResume, wire.Resume{Token: sess.Token}, "session_expired")
}

func TestConsultThenTransferOrConference(t *testing.T) {
	for _, mode := range []string{wire.TComplete, wire.TConfer} {
		t.Run(mode, func(t *testing.T) {
			sys := gatewaytest.Start(t, gatewaytest.Options{})
			alice := gatewaytest.Dial(t, sys.URL())
			alice.Login("alice", "demo")
			bob := gatewaytest.Dial(t, sys.URL())
			bob.Login("bob", "demo")
			res, _ := sys.Sim.StartInbound("+35722123456", "1001")
			alice.CallEvent("rang")
			alice.Do(wire.TAnswer, wire.CallRef{CallID: res.CallID}, nil)
			alice.CallEvent("answered")
			// Before a consultation there is nothing to join.
			alice.Fail(mode, wire.Join{CallID: res.CallID, With: "x"}, "invalid_state")

			var consult wire.CallStarted
			alice.Do(wire.TConsult, wire.Transfer{CallID: res.CallID, To: "1002"}, &consult)
			alice.CallEvent("held")
			rang := bob.CallEvent("rang")
			if rang.Call.Remote != "1001" {
				t.Fatalf("bob sees %+v", rang.Call)
			}
			bob.Do(wire.TAnswer, wire.CallRef{CallID: rang.Call.ID}, nil)
			alice.CallEvent("answered")
			alice.Do(mode, wire.Join{CallID: res.CallID, With: consult.CallID}, nil)
			if mode == wire.TComplete {
				alice.CallEvent("transferred")
				tr := bob.CallEvent("transferred")
				if tr.Call.Remote != "+35722123456" {
					t.Fatalf("bob's far end after the transfer: %+v", tr.Call)
				}
				calls := sys.Sim.Calls()
				if len(calls) != 1 || len(calls[0].Connections) != 2 {
					t.Fatalf("PBX %+v", calls)
				}
				return
			}
			if c := alice.CallEvent("conferenced"); c.Call.State != "connected" {
				t.Fatalf("%+v", c)
			}
			if calls := sys.Sim.Calls(); len(calls) != 1 || len(calls[0].Connections) != 3 {
				t.Fatalf("PBX %+v", calls)
			}
		})
	}
}

func TestDigitsOnAConnectedCall(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{})
	c := gatewaytest.Dial(t, sys.URL())
	c.Login("grace", "demo")
	res, _ := sys.Sim.StartInbound("+35722123456", "1007")
	c.CallEvent("rang")
	c.Fail(wire.TDigits, wire.Digits{CallID: res.CallID, Digits: "1"}, "invalid_state")
	c.Do(wire.TAnswer, wire.CallRef{CallID: res.CallID}, nil)
	c.CallEvent("answered")
	c.Do(wire.TDigits, wire.Digits{CallID: res.CallID, Digits: "1234#"}, nil)
	for _, bad := range []string{"", "12x", "123456789012345678901234567890123"} {
		c.Fail(wire.TDigits, wire.Digits{CallID: res.CallID, Digits: bad}, "invalid_request")
	}
}
