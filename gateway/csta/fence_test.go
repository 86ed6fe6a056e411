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
	var asked []string
	c := dial(t, srv, csta.Config{Fence: func(message string) error {
		asked = append(asked, message)
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
	if len(asked) < 2 || asked[0] != "MonitorStart" || asked[1] != "MonitorStart" {
		t.Fatalf("the fence was asked about %q, want each frame's message", asked)
	}
}

// A fence that admits only some messages (a standby's link, held to
// watching) lets those through and ends the link at the first other one:
// the switch never reads it.
func TestFenceByMessage(t *testing.T) {
	srv := cs.NewServer(t,
		cs.Expect("MonitorStart", nil),
		cs.Reply(&csta.MonitorStartResponse{MonitorCrossRefID: "77"}),
		cs.ExpectHangup(),
	)
	c := dial(t, srv, csta.Config{Fence: func(message string) error {
		if message == "MonitorStart" {
			return nil
		}
		return errors.New("watching only")
	}})
	if _, err := c.Do(context.Background(), monitor1001); err != nil {
		t.Fatal(err)
	}
	_, err := c.Do(context.Background(), &csta.MakeCall{CallingDevice: "1001", CalledDirectoryNumber: "1002"})
	if !errors.Is(err, csta.ErrFenced) {
		t.Fatalf("a call made on a watching link: %v", err)
	}
	if err := srv.Wait(5 * time.Second); err != nil {
		t.Fatal(err)
	}
}
