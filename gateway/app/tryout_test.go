package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"crmcti/gateway/app"
	"crmcti/gateway/gatewaytest"
	"crmcti/gateway/wire"
)

func tryCode(c *gatewaytest.Client, typ string, data any) string {
	_, werr := c.Reply(c.Send(typ, data))
	if werr == nil {
		return ""
	}
	return werr.Code
}

func TestTryoutHostileNotes(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{})
	anon := gatewaytest.Dial(t, sys.URL())
	if code := tryCode(anon, wire.TNote, wire.Note{CallID: "x", Note: "hi"}); code != "not_logged_in" {
		t.Errorf("note before login: %q", code)
	}
	alice := gatewaytest.Dial(t, sys.URL())
	alice.Login("alice", "demo")
	bob := gatewaytest.Dial(t, sys.URL())
	bob.Login("henry", "demo")
	res, _ := sys.Sim.StartInbound("+35722123456", "1008")
	bob.CallEvent("rang")
	bob.Do(wire.TAnswer, wire.CallRef{CallID: res.CallID}, nil)
	bob.CallEvent("answered")
	bob.Do(wire.THangup, wire.CallRef{CallID: res.CallID}, nil)
	bob.CallEvent("ended")
	ares, _ := sys.Sim.StartInbound("+35722123456", "1001")
	alice.CallEvent("rang")
	alice.Do(wire.TAnswer, wire.CallRef{CallID: ares.CallID}, nil)
	alice.CallEvent("answered")
	alice.Do(wire.THangup, wire.CallRef{CallID: ares.CallID}, nil)
	alice.CallEvent("ended")

	t.Logf("henry call %s alice call %s", res.CallID, ares.CallID)
	cases := []struct {
		name string
		n    wire.Note
		want []string
	}{
		{"NUL in note", wire.Note{CallID: ares.CallID, Note: "a\x00b"}, []string{"invalid_request"}},
		{"NUL only", wire.Note{CallID: ares.CallID, Note: "\x00"}, []string{"invalid_request"}},
		{"10 KB", wire.Note{CallID: ares.CallID, Note: strings.Repeat("x", 10240)}, []string{"invalid_request"}},
		{"501 chars", wire.Note{CallID: ares.CallID, Note: strings.Repeat("é", 501)}, []string{"invalid_request"}},
		{"CR", wire.Note{CallID: ares.CallID, Note: "a\rb"}, []string{"invalid_request"}},
		{"bidi", wire.Note{CallID: ares.CallID, Note: "a\u202eb"}, []string{"invalid_request", ""}},
		{"other agent's call", wire.Note{CallID: res.CallID, Note: "mine now"}, []string{"not_your_call", "no_such_call"}},
		{"never existed", wire.Note{CallID: "ZZZZ", Note: "x"}, []string{"no_such_call"}},
		{"NUL in call id", wire.Note{CallID: "a\x00", Note: "x"}, []string{"invalid_request", "no_such_call"}},
		{"10 KB call id", wire.Note{CallID: strings.Repeat("9", 10240), Note: "x"}, []string{"invalid_request"}},
		{"empty call id", wire.Note{CallID: "", Note: "x"}, []string{"invalid_request", "no_such_call"}},
		{"unknown disposition", wire.Note{CallID: ares.CallID, Note: "x", Disposition: "sold"}, []string{"invalid_request"}},
		{"disposition NUL", wire.Note{CallID: ares.CallID, Disposition: "resolved\x00"}, []string{"invalid_request"}},
		{"empty", wire.Note{CallID: ares.CallID}, []string{"invalid_request"}},
		{"spaces", wire.Note{CallID: ares.CallID, Note: "   \n "}, []string{"invalid_request"}},
	}
	for _, tc := range cases {
		code := tryCode(alice, wire.TNote, tc.n)
		ok := false
		for _, w := range tc.want {
			ok = ok || code == w
		}
		if !ok {
			t.Errorf("%s: got %q want one of %q", tc.name, code, tc.want)
		}
	}
	// Raw frames: wrong types, huge frame.
	for _, raw := range []string{
		`{"type":"note","id":"r1","data":{"callId":5,"note":"x"}}`,
		`{"type":"note","id":"r2","data":null}`,
		`{"type":"note","id":"r3","data":"str"}`,
		`{"type":"note","id":"r4"}`,
	} {
		if err := alice.SendRaw([]byte(raw)); err != nil {
			t.Fatal(err)
		}
		_, werr := alice.Reply(raw[strings.Index(raw, `"id":"`)+6 : strings.Index(raw, `"id":"`)+8])
		if werr == nil || werr.Code != "invalid_request" {
			t.Errorf("raw %s: %+v", raw, werr)
		}
	}
	// Nothing lost: a good note still works, reaches bob not, and the
	// other agent's call keeps no note.
	alice.Do(wire.TNote, wire.Note{CallID: ares.CallID, Note: "line1\nline2", Disposition: "callback"}, nil)
	alice.Next(wire.TNoted)
	var rec wire.RecentResult
	found := false
	start := time.Now()
	for !found && time.Since(start) < 10*time.Second {
		rec = wire.RecentResult{}
		alice.Do(wire.TRecent, wire.Recent{Limit: 10}, &rec)
		for _, c := range rec.Calls {
			if c.ID == ares.CallID {
				found = c.Note == "line1\nline2" && c.Disposition == "callback"
			}
		}
		if !found {
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Logf("note visible in recent after %v (found=%v)", time.Since(start), found)
	if !found {
		t.Errorf("recent after note: %+v", rec.Calls)
	}
	rec = wire.RecentResult{}
	bob.Do(wire.TRecent, wire.Recent{Limit: 10}, &rec)
	for _, c := range rec.Calls {
		if c.ID == res.CallID && c.Note != "" {
			t.Errorf("alice wrote on henry's call: %+v", c)
		}
	}
	// Gateway restarted: note via the call log.
	sys.StopGateway()
	sys.StartGateway()
	a2 := gatewaytest.Dial(t, sys.URL())
	a2.Login("alice", "demo")
	if code := tryCode(a2, wire.TNote, wire.Note{CallID: res.CallID, Note: "x"}); code != "no_such_call" && code != "not_your_call" {
		t.Errorf("other agent's logged call after restart: %q", code)
	}
	if code := tryCode(a2, wire.TNote, wire.Note{CallID: ares.CallID, Note: "again", Disposition: "resolved"}); code != "" {
		t.Errorf("own logged call after restart: %q", code)
	}
}

func TestTryoutNoteOnStandbyAndRevokedResume(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *app.Config) { c.Lease, c.Node = 3*time.Second, "gw-a" }})
	b := startStandby(t, sys, "gw-b")
	// note on the standby straight away; the standby may already have
	// said bye and closed, so a failed write is fine: it must not answer.
	s := gatewaytest.Dial(t, b.URL)
	_, _ = s.Client.Send(context.Background(), wire.TNote, wire.Note{CallID: "x", Note: "y"})
	env, err := s.Client.Next(wire.TResult, 3*time.Second)
	if err == nil {
		t.Errorf("standby answered a note: %+v", env)
	}

	c := gatewaytest.Dial(t, sys.URL())
	revoked, _ := c.Login("alice", "demo")
	c.Do(wire.TLogout, nil, nil)
	c2 := gatewaytest.Dial(t, sys.URL())
	live, _ := c2.Login("henry", "demo")
	sys.StopGateway()
	deadline := time.Now().Add(10 * time.Second)
	for code, _ := readyz(t, b); code != 200; code, _ = readyz(t, b) {
		if time.Now().After(deadline) {
			t.Fatal("no take-over")
		}
		time.Sleep(20 * time.Millisecond)
	}
	r := gatewaytest.Dial(t, b.URL)
	if code := tryCode(r, wire.TResume, wire.Resume{Token: revoked.Token}); code != "session_expired" {
		t.Errorf("revoked token resumed on the new active: %q", code)
	}
	r2 := gatewaytest.Dial(t, b.URL)
	if code := tryCode(r2, wire.TResume, wire.Resume{Token: "garbage"}); code != "session_expired" && code != "invalid_request" {
		t.Errorf("garbage token: %q", code)
	}
	r3 := gatewaytest.Dial(t, b.URL)
	if code := tryCode(r3, wire.TResume, wire.Resume{Token: live.Token}); code != "" {
		t.Errorf("live token: %q", code)
	}
	// Now henry logs out on the new active; the token must be dead there.
	r3.Do(wire.TLogout, nil, nil)
	r4 := gatewaytest.Dial(t, b.URL)
	if code := tryCode(r4, wire.TResume, wire.Resume{Token: live.Token}); code != "session_expired" {
		t.Errorf("logged-out token resumed: %q", code)
	}
}

