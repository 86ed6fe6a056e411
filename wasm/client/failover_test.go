//go:build !js

package client_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"crmcti/gateway/app"
	"crmcti/gateway/gatewaytest"
	"crmcti/wasm/client"
)

// freeListen is a loopback address nothing listens on now, for a gateway
// that starts later at an address the settings already name.
func freeListen(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// A standby first in the list turns the core away, and the login goes
// on to the next gateway at once: the backoff here is an hour, so a core
// that waited it between members of the list would never log in.
func TestStandbyFirstLogsInOnTheNextGateway(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{})
	standby := gatewaytest.StartStandby(t)
	h := newHarnessConfig(t, client.Config{MinBackoff: time.Hour, MaxBackoff: time.Hour}, func(s *client.Settings) {
		s.GatewayURL = "ws://127.0.0.1:1/ws" // unused: the list wins
		s.GatewayURLs = []string{standby.URL(), " ", sys.URL()}
	})
	h.core.Intent(client.Intent{Type: "login", Username: "alice", Password: "demo"})
	v := h.until("logged in on the second gateway", func(v client.View) bool { return v.LoggedIn && v.Connection == "online" })
	if v.Gateway != sys.URL() || standby.Dials() != 1 || v.LoginError != "" {
		t.Fatalf("gateway %q, standby dialled %d times, view %+v", v.Gateway, standby.Dials(), v)
	}
}

// When every gateway is standby, the core has tried each once, says it
// is switching, and then waits out the backoff instead of spinning; the
// login waiting on them is handed back to the agent.
func TestAllStandbyWaitsOutTheBackoff(t *testing.T) {
	a, b := gatewaytest.StartStandby(t), gatewaytest.StartStandby(t)
	h := newHarnessConfig(t, client.Config{MinBackoff: time.Hour, MaxBackoff: time.Hour}, func(s *client.Settings) {
		s.GatewayURLs = []string{a.URL(), b.URL()}
	})
	h.core.Intent(client.Intent{Type: "login", Username: "alice", Password: "demo"})
	v := h.until("the round failed", func(v client.View) bool { return v.LoginError != "" && !v.LoginBusy })
	if !strings.Contains(v.LoginError, "Cannot reach") || v.ConnError != "Switching to the standby gateway…" || v.Notice != "" {
		t.Fatalf("view %+v", v)
	}
	time.Sleep(200 * time.Millisecond) // a spinning core would dial again
	if a.Dials() != 1 || b.Dials() != 1 {
		t.Fatalf("dials %d and %d, want one each", a.Dials(), b.Dials())
	}
}

// While only standbys answer, a takeover is under way: the core retries
// at the backoff's first step instead of doubling it, so that agents are
// back soon after the new active gateway takes over. With the delay
// doubling from 50ms, twelve rounds would take minutes.
func TestStandbyRoundsRetryAtTheFirstStep(t *testing.T) {
	standby := gatewaytest.StartStandby(t)
	tokens := &client.MemoryTokens{}
	tokens.Save("a token from before") // a session to resume: the core connects without a login
	h := newHarnessConfig(t, client.Config{Tokens: tokens, MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Hour}, func(s *client.Settings) {
		s.GatewayURL = standby.URL()
	})
	deadline := time.Now().Add(20 * time.Second)
	for standby.Dials() < 12 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d attempts: the core backed off ever more slowly while a standby answered", standby.Dials())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if v := h.core.View(); v.Connection != "reconnecting" || v.ConnError != "Switching to the standby gateway…" {
		t.Fatalf("view %+v", v)
	}
}

// The active gateway goes away during a call; the next of the list is a
// standby, and a new gateway starts on the same database at the third
// address (what a failover looks like to the extension). Meanwhile the
// panel says it is switching; the core resumes on the new one with its
// token, no new login, and the call never leaves the panel, caller and
// customer named all along.
func TestFailoverResumesWithTheCallShown(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{})
	standby := gatewaytest.StartStandby(t)
	second := freeListen(t)
	secondURL := "ws://" + second + "/ws"
	h := newHarness(t, sys.URL(), func(s *client.Settings) { s.GatewayURLs = []string{sys.URL(), standby.URL(), secondURL} })
	h.core.Intent(client.Intent{Type: "login", Username: "carol", Password: "demo"})
	h.until("logged in", func(v client.View) bool { return v.LoggedIn && v.Connection == "online" })
	token := h.tokens.Load()
	res, _ := sys.Sim.StartInbound("+35722123456", "1003")
	h.until("ringing, identified", func(v client.View) bool { c := callIn(v, "ringing"); return c != nil && len(c.Matches) == 2 })
	h.core.Intent(client.Intent{Type: "answer", CallID: res.CallID})
	h.until("connected", func(v client.View) bool { return callIn(v, "connected") != nil })
	h.core.Intent(client.Intent{Type: "select", CallID: res.CallID, Contact: "C000002"})
	h.until("customer chosen", func(v client.View) bool {
		c := callIn(v, "connected")
		return c != nil && c.Contact == "C000002" && c.Caller == "Constantinou Trading Ltd"
	})

	views := h.record()
	sys.StopGateway()
	h.until("switching said", func(v client.View) bool {
		return v.Connection == "reconnecting" && v.Notice == "Switching to the standby gateway…" && v.NoticeKind == "info"
	})
	sys.Config.Listen = second
	sys.StartGateway()
	h.until("online on the second gateway", func(v client.View) bool { return v.Connection == "online" && v.Gateway == secondURL })
	h.until("the call restored on the second gateway", func(v client.View) bool {
		c := callIn(v, "connected")
		return v.Gateway == secondURL && c != nil && c.Remote != ""
	})
	if h.tokens.Load() != token {
		t.Fatal("the session token changed: the agent logged in again")
	}
	for _, v := range views() {
		c := callIn(v, "connected")
		if !v.LoggedIn || c == nil || c.ID != res.CallID || c.Caller != "Constantinou Trading Ltd" || c.Contact != "C000002" {
			t.Fatalf("during the failover the panel showed %s with calls %+v", v.Connection, v.Calls)
		}
	}
	if v := h.core.View(); v.Notice != "" {
		t.Fatalf("notice %q left after the switch", v.Notice)
	}
}

