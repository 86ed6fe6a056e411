package spool

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// What Append took is loaded back in order, across a reopen; a torn last
// line (a crash mid-write) is handed to the caller, who may skip it;
// Remove forgets the file, and a missing file has no lines.
func TestAppendLoadRemove(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(filepath.Join(dir, "spool"))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Append("calls", map[string]int{"n": 1}, map[string]int{"n": 2}); err != nil {
		t.Fatal(err)
	}
	if err := d.Append("calls", map[string]int{"n": 3}); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(filepath.Join(dir, "spool", "calls.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"n":`)
	f.Close()
	d2, err := Open(filepath.Join(dir, "spool"))
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	torn := 0
	err = d2.Load("calls", func(line json.RawMessage) error {
		var x struct{ N int }
		if json.Unmarshal(line, &x) != nil {
			torn++
			return nil
		}
		got = append(got, x.N)
		return nil
	})
	if err != nil || len(got) != 3 || got[0] != 1 || got[2] != 3 || torn != 1 {
		t.Fatalf("loaded %v (torn %d), %v", got, torn, err)
	}
	if err := d2.Remove("calls"); err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := d2.Load("calls", func(json.RawMessage) error { n++; return nil }); err != nil || n != 0 {
		t.Fatalf("after remove: %d lines, %v", n, err)
	}
	if st, _ := os.Stat(filepath.Join(dir, "spool")); st.Mode().Perm() != 0o700 {
		t.Errorf("spool directory mode %v", st.Mode().Perm())
	}
}

// A log appends without closing, keeps what it holds across a reopen,
// and Reset replaces or empties it.
func TestLogAppendResetReopen(t *testing.T) {
	d, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	count := func() (n int) {
		d.Load("wal", func(json.RawMessage) error { n++; return nil })
		return n
	}
	l, err := d.OpenLog("wal")
	if err != nil {
		t.Fatal(err)
	}
	l.Append(1, 2)
	l.Append(3)
	if n := count(); n != 3 {
		t.Fatalf("%d lines after appends, want 3", n)
	}
	l.Reset(4)
	l.Append(5)
	if n := count(); n != 2 {
		t.Fatalf("%d lines after reset and append, want 2", n)
	}
	l.Close()
	l.Close()
	if l, err = d.OpenLog("wal"); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if n := count(); n != 2 {
		t.Fatalf("%d lines after reopen, want 2", n)
	}
	l.Reset()
	l.Append(6)
	if n := count(); n != 1 {
		t.Fatalf("%d lines after emptying and an append, want 1", n)
	}
}
