package pbx_test

// Defects found by running ctigateway against pbxsim's vendor profiles
// as a PBX vendor would (issue 10), each with the test that shows it.

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/csta"
	"crmcti/gateway/pbx"
	"crmcti/gateway/pbxsim"
)

// TestConsultedPartyStaysInTheConference: when 1001 consults 1002 and
// joins the caller in, 1002's connection moves into the caller's call.
// 1002's panel must show it still talking, under the conference's call
// ID, and control it there; it once showed the call ended and then could
// attribute none of the conference's events.
func TestConsultedPartyStaysInTheConference(t *testing.T) {
	p, _ := csta.LookupProfile("openscape")
	sim := pbxsim.New(pbxsim.Config{Profile: p})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go sim.ServeCSTA(l)
	s := newSink()
	var unattributed atomic.Int32
	a := pbx.New(pbx.Config{Addr: l.Addr().String(), Profile: p, MinBackoff: 20 * time.Millisecond,
		OnUnattributed: func(string) { unattributed.Add(1) }}, s)
	t.Cleanup(func() { a.Close(); sim.Close() })
	s.waitLink(t, true)
	ctx := context.Background()
	for _, dev := range []string{"1001", "1002"} {
		if err := a.Monitor(ctx, dev); err != nil {
			t.Fatal(err)
		}
	}
	res, _ := sim.StartInbound("+35722123456", "1001")
	s.nextOn(t, "1001", gateway.EvRang)
	if err := a.Answer(ctx, "1001", res.CallID); err != nil {
		t.Fatal(err)
	}
	consult, err := a.Consult(ctx, "1001", res.CallID, "1002")
	if err != nil {
		t.Fatal(err)
	}
	s.nextOn(t, "1002", gateway.EvRang)
	if err := sim.Answer(consult, "1002"); err != nil {
		t.Fatal(err)
	}
	s.nextOn(t, "1002", gateway.EvAnswered)
	if err := a.Complete(ctx, "1001", res.CallID, consult, true); err != nil {
		t.Fatal(err)
	}
	got := map[string]gateway.Call{}
	for len(got) < 2 {
		c := s.nextOn(t, "1002", gateway.EvConferenced)
		got[c.ID] = c
	}
	if c := got[consult]; c.State != gateway.CallEnded {
		t.Errorf("the consultation call on 1002: %+v", c)
	}
	if c := got[res.CallID]; c.State != gateway.CallConnected || c.Remote == "" || c.Answered.IsZero() {
		t.Errorf("the conference on 1002: %+v", c)
	}
	if calls := a.Calls("1002"); len(calls) != 1 || calls[0].ID != res.CallID {
		t.Fatalf("1002 tracks %+v", calls)
	}
	if err := a.Clear(ctx, "1002", res.CallID); err != nil {
		t.Fatalf("1002 leaving the conference: %v", err)
	}
	if c := s.nextOn(t, "1002", gateway.EvEnded); c.ID != res.CallID {
		t.Fatalf("ended %+v", c)
	}
	if n := unattributed.Load(); n != 0 {
		t.Fatalf("%d events not attributed", n)
	}
}

// nextOn returns the next update of dev with event ev, skipping the
// other device's updates and dev's other events.
func (s *sink) nextOn(t *testing.T, dev string, ev gateway.CallEvent) gateway.Call {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case u := <-s.calls:
			if u.c.Device == dev && u.ev == ev {
				return u.c
			}
		case <-deadline:
			t.Fatalf("no %s on %s", ev, dev)
		}
	}
}

// TestRefusedMonitorIsLogged: an OpenScape switch knows phones by full
// number; a gateway set up without the device template asks for "1001"
// and is refused. The agent sees pbx_refused; the admin must see in the
// log which device was refused and as what.
func TestRefusedMonitorIsLogged(t *testing.T) {
	sim := pbxsim.New(pbxsim.Config{Vendor: "openscape"})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go sim.ServeCSTA(l)
	p, _ := csta.LookupProfile("openscape")
	var log strings.Builder
	var mu sync.Mutex
	s := newSink()
	a := pbx.New(pbx.Config{Addr: l.Addr().String(), Profile: p, MinBackoff: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(lockedWriter{&mu, &log}, &slog.HandlerOptions{Level: slog.LevelWarn}))}, s)
	t.Cleanup(func() { a.Close(); sim.Close() })
	s.waitLink(t, true)
	err = a.Monitor(context.Background(), "1001")
	if gateway.ErrorCode(err) != gateway.CodePBXRefused {
		t.Fatalf("monitor: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{"monitor refused", "extension=1001", "invalidDeviceID", "-pbx-device-template"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// TestLinkDownLogSaysWhenItRetries: the gateway's log is JSON in
// production, where a bare time.Duration reads "retry":1000000000; an
// admin watching a link that will not come up must read "1s".
func TestLinkDownLogSaysWhenItRetries(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens: every dial fails
	var log strings.Builder
	var mu sync.Mutex
	p, _ := csta.LookupProfile("none")
	a := pbx.New(pbx.Config{Addr: addr, Profile: p, MinBackoff: 20 * time.Millisecond, MaxBackoff: 40 * time.Millisecond,
		Logger: slog.New(slog.NewJSONHandler(lockedWriter{&mu, &log}, &slog.HandlerOptions{Level: slog.LevelWarn}))}, newSink())
	defer a.Close()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		got := log.String()
		mu.Unlock()
		if strings.Contains(got, `"msg":"pbx: link down"`) {
			if !strings.Contains(got, `"retry":"20ms"`) {
				t.Fatalf("retry not readable:\n%s", got)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no link-down warning:\n%s", got)
		}
	}
}
