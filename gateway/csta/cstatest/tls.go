package cstatest

import (
	"crypto/tls"
	"net"
	"testing"

	"crmcti/gateway/gatewaytest/testpki"
)

// NewTLSServer is NewServer behind TLS, with a certificate for 127.0.0.1
// and localhost signed by a CA made for the test. It returns the CA's
// certificate in PEM, what a client trusts with -pbx-ca.
func NewTLSServer(tb testing.TB, steps ...Step) (*Server, []byte) {
	tb.Helper()
	pki := testpki.New(tb)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	return newServer(tb, tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{pki.Cert}, MinVersion: tls.VersionTLS12}), [][]Step{steps}), pki.CAPEM
}
