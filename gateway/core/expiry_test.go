package core

import (
	"testing"
	"time"
)

// Each connection ends at its own session's end, in order, and one whose
// session was left (logout, a new login) is not ended by the old one.
func TestExpiriesEndEachConnectionOnTime(t *testing.T) {
	var e expiries
	defer e.stop()
	conn := func() *Conn { return &Conn{done: make(chan struct{})} }
	late, early, left := conn(), conn(), conn()
	start := time.Now()
	e.add(late, start.Add(400*time.Millisecond))
	x := e.add(left, start.Add(100*time.Millisecond))
	e.add(early, start.Add(200*time.Millisecond))
	e.remove(x)
	e.remove(x) // twice is fine

	<-early.done
	select {
	case <-late.done:
		t.Fatal("the later session ended with the earlier one")
	default:
	}
	if waited := time.Since(start); waited < 200*time.Millisecond {
		t.Fatalf("ended after %v, before its session's end", waited)
	}
	if early.CloseReason().Code != errExpired.Code {
		t.Fatalf("reason %+v", early.CloseReason())
	}
	<-late.done
	if time.Since(start) < 400*time.Millisecond {
		t.Fatal("the later session ended early")
	}
	select {
	case <-left.done:
		t.Fatal("a removed expiry still ended its connection")
	default:
	}
}
