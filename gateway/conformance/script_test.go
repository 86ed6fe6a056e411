package conformance_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"crmcti/gateway/conformance"
	"crmcti/gateway/csta"
	"crmcti/gateway/csta/cstatest"
)

func device(want csta.DeviceID, got func(csta.Message) csta.DeviceID) func(csta.Message) error {
	return func(m csta.Message) error {
		if d := got(m); d != want {
			return fmt.Errorf("device %q, want %q", d, want)
		}
		return nil
	}
}

// A switch that will not monitor B: the run says so, skips every call
// step for that reason, and still tests what needs only A — byte for
// byte what it asks of the switch.
func TestAMonitorRefusedSkipsTheCallSteps(t *testing.T) {
	mon := func(m csta.Message) csta.DeviceID { return m.(*csta.MonitorStart).MonitorObject.DeviceObject }
	snap := func(m csta.Message) csta.DeviceID { return m.(*csta.SnapshotDevice).SnapshotObject }
	dnd := func(on bool) cstatest.Step {
		return cstatest.Send(csta.EventInvokeID, &csta.DoNotDisturbEvent{EventHeader: csta.EventHeader{MonitorCrossRefID: "7"}, Device: "1001", DoNotDisturbOn: on})
	}
	sw := cstatest.NewServer(t,
		cstatest.Expect("MonitorStart", device("1001", mon)), cstatest.Reply(&csta.MonitorStartResponse{MonitorCrossRefID: "7"}),
		cstatest.Expect("MonitorStart", device("1002", mon)), cstatest.Reply(csta.NewError(csta.ErrCatOperation, "invalidDeviceID")),
		cstatest.Expect("SnapshotDevice", device("1001", snap)), cstatest.Reply(&csta.SnapshotDeviceResponse{}),
		cstatest.Expect("SnapshotDevice", device("1002", snap)), cstatest.Reply(&csta.SnapshotDeviceResponse{}),
		cstatest.Expect("SetDoNotDisturb", nil), cstatest.Reply(&csta.SetDoNotDisturbResponse{}), dnd(true),
		cstatest.Expect("SetDoNotDisturb", nil), cstatest.Reply(&csta.SetDoNotDisturbResponse{}), dnd(false),
		cstatest.Expect("SystemStatus", nil), cstatest.Reply(&csta.SystemStatusResponse{}), // the liveness probe
		// Clean-up: nothing to clear, the monitor ends, the link closes.
		cstatest.Expect("SnapshotDevice", nil), cstatest.Reply(&csta.SnapshotDeviceResponse{}),
		cstatest.Expect("SnapshotDevice", nil), cstatest.Reply(&csta.SnapshotDeviceResponse{}),
		cstatest.Expect("MonitorStop", nil), cstatest.Reply(&csta.MonitorStopResponse{}),
		cstatest.ExpectHangup(),
	)
	p, _ := csta.LookupProfile("none")
	var out bytes.Buffer
	rep, err := conformance.Run(context.Background(), conformance.Config{Addr: sw.Addr, Profile: p, DeviceA: "1001", DeviceB: "1002",
		Auto: true, Timeout: 2 * time.Second}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.Wait(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	want := map[string]conformance.Verdict{
		conformance.StepSession: conformance.Pass, conformance.StepMonitorA: conformance.Pass,
		conformance.StepMonitorB: conformance.Fail, conformance.StepSnapshot: conformance.Pass,
		conformance.StepMakeCall: conformance.Skip, conformance.StepConsultation: conformance.Skip,
		conformance.StepDoNotDisturb: conformance.Pass, conformance.StepLiveness: conformance.Pass, conformance.StepHeartbeat: conformance.Skip,
	}
	for step, v := range want {
		if res, _ := rep.Result(step); res.Verdict != v {
			t.Errorf("%s: %+v, want %s", step, res, v)
		}
	}
	res, _ := rep.Result(conformance.StepMonitorB)
	if res.Received != "CSTAErrorCode operation/invalidDeviceID" || !strings.Contains(res.Frame, "<operation>invalidDeviceID</operation>") {
		t.Errorf("MonitorStart B: %+v", res)
	}
	if res, _ := rep.Result(conformance.StepMakeCall); res.Note != "needs "+conformance.StepMonitorB {
		t.Errorf("MakeCall skipped for %q", res.Note)
	}
	if rep.Passed() {
		t.Error("a run with a failed step passed")
	}
}
