package core

import (
	"strings"
	"testing"

	"crmcti/gateway"
	"crmcti/gateway/wire"
)

// Strings from the wire with a NUL, a control character or invalid UTF-8,
// or longer than their field allows, are refused with invalid_request
// and a message naming the field; nothing reaches the switch or the logs.
func TestBadStringsRefusedAtTheBoundary(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tab := h.dial()
	tab.login("alice")
	id := h.connected(alice.Extension, "+35722123456")
	cases := []struct {
		typ   string
		data  any
		field string
	}{
		{wire.TCall, wire.CallRequest{Number: "22 123456", Contact: "C0\u0000"}, "contact"},
		{wire.TCall, wire.CallRequest{Number: "22\x1b123456"}, "number"},
		{wire.TCall, wire.CallRequest{Number: strings.Repeat("1", 65)}, "number"},
		{wire.TSelect, wire.Select{CallID: id, Contact: "C0\u0000"}, "contact"},
		{wire.TSelect, wire.Select{CallID: id, Contact: "C\u202e1"}, "contact"},
		{wire.THold, wire.CallRef{CallID: id + "\u0000"}, "callId"},
		{wire.TSearch, wire.Search{Query: "and\x00"}, "query"},
		{wire.TTransfer, wire.Transfer{CallID: id, To: "1002\n"}, "to"},
	}
	for _, c := range cases {
		_, werr := tab.do(c.typ, c.data)
		if werr == nil || werr.Code != string(gateway.CodeInvalidRequest) || !strings.Contains(werr.Message, c.field) {
			t.Errorf("%s %+v: got %+v, want invalid_request naming %s", c.typ, c.data, werr, c.field)
		}
	}
	for _, op := range h.sw.Ops() {
		if strings.HasPrefix(op, "call") || strings.HasPrefix(op, "hold") || strings.HasPrefix(op, "transfer") {
			t.Errorf("switch asked %q with bad strings", op)
		}
	}
	for _, e := range h.db.CallLogEntries() {
		if e.Event == gateway.EvContact {
			t.Errorf("contact step logged: %+v", e)
		}
	}
}

// An unauthenticated login with a NUL in the username is refused before
// the directory is asked and before anything is audited.
func TestLoginWithNULRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	asked := 0
	h.dir.BeforeAuthenticate = func(string) { asked++ }
	tab := h.dial()
	_, werr := tab.do(wire.TLogin, wire.Login{Username: "x\u0000", Password: "pw"})
	if werr == nil || werr.Code != string(gateway.CodeInvalidRequest) || !strings.Contains(werr.Message, "username contains a NUL") {
		t.Fatalf("got %+v, want invalid_request: username contains a NUL", werr)
	}
	tab.fails(wire.TResume, wire.Resume{Token: strings.Repeat("t", 300)}, gateway.CodeInvalidRequest)
	if asked != 0 {
		t.Errorf("directory asked %d times", asked)
	}
}

// A contact code sent with a call or a choice must name a customer: an
// unknown one is refused with no_such_contact and not logged; a known
// one, or one among the call's matches while the database is down, is
// taken.
func TestContactMustExist(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tab := h.dial()
	tab.login("alice")
	tab.fails(wire.TCall, wire.CallRequest{Number: "22 123456", Contact: "C999"}, gateway.CodeNoSuchContact)
	id := h.sw.Ring(alice.Extension, "+35722123456")
	tab.event(EventIdentified, id)
	tab.fails(wire.TSelect, wire.Select{CallID: id, Contact: "C999"}, gateway.CodeNoSuchContact)
	h.db.SetDown(true)
	tab.ok(wire.TSelect, wire.Select{CallID: id, Contact: andreas.Code})
	h.db.SetDown(false)
	for _, e := range h.db.CallLogEntries() {
		if e.Event == gateway.EvContact && e.Detail != andreas.Code {
			t.Errorf("unknown contact logged: %+v", e)
		}
	}
}
