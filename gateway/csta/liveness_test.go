package csta_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"crmcti/gateway/csta"
	cs "crmcti/gateway/csta/cstatest"
)

// waitDown waits for the link to end and returns why.
func waitDown(t *testing.T, c *csta.Conn) error {
	t.Helper()
	select {
	case <-c.Done():
		return c.Err()
	case <-time.After(10 * time.Second):
		t.Fatal("the link was never declared down")
		return nil
	}
}

// TestSilentSwitchIsDeclaredDown: a switch that keeps the TCP connection
// open but says nothing, not even to the probe, ends the link.
func TestSilentSwitchIsDeclaredDown(t *testing.T) {
	srv := cs.NewServer(t,
		cs.Expect("SystemStatus", nil), // the probe, left unanswered
		cs.Pause(1500*time.Millisecond),
	)
	c := dial(t, srv, csta.Config{Liveness: 600 * time.Millisecond})
	if err := waitDown(t, c); !errors.Is(err, csta.ErrSilent) {
		t.Fatalf("link ended with %v, want ErrSilent", err)
	}
}

// TestStalledFrameIsDeclaredDown: a header promising 65,535 bytes and
// then silence.
func TestStalledFrameIsDeclaredDown(t *testing.T) {
	srv := cs.NewServer(t,
		cs.SendRaw([]byte{0, 0, 0xff, 0xff, '9', '9', '9', '9', '<'}),
		cs.Pause(1500*time.Millisecond),
	)
	c := dial(t, srv, csta.Config{Liveness: 600 * time.Millisecond})
	if err := waitDown(t, c); !errors.Is(err, csta.ErrSilent) {
		t.Fatalf("link ended with %v, want ErrSilent", err)
	}
}

// TestQuietButAliveSwitchStaysUp: a switch with nothing to report that
// answers the probes keeps the link, on each profile's probe.
func TestQuietButAliveSwitchStaysUp(t *testing.T) {
	for _, tc := range []struct {
		profile, probe string
		reply          csta.Message
		start          []cs.Step
	}{
		{"none", "SystemStatus", &csta.SystemStatusResponse{}, nil},
		{"ecma354", "ResetApplicationSessionTimer", &csta.ResetApplicationSessionTimerPosResponse{ActualSessionDuration: 180}, []cs.Step{
			cs.Expect("StartApplicationSession", nil),
			cs.Reply(&csta.StartApplicationSessionPosResponse{SessionID: "S1", ActualSessionDuration: 180}),
		}},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			steps := tc.start
			for range 4 {
				steps = append(steps, cs.Expect(tc.probe, nil), cs.Reply(tc.reply))
			}
			srv := cs.NewServer(t, steps...)
			p, _ := csta.LookupProfile(tc.profile)
			c := dial(t, srv, csta.Config{Profile: p, Liveness: 600 * time.Millisecond})
			if err := srv.Wait(10 * time.Second); err != nil {
				t.Fatal(err)
			}
			if err := c.Err(); err != nil {
				t.Fatalf("a switch answering its probes was dropped: %v", err)
			}
		})
	}
}

// TestStallIsReported: a switch that leaves a request unanswered and says
// nothing for StallAfter, then speaks again, is reported as stalled; a
// quiet switch that answers its probes at once is not.
func TestStallIsReported(t *testing.T) {
	stalls := make(chan time.Duration, 4)
	onStall := func(d time.Duration) { stalls <- d }

	quiet := cs.NewServer(t,
		cs.Expect("SystemStatus", nil), cs.Reply(&csta.SystemStatusResponse{}),
		cs.Expect("SystemStatus", nil), cs.Reply(&csta.SystemStatusResponse{}),
	)
	dial(t, quiet, csta.Config{Liveness: 900 * time.Millisecond, StallAfter: 100 * time.Millisecond, OnStall: onStall})
	if err := quiet.Wait(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-stalls:
		t.Fatalf("an idle switch answering its probes was reported stalled (%v)", d)
	case <-time.After(200 * time.Millisecond):
	}

	stalled := cs.NewServer(t,
		cs.Expect("SystemStatus", nil), // swallowed
		cs.Pause(400*time.Millisecond),
		cs.Send(9999, &csta.DeliveredEvent{EventHeader: csta.EventHeader{MonitorCrossRefID: "M1"}}),
		cs.Pause(300*time.Millisecond),
	)
	c := dial(t, stalled, csta.Config{StallAfter: 200 * time.Millisecond, OnStall: onStall})
	go c.Do(context.Background(), &csta.SystemStatus{SystemStatus: "normal"})
	select {
	case d := <-stalls:
		if d < 200*time.Millisecond {
			t.Fatalf("stall of %v reported", d)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("a switch that swallowed a request and then spoke was not reported stalled")
	}
}
