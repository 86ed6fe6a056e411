package bench

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"crmcti/gateway/app"
	"crmcti/gateway/gatewaytest"
)

// TestMeasureFirstRings runs the first-ring measurement against a test
// system: it checks that the figures come, not how fast they are (speed
// is measured by ctibench, never asserted in tests).
func TestMeasureFirstRings(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, slapd and Chromium")
	}
	if _, err := exec.LookPath("chromium"); err != nil {
		t.Skip("chromium not installed")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "extension", "core.wasm")); err != nil {
		t.Skip("extension/core.wasm missing: make build")
	}
	sys := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *app.Config) {
		c.AllowedOrigins = []string{"chrome-extension://" + extensionID}
	}})
	rt := RingTarget{GatewayURL: sys.URL(), Sim: sys.Sim, User: "alice", Password: "demo", Ext: "1001"}
	rings, err := MeasureFirstRings(context.Background(), root, rt, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(rings) != 2 {
		t.Fatalf("rings: %v", rings)
	}
	for _, ms := range rings {
		if ms <= 0 || ms > 15000 {
			t.Fatalf("a ring outside reason: %v", rings)
		}
	}
	if calls := sys.Sim.Calls(); len(calls) != 0 {
		t.Fatalf("calls left ringing: %+v", calls)
	}
	t.Logf("first rings: %.1f ms", rings)
}

// TestFirstRingsCarriesOn: a first ring that cannot be measured is said
// and kept in the report, and the benchmark goes on.
func TestFirstRingsCarriesOn(t *testing.T) {
	var out bytes.Buffer
	cfg := Config{ExtensionDir: ".", Progress: &out}
	rep := &Report{}
	cfg.firstRings(context.Background(), &environment{}, "ws://127.0.0.1:1/ws", nil, rep)
	if rep.Extension.FirstRingError == "" || len(rep.Extension.FirstRings) != 0 {
		t.Fatalf("report: %+v", rep.Extension)
	}
	if !strings.Contains(out.String(), "first ring after a cold start: ") {
		t.Fatalf("not said: %q", out.String())
	}
}
