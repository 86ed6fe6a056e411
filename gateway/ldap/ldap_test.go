package ldap_test

import (
	"context"
	"testing"

	"crmcti/gateway"
	"crmcti/gateway/devstack"
	"crmcti/gateway/ldap"
)

func demoDirectory(l *devstack.LDAP) *ldap.Directory {
	return ldap.New(ldap.Config{URL: l.URL(), BindDN: devstack.DemoBindDN, BindPassword: devstack.DemoBindPassword,
		UserBase: devstack.DemoPeople, GroupDN: devstack.DemoCTIGroup})
}

func TestAuthenticate(t *testing.T) {
	l := devstack.LDAPForTest(t, devstack.LDAPOptions{})
	dir := demoDirectory(l)
	ctx := context.Background()
	a, err := dir.Authenticate(ctx, "alice", devstack.DemoPassword)
	if err != nil || a.Extension != "1001" || a.DisplayName != "Alice Andreou" || a.Username != "alice" {
		t.Fatalf("alice: %+v %v", a, err)
	}
	cases := []struct {
		user, pass string
		code       gateway.Code
	}{
		{"alice", "wrong", gateway.CodeBadCredentials},
		{"alice", "", gateway.CodeBadCredentials}, // never an unauthenticated bind
		{"nobody", "demo", gateway.CodeBadCredentials},
		{"mallory", "demo", gateway.CodeNotCTIEnabled},
		{"nigel", "demo", gateway.CodeNoExtension},
		{"*)(uid=*", "demo", gateway.CodeBadCredentials},
		{"*", "demo", gateway.CodeBadCredentials},
		{"alice)(|(uid=*", "demo", gateway.CodeBadCredentials},
		{"alice\x00", "demo", gateway.CodeBadCredentials},
		{"", "demo", gateway.CodeBadCredentials},
	}
	for _, c := range cases {
		_, err := dir.Authenticate(ctx, c.user, c.pass)
		if got := gateway.ErrorCode(err); got != c.code {
			t.Errorf("%q/%q: code %s (%v), want %s", c.user, c.pass, got, err, c.code)
		}
	}
	if err := dir.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if _, err := dir.Authenticate(ctx, "alice", "demo"); gateway.ErrorCode(err) != gateway.CodeDirectoryDown {
		t.Fatalf("directory down: %v", err)
	}
	if err := dir.Ping(ctx); err == nil {
		t.Fatal("ping of a stopped directory succeeded")
	}
}

func TestMisconfiguredGroupIsUnavailableNotDenied(t *testing.T) {
	l := devstack.LDAPForTest(t, devstack.LDAPOptions{})
	dir := ldap.New(ldap.Config{URL: l.URL(), BindDN: devstack.DemoBindDN, BindPassword: devstack.DemoBindPassword,
		UserBase: devstack.DemoPeople, GroupDN: "cn=typo,ou=groups," + devstack.DemoSuffix})
	_, err := dir.Authenticate(context.Background(), "alice", "demo")
	if gateway.ErrorCode(err) != gateway.CodeDirectoryDown {
		t.Fatalf("got %v", err)
	}
}

// TestKeptConnection: logins one after another (the second on the
// connection the first kept) all succeed, and once the directory is gone
// the kept connection gives directory_unavailable, never a wrong answer.
func TestKeptConnection(t *testing.T) {
	l := devstack.LDAPForTest(t, devstack.LDAPOptions{})
	dir := demoDirectory(l)
	ctx := context.Background()
	for i, user := range []string{"alice", "alice", "bob", "alice"} {
		a, err := dir.Authenticate(ctx, user, devstack.DemoPassword)
		if err != nil || a.Username != user {
			t.Fatalf("login %d (%s): %+v %v", i+1, user, a, err)
		}
	}
	if _, err := dir.Authenticate(ctx, "alice", "wrong"); gateway.ErrorCode(err) != gateway.CodeBadCredentials {
		t.Fatalf("wrong password on a kept connection: %v", err)
	}
	if a, err := dir.Authenticate(ctx, "bob", devstack.DemoPassword); err != nil || a.Username != "bob" {
		t.Fatalf("after a wrong password: %+v %v", a, err)
	}
	l.Close()
	if _, err := dir.Authenticate(ctx, "alice", devstack.DemoPassword); gateway.ErrorCode(err) != gateway.CodeDirectoryDown {
		t.Fatalf("directory down, kept connection: %v", err)
	}
}
