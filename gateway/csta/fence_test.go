package csta_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"crmcti/gateway/csta"
	cs "crmcti/gateway/csta/cstatest"
)

// A fence that refuses stops the frame before it is written and ends the
// link: the switch sees the first request, then only the link closing.
func TestFenceRefusesTheFrameAndEndsTheLink(t *testing.T) {
	srv := cs.NewServer(t,
		cs.Expect("MonitorStart", nil),
		cs.Reply(&csta.MonitorStartResponse{MonitorCrossRefID: "77"}),
		cs.ExpectHangup(),
	)
	var fenced atomic.Bool
	errLost := errors.New("lease lost")
	c := dial(t, srv, csta.Config{Fence: func() error {
		if fenced.Load() {
			return errLost
		}
		return nil
	}})
	if _, err := c.Do(context.Background(), monitor1001); err != nil {
		t.Fatal(err)
	}
	fenced.Store(true)
	_, err := c.Do(context.Background(), monitor1001)
	if !errors.Is(err, csta.ErrFenced) || !errors.Is(err, errLost) {
		t.Fatalf("a fenced request: %v", err)
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the link outlived the fence")
	}
	if err := srv.Wait(5 * time.Second); err != nil {
		t.Fatal(err)
	}
}
