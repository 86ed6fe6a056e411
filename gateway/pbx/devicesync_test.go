package pbx_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/csta"
	"crmcti/gateway/pbx"
	"crmcti/gateway/pbxsim"
)

// syncSink is a sink that also hears each device resynchronised.
type syncSink struct {
	*sink
	synced chan string
}

func (s *syncSink) DeviceSynced(dev string) { s.synced <- dev }

// An agent whose phone is resynchronised while the switch's pacing still
// holds the other phones back has her calls and her commands at once,
// not after the last phone: 40 phones at 20 requests a second take at
// least 4 s to resynchronise, the first one a tenth of that.
func TestResyncedPhoneServedBeforeTheWholeLink(t *testing.T) {
	p, _ := csta.LookupProfile("openscape")
	p.RequestsPerSecond = 20
	sim := pbxsim.New(pbxsim.Config{Profile: p})
	t.Cleanup(func() { sim.Close() })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &syncSink{sink: newSink(), synced: make(chan string, 100)}
	a := pbx.New(pbx.Config{Addr: l.Addr().String(), Profile: p, Timeout: 10 * time.Second,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}, s)
	t.Cleanup(func() { a.Close() })
	ctx := context.Background()
	for n := 1001; n <= 1040; n++ {
		// The switch does not answer yet: each phone waits for the link.
		if err := a.Monitor(ctx, strconv.Itoa(n)); err != nil {
			t.Fatal(err)
		}
	}
	go sim.ServeCSTA(l)
	var dev string
	select {
	case dev = <-s.synced:
	case up := <-s.link:
		t.Fatalf("link %v before any phone was resynchronised", up)
	case <-time.After(10 * time.Second):
		t.Fatal("no phone resynchronised")
	}
	res, err := sim.StartInbound("+35722123456", dev)
	if err != nil {
		t.Fatal(err)
	}
	c := s.next(t, gateway.EvRang, gateway.CallRinging)
	if c.ID != res.CallID || c.Device != dev {
		t.Fatalf("%+v, want call %s at %s", c, res.CallID, dev)
	}
	if err := a.Answer(ctx, dev, c.ID); err != nil {
		t.Fatalf("answer on a resynchronised phone while the others resync: %v", err)
	}
	s.next(t, gateway.EvAnswered, gateway.CallConnected)
	select {
	case up := <-s.link:
		t.Fatalf("link %v before the call was answered: the phones resynchronised faster than the pacing allows", up)
	default:
	}
	s.waitLink(t, true)
	if n := len(s.synced) + 1; n != 40 {
		t.Fatalf("%d phones reported resynchronised, want 40", n)
	}
}
