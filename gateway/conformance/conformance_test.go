package conformance_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"crmcti/gateway/conformance"
	"crmcti/gateway/csta"
	"crmcti/gateway/pbxsim"
)

// startSim runs a simulated switch of the given profile on a loopback
// port, with heartbeats frequent enough for a test.
func startSim(t *testing.T, p csta.Profile) (*pbxsim.Sim, string) {
	t.Helper()
	sim := pbxsim.New(pbxsim.Config{Profile: p, Heartbeat: 300 * time.Millisecond})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go sim.ServeCSTA(l)
	t.Cleanup(func() { sim.Close() })
	return sim, l.Addr().String()
}

func config(addr string, p csta.Profile, trace *bytes.Buffer) conformance.Config {
	return conformance.Config{Addr: addr, Profile: p, DeviceA: "1001", DeviceB: "1002", DeviceC: "1003",
		Auto: true, Trace: trace, Timeout: 5 * time.Second, Heartbeat: time.Second}
}

func TestEveryProfilePasses(t *testing.T) {
	for _, name := range csta.ProfileNames() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, _ := csta.LookupProfile(name)
			_, addr := startSim(t, p)
			var trace, out bytes.Buffer
			rep, err := conformance.Run(context.Background(), config(addr, p, &trace), &out)
			if err != nil {
				t.Fatal(err)
			}
			t.Log(out.String())
			for _, res := range rep.Results {
				if res.Verdict == conformance.Fail || res.Verdict == conformance.Skip && res.Step != conformance.StepHeartbeat {
					t.Errorf("%s: %s %s %s", res.Step, res.Verdict, res.Expected, res.Received)
				}
			}
			if !strings.Contains(trace.String(), "<MakeCall") {
				t.Error("trace lacks the MakeCall request")
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

// runAgainst runs the conformance against a misbehaving openscape switch.
func runAgainst(t *testing.T, alter func(csta.Message) csta.Message) (conformance.Report, string) {
	t.Helper()
	p, _ := csta.LookupProfile("openscape")
	_, addr := startSim(t, p)
	var trace, out bytes.Buffer
	rep, err := conformance.Run(context.Background(), config(misbehave(t, addr, alter), p, &trace), &out)
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
	rep, out := runAgainst(t, func(m csta.Message) csta.Message {
		if e, ok := m.(*csta.CSTAErrorCode); ok && e.StateIncompatibility == "noCallToAnswer" {
			return &csta.AnswerCallResponse{}
		}
		return m
	})
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
	rep, out := runAgainst(t, func(m csta.Message) csta.Message {
		if _, ok := m.(*csta.EstablishedEvent); ok {
			return nil
		}
		return m
	})
	verdicts(t, rep, map[string]conformance.Verdict{
		conformance.StepEstablished: conformance.Fail,
		// Everything that needs an answered call cannot run...
		conformance.StepAnswerNotRinging: conformance.Skip, conformance.StepHold: conformance.Skip,
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
	rep, _ := runAgainst(t, func(m csta.Message) csta.Message {
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
	rep, _ := runAgainst(t, func(m csta.Message) csta.Message {
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

func TestCatchesASwitchWhoseHeartbeatStops(t *testing.T) {
	first := true
	rep, _ := runAgainst(t, func(m csta.Message) csta.Message {
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
