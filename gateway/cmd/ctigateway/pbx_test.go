package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crmcti/gateway/csta"
	cs "crmcti/gateway/csta/cstatest"
)

// TestPBXCA connects to a TLS switch whose certificate a private CA
// signed, trusting that CA through -pbx-ca alone (-pbx-tls implied).
func TestPBXCA(t *testing.T) {
	srv, caPEM := cs.NewTLSServer(t, cs.Expect("MonitorStart", nil), cs.Reply(&csta.MonitorStartResponse{MonitorCrossRefID: "1"}))
	file := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(file, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c := flags(fs)
	if err := fs.Parse([]string{"-pbx-ca", file, "-pbx-addr", srv.Addr}); err != nil {
		t.Fatal(err)
	}
	cfg, err := pbxTLSConfig(c)
	if err != nil || cfg == nil {
		t.Fatalf("%v %v", cfg, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := csta.Dial(ctx, c.pbxAddr, csta.Config{TLS: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Do(ctx, &csta.MonitorStart{MonitorObject: csta.MonitorObject{DeviceObject: "1001"}}); err != nil {
		t.Fatal(err)
	}

	os.WriteFile(file, []byte("not a certificate"), 0o600)
	if _, err := pbxTLSConfig(c); err == nil || !strings.Contains(err.Error(), "-pbx-ca") {
		t.Fatalf("bad CA file: %v", err)
	}
	if cfg, err := pbxTLSConfig(&config{}); cfg != nil || err != nil {
		t.Fatalf("no TLS asked: %v %v", cfg, err)
	}
}
