package core

import (
	"context"
	"testing"

	"crmcti/gateway"
	"crmcti/gateway/wire"
)

// Every rule the gateway enforces on a command, as an agent meets it.
func TestRules(t *testing.T) {
	t.Parallel()
	const caller, other = "+35799000001", "+35799000002"
	cases := []struct {
		name string
		// setup puts calls at the phones and returns the command's data.
		setup func(h *harness) (typ string, data any)
		want  gateway.Code // "" for success
	}{
		{"answer a ringing call", func(h *harness) (string, any) {
			return wire.TAnswer, ref(h.sw.Ring("1001", caller))
		}, ""},
		{"R6: no answer while connected", func(h *harness) (string, any) {
			h.connected("1001", caller)
			return wire.TAnswer, ref(h.sw.Ring("1001", other))
		}, gateway.CodeOnCall},
		{"R6: no answer while a call is held", func(h *harness) (string, any) {
			h.held("1001", caller)
			return wire.TAnswer, ref(h.sw.Ring("1001", other))
		}, gateway.CodeOnCall},
		{"answer a connected call", func(h *harness) (string, any) {
			return wire.TAnswer, ref(h.connected("1001", caller))
		}, gateway.CodeInvalidState},
		{"own calls only", func(h *harness) (string, any) {
			return wire.THangup, ref(h.sw.Ring("1002", caller))
		}, gateway.CodeNotYourCall},
		{"own calls only, select", func(h *harness) (string, any) {
			return wire.TSelect, wire.Select{CallID: h.sw.Ring("1002", caller), Contact: andreas.Code}
		}, gateway.CodeNotYourCall},
		{"no such call", func(h *harness) (string, any) {
			return wire.THold, ref("C404")
		}, gateway.CodeNoSuchCall},
		{"Busy may dial", func(h *harness) (string, any) {
			h.agentTab.ok(wire.TStatus, wire.StatusRequest{Status: "busy"})
			return wire.TCall, wire.CallRequest{Number: "22 123456"}
		}, ""},
		{"no call while connected", func(h *harness) (string, any) {
			h.connected("1001", caller)
			return wire.TCall, wire.CallRequest{Number: "22 123456"}
		}, gateway.CodeOnCall},
		{"a call while another is held", func(h *harness) (string, any) {
			h.held("1001", caller)
			return wire.TCall, wire.CallRequest{Number: "22 123456"}
		}, ""},
		{"no call to oneself", func(h *harness) (string, any) {
			return wire.TCall, wire.CallRequest{Number: "1001"}
		}, gateway.CodeInvalidRequest},
		{"hold a connected call", func(h *harness) (string, any) {
			return wire.THold, ref(h.connected("1001", caller))
		}, ""},
		{"hold a ringing call", func(h *harness) (string, any) {
			return wire.THold, ref(h.sw.Ring("1001", caller))
		}, gateway.CodeInvalidState},
		{"retrieve a held call", func(h *harness) (string, any) {
			return wire.TRetrieve, ref(h.held("1001", caller))
		}, ""},
		{"no retrieve while connected", func(h *harness) (string, any) {
			id := h.held("1001", caller)
			h.connected("1001", other)
			return wire.TRetrieve, ref(id)
		}, gateway.CodeOnCall},
		{"complete needs a held call", func(h *harness) (string, any) {
			a, b := h.connected("1001", caller), h.sw.Ring("1001", other)
			return wire.TComplete, wire.Join{CallID: a, With: b}
		}, gateway.CodeInvalidState},
		{"complete needs a connected consultation", func(h *harness) (string, any) {
			return wire.TComplete, wire.Join{CallID: h.held("1001", caller), With: "C404"}
		}, gateway.CodeInvalidState},
		{"complete a held and a connected call", func(h *harness) (string, any) {
			a := h.held("1001", caller)
			return wire.TComplete, wire.Join{CallID: a, With: h.connected("1001", other)}
		}, ""},
		{"conference a held and a connected call", func(h *harness) (string, any) {
			a := h.held("1001", caller)
			return wire.TConfer, wire.Join{CallID: a, With: h.connected("1001", other)}
		}, ""},
		{"no conference with someone else's call", func(h *harness) (string, any) {
			a := h.held("1001", caller)
			h.connected("1001", other)
			return wire.TConfer, wire.Join{CallID: a, With: h.connected("1002", other)}
		}, gateway.CodeNotYourCall},
		{"transfer a connected call", func(h *harness) (string, any) {
			return wire.TTransfer, wire.Transfer{CallID: h.connected("1001", caller), To: "1003"}
		}, ""},
		{"transfer nowhere", func(h *harness) (string, any) {
			return wire.TTransfer, wire.Transfer{CallID: h.connected("1001", caller), To: "abc"}
		}, gateway.CodeInvalidRequest},
		{"transfer a ringing call", func(h *harness) (string, any) {
			return wire.TTransfer, wire.Transfer{CallID: h.sw.Ring("1001", caller), To: "1003"}
		}, gateway.CodeInvalidState},
		{"consult on a connected call", func(h *harness) (string, any) {
			return wire.TConsult, wire.Transfer{CallID: h.connected("1001", caller), To: "1003"}
		}, ""},
		{"consult oneself", func(h *harness) (string, any) {
			return wire.TConsult, wire.Transfer{CallID: h.connected("1001", caller), To: "1001"}
		}, gateway.CodeInvalidRequest},
		{"tones on a connected call", func(h *harness) (string, any) {
			return wire.TDigits, wire.Digits{CallID: h.connected("1001", caller), Digits: "12*#A"}
		}, ""},
		{"tones that are not", func(h *harness) (string, any) {
			return wire.TDigits, wire.Digits{CallID: h.connected("1001", caller), Digits: "12x"}
		}, gateway.CodeInvalidRequest},
		{"tones on a held call", func(h *harness) (string, any) {
			return wire.TDigits, wire.Digits{CallID: h.held("1001", caller), Digits: "1"}
		}, gateway.CodeInvalidState},
		{"status that is not", func(h *harness) (string, any) {
			return wire.TStatus, wire.StatusRequest{Status: "away"}
		}, gateway.CodeInvalidRequest},
		{"unknown message", func(h *harness) (string, any) {
			return "dance", nil
		}, gateway.CodeInvalidRequest},
		{"malformed data", func(h *harness) (string, any) {
			return wire.TAnswer, "C1"
		}, gateway.CodeInvalidRequest},
		{"search for nothing", func(h *harness) (string, any) {
			return wire.TSearch, wire.Search{Query: "  "}
		}, gateway.CodeInvalidRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.agentTab = h.dial()
			h.agentTab.login("alice")
			h.dial().login("bob")
			typ, data := c.setup(h)
			if c.want == "" {
				h.agentTab.ok(typ, data)
			} else {
				h.agentTab.fails(typ, data, c.want)
			}
		})
	}
}

// Before login only ping, login and resume are served.
func TestCommandsNeedALogin(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tab := h.dial()
	tab.ok(wire.TPing, nil)
	for _, typ := range []string{wire.TLogout, wire.TAnswer, wire.TCall, wire.TStatus, wire.TLookup, wire.TRecent, "dance"} {
		tab.fails(typ, nil, gateway.CodeNotLoggedIn)
	}
	tab.fails(wire.TLogin, "alice", gateway.CodeInvalidRequest)
	tab.c.Handle(context.Background(), []byte(`{"id":"9"}`))
	tab.next("refusal of a frame with no type", func(e wire.Envelope) bool { return e.Type == wire.TError && e.ID == "9" })
}
