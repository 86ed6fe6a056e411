package main

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"crmcti/gateway/pbxsim"
)

// TestMain lets a test run this binary as the ctigateway command itself,
// to see its exit status.
func TestMain(m *testing.M) {
	if os.Getenv("CTIGATEWAY_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func startSim(t *testing.T, cfg pbxsim.Config) (*pbxsim.Sim, string) {
	t.Helper()
	cfg.Heartbeat = 300 * time.Millisecond
	sim := pbxsim.New(cfg)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go sim.ServeCSTA(l)
	t.Cleanup(func() { sim.Close() })
	return sim, l.Addr().String()
}

// ctigateway runs the command as a process and returns its output and
// exit status.
func ctigateway(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "CTIGATEWAY_TEST_MAIN=1"), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), 0
}

func TestConformanceCommandPassesAnAvayaSwitch(t *testing.T) {
	_, addr := startSim(t, pbxsim.Config{Vendor: pbxsim.VendorAvaya, User: "crm", Password: "Sekr3t!"})
	trace := filepath.Join(t.TempDir(), "trace.txt")
	out, code := ctigateway(t, []string{"CTI_PBX_PASSWORD=Sekr3t!", "CTI_PBX_SWITCH_NAME=CM1"},
		"conformance", "-pbx-addr", addr, "-pbx-profile", "avaya", "-pbx-user", "crm",
		"-device-a", "1001", "-device-b", "1002", "-device-c", "1003", "-auto", "-trace", trace, "-heartbeat", "1s", "-timeout", "5s")
	if code != 0 || !strings.Contains(out, "21 steps: 21 passed, 0 failed, 0 skipped") || !strings.Contains(out, "GetDeviceId A and B  ") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	b, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	tr := string(b)
	for _, want := range []string{"# step: ConferenceCall", " out ", " in ", "<ConferenceCall", "<ConferencedEvent", "<acx:userName>crm</acx:userName>", "<acx:password>***</acx:password>"} {
		if !strings.Contains(tr, want) {
			t.Errorf("trace lacks %q", want)
		}
	}
	if strings.Contains(tr, "Sekr3t!") {
		t.Error("the trace shows the password")
	}
}

func TestConformanceCommandFailsABrokenSwitch(t *testing.T) {
	_, addr := startSim(t, pbxsim.Config{Vendor: pbxsim.VendorNone, Faults: []string{pbxsim.FaultAnswerAny}})
	out, code := ctigateway(t, nil, "conformance", "-pbx-addr", addr, "-pbx-profile", "none",
		"-device-a", "1001", "-device-b", "1002", "-auto", "-timeout", "5s")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{
		"AnswerCall refused when not ringing  FAIL",
		"SingleStepTransferCall               skip    0s    needs a third party (device C)",
		"FAILED: AnswerCall refused when not ringing",
		"received: AnswerCallResponse: the switch claims it answered",
		"frame:    ", "<AnswerCallResponse",
		"ctigateway: conformance: steps failed: 1 of 20",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if out, code := ctigateway(t, nil, "conformance", "-device-a", "1001"); code != 1 || !strings.Contains(out, "-device-b are required") {
		t.Errorf("a missing device: exit %d\n%s", code, out)
	}
}

// promptAnswerer plays the person at the terminal: when asked to pick up
// a device, it answers that device's ringing call on the simulator and
// presses Enter.
type promptAnswerer struct {
	t     *testing.T
	sim   *pbxsim.Sim
	enter io.Writer
	mu    sync.Mutex
	out   bytes.Buffer
	asked []string
}

func (p *promptAnswerer) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.out.Write(b)
	s := string(b)
	if !strings.Contains(s, "Pick up device ") {
		return len(b), nil
	}
	label := s[strings.Index(s, "Pick up device ")+len("Pick up device "):][:1]
	dev := map[string]string{"A": "1001", "B": "1002", "C": "1003"}[label]
	p.asked = append(p.asked, label)
	go func() {
		d, err := p.sim.Device(dev)
		for _, c := range d.Calls {
			if c.State == "alerting" {
				err = p.sim.Answer(c.Device, dev) // Device holds the call ID here
			}
		}
		if err != nil {
			p.t.Error(err)
		}
		io.WriteString(p.enter, "\n")
	}()
	return len(b), nil
}

func TestConformanceCommandAsksAPersonToPickUp(t *testing.T) {
	// OpenScape knows the phones by full numbers; the template maps the
	// extensions to them as it does for serve.
	sim, addr := startSim(t, pbxsim.Config{Vendor: pbxsim.VendorOpenScape, DeviceTemplate: "3572210{ext}"})
	r, w := io.Pipe()
	defer w.Close()
	p := &promptAnswerer{t: t, sim: sim, enter: w}
	err := runConformance([]string{"-pbx-addr", addr, "-pbx-device-template", "3572210{ext}",
		"-device-a", "1001", "-device-b", "1002", "-device-c", "1003",
		"-heartbeat", "1s", "-timeout", "5s"}, r, p)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		t.Fatalf("%v\n%s", err, p.out.String())
	}
	// B for the first call and each three-party one, C in each of those.
	if got := strings.Join(p.asked, ""); got != "BBCBCBC" {
		t.Errorf("asked to pick up %q", got)
	}
	if !strings.Contains(p.out.String(), "Answer on B (by hand)") || !strings.Contains(p.out.String(), "Pick up device B (35722101002)") {
		t.Errorf("table:\n%s", p.out.String())
	}
}
