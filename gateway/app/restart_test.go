package app_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"crmcti/gateway/gatewaytest"
	"crmcti/gateway/wire"
)

// TestCallEndedWhileNoGatewayRanIsClosedAfterRestart is issue 11's
// gateway-sigkill loss: a call rings when the gateway dies, its caller
// gives up while no gateway runs, and the gateway comes back. No event
// will ever tell of that end, so the restarted gateway must close the
// call-log row itself once the switch shows the call gone — and the
// agent's resumed panel must not show it.
func TestCallEndedWhileNoGatewayRanIsClosedAfterRestart(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{})
	c := gatewaytest.Dial(t, sys.URL())
	sess, _ := c.Login("henry", "demo")
	res, err := sys.Sim.StartInbound("+35722123456", "1008")
	if err != nil {
		t.Fatal(err)
	}
	c.CallEvent("rang")
	waitCallLog(t, sys.App.DB, res.CallID, 1) // the row is open: rang, no end

	sys.StopGateway() // as far as the call is concerned, a SIGKILL: nothing ends it
	<-c.Done()
	if err := sys.Sim.Hangup(res.CallID, "+35722123456"); err != nil {
		t.Fatal(err)
	}
	sys.Config.Listen = sys.App.Addr
	sys.StartGateway()

	c2 := gatewaytest.Dial(t, sys.URL())
	c2.Send(wire.TResume, wire.Resume{Token: sess.Token})
	c2.Next(wire.TSession)
	var snap wire.Snapshot
	json.Unmarshal(c2.Next(wire.TSnapshot).Data, &snap)
	if len(snap.Calls) != 0 {
		t.Fatalf("after the restart the panel shows %+v", snap.Calls)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		rows, err := sys.App.DB.CallLog(context.Background(), res.CallID)
		if err == nil && len(rows) == 1 && !rows[0].Ended.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the call ended while no gateway ran; its row is still open: %+v %v", rows, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
