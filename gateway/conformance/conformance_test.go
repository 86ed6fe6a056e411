package conformance_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"crmcti/gateway/conformance"
	"crmcti/gateway/csta"
	"crmcti/gateway/pbxsim"
)

// startSim runs a simulated switch of a vendor profile on a loopback
// port, with heartbeats frequent enough for a test.
func startSim(t *testing.T, cfg pbxsim.Config) string {
	t.Helper()
	cfg.Heartbeat = 300 * time.Millisecond
	sim := pbxsim.New(cfg)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go sim.ServeCSTA(l)
	t.Cleanup(func() { sim.Close() })
	return l.Addr().String()
}

// config is a run against the simulator's vendor profile, with the test
// devices as that switch knows them.
func config(t *testing.T, addr, vendor string, trace io.Writer) conformance.Config {
	t.Helper()
	link := vendor
	if vendor == pbxsim.VendorDefault {
		link = "openscape"
	}
	p, err := csta.LookupProfile(link)
	if err != nil {
		t.Fatal(err)
	}
	cfg := conformance.Config{Addr: addr, Profile: p, DeviceA: "1001", DeviceB: "1002", DeviceC: "1003",
		Auto: true, Trace: trace, Timeout: 5 * time.Second, Heartbeat: time.Second}
	switch vendor {
	case pbxsim.VendorOpenScape: // subscribers by their full number (pbxsim's default template)
		cfg.DeviceA, cfg.DeviceB, cfg.DeviceC = "35722101001", "35722101002", "35722101003"
	case pbxsim.VendorAvaya: // pbxsim's default AES account and switch connection
		cfg.UserName, cfg.Password, cfg.SwitchName = "cti", "cti-password", "CM1"
	}
	return cfg
}

func TestEveryProfilePasses(t *testing.T) {
	for _, vendor := range pbxsim.Vendors() {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			addr := startSim(t, pbxsim.Config{Vendor: vendor})
			var trace, out bytes.Buffer
			rep, err := conformance.Run(context.Background(), config(t, addr, vendor, &trace), &out)
			if err != nil {
				t.Fatal(err)
			}
			for _, res := range rep.Results {
				if res.Verdict == conformance.Fail || res.Verdict == conformance.Skip && res.Step != conformance.StepHeartbeat {
					t.Errorf("%s: %s %s %s", res.Step, res.Verdict, res.Expected, res.Received)
				}
			}
			t.Log(out.String())
			if !strings.Contains(trace.String(), "<MakeCall") {
				t.Error("trace lacks the MakeCall request")
			}
			if vendor == pbxsim.VendorAvaya && (strings.Contains(trace.String(), "cti-password") || !strings.Contains(trace.String(), "password>***<")) {
				t.Errorf("the trace shows the AES password or no login at all:\n%s", trace.String())
			}
		})
	}
}

// misbehave relays an application's link to a real simulated switch and
// lets alter rewrite what the switch sends: return the message (changed
// or not) to pass it on, nil to drop it. The simulator does everything
// else right, so a run must fail exactly where alter makes it.
func misbehave(t *testing.T, upstream string, alter func(csta.Message) csta.Message) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			app, err := l.Accept()
			if err != nil {
				return
			}
			sw, err := net.Dial("tcp", upstream)
			if err != nil {
				app.Close()
				return
			}
			go func() { io.Copy(sw, app); sw.Close() }()
			go relay(app, sw, alter)
		}
	}()
	return l.Addr().String()
}

func relay(app, sw net.Conn, alter func(csta.Message) csta.Message) {
	defer app.Close()
	br := bufio.NewReader(sw)
	for {
		f, err := csta.ReadFrame(br, 0)
		if err != nil {
			return
		}
		body := f.Body
		if m, ns, err := csta.Decode(f.Body); err == nil {
			out := alter(m)
			if out == nil {
				continue
			}
			if body, err = csta.Encode(out, ns); err != nil {
				panic(err)
			}
		}
		if csta.WriteFrame(app, f.InvokeID, body) != nil {
			return
		}
	}
}

