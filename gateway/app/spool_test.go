package app_test

import (
	"context"
	"testing"

	"crmcti/gateway/app"
	"crmcti/gateway/gatewaytest"
	"crmcti/gateway/wire"
)

// PostgreSQL stopped, a call made, the gateway stopped, then started
// again with the database back: every step of the call is in the call log
// (spooled at shutdown, written after the start).
func TestDatabaseOutagePlusRestartLosesNoStep(t *testing.T) {
	spoolDir := t.TempDir()
	sys := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *app.Config) { c.SpoolDir = spoolDir }})
	c := gatewaytest.Dial(t, sys.URL())
	c.Login("grace", "demo")
	if err := sys.PG.Stop(); err != nil {
		t.Fatal(err)
	}
	res, _ := sys.Sim.StartInbound("+35722123456", "1007")
	c.CallEvent("rang")
	c.Do(wire.TAnswer, wire.CallRef{CallID: res.CallID}, nil)
	c.CallEvent("answered")
	c.Do(wire.THangup, wire.CallRef{CallID: res.CallID}, nil)
	c.CallEvent("ended")
	sys.StopGateway()
	if st := sys.App.Service.Stats().CallLog; st.Spooled < 3 || st.Dropped != 0 {
		t.Fatalf("at shutdown: %+v", st)
	}
	if err := sys.PG.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	sys.Config.Listen = sys.App.Addr
	sys.StartGateway()
	rows := waitCallLog(t, sys.App.DB, res.CallID, 3)
	if rows[0].Ended.IsZero() {
		t.Fatalf("%+v", rows[0])
	}
}
