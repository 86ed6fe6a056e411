package core

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"crmcti/gateway"
)

// batcher writes items in the background, in batches, never blocking the
// caller: call control must not wait for the database. While writes fail
// (the database is down) items are kept, up to max; beyond that new items
// are dropped and counted. Kept items are written when the database
// returns.
//
// One bad item never blocks the others: a batch that fails is retried row
// by row, and a row the database refuses on its own for its data (see
// gateway.IsDataError) is quarantined — logged, counted and appended to
// the spool's "quarantine-NAME" file — instead of retried forever.
//
// Nothing queued is only in memory for long: every item is appended to the
// spool's NAME file (a write-ahead log, gateway.SpoolLog) as soon as the
// log goroutine wakes, before the batch lingers, and the file is emptied
// once the database has everything in it. A start replays the file, so a
// stop, a SIGKILL or a crash during a database outage loses nothing; the
// writes are idempotent (see postgres.WriteCallLog), so a step the
// database had before the kill is not written twice.
type batcher[T any] struct {
	name  string
	write func(context.Context, []T) error
	max   int
	log   *slog.Logger
	spool gateway.Spool

	mu          sync.Mutex
	items       []T
	wake        chan struct{}
	stop        chan struct{}
	done        chan struct{}
	once        sync.Once
	dropped     atomic.Uint64
	written     atomic.Uint64
	failures    atomic.Uint64
	quarantined atomic.Uint64
	spooled     atomic.Uint64

	// wal is the write-ahead log (nil without a spool). unlogged counts the
	// items at the end of items not in it yet; walLines the lines it holds.
	// Only logLoop touches the file and walLines.
	wal      gateway.SpoolLog
	unlogged int
	walLines int
	walWake  chan struct{}
	walDone  chan struct{}
	walFails atomic.Uint64
	// failingSince is when writes began to fail (Unix nanoseconds), 0
	// while they succeed.
	failingSince atomic.Int64
	// replayLeft counts the items replayed at start not yet written (they
	// are first in the queue); replayed is closed when it reaches 0.
	replayLeft int
	replayed   chan struct{}
}

func newBatcher[T any](name string, max int, log *slog.Logger, spool gateway.Spool, write func(context.Context, []T) error) *batcher[T] {
	b := &batcher[T]{name: name, write: write, max: max, log: log, spool: spool,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		walWake: make(chan struct{}, 1), walDone: make(chan struct{}), replayed: make(chan struct{})}
	b.replay()
	if b.replayLeft == 0 {
		close(b.replayed)
	}
	b.openLog()
	go b.run()
	go b.logLoop()
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
	b.unlogged++
	b.mu.Unlock()
	signal(b.walWake)
	signal(b.wake)
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// pending is how many items wait to be written.
func (b *batcher[T]) pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.items)
}

// stuck reports whether writes have been failing for longer than d.
func (b *batcher[T]) stuck(now time.Time, d time.Duration) bool {
	since := b.failingSince.Load()
	return since != 0 && now.Sub(time.Unix(0, since)) > d
}

const maxBatch = 500

// linger is how long a batch may wait for company before it is written.
const linger = 50 * time.Millisecond

func (b *batcher[T]) run() {
	defer close(b.done)
	for {
		select {
		case <-b.wake:
		case <-b.stop:
			b.shutdown(2 * time.Second)
			return
		}
		// Linger a moment so that one transaction carries many steps:
		// under load a write per event cost the gateway more CPU (and the
		// agents latency) than everything else it does.
		select {
		case <-time.After(linger):
		case <-b.stop:
		}
		b.drain()
	}
}