// Each bad gateway of the list is its own problem, named by its place,
// on the list's field; with a list, the single URL is not used (nor
// checked), and without one it works as before.
func TestGatewayListProblems(t *testing.T) {
	s := client.DefaultSettings()
	s.GatewayURL = "not a url"
	s.GatewayURLs = []string{"wss://a.example.com/ws", "b.example.com:7080", "", "wss://a.example.com/ws", "http://c/ws"}
	s.ManagedKeys = []string{"gatewayUrls"}
	p := s.Problems()
	var msgs []string
	for _, pr := range p {
		if pr.Field != "gatewayUrls" {
			t.Errorf("problem on %s: %s", pr.Field, pr.Message)
		}
		msgs = append(msgs, pr.Message)
	}
	if len(p) != 3 || !strings.HasPrefix(msgs[0], "Gateway 2 of 4: ") || !strings.Contains(msgs[0], "wss://") ||
		!strings.Contains(msgs[1], "twice") || !strings.HasPrefix(msgs[2], "Gateway 4 of 4: ") || !strings.Contains(msgs[2], "administrator") {
		t.Fatalf("problems %q", msgs)
	}
	if got := s.Gateways(); len(got) != 4 || got[1] != "b.example.com:7080" {
		t.Fatalf("gateways %q", got)
	}
	s.GatewayURLs = []string{" ", ""}
	if p := s.Problems(); len(p) != 1 || p[0].Field != "gatewayUrl" {
		t.Fatalf("a blank list must leave the single URL in effect: %+v", p)
	}
	s.GatewayURL = " ws://127.0.0.1:7080/ws "
	if got := s.Gateways(); len(got) != 1 || got[0] != "ws://127.0.0.1:7080/ws" || len(s.Problems()) != 0 {
		t.Fatalf("gateways %q problems %+v", got, s.Problems())
	}
}

// A real active/standby pair of gateways on one database (issue 14): the
// list names the standby first, which turns the login away to the
// active. When the active stops (a clean hand-over), the standby takes
// over and the core follows it: no login, the same token, and the call
// on the panel all along with its caller and customer.
func TestActiveStandbyPairHandOver(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *app.Config) { c.Lease, c.Node = time.Second, "gw-a" }})
	cfg := sys.Config
	cfg.Listen, cfg.Node = "127.0.0.1:0", "gw-b"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	standby, err := app.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { standby.Close() })
	h := newHarness(t, sys.URL(), func(s *client.Settings) { s.GatewayURLs = []string{standby.URL, sys.URL()} })
	h.core.Intent(client.Intent{Type: "login", Username: "henry", Password: "demo"})
	v := h.until("logged in on the active", func(v client.View) bool { return v.LoggedIn && v.Connection == "online" })
	if v.Gateway != sys.URL() {
		t.Fatalf("logged in on %s, want the active %s", v.Gateway, sys.URL())
	}
	token := h.tokens.Load()
	res, _ := sys.Sim.StartInbound("+35722123456", "1008")
	h.until("ringing, identified", func(v client.View) bool { c := callIn(v, "ringing"); return c != nil && len(c.Matches) == 2 })
	h.core.Intent(client.Intent{Type: "answer", CallID: res.CallID})
	h.until("connected", func(v client.View) bool { return callIn(v, "connected") != nil })
	h.core.Intent(client.Intent{Type: "select", CallID: res.CallID, Contact: "C000002"})
	h.until("customer chosen", func(v client.View) bool { c := callIn(v, "connected"); return c != nil && c.Contact == "C000002" })

	views := h.record()
	sys.StopGateway()
	h.until("online on the new active", func(v client.View) bool { return v.Connection == "online" && v.Gateway == standby.URL })
	h.until("the call restored there", func(v client.View) bool { c := callIn(v, "connected"); return c != nil && c.Remote == "+35722123456" })
	if h.tokens.Load() != token {
		t.Fatal("the session token changed: the agent logged in again")
	}
	for _, v := range views() {
		c := callIn(v, "connected")
		if !v.LoggedIn || c == nil || c.ID != res.CallID || c.Caller != "Constantinou Trading Ltd" || c.Contact != "C000002" {
			t.Fatalf("during the hand-over the panel showed %s with calls %+v", v.Connection, v.Calls)
		}
	}
	// The new active drives the call.
	h.core.Intent(client.Intent{Type: "hold", CallID: res.CallID})
	h.until("held through the new active", func(v client.View) bool { return callIn(v, "held") != nil })
}
