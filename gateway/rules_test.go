package gateway_test

import (
	"testing"

	"crmcti/gateway"
)

func TestCheckAction(t *testing.T) {
	ringing := gateway.Call{ID: "r", State: gateway.CallRinging}
	connected := gateway.Call{ID: "c", State: gateway.CallConnected}
	held := gateway.Call{ID: "h", State: gateway.CallHeld}
	dialing := gateway.Call{ID: "d", State: gateway.CallDialing}
	cases := []struct {
		name  string
		act   gateway.Action
		call  *gateway.Call
		calls []gateway.Call
		want  gateway.Code // "" = allowed
	}{
		{"answer ringing", gateway.ActAnswer, &ringing, []gateway.Call{ringing}, ""},
		{"answer while connected (R6)", gateway.ActAnswer, &ringing, []gateway.Call{connected, ringing}, gateway.CodeOnCall},
		{"answer while held (R6)", gateway.ActAnswer, &ringing, []gateway.Call{held, ringing}, gateway.CodeOnCall},
		{"answer connected", gateway.ActAnswer, &connected, []gateway.Call{connected}, gateway.CodeInvalidState},
		{"hold connected", gateway.ActHold, &connected, []gateway.Call{connected}, ""},
		{"hold ringing", gateway.ActHold, &ringing, []gateway.Call{ringing}, gateway.CodeInvalidState},
		{"retrieve held", gateway.ActRetrieve, &held, []gateway.Call{held}, ""},
		{"retrieve held while another connected", gateway.ActRetrieve, &held, []gateway.Call{held, connected}, gateway.CodeOnCall},
		{"retrieve connected", gateway.ActRetrieve, &connected, []gateway.Call{connected}, gateway.CodeInvalidState},
		{"hang up ringing (reject)", gateway.ActHangup, &ringing, []gateway.Call{ringing}, ""},
		{"transfer connected", gateway.ActTransfer, &connected, []gateway.Call{connected}, ""},
		{"transfer held", gateway.ActTransfer, &held, []gateway.Call{held}, gateway.CodeInvalidState},
		{"no call", gateway.ActHangup, nil, nil, gateway.CodeNoSuchCall},
		{"ended call", gateway.ActHangup, &gateway.Call{State: gateway.CallEnded}, nil, gateway.CodeNoSuchCall},
		{"call out when idle", gateway.ActCall, nil, nil, ""},
		{"call out with one held", gateway.ActCall, nil, []gateway.Call{held}, ""},
		{"call out while ringing in", gateway.ActCall, nil, []gateway.Call{ringing}, ""},
		{"call out while connected", gateway.ActCall, nil, []gateway.Call{connected}, gateway.CodeOnCall},
		{"call out while dialing", gateway.ActCall, nil, []gateway.Call{dialing}, gateway.CodeOnCall},
		{"digits on connected", gateway.ActDigits, &connected, []gateway.Call{connected}, ""},
		{"digits while ringing", gateway.ActDigits, &ringing, []gateway.Call{ringing}, gateway.CodeInvalidState},
		{"consult from connected", gateway.ActConsult, &connected, []gateway.Call{connected}, ""},
		{"consult from held", gateway.ActConsult, &held, []gateway.Call{held}, gateway.CodeInvalidState},
		{"complete held with consultation", gateway.ActComplete, &held, []gateway.Call{held, connected}, ""},
		{"complete without consultation", gateway.ActComplete, &held, []gateway.Call{held}, gateway.CodeInvalidState},
		{"complete a connected call", gateway.ActComplete, &connected, []gateway.Call{connected, held}, gateway.CodeInvalidState},
		{"unknown action", gateway.Action("juggle"), &connected, []gateway.Call{connected}, gateway.CodeInvalidRequest},
	}
	for _, c := range cases {
		err := gateway.CheckAction(c.act, c.call, c.calls)
		got := gateway.Code("")
		if err != nil {
			got = gateway.ErrorCode(err)
		}
		if got != c.want {
			t.Errorf("%s: got %q (%v), want %q", c.name, got, err, c.want)
		}
	}
}

func TestErrorCodeHidesInternals(t *testing.T) {
	if gateway.ErrorCode(errPlain{}) != gateway.CodeInternal || gateway.ErrorMessage(errPlain{}) != "internal error" {
		t.Fatal("a plain error leaked")
	}
}

type errPlain struct{}

func (errPlain) Error() string { return "pq: password authentication failed for user secret" }
