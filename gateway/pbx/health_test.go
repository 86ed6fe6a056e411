package pbx_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"crmcti/gateway/csta"
	"crmcti/gateway/pbx"
	"crmcti/gateway/pbxsim"
)

// The admin's readiness says why the link is down and since when: the
// switch went silent, then the reconnects were refused.
func TestHealthSaysWhyTheLinkIsDown(t *testing.T) {
	p, _ := csta.LookupProfile("openscape")
	sim := pbxsim.New(pbxsim.Config{Profile: p})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go sim.ServeCSTA(l)
	s := newSink()
	a := pbx.New(pbx.Config{Addr: l.Addr().String(), Profile: p, Liveness: 600 * time.Millisecond, Audit: -1,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Password: "s3cret"}, s)
	defer a.Close()
	s.waitLink(t, true)
	if err := a.Health(); err != nil {
		t.Fatalf("health while up: %v", err)
	}
	sim.InjectFault(pbxsim.FaultStall, 0)
	s.waitLink(t, false)
	sim.Close()
	l.Close()
	var msg string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if err := a.Health(); err != nil {
			msg = err.Error()
		}
		if strings.Contains(msg, "connection refused") {
			break
		}
	}
	for _, want := range []string{"down since", "lost: switch silent", "reconnect attempts failed", "connection refused"} {
		if !strings.Contains(msg, want) {
			t.Errorf("health %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "s3cret") || strings.Contains(msg, l.Addr().String()) {
		t.Errorf("health %q leaks the configuration", msg)
	}
}
