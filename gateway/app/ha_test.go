package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"crmcti/gateway/app"
	"crmcti/gateway/gatewaytest"
	"crmcti/gateway/wire"
)

// startStandby starts a second gateway of the pair on sys's database.
func startStandby(t *testing.T, sys *gatewaytest.System, node string) *app.App {
	t.Helper()
	cfg := sys.Config
	cfg.Listen, cfg.Node = "127.0.0.1:0", node
	b, err := app.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("a second gateway with a lease must start as standby: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func readyz(t *testing.T, a *app.App) (int, map[string]string) {
	t.Helper()
	res, err := http.Get("http://" + a.Addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out := map[string]string{}
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

func metric(t *testing.T, a *app.App, name string) string {
	t.Helper()
	res, err := http.Get("http://" + a.Addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}

func TestStandbyRefusesAgentsThenTakesOverTheirCalls(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *app.Config) { c.Lease, c.Node = 3*time.Second, "gw-a" }})
	b := startStandby(t, sys, "gw-b")

	// The standby says so to a load balancer, to metrics and to agents.
	if code, body := readyz(t, b); code != http.StatusServiceUnavailable || body["role"] != "standby" || body["active"] != "gw-a" {
		t.Fatalf("standby /readyz %d %v", code, body)
	}
	if code, body := readyz(t, sys.App); code != http.StatusOK || body["role"] != "active" || body["node"] != "gw-a" {
		t.Fatalf("active /readyz %d %v", code, body)
	}
	if metric(t, b, "crmcti_leader") != "0" || metric(t, sys.App, "crmcti_leader") != "1" {
		t.Fatalf("crmcti_leader: standby %q active %q", metric(t, b, "crmcti_leader"), metric(t, sys.App, "crmcti_leader"))
	}
	// The standby holds an agent who comes to it until the active shows
	// it is alive (its next renewal, within a quarter lease), not for the
	// whole hold of a lease and a half.
	asked := time.Now()
	assertStandbyBye(t, b.URL)
	if held := time.Since(asked); held > 3*time.Second {
		t.Fatalf("an agent at the standby was held %v while the active renewed its lease", held)
	}

	// An agent on the active, on a call, when the active stops.
	c := gatewaytest.Dial(t, sys.URL())
	sess, _ := c.Login("henry", "demo")
	res, _ := sys.Sim.StartInbound("+35722123456", "1008")
	c.CallEvent("rang")
	c.Do(wire.TAnswer, wire.CallRef{CallID: res.CallID}, nil)
	c.CallEvent("answered")
	sys.StopGateway() // a clean hand-over: the lease is released at once
	<-c.Done()

	deadline := time.Now().Add(10 * time.Second)
	for code, _ := readyz(t, b); code != http.StatusOK; code, _ = readyz(t, b) {
		if time.Now().After(deadline) {
			t.Fatal("the standby never became active")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if metric(t, b, "crmcti_leader") != "1" {
		t.Fatal("crmcti_leader on the new active")
	}
	// The session resumes there without a login, with the call and who
	// is on it.
	c2 := gatewaytest.Dial(t, b.URL)
	c2.Send(wire.TResume, wire.Resume{Token: sess.Token})
	c2.Next(wire.TSession)
	var snap wire.Snapshot
	json.Unmarshal(c2.Next(wire.TSnapshot).Data, &snap)
	if len(snap.Calls) != 1 || snap.Calls[0].ID != res.CallID || snap.Calls[0].State != "connected" {
		t.Fatalf("after the take-over: %+v", snap)
	}
	if snap.Calls[0].Remote != "+35722123456" {
		if r := c2.CallEvent("restored"); r.Call.Remote != "+35722123456" {
			t.Fatalf("restored %+v", r.Call)
		}
	}
	c2.Do(wire.THangup, wire.CallRef{CallID: res.CallID}, nil)
	c2.CallEvent("ended")
}

// assertStandbyBye dials a standby: the socket is accepted, told bye
// standby and closed with 1013.
func assertStandbyBye(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{wire.Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	_, b, err := ws.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var env wire.Envelope
	var bye wire.Error
	json.Unmarshal(b, &env)
	json.Unmarshal(env.Data, &bye)
	if env.Type != wire.TBye || bye.Code != "standby" {
		t.Fatalf("standby said %s", b)
	}
	if _, _, err := ws.Read(ctx); websocket.CloseStatus(err) != websocket.StatusTryAgainLater {
		t.Fatalf("close: %v", err)
	}
}

// A call that ends while no gateway is active (the active stopped, the
// standby not yet taken over) is closed in the call log at the end the
// standby's watching link saw, not at the take-over's time.
func TestCallEndedInTheGapKeepsTheEndTheStandbySaw(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *app.Config) { c.Lease, c.Node = 3*time.Second, "gw-a" }})
	b := startStandby(t, sys, "gw-b")
	c := gatewaytest.Dial(t, sys.URL())
	c.Login("henry", "demo")
	res, _ := sys.Sim.StartInbound("+35722123456", "1008")
	c.CallEvent("rang")
	c.Do(wire.TAnswer, wire.CallRef{CallID: res.CallID}, nil)
	c.CallEvent("answered")
	deadline := time.Now().Add(15 * time.Second)
	for _, body := readyz(t, b); body["watching"] != "1"; _, body = readyz(t, b) {
		if time.Now().After(deadline) {
			t.Fatalf("the standby never watched henry's phone: %v", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	sys.StopGateway()
	if err := sys.Sim.Hangup(res.CallID, "+35722123456"); err != nil {
		t.Fatal(err)
	}
	for {
		rows, err := b.DB.CallLog(context.Background(), res.CallID)
		if err == nil && len(rows) == 1 && !rows[0].Ended.IsZero() {
			last := rows[0].Timeline[len(rows[0].Timeline)-1]
			if rows[0].Cause != "failover" || !strings.Contains(last.Detail, "as the standby saw") {
				t.Fatalf("closed as %q, last step %+v", rows[0].Cause, last)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the row of the call ended in the gap is still open: %+v %v", rows, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
