package core

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/wire"
)

// A logout or a session expiry racing a new login of the same agent must
// leave her phone monitored: the switch is asked in an order whose last
// word is "monitored" exactly when she is logged in.
func TestEndOfSessionRacingANewLogin(t *testing.T) {
	t.Parallel()
	for _, end := range []string{"logout", "expiry"} {
		t.Run(end, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			old := h.dial()
			old.login("alice")
			monitoring := make(chan struct{}, 1)
			unmonitoring := make(chan struct{})
			h.sw.BeforeMonitor = func(string) {
				select {
				case monitoring <- struct{}{}:
				default:
				}
			}
			h.sw.BeforeUnmonitor = func(string) {
				close(unmonitoring)
				// Hold the unmonitor back until the new login reaches the
				// switch, or long enough for it to have done so.
				select {
				case <-monitoring:
				case <-time.After(100 * time.Millisecond):
				}
			}
			ended := make(chan struct{})
			go func() {
				defer close(ended)
				if end == "logout" {
					old.send(wire.TLogout, nil)
				} else {
					h.svc.sweep(time.Now().Add(25 * time.Hour))
				}
			}()
			<-unmonitoring
			h.dial().login("alice")
			<-ended
			if !h.sw.Monitored(alice.Extension) {
				t.Fatalf("alice is logged in but her phone is not monitored; switch asked %v", h.sw.Ops())
			}
			if st := h.svc.Stats(); st.Agents != 1 || st.MonitoredDevices != 1 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestLogin(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		setup    func(h *harness)
		user, pw string
		want     gateway.Code
		device   string // monitored after login
		// unaudited: refused before an audit entry could be written.
		unaudited bool
	}{
		{"ok", nil, "alice", "pw", "", "1001", false},
		{"bad password", nil, "alice", "nope", gateway.CodeBadCredentials, "", false},
		{"unknown user", nil, "zoe", "pw", gateway.CodeBadCredentials, "", false},
		{"directory down", func(h *harness) { h.dir.SetDown(true) }, "alice", "pw", gateway.CodeDirectoryDown, "", false},
		{"database down", func(h *harness) { h.db.SetDown(true) }, "alice", "pw", gateway.CodeDatabaseDown, "", true},
		{"disabled by an admin", func(h *harness) {
			h.db.SetOverride("alice", gateway.AgentOverride{Disabled: true})
		}, "alice", "pw", gateway.CodeAgentDisabled, "", false},
		{"extension overridden", func(h *harness) {
			h.db.SetOverride("alice", gateway.AgentOverride{Extension: "1050"})
		}, "alice", "pw", "", "1050", false},
		{"extension in use", func(h *harness) {
			h.db.SetOverride("bob", gateway.AgentOverride{Extension: "1001"})
			h.dial().login("alice")
		}, "bob", "pw", gateway.CodeInvalidState, "1001", true},
		{"rate limited after failures", func(h *harness) {
			tab := h.dial()
			for range 2 {
				tab.fails(wire.TLogin, wire.Login{Username: "alice", Password: "nope"}, gateway.CodeBadCredentials)
			}
		}, "alice", "pw", gateway.CodeRateLimited, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(cfg *Config) { cfg.LoginFailures = 2 })
			if c.setup != nil {
				c.setup(h)
			}
			tab := h.dial()
			if c.want != "" {
				tab.fails(wire.TLogin, wire.Login{Username: c.user, Password: c.pw}, c.want)
			} else {
				sess, snap := tab.login(c.user)
				if sess.Token == "" || sess.Agent.Extension != c.device || snap.Agent.Extension != c.device ||
					snap.Status != "available" || snap.PBX != "up" || len(snap.Calls) != 0 {
					t.Fatalf("session %+v, snapshot %+v", sess, snap)
				}
			}
			if c.device != "" && !h.sw.Monitored(c.device) {
				t.Fatalf("%s not monitored: %v", c.device, h.sw.Ops())
			}
			if c.device == "" && len(h.sw.Ops()) != 0 {
				t.Fatalf("switch asked %v", h.sw.Ops())
			}
			if c.unaudited {
				return
			}
			h.eventually("the login audited", func() bool {
				for _, e := range h.db.AuditEntries() {
					if e.Action == "login" && e.Username == c.user && e.Allowed == (c.want == "") {
						return true
					}
				}
				return false
			})
		})
	}
}

