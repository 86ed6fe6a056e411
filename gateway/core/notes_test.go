package core

import (
	"encoding/json"
	"strings"
	"testing"

	"crmcti/gateway"
	"crmcti/gateway/wire"
)

// After a call the agent writes a note and chooses an outcome: every tab
// of hers is told, the call log keeps both with a "noted" step, and her
// recent calls show them.
func TestNoteAfterCall(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tab, other := h.dial(), h.dial()
	tab.login("alice")
	other.login("alice")
	id := h.connected(alice.Extension, "+35722123456")
	tab.ok(wire.THangup, ref(id))
	tab.event(string(gateway.EvEnded), id)

	note := wire.Note{CallID: id, Note: "  Wants a quote.\nCall back Monday  ", Disposition: string(gateway.DispCallback)}
	tab.ok(wire.TNote, note)
	var got wire.Note
	json.Unmarshal(other.next("noted", func(e wire.Envelope) bool { return e.Type == wire.TNoted }).Data, &got)
	if got.CallID != id || got.Note != "Wants a quote.\nCall back Monday" || got.Disposition != "callback" {
		t.Fatalf("noted %+v", got)
	}
	steps := h.logged(id, 1)
	last := steps[len(steps)-1]
	h.eventually("the noted step", func() bool {
		steps = h.logged(id, 1)
		last = steps[len(steps)-1]
		return last.Event == gateway.EvNoted
	})
	if last.Call.Note != got.Note || last.Call.Disposition != gateway.DispCallback || last.Call.State != gateway.CallEnded {
		t.Fatalf("logged %+v", last)
	}
	var recent wire.RecentResult
	json.Unmarshal(tab.ok(wire.TRecent, wire.Recent{}), &recent)
	if len(recent.Calls) == 0 || recent.Calls[0].Note != got.Note || recent.Calls[0].Disposition != "callback" {
		t.Fatalf("recent %+v", recent.Calls)
	}
}

// A note is refused, with a clear error, for a call that is not the
// agent's, an outcome not in the list, an empty note with no outcome,
// text with control characters and text too long.
func TestNoteRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tab, bobTab := h.dial(), h.dial()
	tab.login("alice")
	bobTab.login("bob")
	id := h.connected(alice.Extension, "+35722123456")
	tab.ok(wire.THangup, ref(id))
	tab.event(string(gateway.EvEnded), id)

	// Her ended call is no call of his; her live one is not his either.
	bobTab.fails(wire.TNote, wire.Note{CallID: id, Note: "mine now"}, gateway.CodeNoSuchCall)
	live := h.connected(alice.Extension, "+35799000111")
	bobTab.fails(wire.TNote, wire.Note{CallID: live, Note: "mine now"}, gateway.CodeNotYourCall)
	bobTab.fails(wire.TNote, wire.Note{CallID: "NOPE", Note: "x"}, gateway.CodeNoSuchCall)
	for name, n := range map[string]wire.Note{
		"unknown outcome": {CallID: id, Note: "x", Disposition: "sold"},
		"nothing":         {CallID: id, Note: "   "},
		"NUL":             {CallID: id, Note: "a\x00b"},
		"escape":          {CallID: id, Note: "a\x1b[31mb"},
		"carriage return": {CallID: id, Note: "a\rb"},
		"too long":        {CallID: id, Note: strings.Repeat("é", gateway.MaxNoteChars+1)},
	} {
		_, werr := tab.do(wire.TNote, n)
		if werr == nil || werr.Code != string(gateway.CodeInvalidRequest) || werr.Message == "" {
			t.Errorf("%s: %+v", name, werr)
		}
	}
	tab.ok(wire.TNote, wire.Note{CallID: id, Note: strings.Repeat("é", gateway.MaxNoteChars)})
	for _, e := range h.db.CallLogEntries() {
		if e.Event == gateway.EvNoted && e.Call.ID == id && strings.Contains(e.Call.Note, "mine") {
			t.Fatal("bob's note was written on alice's call")
		}
	}
}

// After a gateway restart the ended call is only in the call log; the
// agent can still note it, and only at her own phone.
func TestNoteOnCallFromTheLog(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tab := h.dial()
	tab.login("alice")
	id := h.connected(alice.Extension, "+35722123456")
	tab.ok(wire.THangup, ref(id))
	tab.event(string(gateway.EvEnded), id)
	h.logged(id, 3)
	h2 := h.restart()
	tab2, bobTab := h2.dial(), h2.dial()
	tab2.login("alice")
	bobTab.login("bob")
	bobTab.fails(wire.TNote, wire.Note{CallID: id, Note: "x"}, gateway.CodeNoSuchCall)
	tab2.ok(wire.TNote, wire.Note{CallID: id, Disposition: string(gateway.DispWrongNumber)})
	h2.eventually("noted from the log", func() bool {
		es := h2.db.CallLogEntries()
		last := es[len(es)-1]
		return last.Event == gateway.EvNoted && last.Call.ID == id && last.Call.Disposition == gateway.DispWrongNumber && last.Call.Remote == "+35722123456"
	})
}
