package pbx_test

import (
	"context"
	"testing"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/csta"
	"crmcti/gateway/pbx"
	"crmcti/gateway/pbxsim"
)

// stallRig is a rig whose adapter config the test sets (the audit period).
func stallRig(t *testing.T, audit time.Duration) *rig {
	t.Helper()
	p, _ := csta.LookupProfile("openscape")
	sim, addr := serveSim(t, pbxsim.Config{Profile: p})
	s := newSink()
	a := pbx.New(pbx.Config{Addr: addr, Profile: p, Timeout: 2 * time.Second, Audit: audit,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}, s)
	t.Cleanup(func() { a.Close(); sim.Close() })
	s.waitLink(t, true)
	for _, dev := range []string{"1001", "1002"} {
		if err := a.Monitor(context.Background(), dev); err != nil {
			t.Fatal(err)
		}
	}
	return &rig{sim: sim, a: a, sink: s}
}

// collect gathers the sink's reports until want says it has them all or
// the deadline passes, and returns every report it saw.
func (s *sink) collect(t *testing.T, within time.Duration, want func([]update) bool) []update {
	t.Helper()
	var got []update
	deadline := time.After(within)
	for !want(got) {
		select {
		case u := <-s.calls:
			got = append(got, u)
		case <-deadline:
			t.Fatalf("the switch's truth never reached the adapter; got %+v", got)
		}
	}
	// Anything more within a moment (a duplicate) is reported too.
	for {
		select {
		case u := <-s.calls:
			got = append(got, u)
		case <-time.After(300 * time.Millisecond):
			return got
		}
	}
}

func count(us []update, id string, ev gateway.CallEvent) int {
	n := 0
	for _, u := range us {
		if u.c.ID == id && u.ev == ev {
			n++
		}
	}
	return n
}

// A stall shorter than the liveness window, while a request waits for its
// answer: the calls that ended and began while the switch swallowed its
// events are settled as soon as it speaks again, without the audit, and a
// call that did not change is not reported again.
func TestShortStallResynchronises(t *testing.T) {
	r := stallRig(t, -1)
	ctx := context.Background()
	ending, _ := r.sim.StartInbound("+35722000001", "1001")
	r.sink.next(t, gateway.EvRang, gateway.CallRinging)
	steady, _ := r.sim.StartInbound("+35722000002", "1002")
	r.sink.next(t, gateway.EvRang, gateway.CallRinging)
	if err := r.a.Answer(ctx, "1002", steady.CallID); err != nil {
		t.Fatal(err)
	}
	r.sink.next(t, gateway.EvAnswered, gateway.CallConnected)

	r.sim.InjectFault(pbxsim.FaultStall, 1500*time.Millisecond)
	go r.a.SetStatus(ctx, "1002", "", gateway.StatusBusy) // swallowed: the switch owes its answer
	time.Sleep(200 * time.Millisecond)
	r.sim.Hangup(ending.CallID, "+35722000001")
	rang, _ := r.sim.StartInbound("+35722000003", "1001")
	time.Sleep(1500 * time.Millisecond)
	after, _ := r.sim.StartInbound("+35722000004", "1002") // the switch speaks again

	got := r.sink.collect(t, 5*time.Second, func(us []update) bool {
		return count(us, ending.CallID, gateway.EvEnded) == 1 && count(us, rang.CallID, gateway.EvRang) == 1 &&
			count(us, after.CallID, gateway.EvRang) == 1
	})
	for _, u := range got {
		if u.c.ID == steady.CallID {
			t.Errorf("the unchanged call was reported again: %s %+v", u.ev, u.c)
		}
	}
	if n := count(got, rang.CallID, gateway.EvRang) + count(got, after.CallID, gateway.EvRang); n != 2 {
		t.Errorf("%d rang reports for two calls: %+v", n, got)
	}
}

// A stall with nothing owed (the switch just swallowed an event) is found
// by the periodic audit.
func TestAuditFindsSwallowedEvents(t *testing.T) {
	r := stallRig(t, 400*time.Millisecond)
	r.sim.InjectFault(pbxsim.FaultStall, 500*time.Millisecond)
	rang, _ := r.sim.StartInbound("+35722000005", "1001")
	got := r.sink.collect(t, 5*time.Second, func(us []update) bool { return count(us, rang.CallID, gateway.EvRang) >= 1 })
	if n := count(got, rang.CallID, gateway.EvRang); n != 1 {
		t.Errorf("the call rang %d times: %+v", n, got)
	}
}
