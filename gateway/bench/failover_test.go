package bench

import (
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"crmcti/gateway/wire"
)

func buildGateway(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ctigateway")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/ctigateway").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// TestFrozenActiveNeverReachesTheSwitchAgain freezes the active gateway
// (SIGSTOP) past its lease, lets the standby take over, gives the frozen
// one a command to carry out, and resumes it (SIGCONT): the frame tap in
// front of the switch proves it sent nothing after the standby started,
// and nothing at all after it resumed; it then serves as a standby.
func TestFrozenActiveNeverReachesTheSwitchAgain(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, slapd and two gateways")
	}
	ctx := context.Background()
	cfg := FailoverConfig{Agents: 8, Lease: 2 * time.Second, GatewayBin: buildGateway(t), Progress: testLog{t}}
	cfg.defaults()
	r, err := startPairRig(ctx, &cfg)
	defer r.close()
	if err != nil {
		t.Fatal(err)
	}
	a, b := r.nodes[0], r.nodes[1]
	t0 := time.Now()
	a.signal(syscall.SIGSTOP)
	if err := b.awaitActive(ctx, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	// The agents still on the frozen gateway change their status: the
	// frozen gateway reads the commands when it wakes and would tell the
	// switch at once.
	for _, ag := range r.agents {
		ag.mu.Lock()
		cl := ag.cl
		ag.mu.Unlock()
		for _, st := range []string{"busy", "available", "busy"} {
			if _, err := cl.Send(ctx, wire.TStatus, wire.StatusRequest{Status: st}); err != nil {
				t.Fatal(err)
			}
		}
	}
	time.Sleep(300 * time.Millisecond)
	n, bFirst := b.tap.sentSince(t0)
	if n == 0 {
		t.Fatal("the new active sent the switch nothing")
	}
	t1 := time.Now()
	a.signal(syscall.SIGCONT)
	time.Sleep(3 * time.Second)
	if n, at := a.tap.sentSince(bFirst); n > 0 {
		t.Fatalf("split brain: the frozen gateway sent the switch %d chunks, the first %v after the new active's first", n, at.Sub(bFirst))
	}
	if n, _ := a.tap.sentSince(t1); n > 0 {
		t.Fatalf("the resumed gateway sent the switch %d chunks", n)
	}
	role := readyRole(t, a.addr)
	if role["role"] != "standby" || role["active"] != b.name {
		t.Fatalf("the resumed gateway's /readyz: %v", role)
	}
	// Every agent, the one on the frozen gateway too, is served by the new
	// active without a new login.
	deadline := time.Now().Add(20 * time.Second)
	for _, ag := range r.agents {
		for {
			_, at, relogins := ag.view()
			if relogins > 0 {
				t.Fatalf("%s logged in again", ag.user)
			}
			if at.After(t0) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never resumed on the new active", ag.user)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func readyRole(t *testing.T, addr string) map[string]string {
	t.Helper()
	res, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out := map[string]string{}
	json.NewDecoder(res.Body).Decode(&out)
	return out
}

// TestFailoverQuick is ctibench -failover in small: a SIGKILL and a
// SIGTERM of the active, with calls in every state; nothing may be lost
// and every agent must come back without a new login. It asserts no
// speed.
func TestFailoverQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, slapd and two gateways")
	}
	rep, err := RunFailover(context.Background(), FailoverConfig{Agents: 12, Lease: 2 * time.Second, GatewayBin: buildGateway(t), Progress: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range rep.Results {
		t.Log(res.Line())
		if res.AgentsBack != rep.Agents || res.Relogins != 0 || res.CallsLost != 0 || res.WrongState != 0 || res.RowsLost != 0 {
			t.Errorf("%s: %s; %v", res.Kind, res.Line(), res.Notes)
		}
		if res.RowsOpen != 0 {
			t.Errorf("%s: %d call-log rows left open", res.Kind, res.RowsOpen)
		}
	}
}

type testLog struct{ t *testing.T }

func (w testLog) Write(b []byte) (int, error) {
	w.t.Log(string(b))
	return len(b), nil
}
