package pbx

import (
	"fmt"
	"strings"
	"testing"

	"crmcti/gateway"
	"crmcti/gateway/csta"
)

// TestDeviceIs runs every form a switch names a device in against the
// aliases of a monitored device: the agent's extension 1001, the number
// the switch monitors it by (+35722101001, from the template), and the
// DMCC ID AES assigned.
func TestDeviceIs(t *testing.T) {
	d := newDevice("1001", DeviceNumber("+3572210{ext}", "1001"))
	d.id = "1001:CM1:10.0.0.1:0"
	osv := newDevice("3021061290002", "3021061290002") // OpenScape: known by its full number
	for _, c := range []struct {
		d    *device
		id   string
		want bool
	}{
		{d, "1001", true},         // the extension, as the connection carries it
		{d, "+35722101001", true}, // the monitored number
		{d, "35722101001", true},  // without the +
		{d, "N<+35722101001>;noa=international", true},
		{d, "N<1001>;noa=nk", true},
		{d, "N<+35722101001>Line1001;displayNumber=+35722101001;uid=8d3e", true},
		{d, "tel:+35722101001", true},
		{d, "sip:1001@cm.example.com", true},
		{d, "sip:+35722101001@cm.example.com;user=phone", true},
		{d, "1001:CM1:10.0.0.1:0", true},
		{d, "1001::10.0.0.1:0", true}, // DMCC ID without the switch name
		{d, "1001:CM1:10.0.0.1:7", true},
		{d, "1001:CM2:10.0.0.1:0", false},
		{d, "1002::10.0.0.1:0", false},
		{d, "1002", false},
		{d, "N<+35722101002>;noa=international", false},
		{d, "+35799101001", false},
		{d, "", false},
		{osv, "3021061290002", true},
		{osv, "N<3021061290002>;noa=nk", true},
		{osv, "N<7868772298>Line71001;displayNumber=7868772298;uid=4f2a", false},
		{osv, "0002", false},
	} {
		if got := c.d.is(csta.DeviceID(c.id)); got != c.want {
			t.Errorf("device %s/%s is(%q) = %v, want %v", c.d.ext, c.d.number, c.id, got, c.want)
		}
	}
}

func TestDeviceNumber(t *testing.T) {
	for _, c := range []struct{ tmpl, ext, want string }{
		{"", "1001", "1001"},
		{"{ext}", "1001", "1001"},
		{"+3572210{ext}", "1001", "+35722101001"},
		{"30210612{ext}", "90002", "3021061290002"},
		{"30210612{ext}", "3021061290002", "3021061290002"}, // an override that is the full number
		{"+3572210{ext}", "+35722109999", "+35722109999"},
		{"+3572210{ext}", "1001:CM1:10.0.0.1:0", "1001:CM1:10.0.0.1:0"},
		{"sip:{ext}@pbx.example.com", "1001", "sip:1001@pbx.example.com"},
	} {
		if got := DeviceNumber(c.tmpl, c.ext); got != c.want {
			t.Errorf("DeviceNumber(%q, %q) = %q, want %q", c.tmpl, c.ext, got, c.want)
		}
	}
}

// A switch over its request rate says nothing about the request itself:
// the agent is told it is busy (pbx_unavailable, asked again), not that
// her phone or call was refused.
func TestOverTheRateIsBusyNotRefused(t *testing.T) {
	a := &Adapter{}
	busy := a.mapErr("monitor", fmt.Errorf("csta: MonitorStart: %w", csta.NewError(csta.ErrCatPerformance, "performanceLimitExceeded")))
	if gateway.ErrorCode(busy) != gateway.CodePBXUnavailable || !strings.Contains(gateway.ErrorMessage(busy), "busy") {
		t.Fatalf("performanceLimitExceeded: %v (%s)", busy, gateway.ErrorCode(busy))
	}
	refused := a.mapErr("monitor", csta.NewError(csta.ErrCatOperation, "invalidDeviceID"))
	if gateway.ErrorCode(refused) != gateway.CodePBXRefused {
		t.Fatalf("invalidDeviceID: %v (%s)", refused, gateway.ErrorCode(refused))
	}
}
