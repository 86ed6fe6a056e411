package pbx_test

import (
	"context"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/csta"
	"crmcti/gateway/pbx"
	"crmcti/gateway/pbxsim"
)

// TestAdapterAgainstEveryVendor runs the adapter against each simulated
// vendor as that switch names devices: ring with the caller identified,
// answer, hold, retrieve, clear, an outbound call, a link drop with
// resync, logout; no event may go unattributed.
func TestAdapterAgainstEveryVendor(t *testing.T) {
	for _, v := range []string{"openscape", "avaya", "ecma354", "none"} {
		t.Run(v, func(t *testing.T) {
			sim := pbxsim.New(pbxsim.Config{Vendor: v, AutoAnswer: 50 * time.Millisecond})
			l, _ := net.Listen("tcp", "127.0.0.1:0")
			go sim.ServeCSTA(l)
			p, _ := csta.LookupProfile(v)
			s := newSink()
			cfg := pbx.Config{Addr: l.Addr().String(), Profile: p, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}
			if v == "openscape" {
				cfg.DeviceTemplate = "3572210{ext}"
			}
			if v == "avaya" {
				cfg.UserName, cfg.Password, cfg.SwitchName = "cti", "cti-password", "CM1"
			}
			var un atomic.Int32
			cfg.OnUnattributed = func(n string) { un.Add(1) }
			cfg.Logger = slog.New(slog.NewTextHandler(tw{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
			a := pbx.New(cfg, s)
			t.Cleanup(func() { a.Close(); sim.Close() })
			s.waitLink(t, true)
			ctx := context.Background()
			if err := a.Monitor(ctx, "1001"); err != nil {
				t.Fatal(err)
			}
			res, _ := sim.StartInbound("+35722123456", "1001")
			c := s.next(t, gateway.EvRang, gateway.CallRinging)
			if c.ID != res.CallID || c.Device != "1001" || c.Remote != "+35722123456" {
				t.Errorf("rang %+v", c)
			}
			if err := a.Answer(ctx, "1001", c.ID); err != nil {
				t.Fatal(err)
			}
			s.next(t, gateway.EvAnswered, gateway.CallConnected)
			if err := a.Hold(ctx, "1001", c.ID); err != nil {
				t.Fatal(err)
			}
			s.next(t, gateway.EvHeld, gateway.CallHeld)
			if err := a.Retrieve(ctx, "1001", c.ID); err != nil {
				t.Fatal(err)
			}
			s.next(t, gateway.EvRetrieved, gateway.CallConnected)
			if err := a.Clear(ctx, "1001", c.ID); err != nil {
				t.Fatal(err)
			}
			s.next(t, gateway.EvEnded, gateway.CallEnded)
			id, err := a.MakeCall(ctx, "1001", "+35799000111")
			if err != nil {
				t.Fatal(err)
			}
			c = s.next(t, gateway.EvDialed, gateway.CallDialing)
			if c.ID != id || c.Remote != "+35799000111" {
				t.Errorf("dialed %+v", c)
			}
			s.next(t, gateway.EvAnswered, gateway.CallConnected)
			sim.InjectFault(pbxsim.FaultDropLink, 0)
			s.waitLink(t, false)
			s.waitLink(t, true)
			if err := a.Clear(ctx, "1001", id); err != nil {
				t.Fatal(err)
			}
			s.next(t, gateway.EvEnded, gateway.CallEnded)
			if err := a.Unmonitor(ctx, "1001"); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
			if un.Load() != 0 {
				t.Errorf("%d unattributed", un.Load())
			}
		})
	}
}

// tw shows the adapter's warnings in the test's log.
type tw struct{ t *testing.T }

func (w tw) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// TestAdapterAgainstMisbehavingSwitch: a switch that never answers
// ClearConnection (the ConnectionCleared event settles it) and one that
// sends no callID (nothing tracked under the empty ID, counted instead).
func TestAdapterAgainstMisbehavingSwitch(t *testing.T) {
	for _, f := range []string{pbxsim.FaultNoClearResponse, pbxsim.FaultNoCallID} {
		t.Run(f, func(t *testing.T) {
			sim := pbxsim.New(pbxsim.Config{Vendor: "openscape", AutoAnswer: 50 * time.Millisecond, Faults: []string{f}})
			l, _ := net.Listen("tcp", "127.0.0.1:0")
			go sim.ServeCSTA(l)
			p, _ := csta.LookupProfile("openscape")
			s := newSink()
			var un atomic.Int32
			cfg := pbx.Config{Addr: l.Addr().String(), Profile: p, DeviceTemplate: "3572210{ext}", Timeout: 3 * time.Second,
				OnUnattributed: func(string) { un.Add(1) }, Logger: slog.New(slog.NewTextHandler(tw{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))}
			a := pbx.New(cfg, s)
			t.Cleanup(func() { a.Close(); sim.Close() })
			s.waitLink(t, true)
			ctx := context.Background()
			if err := a.Monitor(ctx, "1001"); err != nil {
				t.Fatal(err)
			}
			res, _ := sim.StartInbound("+35722123456", "1001")
			if f == pbxsim.FaultNoCallID {
				for deadline := time.Now().Add(5 * time.Second); un.Load() == 0; time.Sleep(10 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatal("an event without callID was not counted")
					}
				}
				if calls := a.Calls("1001"); len(calls) != 0 {
					t.Fatalf("tracked without a callID: %+v", calls)
				}
				return
			}
			c := s.next(t, gateway.EvRang, gateway.CallRinging)
			a.Answer(ctx, "1001", c.ID)
			s.next(t, gateway.EvAnswered, gateway.CallConnected)
			if err := a.Clear(ctx, "1001", res.CallID); err != nil {
				t.Fatalf("clear not settled by ConnectionCleared: %v", err)
			}
		})
	}
}
