package backoff

import (
	"testing"
	"time"
)

func TestBackoffDoublesCapsAndResets(t *testing.T) {
	b := New(100*time.Millisecond, time.Second)
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		w *= time.Millisecond
		d := b.Next()
		if d < w || d > w+w/4 {
			t.Fatalf("attempt %d: delay %v, want %v plus at most a quarter", i, d, w)
		}
	}
	b.Reset()
	if b.Current() != 100*time.Millisecond {
		t.Fatalf("after reset: %v", b.Current())
	}
}

func TestBackoffDefaults(t *testing.T) {
	b := New(0, 0)
	if b.Current() != time.Second || b.Next() < time.Second || b.Current() != time.Second {
		t.Fatalf("defaults: %+v", b)
	}
}