func TestResume(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sess, _ := h.dial().login("alice")
	id := h.sw.Ring(alice.Extension, "+35799000001")

	// From the cache, even with the database down.
	h.db.SetDown(true)
	tab := h.dial()
	tab.ok(wire.TResume, wire.Resume{Token: sess.Token})
	if snap := tab.snapshot(); len(snap.Calls) != 1 || snap.Calls[0].ID != id {
		t.Fatalf("snapshot after resume %+v", snap)
	}
	h.db.SetDown(false)

	// From the store, after a gateway restart.
	h2 := h.restart()
	tab = h2.dial()
	tab.ok(wire.TResume, wire.Resume{Token: sess.Token})
	if snap := tab.snapshot(); snap.Agent.Username != "alice" || len(snap.Calls) != 1 {
		t.Fatalf("snapshot after restart %+v", snap)
	}
	if !h2.sw.Monitored(alice.Extension) {
		t.Fatal("phone not monitored after resume")
	}

	h2.dial().fails(wire.TResume, wire.Resume{Token: "forged"}, gateway.CodeSessionExpired)
	h2.db.SetDown(true)
	h2.dial().fails(wire.TResume, wire.Resume{Token: "unknown"}, gateway.CodeDatabaseDown)
}

func TestResumeExpired(t *testing.T) {
	t.Parallel()
	// A TTL long enough for the login itself on a loaded machine, short
	// enough to wait out.
	h := newHarness(t, func(cfg *Config) { cfg.SessionTTL = time.Second })
	sess, _ := h.dial().login("alice")
	time.Sleep(time.Until(sess.ExpiresAt) + 50*time.Millisecond)
	h.dial().fails(wire.TResume, wire.Resume{Token: sess.Token}, gateway.CodeSessionExpired)
}

