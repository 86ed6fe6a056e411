//go:build !js

package client_test

import (
	"strings"
	"testing"

	"crmcti/gateway/gatewaytest"
	"crmcti/wasm/client"
)

// When a call ends the note form opens on it; the note and outcome the
// agent saves reach the gateway and show in recent calls, also in a
// second browser of hers and after reopening the list. A missed call
// opens no form.
func TestAfterCallNoteThroughTheCore(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{})
	h := newHarness(t, sys.URL(), nil)
	other := newHarness(t, sys.URL(), nil)
	for _, x := range []*harness{h, other} {
		x.core.Intent(client.Intent{Type: "login", Username: "alice", Password: "demo"})
		x.until("logged in", func(v client.View) bool { return v.LoggedIn && v.PBX == "up" })
	}
	missed, _ := sys.Sim.StartInbound("+35799000111", "1001")
	h.until("ringing", func(v client.View) bool { return callIn(v, "ringing") != nil })
	if err := sys.Sim.Hangup(missed.CallID, "+35799000111"); err != nil {
		t.Fatal(err)
	}
	v := h.until("missed", func(v client.View) bool { return len(v.Recent) == 1 && v.Recent[0].Missed })
	if v.Wrap != nil {
		t.Fatalf("a missed call asks for a note: %+v", v.Wrap)
	}

	res, _ := sys.Sim.StartInbound("+35722123456", "1001")
	h.until("ringing", func(v client.View) bool { return callIn(v, "ringing") != nil })
	h.core.Intent(client.Intent{Type: "answer", CallID: res.CallID})
	h.until("connected", func(v client.View) bool { return callIn(v, "connected") != nil })
	h.core.Intent(client.Intent{Type: "hangup", CallID: res.CallID})
	v = h.until("note form", func(v client.View) bool { return v.Wrap != nil && v.Wrap.CallID == res.CallID })
	if len(v.Wrap.Options) != 5 || v.Wrap.Options[2].Code != "callback" || v.Wrap.Options[2].Label != "Callback requested" || v.Wrap.Caller == "" {
		t.Fatalf("form %+v", v.Wrap)
	}
	h.core.Intent(client.Intent{Type: "note", CallID: res.CallID, Note: "bad\x00note"})
	h.until("refused by the gateway", func(v client.View) bool {
		return strings.Contains(v.Notice, "NUL") && v.Wrap != nil && !v.Wrap.Busy
	})
	h.core.Intent(client.Intent{Type: "note", CallID: res.CallID, Note: " Wants a quote ", Disposition: "callback"})
	v = h.until("saved", func(v client.View) bool {
		return v.Wrap == nil && len(v.Recent) == 2 && v.Recent[0].Note == "Wants a quote" && strings.Contains(v.Notice, "Note saved")
	})
	if v.Recent[0].Outcome != "Callback requested" || !strings.Contains(v.Notice, "Note saved") {
		t.Fatalf("recent %+v notice %q", v.Recent[0], v.Notice)
	}
	other.until("the other browser sees it", func(v client.View) bool {
		return len(v.Recent) == 2 && v.Recent[0].Note == "Wants a quote" && v.Wrap == nil
	})
	other.core.Intent(client.Intent{Type: "recent"})
	other.until("from the call log", func(v client.View) bool {
		return len(v.Recent) == 2 && v.Recent[0].Disposition == "callback" && v.Recent[0].Note == "Wants a quote"
	})
	// A recent call can be noted again: the form opens on it, skip closes it.
	h.core.Intent(client.Intent{Type: "wrap", CallID: missed.CallID})
	h.until("form on the missed call", func(v client.View) bool { return v.Wrap != nil && v.Wrap.CallID == missed.CallID })
	h.core.Intent(client.Intent{Type: "skip"})
	h.until("closed", func(v client.View) bool { return v.Wrap == nil })
}

// A call refused while the agent is Busy is listed as refused, not as
// missed, and asks for no note.
func TestRefusedWhileBusyListed(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{})
	h := newHarness(t, sys.URL(), nil)
	h.core.Intent(client.Intent{Type: "login", Username: "bob", Password: "demo"})
	h.until("logged in", func(v client.View) bool { return v.LoggedIn && v.PBX == "up" })
	h.core.Intent(client.Intent{Type: "status", Status: "busy"})
	h.until("busy", func(v client.View) bool { return v.Status == "busy" })
	if _, err := sys.Sim.StartInbound("+35722123456", "1002"); err != nil {
		t.Fatal(err)
	}
	v := h.until("refused in recent", func(v client.View) bool { return len(v.Recent) == 1 && v.Recent[0].Refused })
	if r := v.Recent[0]; r.Missed || r.Number != "+357 22 123456" || r.When == "" || v.Wrap != nil {
		t.Fatalf("recent %+v wrap %+v", r, v.Wrap)
	}
	if !strings.Contains(v.Announce, "refused while you were Busy") {
		t.Fatalf("announce %q", v.Announce)
	}
	h.core.Intent(client.Intent{Type: "recent"})
	h.until("refused from the call log", func(v client.View) bool { return len(v.Recent) == 1 && v.Recent[0].Refused && !v.Recent[0].Missed })
}
