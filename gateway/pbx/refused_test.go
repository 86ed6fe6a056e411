package pbx_test

import (
	"context"
	"testing"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/csta"
	"crmcti/gateway/pbx"
	"crmcti/gateway/pbxsim"
)

// A call the switch refuses while the agent is Busy (do-not-disturb, or
// not ready with a divert destination) is reported once, as an inbound
// call that failed at her phone with the caller and the switch's cause,
// and is not tracked as live.
func TestRefusedWhileBusyIsReported(t *testing.T) {
	for _, tc := range []struct {
		name     string
		divertTo string
		mode     pbx.StatusMode
		cause    string
	}{
		{"do-not-disturb", "", pbx.StatusDoNotDisturb, "doNotDisturb"},
		{"not ready, diverted", "1099", pbx.StatusAgentState, "busy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := csta.LookupProfile("openscape")
			sim, addr := serveSim(t, pbxsim.Config{Profile: p, DivertTo: tc.divertTo})
			s := newSink()
			a := pbx.New(pbx.Config{Addr: addr, Profile: p, StatusMode: tc.mode, MinBackoff: 20 * time.Millisecond}, s)
			t.Cleanup(func() { a.Close(); sim.Close() })
			s.waitLink(t, true)
			ctx := context.Background()
			if err := a.Monitor(ctx, "1001"); err != nil {
				t.Fatal(err)
			}
			if err := a.SetStatus(ctx, "1001", "1001", gateway.StatusBusy); err != nil {
				t.Fatal(err)
			}
			res, _ := sim.StartInbound("+35722123456", "1001")
			c := s.next(t, gateway.EvFailed, gateway.CallFailed)
			if c.ID != res.CallID || c.Remote != "+35722123456" || c.Direction != gateway.Inbound || c.Cause != tc.cause || !c.Refused() || c.Ended.IsZero() {
				t.Fatalf("%+v", c)
			}
			if calls := a.Calls("1001"); len(calls) != 0 {
				t.Fatalf("tracker kept %+v", calls)
			}
			select {
			case u := <-s.calls:
				t.Fatalf("reported again: %+v", u)
			case <-time.After(200 * time.Millisecond):
			}
		})
	}
}