// runAgainst runs the conformance against a switch of pbxsim's default
// profile that misbehaves as faults and alter make it.
func runAgainst(t *testing.T, faults []string, alter func(csta.Message) csta.Message) (conformance.Report, string) {
	t.Helper()
	addr := startSim(t, pbxsim.Config{Vendor: pbxsim.VendorDefault, Faults: faults})
	if alter != nil {
		addr = misbehave(t, addr, alter)
	}
	var out bytes.Buffer
	rep, err := conformance.Run(context.Background(), config(t, addr, pbxsim.VendorDefault, nil), &out)
	if err != nil {
		t.Fatal(err)
	}
	return rep, out.String()
}

// verdicts checks the named steps' verdicts and that every other step
// passed.
func verdicts(t *testing.T, rep conformance.Report, want map[string]conformance.Verdict) {
	t.Helper()
	for _, res := range rep.Results {
		w, ok := want[res.Step]
		if !ok {
			w = conformance.Pass
		}
		if res.Verdict != w {
			t.Errorf("%s: %s, want %s (%s%s %s)", res.Step, res.Verdict, w, res.Note, res.Expected, res.Received)
		}
	}
}

func TestCatchesASwitchThatAnswersACallNotRinging(t *testing.T) {
	rep, out := runAgainst(t, []string{pbxsim.FaultAnswerAny}, nil)
	verdicts(t, rep, map[string]conformance.Verdict{conformance.StepAnswerNotRinging: conformance.Fail})
	res, _ := rep.Result(conformance.StepAnswerNotRinging)
	if !strings.Contains(res.Received, "AnswerCallResponse") || !strings.Contains(res.Frame, "<AnswerCallResponse") {
		t.Errorf("the failure should show the switch's success answer: %+v", res)
	}
	if !strings.Contains(out, "FAILED: "+conformance.StepAnswerNotRinging) {
		t.Errorf("the table does not name the failed step:\n%s", out)
	}
}

func TestCatchesASwitchThatNeverReportsTheAnswer(t *testing.T) {
	rep, out := runAgainst(t, nil, func(m csta.Message) csta.Message {
		if _, ok := m.(*csta.EstablishedEvent); ok {
			return nil
		}
		return m
	})
	verdicts(t, rep, map[string]conformance.Verdict{
		conformance.StepEstablished: conformance.Fail,
		// Everything that needs an answered call cannot run...
		conformance.StepSnapshotCall: conformance.Skip, conformance.StepAnswerNotRinging: conformance.Skip, conformance.StepHold: conformance.Skip,
		conformance.StepRetrieve: conformance.Skip, conformance.StepClear: conformance.Skip,
		conformance.StepSingleStep: conformance.Skip, conformance.StepConsultation: conformance.Skip,
		conformance.StepTransfer: conformance.Skip, conformance.StepConference: conformance.Skip,
		// ...while do-not-disturb and the heartbeat still can.
	})
	res, _ := rep.Result(conformance.StepHold)
	if res.Note != "needs "+conformance.StepEstablished {
		t.Errorf("hold skipped for %q", res.Note)
	}
	t.Log(out)
	if !strings.Contains(out, "expected: EstablishedEvent answeringDevice=1002") {
		t.Errorf("the report does not say what was missing:\n%s", out)
	}
}

// OpenScape Voice names the alerting phone N<…>;noa=nk while its
// connection carries the bare number: one device, and the run must say so.
func TestAttributesDevicesByIdentity(t *testing.T) {
	rep, _ := runAgainst(t, nil, func(m csta.Message) csta.Message {
		switch e := m.(type) {
		case *csta.DeliveredEvent:
			e.AlertingDevice = "N<" + e.AlertingDevice + ">;noa=nk"
		case *csta.EstablishedEvent:
			e.AnsweringDevice = "N<" + e.AnsweringDevice + ">;displayNumber=" + e.AnsweringDevice
		case *csta.HeldEvent:
			e.HoldingDevice = "tel:" + e.HoldingDevice
		}
		return m
	})
	verdicts(t, rep, nil)
}

