package bench_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crmcti/gateway/bench"
)

// TestQuickRun is the benchmark's smoke test in make test: the whole
// pipeline works and loses nothing. It asserts no speed.
func TestQuickRun(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "ctigateway")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/ctigateway").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	rep, err := bench.Run(context.Background(), bench.Config{Agents: 10, Rate: 10, Duration: 2 * time.Second,
		Talk: 600 * time.Millisecond, Contacts: 500, Lookups: 50, GatewayBin: bin, Runs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 2 {
		t.Fatalf("%d runs, want 2", len(rep.Runs))
	}
	for i, run := range rep.Runs {
		for name, p := range map[string]bench.Phase{"gateway": run.Gateway, "floor": run.Floor} {
			if p.CallsStarted == 0 || p.Events < p.CallsStarted*5 || p.Lost != 0 || p.OutOfOrder != 0 {
				t.Errorf("run %d, %s phase: %+v", i+1, name, p)
			}
		}
	}
	if st := rep.Storm; st.Latency.N != 10 || st.AtOnce != 10 || st.Refused+st.TimedOut != 0 || rep.Login.N != 10 || rep.Lookup.N != 50 {
		t.Errorf("storm %+v login %+v lookup %+v", rep.Storm, rep.Login, rep.Lookup)
	}
	if md := rep.Markdown(); !strings.Contains(md, "event latency") || !strings.Contains(md, "worst run") {
		t.Errorf("report:\n%s", md)
	}
}
