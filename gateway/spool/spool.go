// Package spool keeps on the gateway's own disk what the database does
// not have yet: the call-log and audit writers' write-ahead logs (Log:
// every step before the database has it, so that a stop or a kill during
// an outage loses nothing), revocations of sessions that could not be
// recorded, and the rows the database refused for good (quarantine). Each
// name is a file of JSON lines in one directory; Dir.Append syncs before
// it returns, Log.Append does not (see Log).
package spool

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// Dir is a spool directory.
type Dir struct {
	path string
	mu   sync.Mutex
}

// Open creates the directory if needed (readable by the gateway's user
// only: the spool holds call records).
func Open(path string) (*Dir, error) {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	return &Dir{path: path}, nil
}

// Path is the directory.
func (d *Dir) Path() string { return d.path }

func (d *Dir) file(name string) string { return filepath.Join(d.path, name+".jsonl") }

// Append adds items to the named file, one JSON line each, and syncs it.
func (d *Dir) Append(name string, items ...any) error {
	if len(items) == 0 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	f, err := os.OpenFile(d.file(name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("spool: append %s: %w", name, err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, it := range items {
		if err := enc.Encode(it); err != nil {
			f.Close()
			return fmt.Errorf("spool: append %s: %w", name, err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("spool: append %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("spool: append %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("spool: append %s: %w", name, err)
	}
	return nil
}

// Load calls each with every line of the named file, in order; a file
// that does not exist has no lines. A line that does not decode (a
// crash mid-write) is skipped by the caller's each returning nil.
func (d *Dir) Load(name string, each func(json.RawMessage) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	f, err := os.Open(d.file(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("spool: load %s: %w", name, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for sc.Scan() {
		if err := each(append(json.RawMessage(nil), sc.Bytes()...)); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("spool: load %s: %w", name, err)
	}
	return nil
}

// Remove forgets the named file.
func (d *Dir) Remove(name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := os.Remove(d.file(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("spool: remove %s: %w", name, err)
	}
	return nil
}