func TestLogout(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tab1, tab2 := h.dial(), h.dial()
	sess, _ := tab1.login("alice")
	tab2.login("alice")

	// One tab logging out leaves the other working.
	tab1.ok(wire.TLogout, nil)
	tab1.fails(wire.THold, ref("C1"), gateway.CodeNotLoggedIn)
	if !h.sw.Monitored(alice.Extension) {
		t.Fatal("the other tab's phone was unmonitored")
	}
	id := h.sw.Ring(alice.Extension, "+35799000001")
	tab2.event(string(gateway.EvRang), id)

	// Its token is revoked.
	h.dial().fails(wire.TResume, wire.Resume{Token: sess.Token}, gateway.CodeSessionExpired)

	// The last one stops the monitor.
	tab2.ok(wire.TLogout, nil)
	if h.sw.Monitored(alice.Extension) {
		t.Fatalf("still monitored after the last logout: %v", h.sw.Ops())
	}
	if st := h.svc.Stats(); st.Agents != 0 || st.MonitoredDevices != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// Two tabs of one agent see the same events, each encoded once.
func TestTwoTabsOfOneAgent(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tab1, tab2 := h.dial(), h.dial()
	tab1.login("alice")
	tab2.login("alice")
	id := h.sw.Ring(alice.Extension, "+35722123456")
	for _, tb := range []*tab{tab1, tab2} {
		tb.event(string(gateway.EvRang), id)
		if c := tb.event(EventIdentified, id); len(c.Matches) != 1 {
			t.Fatalf("matches %+v", c.Matches)
		}
	}
	tab2.ok(wire.TAnswer, ref(id))
	tab1.event(string(gateway.EvAnswered), id)
	if ops := h.sw.Ops(); strings.Count(strings.Join(ops, ","), "monitor 1001") != 1 {
		t.Fatalf("switch asked %v", ops)
	}
}

func TestExpirySweep(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tab := h.dial()
	sess, _ := tab.login("alice")
	h.dial().login("bob")
	h.svc.sweep(sess.ExpiresAt.Add(-time.Minute)) // nothing yet
	if !h.sw.Monitored(alice.Extension) {
		t.Fatal("swept before expiry")
	}
	// Bob logs in again later: only alice's sessions have all run out.
	h.dial().login("bob")
	h.svc.mu.Lock()
	h.svc.agents["bob"].expires = sess.ExpiresAt.Add(time.Hour)
	h.svc.mu.Unlock()

	h.svc.sweep(sess.ExpiresAt.Add(time.Second))
	select {
	case <-tab.c.Done():
		if r := tab.c.CloseReason(); r.Code != string(gateway.CodeSessionExpired) {
			t.Fatalf("closed with %+v", r)
		}
	default:
		t.Fatal("alice's tab was not told")
	}
	if h.sw.Monitored(alice.Extension) || !h.sw.Monitored(bob.Extension) {
		t.Fatalf("switch asked %v", h.sw.Ops())
	}
	h.eventually("the expiry audited", func() bool {
		for _, e := range h.db.AuditEntries() {
			if e.Action == "session expired" && e.Username == "alice" {
				return true
			}
		}
		return false
	})
}

// A phone the switch refuses to monitor is not a login.
func TestLoginWhenTheSwitchRefusesTheMonitor(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.sw.MonitorFail = gateway.Errorf(gateway.CodePBXRefused, "refused")
	tab := h.dial()
	tab.fails(wire.TLogin, wire.Login{Username: "alice", Password: "pw"}, gateway.CodePBXRefused)
	tab.fails(wire.THold, ref("C1"), gateway.CodeNotLoggedIn)
	if st := h.svc.Stats(); st.Agents != 0 || st.MonitoredDevices != 0 {
		t.Fatalf("stats %+v", st)
	}
	h.sw.MonitorFail = nil
	tab.login("alice")
}

// A switch slow to answer does not hold the login (at the morning peak
// the monitors queue behind its request rate): the agent is logged in
// with her phone "connecting". If the switch then refuses the phone,
// every tab is told why, and the session cannot be resumed into the same
// refusal.
func TestPhoneRefusedAfterTheLogin(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	release := make(chan struct{})
	h.sw.BeforeMonitor = func(string) { <-release }
	h.sw.MonitorFail = gateway.Errorf(gateway.CodePBXRefused, "invalidDeviceID")
	tab := h.dial()
	sess := tab.loginConnecting("alice")
	close(release)
	select {
	case <-tab.c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the tab of a refused phone stayed open")
	}
	if e := tab.c.CloseReason(); e.Code != string(gateway.CodePBXRefused) || !strings.Contains(e.Message, "1001") || !strings.Contains(e.Message, "invalidDeviceID") {
		t.Fatalf("bye %+v, want pbx_refused naming the phone and the switch's reason", e)
	}
	h.eventually("the agent forgotten", func() bool {
		st := h.svc.Stats()
		return st.Agents == 0 && st.MonitoredDevices == 0
	})
	h.dial().fails(wire.TResume, wire.Resume{Token: sess.Token}, gateway.CodeSessionExpired)
}

// A switch too busy to monitor the phone (performanceLimitExceeded, or
// no answer) is asked again until it does: the agent stays logged in with
// her phone "connecting", then ready.
func TestBusySwitchIsAskedAgain(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.sw.SetMonitorFail(gateway.Errorf(gateway.CodePBXUnavailable, "the telephone system is busy; try again"))
	tab := h.dial()
	tab.loginConnecting("alice")
	h.eventually("the monitor asked again", func() bool {
		n := 0
		for _, op := range h.sw.Ops() {
			if op == "monitor 1001" {
				n++
			}
		}
		return n >= 2
	})
	h.sw.SetMonitorFail(nil)
	tab.next("phone ready", func(e wire.Envelope) bool { return e.Type == wire.TPhone })
	if !h.sw.Monitored("1001") {
		t.Fatal("ready, the phone not monitored")
	}
}

// A phone command given while the phone is still being connected waits
// for it, rather than reaching a phone whose calls nobody watches.
func TestPhoneCommandsWaitForThePhone(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	release := make(chan struct{})
	h.sw.BeforeMonitor = func(string) { <-release }
	tab := h.dial()
	tab.loginConnecting("alice")
	done := make(chan json.RawMessage, 1)
	go func() { done <- tab.ok(wire.TCall, wire.CallRequest{Number: "1002"}) }()
	select {
	case <-done:
		t.Fatal("the call was placed before the phone was monitored")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	<-done
	if !h.sw.Monitored("1001") {
		t.Fatal("the call was placed, the phone not monitored")
	}
}
