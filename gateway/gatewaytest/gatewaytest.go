// Package gatewaytest starts the whole gateway for tests, with real parts:
// a private PostgreSQL and slapd (devstack), the simulated PBX on a
// loopback port, the demo contacts imported, and the gateway assembled by
// app.Start exactly as ctigateway runs it. It also has a WebSocket client
// that speaks the wire protocol, for tests and the load command.
package gatewaytest

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"crmcti/gateway/app"
	"crmcti/gateway/core"
	"crmcti/gateway/csta"
	"crmcti/gateway/devstack"
	"crmcti/gateway/ldap"
	"crmcti/gateway/pbx"
	"crmcti/gateway/pbxsim"
)

// System is a running gateway with everything around it.
type System struct {
	tb      testing.TB
	PG      *devstack.Postgres
	LDAP    *devstack.LDAP
	Sim     *pbxsim.Sim
	PBXAddr string
	App     *app.App
	Config  app.Config
}

// Options change the system a test gets.
type Options struct {
	StatusMode pbx.StatusMode
	AutoAnswer time.Duration // of the simulator's external parties
	Heartbeat  time.Duration
	// Configure edits the gateway's configuration before start.
	Configure func(*app.Config)
}

// Start brings a system up and tears it down at test cleanup.
func Start(tb testing.TB, o Options) *System {
	tb.Helper()
	s := &System{tb: tb, PG: devstack.PostgresForTest(tb), LDAP: devstack.LDAPForTest(tb, devstack.LDAPOptions{})}
	p, _ := csta.LookupProfile("openscape")
	s.Sim = pbxsim.New(pbxsim.Config{Profile: p, AutoAnswer: o.AutoAnswer})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s.PBXAddr = l.Addr().String()
	go s.Sim.ServeCSTA(l)
	tb.Cleanup(func() { s.Sim.Close() })
	s.Config = app.Config{
		Listen: "127.0.0.1:0", PBXAddr: s.PBXAddr, PBXProfile: "openscape", StatusMode: o.StatusMode,
		PBXMinBackoff: 50 * time.Millisecond, Heartbeat: o.Heartbeat,
		LDAP: ldap.Config{URL: s.LDAP.URL(), BindDN: devstack.DemoBindDN, BindPassword: devstack.DemoBindPassword,
			UserBase: devstack.DemoPeople, GroupDN: devstack.DemoCTIGroup},
		DatabaseURL: s.PG.URL(), Region: "CY",
	}
	if o.Configure != nil {
		o.Configure(&s.Config)
	}
	s.StartGateway()
	s.ImportDemoContacts()
	return s
}

// StartGateway starts (or restarts, after StopGateway) the gateway.
func (s *System) StartGateway() {
	s.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := app.Start(ctx, s.Config)
	if err != nil {
		s.tb.Fatal(err)
	}
	s.App = a
	s.tb.Cleanup(func() { a.Close() })
	// Wait for the PBX link so that tests start from a steady state.
	deadline := time.Now().Add(10 * time.Second)
	for s.App.Service.Ready(ctx)["pbx"] != nil {
		if time.Now().After(deadline) {
			s.tb.Fatal("gateway never linked to the PBX")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// StopGateway stops the gateway as a restart would.
func (s *System) StopGateway() { s.App.Close() }

// URL is the gateway's WebSocket URL.
func (s *System) URL() string { return s.App.URL }

// ImportDemoContacts loads the demo customers.
func (s *System) ImportDemoContacts() {
	s.tb.Helper()
	cs, _, err := core.ParseContacts(strings.NewReader(devstack.DemoContactsCSV), "CY")
	if err != nil {
		s.tb.Fatal(err)
	}
	if err := s.App.DB.UpsertContacts(context.Background(), cs); err != nil {
		s.tb.Fatal(err)
	}
}
