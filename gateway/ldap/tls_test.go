package ldap_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/devstack"
	"crmcti/gateway/ldap"
)

// testPKI writes a private CA and a server certificate for localhost and
// 127.0.0.1 signed by it, as a company CA would sign its directory's.
func testPKI(t *testing.T) (caFile, certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "CRM CTI test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srv := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, srv, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	write := func(name, typ string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("server.pem", "CERTIFICATE", der), write("server.key", "PRIVATE KEY", keyDER)
}

func TestTLSWithPrivateCA(t *testing.T) {
	caFile, certFile, keyFile := testPKI(t)
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
