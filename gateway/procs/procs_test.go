package procs

import (
	"context"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// The Ps double as soon as they are nearly all busy, up to the most
// allowed, and halve only after the load has stayed low for quietFor
// readings; a reading in between starts the count again.
func TestGovernorFollowsTheLoad(t *testing.T) {
	g := governor{max: 4, cur: 1}
	steps := []struct {
		cores   float64
		want    int
		changed bool
	}{
		{0.3, 1, false}, // a third of a core: one P is plenty
		{0.7, 1, false},
		{0.8, 2, true}, // nearly all busy: double
		{1.9, 4, true},
		{3.9, 4, false}, // the most there is
		{0.5, 4, false}, {0.5, 4, false}, {0.5, 4, false},
		{1.5, 4, false}, // busy again: the quiet count restarts
		{0.5, 4, false}, {0.5, 4, false}, {0.5, 4, false}, {0.5, 2, true},
		{0.45, 2, false}, {0.45, 2, false}, {0.45, 2, false}, {0.45, 1, true},
		{0.1, 1, false}, // never under one
	}
	for i, s := range steps {
		got, changed := g.next(s.cores)
		if got != s.want || changed != s.changed {
			t.Fatalf("step %d, %.2f cores used: %d Ps (changed %v), want %d (%v)", i, s.cores, got, changed, s.want, s.changed)
		}
	}
}

// Run for real: an idle process drops to one P, a busy one gets every P
// back, and the end of Govern restores them.
func TestGovernSetsGOMAXPROCS(t *testing.T) {
	if os.Getenv("GOMAXPROCS") != "" {
		t.Skip("GOMAXPROCS is set: Govern leaves it alone")
	}
	start := runtime.GOMAXPROCS(0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Govern(ctx, Config{Max: 2, Every: 50 * time.Millisecond})
	}()
	waitProcs(t, 1)
	var stop atomic.Bool
	for range 2 {
		go func() {
			for !stop.Load() {
			}
		}()
	}
	waitProcs(t, 2)
	stop.Store(true)
	waitProcs(t, 1)
	cancel()
	<-done
	if got := runtime.GOMAXPROCS(0); got != 2 {
		t.Fatalf("after Govern: GOMAXPROCS %d, want its Max 2", got)
	}
	runtime.GOMAXPROCS(start)
}

func waitProcs(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.GOMAXPROCS(0) != want {
		if time.Now().After(deadline) {
			t.Fatalf("GOMAXPROCS stayed %d, want %d", runtime.GOMAXPROCS(0), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
