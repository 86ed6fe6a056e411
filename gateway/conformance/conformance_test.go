package conformance_test

import (
	"bytes"
	"context"
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
