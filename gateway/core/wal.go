package core

// compactAfter is how many lines of the write-ahead log may be rows the
// database already has before the log is rewritten with only the rest
// (under a steady load the queue is seldom empty at the instant the log
// looks, so emptying alone would let it grow).
const compactAfter = 10_000

// openLog opens the write-ahead log; without one the batcher still works,
// and says that a kill loses what is in memory.
func (b *batcher[T]) openLog() {
	if b.spool == nil {
		return
	}
	wal, err := b.spool.OpenLog(b.name)
	if err != nil {
		b.log.Error("core: write-ahead log unavailable: a crash loses the steps in memory", "log", b.name, "err", err)
		return
	}
	b.wal = wal
}

// logLoop appends what is queued to the write-ahead log as soon as it is
// queued (one write per wake, however many items came), and empties the
// log once the database has everything. At the stop it waits for the
// writer's last attempt, then leaves only what is unwritten, synced.
func (b *batcher[T]) logLoop() {
	defer close(b.walDone)
	if b.wal == nil {
		<-b.stop
		return
	}
	for {
		select {
		case <-b.walWake:
			b.flushLog()
		case <-b.stop:
			<-b.done
			b.flushLog()
			if err := b.wal.Close(); err != nil {
				b.log.Error("core: write-ahead log", "log", b.name, "err", err)
			}
			return
		}
	}
}

// flushLog brings the log up to date with the queue: it appends the items
// not in it yet, or, when the database has everything, empties it, or,
// when most of it is written, rewrites it with what is not.
func (b *batcher[T]) flushLog() {
	b.mu.Lock()
	fresh := toAny(b.items[len(b.items)-b.unlogged:])
	b.unlogged = 0
	keep := len(b.items)
	var all []any
	if b.walLines+len(fresh)-keep > compactAfter && keep > 0 {
		all = toAny(b.items)
	}
	b.mu.Unlock()
	var err error
	switch {
	case keep == 0 && b.walLines > 0:
		err = b.wal.Reset()
		b.walLines = 0
	case all != nil:
		err = b.wal.Reset(all...)
		b.walLines = len(all)
	case len(fresh) > 0:
		err = b.wal.Append(fresh...)
		b.walLines += len(fresh)
	}
	if err != nil && b.walFails.Add(1)%1000 == 1 {
		b.log.Error("core: write-ahead log failing: a crash now loses the steps in memory", "log", b.name, "err", err, "failures", b.walFails.Load())
	}
}

func toAny[T any](items []T) []any {
	out := make([]any, len(items))
	for i := range items {
		out[i] = items[i]
	}
	return out
}
