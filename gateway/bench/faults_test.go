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

// TestFaultsQuick is the fault suite in make test: a few agents, a few
// seconds per fault. Every fault must lose no call, no event after the
// resync and no call-log row, and the gateway must recover from each.
// It asserts no speed beyond "recovers at all".
func TestFaultsQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("the fault suite starts PostgreSQL, slapd and the gateway")
	}
	bin := filepath.Join(t.TempDir(), "ctigateway")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/ctigateway").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	rep, err := bench.RunFaults(context.Background(), bench.FaultConfig{Agents: 6, Rate: 4, Talk: 600 * time.Millisecond,
		Hold: 2 * time.Second, IdleSockets: 60, Logins: 40, GatewayBin: bin, Progress: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", rep.Markdown())
	for _, f := range rep.Results {
		switch {
		case f.NotRun != "":
			t.Logf("%s not run: %s", f.Name, f.NotRun)
		case f.Calls == 0:
			t.Errorf("%s: the switch made no call during the fault", f.Name)
		case f.Failed():
			t.Errorf("%s: %d calls, lost %d calls, %d events after resync, %d call-log rows; recovered in %v; %s",
				f.Name, f.Calls, f.CallsLost, f.EventsLost, f.RowsLost, f.Recover, strings.Join(f.Notes, "; "))
		}
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
