package ldap_test

import (
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crmcti/gateway"
	"crmcti/gateway/devstack"
	"crmcti/gateway/gatewaytest/testpki"
	"crmcti/gateway/ldap"
)

func TestTLSWithPrivateCA(t *testing.T) {
	caFile, certFile, keyFile := testpki.New(t).WriteFiles(t, t.TempDir())
	l := devstack.LDAPForTest(t, devstack.LDAPOptions{TLSCertFile: certFile, TLSKeyFile: keyFile})
	login := func(cfg ldap.Config) error {
		cfg.BindDN, cfg.BindPassword = devstack.DemoBindDN, devstack.DemoBindPassword
		cfg.UserBase, cfg.GroupDN = devstack.DemoPeople, devstack.DemoCTIGroup
		_, err := ldap.New(cfg).Authenticate(context.Background(), "alice", devstack.DemoPassword)
		return err
	}
	localhost := strings.Replace(l.URL(), "127.0.0.1", "localhost", 1)
	for name, cfg := range map[string]ldap.Config{
		"StartTLS by address": {URL: l.URL(), StartTLS: true, CAFile: caFile},
		"StartTLS by name":    {URL: localhost, StartTLS: true, CAFile: caFile},
		"LDAPS":               {URL: l.LDAPSURL(), CAFile: caFile},
	} {
		if err := login(cfg); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, cfg := range map[string]ldap.Config{
		"StartTLS, system CAs": {URL: l.URL(), StartTLS: true},
		"LDAPS, system CAs":    {URL: l.LDAPSURL()},
		"StartTLS, wrong name": {URL: l.URL(), StartTLS: true, CAFile: caFile, TLS: &tls.Config{ServerName: "ldap.example.com"}},
		"CA file missing":      {URL: l.URL(), StartTLS: true, CAFile: keyFile + ".missing"},
		"CA file not PEM":      {URL: l.URL(), StartTLS: true, CAFile: writeFile(t, "not a certificate")},
	} {
		if err := login(cfg); gateway.ErrorCode(err) != gateway.CodeDirectoryDown {
			t.Errorf("%s: got %v, want directory_unavailable", name, err)
		}
	}
}

func writeFile(t *testing.T, body string) string {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
