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

	"crmcti/gateway/gatewaytest/wireclient"
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
// front of the switch proves that its link of the lost term carried
// nothing after the freeze, and that after it resumed it sent nothing
// but what a standby's watching link carries (monitors, snapshots, the
// session) on a link of its own; it then serves as a standby. The new
// active, a standby until then, watched the phones already: its links
// carried no command before it took over.
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
	beforeFreeze := a.tap.linksOpened()
	if cmds := commands(b.tap.framesSince(time.Time{})); len(cmds) > 0 {
		t.Fatalf("the standby sent the switch %v", cmds)
	}
	t0 := time.Now()
	a.signal(syscall.SIGSTOP)
	// The active has missed two renewals and its lease still runs: an
	// agent who comes to the standby now is held until it takes over and
	// served then, not sent round the list again.
	time.Sleep(1200 * time.Millisecond)
	if role := readyRole(t, b.addr); role["role"] != "standby" {
		t.Logf("the standby took over within 1.2 s (%v): its holding an agent is not tested", role)
	} else {
		r.agents[0].mu.Lock()
		token := r.agents[0].token
		r.agents[0].mu.Unlock()
		held := time.Now()
		cl, err := wireclient.Dial(ctx, b.url())
		if err != nil {
			t.Fatal(err)
		}
		id, _ := cl.Send(ctx, wire.TResume, wire.Resume{Token: token})
		if _, werr, err := cl.Reply(id, 10*time.Second); err != nil || werr != nil {
			t.Fatalf("an agent at the standby while the active was silent: %v %v", werr, err)
		}
		t.Logf("an agent at the standby was held %v and served", time.Since(held).Round(time.Millisecond))
		cl.Close()
	}
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
	a.signal(syscall.SIGCONT)
	time.Sleep(3 * time.Second)
	for _, f := range a.tap.framesSince(t0) {
		if f.link < beforeFreeze {
			t.Fatalf("split brain: the frozen gateway's link of the lost term carried %s %v after the freeze", f.message, f.at.Sub(t0))
		}
	}
	if cmds := commands(a.tap.framesSince(t0)); len(cmds) > 0 {
		t.Fatalf("split brain: the resumed gateway sent the switch %v", cmds)
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

// watching are the messages a standby's watching link may carry
// (pbx/watch.go): nothing in them changes a call or a device.
var watching = map[string]bool{
	"MonitorStart": true, "MonitorStop": true, "SnapshotDevice": true, "GetDeviceId": true, "ReleaseDeviceId": true,
	"StartApplicationSession": true, "StopApplicationSession": true, "ResetApplicationSessionTimer": true,
	"SystemRegister": true, "SystemStatus": true, "SystemStatusResponse": true,
}

// commands are the frames that are not watching: they drive the switch.
func commands(frames []tappedFrame) []string {
	var out []string
	for _, f := range frames {
		if !watching[f.message] {
			out = append(out, f.message)
		}
	}
	return out
}
