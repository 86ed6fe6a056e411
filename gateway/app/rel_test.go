package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"crmcti/gateway/app"
	"crmcti/gateway/gatewaytest"
	"crmcti/gateway/wire"
)

// PostgreSQL stopped, a call made, the gateway stopped, then started
// again with the database back: every step of the call is in the call log
// (spooled at shutdown, written after the start).
func TestDatabaseOutagePlusRestartLosesNoStep(t *testing.T) {
	spoolDir := t.TempDir()
	sys := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *app.Config) { c.SpoolDir = spoolDir }})
	c := gatewaytest.Dial(t, sys.URL())
	c.Login("grace", "demo")
	if err := sys.PG.Stop(); err != nil {
		t.Fatal(err)
	}
	res, _ := sys.Sim.StartInbound("+35722123456", "1007")
	c.CallEvent("rang")
	c.Do(wire.TAnswer, wire.CallRef{CallID: res.CallID}, nil)
	c.CallEvent("answered")
	c.Do(wire.THangup, wire.CallRef{CallID: res.CallID}, nil)
	c.CallEvent("ended")
	sys.StopGateway()
	if st := sys.App.Service.Stats().CallLog; st.Spooled < 3 || st.Dropped != 0 {
		t.Fatalf("at shutdown: %+v", st)
	}
	if err := sys.PG.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	sys.Config.Listen = sys.App.Addr
	sys.StartGateway()
	rows := waitCallLog(t, sys.App.DB, res.CallID, 3)
	if rows[0].Ended.IsZero() {
		t.Fatalf("%+v", rows[0])
	}
}

// With -admin-listen, /metrics and the detailed readiness move there; the
// public /readyz names a dependency down without its error.
func TestAdminListener(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *app.Config) { c.AdminListen = "127.0.0.1:0" }})
	get := func(url string) (int, string) {
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	pub, admin := "http://"+sys.App.Addr, "http://"+sys.App.AdminAddr
	if code, _ := get(pub + "/metrics"); code != http.StatusNotFound {
		t.Errorf("public /metrics: %d", code)
	}
	if code, body := get(admin + "/metrics"); code != 200 || !strings.Contains(body, `crmcti_writer_pending{log="calls"}`) {
		t.Errorf("admin /metrics: %d", code)
	}
	sys.PG.Stop()
	defer sys.PG.Start(context.Background())
	if code, body := get(pub + "/readyz"); code != 503 || !strings.Contains(body, `"database":"down"`) || strings.Contains(body, "127.0.0.1") {
		t.Errorf("public /readyz: %d %s", code, body)
	}
	if code, body := get(admin + "/readyz"); code != 503 || strings.Contains(body, `"database":"down"`) {
		t.Errorf("admin /readyz: %d %s", code, body)
	}
}

// Idle WebSockets from one host: beyond the cap each is told
// too_many_connections and closed, while those under it stay; one that
// logs in frees its place.
func TestIdleSocketsCapped(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *app.Config) {
		c.MaxUnauthenticated = 20
		c.LoginDeadline = time.Hour
	}})
	var idle []*gatewaytest.Client
	for range 20 {
		c := gatewaytest.Dial(t, sys.URL())
		c.Do(wire.TPing, nil, nil) // answered: the gateway has counted it
		idle = append(idle, c)
	}
	for range 3 {
		if code := byeCode(gatewaytest.Dial(t, sys.URL())); code != "too_many_connections" {
			t.Fatalf("an idle socket over the cap ended with %q", code)
		}
	}
	idle[0].Login("alice", "demo") // logged in: no longer counted
	c := gatewaytest.Dial(t, sys.URL())
	c.Login("bob", "demo")
	for _, c := range idle[1:] {
		c.Do(wire.TPing, nil, nil) // still open
	}
}

// An idle socket is closed at the login deadline with login_timeout.
func TestIdleSocketTimedOut(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *app.Config) { c.LoginDeadline = time.Second }})
	if code := byeCode(gatewaytest.Dial(t, sys.URL())); code != "login_timeout" {
		t.Fatalf("an idle socket ended with %q", code)
	}
}

// byeCode is the code the gateway ended the connection with: the bye
// frame's, or the close frame's reason when the client saw that first.
func byeCode(c *gatewaytest.Client) string {
	env, err := c.Client.Next(wire.TBye, 10*time.Second)
	if err != nil {
		msg := err.Error()
		for _, code := range []string{"too_many_connections", "login_timeout"} {
			if strings.Contains(msg, `reason = "`+code+`"`) {
				return code
			}
		}
		return msg
	}
	var bye wire.Error
	json.Unmarshal(env.Data, &bye)
	return bye.Code
}
