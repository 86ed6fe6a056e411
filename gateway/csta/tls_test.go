package csta_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"crmcti/gateway/csta"
	cs "crmcti/gateway/csta/cstatest"
)

// TestTLSVerifiesAgainstTheAddress connects over TLS with no ServerName
// set: it is taken from the address (an IP here, and a host name), and
// the switch's certificate is checked against a private CA.
func TestTLSVerifiesAgainstTheAddress(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "localhost"} {
		t.Run(host, func(t *testing.T) {
			srv, caPEM := cs.NewTLSServer(t, cs.Expect("MonitorStart", nil), cs.Reply(&csta.MonitorStartResponse{MonitorCrossRefID: "1"}))
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(caPEM)
			addr := strings.Replace(srv.Addr, "127.0.0.1", host, 1)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, err := csta.Dial(ctx, addr, csta.Config{TLS: &tls.Config{RootCAs: pool}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Do(ctx, monitor1001); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestTLSRefusesAnUntrustedSwitch(t *testing.T) {
	srv, _ := cs.NewTLSServer(t, cs.ExpectHangup())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := csta.Dial(ctx, srv.Addr, csta.Config{TLS: &tls.Config{RootCAs: x509.NewCertPool()}})
	if err == nil || !strings.Contains(err.Error(), "tls handshake") {
		t.Fatalf("got %v, want a failed handshake", err)
	}
}
