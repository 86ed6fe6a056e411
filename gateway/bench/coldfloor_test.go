package bench

import (
	"context"
	"os/exec"
	"testing"
)

// TestMeasureColdFloor builds the floor program and times its cold start
// in Chromium: it checks that the figures come and that Go ran in the
// worker (the figure is set by Go's call), not how fast it was.
func TestMeasureColdFloor(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	if _, err := exec.LookPath("chromium"); err != nil {
		t.Skip("chromium not installed")
	}
	f, err := MeasureColdFloor(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Starts) != 2 || f.WasmBytes < 100_000 {
		t.Fatalf("floor: %+v", f)
	}
	for _, ms := range f.Starts {
		if ms <= 0 || ms > 15000 {
			t.Fatalf("floor start %v ms", ms)
		}
	}
}