func TestCatchesEventsAttributedToTheWrongDevice(t *testing.T) {
	rep, _ := runAgainst(t, nil, func(m csta.Message) csta.Message {
		if e, ok := m.(*csta.DeliveredEvent); ok {
			e.AlertingDevice = "N<1001>;noa=nk" // the caller, not the phone ringing
		}
		return m
	})
	res, _ := rep.Result(conformance.StepDelivered)
	if res.Verdict != conformance.Fail || !strings.Contains(res.Received, "alerting=N<1001>;noa=nk") || !strings.Contains(res.Frame, "DeliveredEvent") {
		t.Errorf("Delivered: %+v", res)
	}
}

func TestCatchesASwitchThatNeverAnswersClearConnection(t *testing.T) {
	rep, _ := runAgainst(t, []string{pbxsim.FaultNoClearResponse}, nil)
	res, _ := rep.Result(conformance.StepClear)
	if res.Verdict != conformance.Fail || res.Expected != "ClearConnectionResponse" || res.Received != "no answer in time" {
		t.Errorf("ClearConnection: %+v", res)
	}
	for step, cause := range map[string]string{conformance.StepSingleStep: conformance.StepClear,
		conformance.StepConsultation: conformance.StepClear, conformance.StepConference: conformance.StepConsultation} {
		if res, _ := rep.Result(step); res.Verdict != conformance.Skip || res.Note != "needs "+cause {
			t.Errorf("%s: %+v", step, res)
		}
	}
}

// Without callIDs in its events a switch's calls cannot be followed.
func TestCatchesASwitchWithoutCallIDs(t *testing.T) {
	rep, _ := runAgainst(t, []string{pbxsim.FaultNoCallID}, nil)
	res, _ := rep.Result(conformance.StepDelivered)
	if res.Verdict != conformance.Fail || !strings.Contains(res.Received, "DeliveredEvent(alerting=1002") || res.Frame == "" {
		t.Errorf("Delivered: %+v", res)
	}
}

// ctigateway serve probes a quiet switch; one that ignores the probe
// would lose its link every few seconds of quiet.
func TestCatchesASwitchThatIgnoresTheLivenessProbe(t *testing.T) {
	rep, _ := runAgainst(t, nil, func(m csta.Message) csta.Message {
		if _, ok := m.(*csta.SystemStatusResponse); ok {
			return nil
		}
		return m
	})
	verdicts(t, rep, map[string]conformance.Verdict{conformance.StepLiveness: conformance.Fail})
}

// The gateway resynchronises by SnapshotDevice after a link loss: a
// switch whose snapshot leaves out calls would show agents idle mid-call.
func TestCatchesASnapshotWithoutTheCall(t *testing.T) {
	rep, _ := runAgainst(t, nil, func(m csta.Message) csta.Message {
		if _, ok := m.(*csta.SnapshotDeviceResponse); ok {
			return &csta.SnapshotDeviceResponse{}
		}
		return m
	})
	res, _ := rep.Result(conformance.StepSnapshotCall)
	if res.Verdict != conformance.Fail || res.Received != "no calls" || !strings.Contains(res.Frame, "<SnapshotDeviceResponse") {
		t.Errorf("snapshot during a call: %+v", res)
	}
}

func TestCatchesASwitchWhoseHeartbeatStops(t *testing.T) {
	first := true
	rep, _ := runAgainst(t, nil, func(m csta.Message) csta.Message {
		if _, ok := m.(*csta.SystemStatus); ok {
			if !first {
				return nil
			}
			first = false
		}
		return m
	})
	verdicts(t, rep, map[string]conformance.Verdict{conformance.StepHeartbeat: conformance.Fail})
}

