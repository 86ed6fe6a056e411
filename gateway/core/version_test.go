package core

import (
	"testing"

	"crmcti/gateway"
	"crmcti/gateway/wire"
)

// With a minimum extension version, an older extension (or one that
// reports none) is told update_required on login and resume; a current
// one logs in, and the versions in use are counted.
func TestMinimumExtensionVersion(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.MinExtensionVersion = "1.4.0" })
	for _, v := range []string{"1.3.9", "", "1.4.0-beta", "0.9"} {
		h.dial().fails(wire.TLogin, wire.Login{Username: "alice", Password: "pw", Version: v}, gateway.CodeUpdateRequired)
	}
	tab := h.dial()
	tab.ok(wire.TLogin, wire.Login{Username: "alice", Password: "pw", Version: "1.10"})
	h.dial().ok(wire.TLogin, wire.Login{Username: "bob", Password: "pw", Version: "v1.4.0"})
	old := h.dial()
	old.fails(wire.TResume, wire.Resume{Token: "whatever", Version: "1.2"}, gateway.CodeUpdateRequired)
	if v := h.svc.Stats().Versions; v["1.10"] != 1 || v["1.4.0"] != 1 || len(v) != 2 {
		t.Errorf("versions in use: %v", v)
	}
}

// Without a minimum, an extension that sends no version logs in as
// before.
func TestNoMinimumVersionAcceptsOldExtensions(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.dial().login("alice")
	if v := h.svc.Stats().Versions; v["unknown"] != 1 {
		t.Errorf("versions in use: %v", v)
	}
}

func TestVersionOrder(t *testing.T) {
	cases := []struct {
		a, b  string
		older bool
	}{{"1.2", "1.10", true}, {"1.10", "1.9.9", false}, {"1.4", "1.4.0", false}, {"1.4.0", "1.4.1", true}, {"2", "1.99", false}}
	for _, c := range cases {
		a, _ := parseVersion(c.a)
		b, _ := parseVersion(c.b)
		if olderThan(a, b) != c.older {
			t.Errorf("%s older than %s: %v", c.a, c.b, !c.older)
		}
	}
}