// drain writes until nothing is pending, backing off while writes fail;
// it returns early when the batcher stops.
func (b *batcher[T]) drain() {
	backoff := 100 * time.Millisecond
	for {
		batch := b.peek()
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		n, err := b.writeBatch(ctx, batch)
		cancel()
		b.consume(n)
		if err == nil {
			if b.failingSince.Swap(0) != 0 {
				b.log.Info("core: writes recovered", "log", b.name)
			}
			backoff = 100 * time.Millisecond
			continue
		}
		b.failures.Add(1)
		if b.failingSince.CompareAndSwap(0, time.Now().UnixNano()) {
			b.log.Warn("core: writes failing, buffering", "log", b.name, "err", err)
		}
		select {
		case <-b.stop:
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// peek returns the next batch without taking it off the queue.
func (b *batcher[T]) peek() []T {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := min(len(b.items), maxBatch)
	return append([]T(nil), b.items[:n]...)
}

// consume takes n items, written or quarantined, off the queue.
func (b *batcher[T]) consume(n int) {
	b.mu.Lock()
	b.items = b.items[n:]
	b.unlogged = min(b.unlogged, len(b.items))
	empty := len(b.items) == 0
	if b.replayLeft > 0 {
		if b.replayLeft -= min(n, b.replayLeft); b.replayLeft == 0 {
			close(b.replayed)
		}
	}
	b.mu.Unlock()
	if empty {
		signal(b.walWake) // the log can be emptied
	}
}

// writeBatch writes batch in one go or, if that fails, row by row, and
// returns how many of its items are done with (written or quarantined)
// and the error that stopped it (the database unreachable).
func (b *batcher[T]) writeBatch(ctx context.Context, batch []T) (int, error) {
	err := b.write(ctx, batch)
	if err == nil {
		b.written.Add(uint64(len(batch)))
		return len(batch), nil
	}
	if len(batch) == 1 && !gateway.IsDataError(err) {
		return 0, err
	}
	for i, item := range batch {
		err := b.write(ctx, []T{item})
		switch {
		case err == nil:
			b.written.Add(1)
		case gateway.IsDataError(err):
			b.quarantine(item, err)
		default:
			return i, err
		}
	}
	return len(batch), nil
}

// quarantined is a row the database refused for its data, as kept in the
// spool for someone to look at.
type quarantined[T any] struct {
	At    time.Time
	Error string
	Item  T
}

func (b *batcher[T]) quarantine(item T, err error) {
	b.quarantined.Add(1)
	b.log.Error("core: row refused by the database, quarantined", "log", b.name, "err", err)
	if b.spool == nil {
		return
	}
	if serr := b.spool.Append("quarantine-"+b.name, quarantined[T]{At: time.Now(), Error: err.Error(), Item: item}); serr != nil {
		b.log.Error("core: quarantine", "log", b.name, "err", serr)
	}
}

// shutdown writes what it can within limit and spools the rest.
func (b *batcher[T]) shutdown(limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		batch := b.peek()
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		n, err := b.writeBatch(ctx, batch)
		cancel()
		b.consume(n)
		if err != nil {
			break
		}
	}
	b.keepRest()
}

// keepRest accounts for what is still unwritten at shutdown: the log
// goroutine's last flush leaves it in the write-ahead log for the next
// start; without a spool it is lost, and said so.
func (b *batcher[T]) keepRest() {
	rest := b.pending()
	if rest == 0 {
		return
	}
	if b.wal == nil {
		b.dropped.Add(uint64(rest))
		b.log.Error("core: unwritten at shutdown and no spool: lost", "log", b.name, "items", rest)
		return
	}
	b.spooled.Add(uint64(rest))
	b.log.Warn("core: unwritten at shutdown, kept in the spool for the next start", "log", b.name, "items", rest)
}

// replay queues what the write-ahead log holds from an earlier run (a
// stop or a kill before the database had it). The file keeps it until the
// database has it.
func (b *batcher[T]) replay() {
	if b.spool == nil {
		return
	}
	n := 0
	err := b.spool.Load(b.name, func(line json.RawMessage) error {
		b.walLines++
		var item T
		if err := json.Unmarshal(line, &item); err != nil {
			b.log.Error("core: spooled line unreadable, skipped", "log", b.name, "err", err)
			return nil
		}
		b.items = append(b.items, item)
		n++
		return nil
	})
	b.replayLeft = n
	if err != nil {
		b.log.Error("core: replay spool", "log", b.name, "err", err)
		return
	}
	if n == 0 {
		return
	}
	b.log.Info("core: spooled steps queued again", "log", b.name, "items", n)
	b.wake <- struct{}{}
}

// awaitReplayed waits until the items replayed at start are written (at
// once when there were none), or ctx ends; false then.
func (b *batcher[T]) awaitReplayed(ctx context.Context) bool {
	select {
	case <-b.replayed:
		return true
	case <-ctx.Done():
		return false
	}
}

// close writes what it can within a short time, leaves the rest in the
// write-ahead log and stops. Safe twice.
func (b *batcher[T]) close() {
	b.once.Do(func() { close(b.stop) })
	<-b.done
	<-b.walDone
}