// AES refuses a session without the right SessionLoginInfo: the run says
// so with the switch's answer, and tries nothing else.
func TestAWrongAESPasswordFailsTheSession(t *testing.T) {
	addr := startSim(t, pbxsim.Config{Vendor: pbxsim.VendorAvaya})
	cfg := config(t, addr, pbxsim.VendorAvaya, nil)
	cfg.Password = "wrong"
	rep, err := conformance.Run(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	res, _ := rep.Result(conformance.StepSession)
	if res.Verdict != conformance.Fail || !strings.Contains(res.Received, "invalidApplicationInfo") ||
		!strings.Contains(res.Frame, "StartApplicationSessionNegResponse") {
		t.Errorf("session: %+v", res)
	}
	for _, r := range rep.Results[1:] {
		if r.Verdict != conformance.Skip {
			t.Errorf("%s: %s after a failed session", r.Step, r.Verdict)
		}
	}
}

// Busy by agent state, as serve's -status-mode agent sets it.
func TestAgentStateMode(t *testing.T) {
	addr := startSim(t, pbxsim.Config{Vendor: pbxsim.VendorECMA354})
	cfg := config(t, addr, pbxsim.VendorECMA354, nil)
	cfg.StatusMode, cfg.AgentID = conformance.StatusAgentState, "4711"
	rep, err := conformance.Run(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	verdicts(t, rep, nil)
	if _, ok := rep.Result(conformance.StepAgentState); !ok {
		t.Error("no agent state step")
	}
}

func TestBadConfigIsRefusedBeforeDialling(t *testing.T) {
	avaya, _ := csta.LookupProfile("avaya")
	for name, cfg := range map[string]conformance.Config{
		"no address":        {DeviceA: "1001", DeviceB: "1002", Auto: true},
		"one device":        {Addr: "127.0.0.1:1", DeviceA: "1001", Auto: true},
		"A is B":            {Addr: "127.0.0.1:1", DeviceA: "1001", DeviceB: "N<1001>;noa=nk", Auto: true},
		"C is A":            {Addr: "127.0.0.1:1", DeviceA: "1001", DeviceB: "1002", DeviceC: "tel:1001", Auto: true},
		"nobody to pick up": {Addr: "127.0.0.1:1", DeviceA: "1001", DeviceB: "1002"},
		"AES, no switch":    {Addr: "127.0.0.1:1", Profile: avaya, DeviceA: "1001", DeviceB: "1002", Auto: true},
		"status mode":       {Addr: "127.0.0.1:1", DeviceA: "1001", DeviceB: "1002", Auto: true, StatusMode: "busy"},
	} {
		var out bytes.Buffer
		if _, err := conformance.Run(context.Background(), cfg, &out); err == nil || out.Len() > 0 {
			t.Errorf("%s: err %v, output %q", name, err, out.String())
		}
	}
}

// Interrupted while waiting for a person, the run stops at once, marks
// the rest interrupted and still prints what it has.
func TestAnInterruptedRunStopsAndReports(t *testing.T) {
	addr := startSim(t, pbxsim.Config{Vendor: pbxsim.VendorDefault})
	ctx, cancel := context.WithCancel(context.Background())
	cfg := config(t, addr, pbxsim.VendorDefault, nil)
	cfg.Auto = false
	cfg.Prompt = func(ctx context.Context, msg string) error {
		cancel() // Ctrl-C instead of picking up
		<-ctx.Done()
		return ctx.Err()
	}
	var out bytes.Buffer
	rep, err := conformance.Run(ctx, cfg, &out)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if res, _ := rep.Result(conformance.StepDelivered); res.Verdict != conformance.Pass {
		t.Errorf("Delivered: %+v", res)
	}
	for _, step := range []string{conformance.StepAnswerByHand, conformance.StepHold, conformance.StepHeartbeat} {
		if res, _ := rep.Result(step); res.Verdict != conformance.Skip || res.Note != "interrupted" {
			t.Errorf("%s: %+v", step, res)
		}
	}
	if !strings.Contains(out.String(), "STEP") {
		t.Errorf("no table:\n%s", out.String())
	}
}
