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