// TestTryoutLogoutDuringOutageThenFailover: an agent logs out on the
// active while the database is down (the revocation goes to the active's
// own spool); the active then stops before the database returns; the
// standby takes over. The logged-out token must not resume there.
func TestTryoutLogoutDuringOutageThenFailover(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *app.Config) {
		c.Lease, c.Node, c.SpoolDir = 3*time.Second, "gw-a", t.TempDir()
	}})
	cfg := sys.Config
	cfg.Listen, cfg.Node, cfg.SpoolDir = "127.0.0.1:0", "gw-b", t.TempDir()
	b, err := app.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	c := gatewaytest.Dial(t, sys.URL())
	sess, _ := c.Login("alice", "demo")
	if err := sys.PG.Stop(); err != nil {
		t.Fatal(err)
	}
	// The logout cannot be recorded where the next active would see it:
	// the agent is told so (database_unavailable) instead of "ok" — a
	// spooled revocation on this host would never reach the standby.
	_, werr := c.Reply(c.Send(wire.TLogout, nil))
	if werr == nil || werr.Code != "database_unavailable" {
		t.Fatalf("logout during the outage answered %+v, want database_unavailable", werr)
	}
	sys.StopGateway()
	if err := sys.PG.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for code, _ := readyz(t, b); code != 200; code, _ = readyz(t, b) {
		if time.Now().After(deadline) {
			t.Fatal("no take-over")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Told that the logout did not take, the agent logs out again on the
	// new active, and then the token is refused.
	r := gatewaytest.Dial(t, b.URL)
	if code := tryCode(r, wire.TResume, wire.Resume{Token: sess.Token}); code != "" {
		t.Fatalf("resume on the new active: %q", code)
	}
	if _, werr := r.Reply(r.Send(wire.TLogout, nil)); werr != nil {
		t.Fatalf("second logout: %+v", werr)
	}
	if code := tryCode(gatewaytest.Dial(t, b.URL), wire.TResume, wire.Resume{Token: sess.Token}); code != "session_expired" {
		t.Errorf("a token logged out on the new active resumed: %q", code)
	}
}

// TestTryoutExpiredTokenRefusedAfterFailover: a session that has expired
// does not resume on the standby-turned-active.
func TestTryoutExpiredTokenRefusedAfterFailover(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *app.Config) {
		c.Lease, c.Node, c.SessionTTL = 3*time.Second, "gw-a", 2*time.Second
	}})
	b := startStandby(t, sys, "gw-b")
	c := gatewaytest.Dial(t, sys.URL())
	sess, _ := c.Login("alice", "demo")
	sys.StopGateway()
	deadline := time.Now().Add(10 * time.Second)
	for code, _ := readyz(t, b); code != 200; code, _ = readyz(t, b) {
		if time.Now().After(deadline) {
			t.Fatal("no take-over")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Until(sess.ExpiresAt) + 100*time.Millisecond)
	r := gatewaytest.Dial(t, b.URL)
	if code := tryCode(r, wire.TResume, wire.Resume{Token: sess.Token}); code != "session_expired" {
		t.Errorf("an expired token resumed on the new active: %q", code)
	}
}
