package pbx_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/csta"
	"crmcti/gateway/pbx"
	"crmcti/gateway/pbxsim"
)

// sink records what the adapter reports.
type sink struct {
	mu     sync.Mutex
	calls  chan update
	status chan string
	link   chan bool
}

type update struct {
	c  gateway.Call
	ev gateway.CallEvent
}

func newSink() *sink {
	return &sink{calls: make(chan update, 100), status: make(chan string, 10), link: make(chan bool, 10)}
}
func (s *sink) CallChanged(c gateway.Call, ev gateway.CallEvent) { s.calls <- update{c, ev} }
func (s *sink) StatusChanged(dev string, st gateway.Status)      { s.status <- dev + "=" + string(st) }
func (s *sink) LinkChanged(up bool)                              { s.link <- up }

func (s *sink) next(t *testing.T, ev gateway.CallEvent, state gateway.CallState) gateway.Call {
	t.Helper()
	select {
	case u := <-s.calls:
		if u.ev != ev || u.c.State != state {
			t.Fatalf("got %s/%s (%+v), want %s/%s", u.ev, u.c.State, u.c, ev, state)
		}
		return u.c
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s", ev)
	}
	return gateway.Call{}
}

func (s *sink) waitLink(t *testing.T, want bool) {
	t.Helper()
	select {
	case up := <-s.link:
		if up != want {
			t.Fatalf("link %v, want %v", up, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("link never went %v", want)
	}
}

type rig struct {
	sim  *pbxsim.Sim
	a    *pbx.Adapter
	sink *sink
}

func newRig(t *testing.T, mode pbx.StatusMode) *rig {
	t.Helper()
	p, _ := csta.LookupProfile("openscape")
	sim, addr := serveSim(t, pbxsim.Config{Profile: p, AutoAnswer: 50 * time.Millisecond})
	s := newSink()
	a := pbx.New(pbx.Config{Addr: addr, Profile: p, StatusMode: mode, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}, s)
	t.Cleanup(func() { a.Close(); a.Close(); sim.Close() })
	s.waitLink(t, true)
	if err := a.Monitor(context.Background(), "1001"); err != nil {
		t.Fatal(err)
	}
	return &rig{sim: sim, a: a, sink: s}
}

func TestInboundCallIsTracked(t *testing.T) {
	r := newRig(t, pbx.StatusDoNotDisturb)
	ctx := context.Background()
	res, _ := r.sim.StartInbound("+35722123456", "1001")
	c := r.sink.next(t, gateway.EvRang, gateway.CallRinging)
	if c.ID != res.CallID || c.Remote != "+35722123456" || c.Direction != gateway.Inbound || c.Device != "1001" {
		t.Fatalf("%+v", c)
	}
	if calls := r.a.Calls("1001"); len(calls) != 1 {
		t.Fatalf("tracker %+v", calls)
	}
	if err := r.a.Answer(ctx, "1001", c.ID); err != nil {
		t.Fatal(err)
	}
	if c = r.sink.next(t, gateway.EvAnswered, gateway.CallConnected); c.Answered.IsZero() {
		t.Fatal("no answer time")
	}
	r.a.Hold(ctx, "1001", c.ID)
	r.sink.next(t, gateway.EvHeld, gateway.CallHeld)
	r.a.Retrieve(ctx, "1001", c.ID)
	r.sink.next(t, gateway.EvRetrieved, gateway.CallConnected)
	r.a.Clear(ctx, "1001", c.ID)
	if c = r.sink.next(t, gateway.EvEnded, gateway.CallEnded); c.Ended.IsZero() || c.Cause != "normalClearing" {
		t.Fatalf("%+v", c)
	}
	if calls := r.a.Calls("1001"); len(calls) != 0 {
		t.Fatalf("tracker kept %+v", calls)
	}
	// The switch's refusal comes back with a stable code.
	if err := r.a.Answer(ctx, "1001", c.ID); gateway.ErrorCode(err) != gateway.CodePBXRefused {
		t.Fatalf("answer of a gone call: %v", err)
	}
}

func TestOutboundCall(t *testing.T) {
	r := newRig(t, pbx.StatusDoNotDisturb)
	id, err := r.a.MakeCall(context.Background(), "1001", "+35799000111")
	if err != nil || id == "" {
		t.Fatal(err)
	}
	c := r.sink.next(t, gateway.EvDialed, gateway.CallDialing)
	if c.ID != id || c.Remote != "+35799000111" || c.Direction != gateway.Outbound {
		t.Fatalf("%+v", c)
	}
	r.sink.next(t, gateway.EvAnswered, gateway.CallConnected)
}

func TestStatusBothWays(t *testing.T) {
	for _, mode := range []pbx.StatusMode{pbx.StatusDoNotDisturb, pbx.StatusAgentState} {
		t.Run(string(mode), func(t *testing.T) {
			r := newRig(t, mode)
			if err := r.a.SetStatus(context.Background(), "1001", "alice", gateway.StatusBusy); err != nil {
				t.Fatal(err)
			}
			d, _ := r.sim.Device("1001")
			if mode == pbx.StatusDoNotDisturb && !d.DoNotDisturb || mode == pbx.StatusAgentState && d.AgentState != csta.AgentStateNotReady {
				t.Fatalf("PBX device after Busy: %+v", d)
			}
			if got := <-r.sink.status; got != "1001=busy" {
				t.Fatalf("echo %s", got)
			}
			// Changed on the phone.
			if mode == pbx.StatusDoNotDisturb {
				r.sim.SetDoNotDisturb("1001", false)
			} else {
				r.sim.SetAgentState("1001", csta.AgentReady)
			}
			select {
			case got := <-r.sink.status:
				if got != "1001=available" {
					t.Fatalf("phone change %s", got)
				}
			case <-time.After(3 * time.Second):
				t.Fatal("phone change not reported")
			}
		})
	}
}

func TestLinkDropResync(t *testing.T) {
	r := newRig(t, pbx.StatusDoNotDisturb)
	ctx := context.Background()
	a, _ := r.sim.StartInbound("+35722000001", "1001")
	r.sink.next(t, gateway.EvRang, gateway.CallRinging)
	r.a.Answer(ctx, "1001", a.CallID)
	r.sink.next(t, gateway.EvAnswered, gateway.CallConnected)

	r.sim.InjectFault(pbxsim.FaultStall, 0) // nothing reaches us from here
	r.sim.Hangup(a.CallID, "+35722000001")  // ends during the outage
	b, _ := r.sim.StartInbound("+35722000002", "1001")
	r.sim.InjectFault(pbxsim.FaultClear, 0)
	r.sim.InjectFault(pbxsim.FaultDropLink, 0)
	r.sink.waitLink(t, false)
	if err := r.a.Answer(ctx, "1001", b.CallID); gateway.ErrorCode(err) != gateway.CodePBXUnavailable {
		t.Fatalf("while down: %v", err)
	}
	// After reconnect: the ended call is cleared, the new one shows.
	got := map[string]gateway.CallState{}
	for range 2 {
		select {
		case u := <-r.sink.calls:
			got[u.c.ID] = u.c.State
		case <-time.After(10 * time.Second):
			t.Fatalf("resync reported only %v", got)
		}
	}
	if got[a.CallID] != gateway.CallEnded || got[b.CallID] != gateway.CallRinging {
		t.Fatalf("resync: %v", got)
	}
	r.sink.waitLink(t, true)
	// Events flow again on the new monitor.
	if err := r.a.Answer(ctx, "1001", b.CallID); err != nil {
		t.Fatal(err)
	}
	r.sink.next(t, gateway.EvAnswered, gateway.CallConnected)
}

func TestUnmonitor(t *testing.T) {
	r := newRig(t, pbx.StatusDoNotDisturb)
	if err := r.a.Unmonitor(context.Background(), "1001"); err != nil {
		t.Fatal(err)
	}
	if d, _ := r.sim.Device("1001"); d.Monitors != 0 {
		t.Fatalf("monitors left: %d", d.Monitors)
	}
	r.sim.StartInbound("+35722000001", "1001")
	select {
	case u := <-r.sink.calls:
		t.Fatalf("unmonitored device reported %+v", u)
	case <-time.After(200 * time.Millisecond):
	}
}

// TestStalledSwitchIsDetectedAndResynced: a switch that stops talking with
// the TCP connection open is declared down without anyone dropping the
// link; after the stall, the link comes back and the phone is
// resynchronised: the call that ended during the stall ends here too.
func TestStalledSwitchIsDetectedAndResynced(t *testing.T) {
	p, _ := csta.LookupProfile("openscape")
	sim, addr := serveSim(t, pbxsim.Config{Profile: p, AutoAnswer: 50 * time.Millisecond})
	s := newSink()
	a := pbx.New(pbx.Config{Addr: addr, Profile: p, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		Liveness: 900 * time.Millisecond}, s)
	t.Cleanup(func() { a.Close(); sim.Close() })
	s.waitLink(t, true)
	if err := a.Monitor(context.Background(), "1001"); err != nil {
		t.Fatal(err)
	}
	call, _ := sim.StartInbound("+35722000001", "1001")
	s.next(t, gateway.EvRang, gateway.CallRinging)

	sim.InjectFault(pbxsim.FaultStall, 2*time.Second)
	sim.Hangup(call.CallID, "+35722000001") // swallowed by the stall
	s.waitLink(t, false)
	s.waitLink(t, true)
	if c := s.next(t, gateway.EvEnded, gateway.CallEnded); c.ID != call.CallID || c.Cause != "resync" {
		t.Fatalf("after the stall: %+v", c)
	}
}

// serveSim runs a simulated switch with cfg on a loopback port and
// returns it with its CSTA address.
func serveSim(t *testing.T, cfg pbxsim.Config) (*pbxsim.Sim, string) {
	t.Helper()
	sim := pbxsim.New(cfg)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go sim.ServeCSTA(l)
	return sim, l.Addr().String()
}
