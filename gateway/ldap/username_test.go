package ldap_test

import (
	"context"
	"testing"

	"crmcti/gateway/devstack"
)

// TestUsernameIsTheDirectorys: however the agent types her name, she is
// the one agent the directory knows, spelt as it spells it.
func TestUsernameIsTheDirectorys(t *testing.T) {
	l := devstack.LDAPForTest(t, devstack.LDAPOptions{})
	dir := demoDirectory(l)
	for _, typed := range []string{"bob", "BOB", "Bob", " bob ", "ｂｏｂ", "ＢＯＢ"} {
		a, err := dir.Authenticate(context.Background(), typed, devstack.DemoPassword)
		if err != nil || a.Username != "bob" {
			t.Errorf("%q logged in as %q (%v), want bob", typed, a.Username, err)
		}
	}
}
