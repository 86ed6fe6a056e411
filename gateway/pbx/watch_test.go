package pbx_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/csta"
	"crmcti/gateway/pbx"
	"crmcti/gateway/pbxsim"
)

// A standby's watching adapter monitors a phone and tracks its calls by
// the switch's events, alongside the active gateway's own monitor of the
// same phone, but refuses every command without a frame of it reaching
// the switch; promoted, it answers the call it has tracked all along,
// with no new monitor and no snapshot.
func TestWatchingAdapterTracksCallsAndDrivesNothing(t *testing.T) {
	p, _ := csta.LookupProfile("openscape")
	sim, addr := serveSim(t, pbxsim.Config{Profile: p})
	ctx := context.Background()

	active := pbx.New(pbx.Config{Addr: addr, Profile: p, MinBackoff: 20 * time.Millisecond}, newSink())
	defer active.Close()
	var mu sync.Mutex
	var sent []string
	s := newSink()
	w := pbx.New(pbx.Config{Addr: addr, Profile: p, MinBackoff: 20 * time.Millisecond, Standby: true,
		Trace: func(r csta.TraceRecord) {
			if r.Dir == csta.Out {
				mu.Lock()
				sent = append(sent, string(r.Body))
				mu.Unlock()
			}
		}}, s)
	defer w.Close()
	s.waitLink(t, true)
	for _, a := range []*pbx.Adapter{active, w} {
		if err := a.Monitor(ctx, "1001"); err != nil {
			t.Fatal(err)
		}
	}
	if !w.Watching() {
		t.Fatal("a standby adapter is not watching")
	}
	res, _ := sim.StartInbound("+35722123456", "1001")
	if c := s.next(t, gateway.EvRang, gateway.CallRinging); c.ID != res.CallID {
		t.Fatalf("watched %+v", c)
	}
	if err := w.Answer(ctx, "1001", res.CallID); gateway.ErrorCode(err) != gateway.CodePBXUnavailable {
		t.Fatalf("answer on a watching adapter: %v", err)
	}
	if _, err := w.MakeCall(ctx, "1001", "1002"); gateway.ErrorCode(err) != gateway.CodePBXUnavailable {
		t.Fatalf("call on a watching adapter: %v", err)
	}
	mu.Lock()
	for _, b := range sent {
		if bytes.Contains([]byte(b), []byte("AnswerCall")) || bytes.Contains([]byte(b), []byte("MakeCall")) {
			t.Fatalf("a watching adapter sent %s", b)
		}
	}
	before := len(sent)
	mu.Unlock()
	for _, c := range sim.Calls() {
		for _, cn := range c.Connections {
			if cn.Device == "1001" && cn.State != "alerting" {
				t.Fatalf("the switch: %+v", c)
			}
		}
	}

	// The active gateway dies; the standby takes over.
	active.Close()
	w.Promote(func() error { return nil })
	if w.Watching() {
		t.Fatal("promoted and still watching")
	}
	if calls := w.Calls("1001"); len(calls) != 1 || calls[0].ID != res.CallID {
		t.Fatalf("the promoted adapter's calls %+v", calls)
	}
	if err := w.Answer(ctx, "1001", res.CallID); err != nil {
		t.Fatal(err)
	}
	s.next(t, gateway.EvAnswered, gateway.CallConnected)
	mu.Lock()
	defer mu.Unlock()
	for _, b := range sent[before:] {
		if bytes.Contains([]byte(b), []byte("MonitorStart")) || bytes.Contains([]byte(b), []byte("SnapshotDevice")) {
			t.Fatalf("the promoted adapter resynchronised: %s", b)
		}
	}
}

// A promoted adapter obeys its new fence: once it refuses, no frame leaves.
func TestPromotedAdapterIsFenced(t *testing.T) {
	p, _ := csta.LookupProfile("openscape")
	_, addr := serveSim(t, pbxsim.Config{Profile: p})
	s := newSink()
	w := pbx.New(pbx.Config{Addr: addr, Profile: p, MinBackoff: 20 * time.Millisecond, Standby: true}, s)
	defer w.Close()
	s.waitLink(t, true)
	if err := w.Monitor(context.Background(), "1001"); err != nil {
		t.Fatal(err)
	}
	lost := false
	var mu sync.Mutex
	w.Promote(func() error {
		mu.Lock()
		defer mu.Unlock()
		if lost {
			return errLease
		}
		return nil
	})
	mu.Lock()
	lost = true
	mu.Unlock()
	if _, err := w.MakeCall(context.Background(), "1001", "1002"); err == nil {
		t.Fatal("a call went out past the fence")
	}
	s.waitLink(t, false)
}

var errLease = errors.New("lease lost")
