package main

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"crmcti/gateway/gatewaytest"
	"crmcti/gateway/wire"
)

// TestDemoRunsAndCleansUp is the acceptance of `make demo`: the real binary
// reaches "ready", every URL it prints answers, and after SIGINT nothing is
// left in its temp dir.
func TestDemoRunsAndCleansUp(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "ctidemo")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	// Not t.TempDir: its parent is private to root, and the postgres user
	// must reach its data dir below this one.
	tmp, err := os.MkdirTemp("", "ctidemo-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	if err := os.Chmod(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-crm-addr", "127.0.0.1:0", "-gateway-addr", "127.0.0.1:0",
		"-pbx-csta-addr", "127.0.0.1:0", "-pbx-control-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "BROWSER=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	var urls []string
	var gatewayURL, pbxControl string
	sc := bufio.NewScanner(stdout)
	ready := false
	for sc.Scan() {
		line := sc.Text()
		t.Log(line)
		if line == "ready" {
			ready = true
			break
		}
		name, rest, ok := strings.Cut(line, ": ")
		if ok && strings.HasPrefix(rest, "http://") {
			urls = append(urls, rest)
		}
		if name == "pbx-control" {
			pbxControl = rest
		}
		if name == "gateway" {
			gatewayURL, _, _ = strings.Cut(rest, " ")
			// "ws://host:port/ws (health http://host:port/healthz)"
			_, health, _ := strings.Cut(rest, "(health ")
			urls = append(urls, strings.TrimSuffix(health, ")"))
		}
		if name == "pbx-csta" {
			c, err := net.DialTimeout("tcp", rest, 2*time.Second)
			if err != nil {
				t.Fatalf("pbx-csta %s: %v", rest, err)
			}
			c.Close()
		}
	}
	if !ready {
		t.Fatal("demo exited before printing ready")
	}
	if len(urls) == 0 {
		t.Fatal("demo printed no service URL")
	}
	for _, u := range urls {
		res, err := http.Get(u)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("%s: status %d", u, res.StatusCode)
		}
	}

	demoCall(t, gatewayURL, pbxControl)

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for sc.Scan() {
		}
		done <- cmd.Wait()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo exit: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("demo did not stop within 60s of SIGINT")
	}
	left, _ := os.ReadDir(tmp)
	for _, e := range left {
		t.Errorf("left behind in TMPDIR: %s", e.Name())
	}
}

// demoCall is what the README promises a person trying the demo: an agent
// logged in over the WebSocket sees a call started through the simulator's
// control API, with the matched contacts, and answers, holds, resumes and
// ends it.
func demoCall(t *testing.T, gatewayURL, pbxControl string) {
	c := gatewaytest.Dial(t, gatewayURL)
	c.Login("alice", "demo")
	res, err := http.Post(pbxControl+"calls", "application/json", strings.NewReader(`{"from":"+35722123456","to":"1001"}`))
	if err != nil {
		t.Fatal(err)
	}
	var call struct{ CallID string }
	json.NewDecoder(res.Body).Decode(&call)
	res.Body.Close()
	if id := c.CallEvent("identified"); len(id.Call.Matches) != 2 || id.Call.ID != call.CallID {
		t.Fatalf("demo call not identified: %+v", id)
	}
	ref := wire.CallRef{CallID: call.CallID}
	for _, step := range []struct{ cmd, event string }{{wire.TAnswer, "answered"}, {wire.THold, "held"}, {wire.TRetrieve, "retrieved"}, {wire.THangup, "ended"}} {
		c.Do(step.cmd, ref, nil)
		c.CallEvent(step.event)
	}
}
