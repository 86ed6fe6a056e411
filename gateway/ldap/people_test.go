package ldap_test

import (
	"context"
	"errors"
	"testing"

	"crmcti/gateway"
	"crmcti/gateway/devstack"
)

// Colleagues are found by their extension in the demo directory; the
// number is escaped in the filter, so a wildcard or a filter fragment
// finds no one.
func TestAgentsByExtension(t *testing.T) {
	l := devstack.LDAPForTest(t, devstack.LDAPOptions{})
	dir := demoDirectory(l)
	ctx := context.Background()
	as, err := dir.AgentsByExtension(ctx, "1006")
	if err != nil || len(as) != 1 || as[0].Username != "frank" || as[0].DisplayName != "Frank Fotiou" || as[0].Extension != "1006" {
		t.Fatalf("%+v %v", as, err)
	}
	// mallory is not CTI enabled; she still has a name.
	if as, err := dir.AgentsByExtension(ctx, "1050"); err != nil || len(as) != 1 || as[0].DisplayName != "Mallory Marsh" {
		t.Fatalf("%+v %v", as, err)
	}
	for _, bad := range []string{"*", "10*", "1001)(uid=*", "9999", ""} {
		if as, err := dir.AgentsByExtension(ctx, bad); err != nil || len(as) != 0 {
			t.Errorf("%q found %+v %v", bad, as, err)
		}
	}
	a, err := dir.AgentByUsername(ctx, "henry")
	if err != nil || a.DisplayName != "Henry Hadjis" || a.Extension != "1008" {
		t.Fatalf("%+v %v", a, err)
	}
	if _, err := dir.AgentByUsername(ctx, "h*"); !errors.Is(err, gateway.ErrNotFound) {
		t.Fatalf("wildcard username: %v", err)
	}
}
