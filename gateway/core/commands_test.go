package core

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/wire"
)

// A command that succeeded is audited as allowed with no error code; one
// the switch refused carries the switch's code.
func TestAuditOfCommands(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tab := h.dial()
	tab.login("alice")
	id := h.sw.Ring(alice.Extension, "+35722123456")
	tab.ok("answer", ref(id))
	tab.ok("hold", ref(id))
	h.sw.Fail = gateway.Errorf(gateway.CodePBXRefused, "refused")
	tab.fails("retrieve", ref(id), gateway.CodePBXRefused)
	h.eventually("three commands audited", func() bool { return len(commandAudits(h)) == 3 })
	want := []gateway.AuditEntry{
		{Action: "answer " + id, Allowed: true},
		{Action: "hold " + id, Allowed: true},
		{Action: "retrieve " + id, Detail: string(gateway.CodePBXRefused)},
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

// Two tabs of one agent accepting two ringing calls at the same moment:
// only one may be answered (R6), the other is refused with on_call.
func TestConcurrentAnswersKeepR6(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tab1, tab2 := h.dial(), h.dial()
	tab1.login("alice")
	tab2.login("alice")
	c1 := h.sw.Ring(alice.Extension, "+35799000001")
	c2 := h.sw.Ring(alice.Extension, "+35799000002")
	tab1.event(string(gateway.EvRang), c2)
	second := make(chan struct{}, 2)
	h.sw.BeforeAnswer = func(string, string) {
		second <- struct{}{}
		// Wait for the other answer to reach the switch too, or long
		// enough for it to have done so.
		deadline := time.After(100 * time.Millisecond)
		for len(second) < 2 {
			select {
			case <-deadline:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}
	var wg sync.WaitGroup
	ids := make([]string, 2)
	for i, x := range []struct {
		tab  *tab
		call string
	}{{tab1, c1}, {tab2, c2}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i] = x.tab.send("answer", ref(x.call))
		}()
	}
	wg.Wait()
	codes := map[string]int{}
	for i, tb := range []*tab{tab1, tab2} {
		e := tb.next("reply", func(e wire.Envelope) bool { return e.ID == ids[i] })
		if e.Type == wire.TError {
			var we wire.Error
			json.Unmarshal(e.Data, &we)
			codes[we.Code]++
		} else {
			codes["ok"]++
		}
	}
	if codes["ok"] != 1 || codes[string(gateway.CodeOnCall)] != 1 {
		t.Fatalf("replies %v; switch asked %v", codes, h.sw.Ops())
	}
}
