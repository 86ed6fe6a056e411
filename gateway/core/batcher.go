package core

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// batcher writes items in the background, in batches, never blocking the
// caller: call control must not wait for the database. While writes fail
// (the database is down) items are kept, up to max; beyond that new items
// are dropped and counted. Kept items are written when the database
// returns.
type batcher[T any] struct {
	name  string
	write func(context.Context, []T) error
	max   int
	log   *slog.Logger

	mu      sync.Mutex
	items   []T
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	dropped atomic.Uint64
	written atomic.Uint64
	failing atomic.Bool
}

func newBatcher[T any](name string, max int, log *slog.Logger, write func(context.Context, []T) error) *batcher[T] {
	b := &batcher[T]{name: name, write: write, max: max, log: log,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go b.run()
	return b
}

// add queues an item; it never blocks.
func (b *batcher[T]) add(item T) {
	b.mu.Lock()
	if len(b.items) >= b.max {
		b.mu.Unlock()
		b.dropped.Add(1)
		return
	}
	b.items = append(b.items, item)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// pending is how many items wait to be written.
func (b *batcher[T]) pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.items)
}

const maxBatch = 500

// linger is how long a batch may wait for company before it is written.
const linger = 50 * time.Millisecond

func (b *batcher[T]) run() {
	defer close(b.done)
	backoff := 100 * time.Millisecond
	for {
		select {
		case <-b.wake:
		case <-b.stop:
			b.flush(2 * time.Second)
			return
		}
		// Linger a moment so that one transaction carries many steps:
		// under load a write per event cost the gateway more CPU (and the
		// agents latency) than everything else it does.
		select {
		case <-time.After(linger):
		case <-b.stop:
		}
		for {
			b.mu.Lock()
			n := min(len(b.items), maxBatch)
			batch := append([]T(nil), b.items[:n]...)
			b.mu.Unlock()
			if n == 0 {
				break
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := b.write(ctx, batch)
			cancel()
			if err != nil {
				if !b.failing.Swap(true) {
					b.log.Warn("core: writes failing, buffering", "log", b.name, "err", err)
				}
				select {
				case <-b.stop:
					return
				case <-time.After(backoff):
				}
				backoff = min(backoff*2, 5*time.Second)
				continue
			}
			if b.failing.Swap(false) {
				b.log.Info("core: writes recovered", "log", b.name)
			}
			backoff = 100 * time.Millisecond
			b.written.Add(uint64(n))
			b.mu.Lock()
			b.items = b.items[n:]
			b.mu.Unlock()
		}
	}
}

func (b *batcher[T]) flush(limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		b.mu.Lock()
		n := min(len(b.items), maxBatch)
		batch := append([]T(nil), b.items[:n]...)
		b.mu.Unlock()
		if n == 0 {
			return
		}
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		err := b.write(ctx, batch)
		cancel()
		if err != nil {
			b.log.Warn("core: unwritten at shutdown", "log", b.name, "items", b.pending(), "err", err)
			return
		}
		b.mu.Lock()
		b.items = b.items[n:]
		b.mu.Unlock()
	}
}

// close writes what it can within a short time and stops. Safe twice.
func (b *batcher[T]) close() {
	b.once.Do(func() { close(b.stop) })
	<-b.done
}
