package core

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"crmcti/gateway/spool"
)

func spoolLines(t *testing.T, dir *spool.Dir, name string) int {
	t.Helper()
	n := 0
	if err := dir.Load(name, func(json.RawMessage) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
	}
}

// stepsInTheLog queues steps 0..n-1 on a batcher whose database is down
// and waits until the spool's write-ahead log has them all: what a gateway
// killed during an outage leaves for the next start.
func stepsInTheLog(t *testing.T, n int) (*spool.Dir, *batcher[int]) {
	t.Helper()
	dir, err := spool.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	down := func(context.Context, []int) error { return errors.New("database down") }
	killed := newBatcher("steps", 100, slog.New(slog.DiscardHandler), dir, down)
	for i := range n {
		killed.add(i)
	}
	waitFor(t, "the steps in the log", func() bool { return spoolLines(t, dir, "steps") == n })
	return dir, killed
}

// A step queued is in the spool's write-ahead log at once, before the
// database has it: a gateway killed (no shutdown, nothing flushed) with
// steps in memory writes them after the next start, each once, and the
// log is emptied once the database has them.
func TestQueuedStepsSurviveAKill(t *testing.T) {
	t.Parallel()
	dir, killed := stepsInTheLog(t, 5)
	log := slog.New(slog.DiscardHandler)

	var mu sync.Mutex
	var written []int
	restarted := newBatcher("steps", 100, log, dir, func(_ context.Context, items []int) error {
		mu.Lock()
		defer mu.Unlock()
		written = append(written, items...)
		return nil
	})
	defer restarted.close()
	restarted.add(5)
	waitFor(t, "six steps written", func() bool { mu.Lock(); defer mu.Unlock(); return len(written) >= 6 })
	waitFor(t, "the log emptied", func() bool { return spoolLines(t, dir, "steps") == 0 })
	killed.close() // its goroutines; it finds nothing new to log
	mu.Lock()
	defer mu.Unlock()
	if len(written) != 6 {
		t.Fatalf("written %v, want 0..5 once each", written)
	}
	for i, v := range written {
		if v != i {
			t.Fatalf("written %v, want 0..5 in order", written)
		}
	}
}

// The steps an earlier run left in the spool are reported written only
// once the database has them: a take-over closes the rows of calls that
// ended meanwhile after that, not before (a row the replay writes later
// would stay open for ever).
func TestReplayedStepsAreAwaited(t *testing.T) {
	t.Parallel()
	dir, killed := stepsInTheLog(t, 3)
	killed.close()
	log := slog.New(slog.DiscardHandler)

	open := make(chan struct{})
	restarted := newBatcher("steps", 100, log, dir, func(ctx context.Context, items []int) error {
		select {
		case <-open:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	defer restarted.close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if restarted.awaitReplayed(ctx) {
		t.Fatal("the replay reported written while the database had none of it")
	}
	close(open)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	if !restarted.awaitReplayed(ctx2) {
		t.Fatal("the replay never reported written")
	}
	fresh := newBatcher("other", 100, log, dir, func(context.Context, []int) error { return nil })
	defer fresh.close()
	if !fresh.awaitReplayed(context.Background()) {
		t.Fatal("nothing to replay, yet not done")
	}
}
