package core

import (
	"encoding/json"
	"strings"
	"testing"

	"crmcti/gateway"
	"crmcti/gateway/spool"
	"crmcti/gateway/wire"
)

// A call-log row the database refuses for its data does not block the
// rows after it: the batch falls back to single rows, the bad one is
// quarantined (counted, kept in the spool) and every other agent's calls
// are written.
func TestPoisonRowIsQuarantinedOthersWritten(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) {})
	h.db.RefuseLog = func(e gateway.LogEntry) bool { return strings.Contains(e.Call.RemoteRaw, "666") }
	dir, err := spool.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h.svc.Close()
	h.spool = dir
	h.start()
	alicesTab, bobsTab := h.dial(), h.dial()
	alicesTab.login("alice")
	bobsTab.login("bob")
	poison := h.sw.Ring(alice.Extension, "+35799666666")
	good := h.sw.Ring(bob.Extension, "+35722123456")
	h.sw.FarHangup(alice.Extension, poison)
	h.sw.FarHangup(bob.Extension, good)
	h.logged(good, 2)
	later := h.sw.Ring(bob.Extension, "+35722123456")
	h.logged(later, 1)
	h.eventually("two poison steps quarantined", func() bool { return h.svc.Stats().CallLog.Quarantined == 2 })
	st := h.svc.Stats().CallLog
	if st.Pending != 0 || st.Failing {
		t.Errorf("writer after a poison row: %+v", st)
	}
	n := 0
	dir.Load("quarantine-calls", func(line json.RawMessage) error {
		var q struct {
			Error string
			Item  gateway.LogEntry
		}
		if err := json.Unmarshal(line, &q); err != nil || q.Item.Call.ID != poison || q.Error == "" {
			t.Errorf("quarantine line %s: %v", line, err)
		}
		n++
		return nil
	})
	if n != 2 {
		t.Errorf("%d rows in quarantine, want 2", n)
	}
}

// The same for the audit log: a login whose audit row is refused does
// not stop later audit rows.
func TestPoisonAuditRowIsQuarantined(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.db.RefuseAudit = func(e gateway.AuditEntry) bool { return e.Username == "mallory" }
	tab := h.dial()
	tab.fails(wire.TLogin, wire.Login{Username: "mallory", Password: "x"}, gateway.CodeBadCredentials)
	tab.login("alice")
	h.eventually("alice's login audited", func() bool {
		for _, e := range h.db.AuditEntries() {
			if e.Username == "alice" && e.Action == "login" {
				return true
			}
		}
		return false
	})
	h.eventually("mallory's row quarantined", func() bool { return h.svc.Stats().Audit.Quarantined == 1 })
}

// Steps the database could not take before the gateway stopped are
// spooled, and written after the next start: a database outage plus a
// restart loses nothing.
func TestUnwrittenStepsSurviveARestart(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir, err := spool.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h.svc.Close()
	h.spool = dir
	h.start()
	tab := h.dial()
	tab.login("alice")
	h.db.SetDown(true)
	id := h.sw.Ring(alice.Extension, "+35722123456")
	tab.event(string(gateway.EvRang), id)
	h.sw.FarHangup(alice.Extension, id)
	tab.event(string(gateway.EvEnded), id)
	h.svc.Close()
	if st := h.svc.Stats().CallLog; st.Spooled != 2 || st.Dropped != 0 {
		t.Fatalf("at shutdown: %+v", st)
	}
	h.db.SetDown(false)
	h2 := h.restart()
	steps := h2.logged(id, 2)
	if steps[0].Event != gateway.EvRang || steps[1].Event != gateway.EvEnded {
		t.Errorf("steps after restart: %+v", steps)
	}
	h2.svc.Close()
	if n := len(h2.db.CallLogEntries()); n != 2 {
		t.Errorf("%d steps written, want 2 (the spool replayed once)", n)
	}
}
