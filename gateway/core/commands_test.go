package core

import (
	"strings"
	"testing"

	"crmcti/gateway"
)

// A command that succeeded is audited as allowed with no error code; one
// the switch refused carries the switch's code.
func TestAuditOfCommands(t *testing.T) {
	h := newHarness(t)
	tab := h.dial()
	tab.login("alice")
	id := h.sw.Ring(alice.Extension, "+35722123456")
	tab.ok("answer", ref(id))
	tab.ok("hold", ref(id))
	h.sw.Fail = gateway.Errorf(gateway.ErrPBXRefused, "refused")
	tab.fails("retrieve", ref(id), gateway.ErrPBXRefused)
	h.eventually("three commands audited", func() bool { return len(commandAudits(h)) == 3 })
	want := []gateway.AuditEntry{
		{Action: "answer " + id, Allowed: true},
		{Action: "hold " + id, Allowed: true},
		{Action: "retrieve " + id, Detail: string(gateway.ErrPBXRefused)},
	}
	for i, e := range commandAudits(h) {
		if e.Action != want[i].Action || e.Allowed != want[i].Allowed || e.Detail != want[i].Detail || e.Username != "alice" {
			t.Errorf("audit %d: %+v, want %+v", i, e, want[i])
		}
	}
}

func commandAudits(h *harness) []gateway.AuditEntry {
	var out []gateway.AuditEntry
	for _, e := range h.db.AuditEntries() {
		if !strings.HasPrefix(e.Action, "login") {
			out = append(out, e)
		}
	}
	return out
}
