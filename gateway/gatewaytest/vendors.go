package gatewaytest

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"crmcti/gateway/app"
	"crmcti/gateway/devstack"
	"crmcti/gateway/ldap"
	"crmcti/gateway/pbxsim"
)

// Stack is a PostgreSQL and a slapd shared by many systems of one test:
// each system gets a database of its own, so that a suite running the
// same flow against every switch pays for starting the servers once.
type Stack struct {
	PG   *devstack.Postgres
	LDAP *devstack.LDAP

	mu sync.Mutex
	n  int
}

// StartStack starts the shared servers; they stop at tb's cleanup.
func StartStack(tb testing.TB) *Stack {
	tb.Helper()
	return &Stack{PG: devstack.PostgresForTest(tb), LDAP: devstack.LDAPForTest(tb, devstack.LDAPOptions{})}
}

// newDatabase creates an empty database and returns its URL.
func (st *Stack) newDatabase(tb testing.TB) string {
	tb.Helper()
	st.mu.Lock()
	st.n++
	name := fmt.Sprintf("crmcti_%d", st.n)
	st.mu.Unlock()
	url := func(db string) string {
		return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", st.PG.Port, db)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url("postgres"))
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatal(err)
	}
	return url(name)
}

// VendorSettings sets in c what a deployment sets for the switch pbxsim
// plays as vendor, with pbxsim's defaults for the switch's side: the
// link profile, OpenScape's device numbers (3572210{ext}), Avaya's login
// and switch name.
func VendorSettings(vendor string, c *app.Config) {
	switch vendor {
	case pbxsim.VendorDefault, "":
		c.PBXProfile = "openscape"
	case pbxsim.VendorOpenScape:
		c.PBXProfile, c.PBXDeviceTemplate = "openscape", "3572210{ext}"
	case pbxsim.VendorAvaya:
		c.PBXProfile, c.PBXUser, c.PBXPassword, c.PBXSwitchName = "avaya", "cti", "cti-password", "CM1"
	default:
		c.PBXProfile = vendor
	}
}

// StartVendor brings up a system whose simulated switch plays vendor,
// on a fresh database of the stack, the gateway configured for that
// switch; the gateway reaches the switch through a Relay the test can
// cut.
func (st *Stack) StartVendor(tb testing.TB, vendor string, o Options) (*System, *Relay) {
	tb.Helper()
	sim := pbxsim.New(pbxsim.Config{Vendor: vendor, AutoAnswer: o.AutoAnswer})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go sim.ServeCSTA(l)
	tb.Cleanup(func() { sim.Close() })
	relay := NewRelay(tb, l.Addr().String())
	s := st.StartAt(tb, relay.Addr(), vendor, o)
	s.Sim = sim
	return s, relay
}

// StartAt brings up a gateway, on a fresh database of the stack, linked
// to the switch at pbxAddr and configured for vendor (VendorSettings):
// for tests whose switch is not pbxsim (a scripted one, csta/cstatest).
func (st *Stack) StartAt(tb testing.TB, pbxAddr, vendor string, o Options) *System {
	tb.Helper()
	s := &System{tb: tb, PG: st.PG, LDAP: st.LDAP, PBXAddr: pbxAddr}
	s.Config = app.Config{
		Listen: "127.0.0.1:0", PBXAddr: pbxAddr, StatusMode: o.StatusMode,
		PBXMinBackoff: 50 * time.Millisecond, Heartbeat: o.Heartbeat,
		LDAP: ldap.Config{URL: st.LDAP.URL(), BindDN: devstack.DemoBindDN, BindPassword: devstack.DemoBindPassword,
			UserBase: devstack.DemoPeople, GroupDN: devstack.DemoCTIGroup},
		DatabaseURL: st.newDatabase(tb), Region: "CY",
	}
	VendorSettings(vendor, &s.Config)
	if o.Configure != nil {
		o.Configure(&s.Config)
	}
	s.StartGateway()
	s.ImportDemoContacts()
	return s
}

// Relay is a TCP relay between the gateway and the switch that a test
// can cut, holding the gateway off the switch until it is mended: a
// network outage of exactly the length the test needs, with no guessing
// at reconnect delays.
type Relay struct {
	l      net.Listener
	target string

	mu    sync.Mutex
	open  chan struct{} // closed while connections may pass
	conns map[net.Conn]struct{}
	done  bool
}

// NewRelay relays connections to target until tb's cleanup.
func NewRelay(tb testing.TB, target string) *Relay {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	r := &Relay{l: l, target: target, open: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	close(r.open)
	go r.accept()
	tb.Cleanup(r.close)
	return r
}

// Addr is where the gateway connects.
func (r *Relay) Addr() string { return r.l.Addr().String() }

// Cut closes every relayed connection; new ones wait until Mend.
func (r *Relay) Cut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.open:
		r.open = make(chan struct{})
	default:
	}
	for c := range r.conns {
		c.Close()
	}
}

// Mend lets waiting and new connections through to the switch.
func (r *Relay) Mend() {
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.open:
	default:
		close(r.open)
	}
}

func (r *Relay) close() {
	r.l.Close()
	r.mu.Lock()
	r.done = true
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.Mend()
}

func (r *Relay) accept() {
	for {
		c, err := r.l.Accept()
		if err != nil {
			return
		}
		go r.relay(c)
	}
}

// relay waits for the relay to be open, then copies both ways until
// either side ends.
func (r *Relay) relay(down net.Conn) {
	if !r.track(down) {
		return
	}
	defer r.untrack(down)
	r.mu.Lock()
	open := r.open
	r.mu.Unlock()
	<-open
	up, err := net.Dial("tcp", r.target)
	if err != nil {
		return
	}
	if !r.track(up) {
		return
	}
	defer r.untrack(up)
	r.mu.Lock()
	cut := r.open != open // cut again while we dialled
	r.mu.Unlock()
	if cut {
		return
	}
	go func() {
		io.Copy(up, down)
		up.Close()
		down.Close()
	}()
	io.Copy(down, up)
}

func (r *Relay) track(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		c.Close()
		return false
	}
	r.conns[c] = struct{}{}
	return true
}

func (r *Relay) untrack(c net.Conn) {
	c.Close()
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
}
