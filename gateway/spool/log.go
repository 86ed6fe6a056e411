package spool

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sync"

	"crmcti/gateway"
)

// Log is a spool file kept open for appending: a writer's write-ahead log.
//
// Append is a single write(2) of every item's JSON line and no fsync. The
// kernel owns the bytes once write returns, so they survive the gateway
// being killed (SIGKILL, a crash, the OOM killer); a power cut or a kernel
// crash can lose the last few seconds the kernel had not flushed yet.
// Surviving that too would take an fsync per append, about 1–10 ms each on
// an SSD and far more on a busy or network disk, paid by every batch of
// call steps; Sync is there for the shutdown and for a deployment that
// wants it.
type Log struct {
	d    *Dir
	name string

	mu     sync.Mutex
	f      *os.File
	buf    bytes.Buffer
	closed bool
}

var _ gateway.SpoolLog = (*Log)(nil)

// OpenLog opens (creating if needed) the named file as a Log. What it
// already holds stays: Load reads it for the replay.
func (d *Dir) OpenLog(name string) (gateway.SpoolLog, error) {
	f, err := os.OpenFile(d.file(name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: open log %s: %w", name, err)
	}
	return &Log{d: d, name: name, f: f}, nil
}

// Append writes items, one JSON line each, in one write.
func (l *Log) Append(items ...any) error {
	if len(items) == 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return fmt.Errorf("spool: append %s: log closed", l.name)
	}
	if err := l.encode(items); err != nil {
		return err
	}
	if _, err := l.f.Write(l.buf.Bytes()); err != nil {
		return fmt.Errorf("spool: append %s: %w", l.name, err)
	}
	return nil
}

func (l *Log) encode(items []any) error {
	l.buf.Reset()
	enc := json.NewEncoder(&l.buf)
	for _, it := range items {
		if err := enc.Encode(it); err != nil {
			return fmt.Errorf("spool: append %s: %w", l.name, err)
		}
	}
	return nil
}

// Reset replaces the content with items: with none it truncates the file
// (whatever it held is in the database, so a kill meanwhile loses
// nothing); with some it writes them to a new file and renames it over
// the old one, so that a kill leaves the old or the new content, never
// neither.
func (l *Log) Reset(items ...any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return fmt.Errorf("spool: reset %s: log closed", l.name)
	}
	if len(items) == 0 {
		if err := l.f.Truncate(0); err != nil {
			return fmt.Errorf("spool: reset %s: %w", l.name, err)
		}
		return nil
	}
	if err := l.encode(items); err != nil {
		return err
	}
	tmp := l.d.file(l.name) + ".new"
	if err := os.WriteFile(tmp, l.buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("spool: reset %s: %w", l.name, err)
	}
	if err := os.Rename(tmp, l.d.file(l.name)); err != nil {
		return fmt.Errorf("spool: reset %s: %w", l.name, err)
	}
	f, err := os.OpenFile(l.d.file(l.name), os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("spool: reset %s: %w", l.name, err)
	}
	l.f.Close()
	l.f = f
	return nil
}

// Sync makes what was appended durable (fsync).
func (l *Log) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("spool: sync %s: %w", l.name, err)
	}
	return nil
}

// Close syncs and closes the file. Safe twice.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	serr := l.f.Sync()
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("spool: close %s: %w", l.name, err)
	}
	if serr != nil {
		return fmt.Errorf("spool: close %s: %w", l.name, serr)
	}
	return nil
}
