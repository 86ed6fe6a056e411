package phone_test

import (
	"fmt"
	"sync"
	"testing"

	"crmcti/gateway/phone"
)

// The cache answers exactly what the uncached functions answer, the
// second time (from the cache) as the first, for its own region only.
func TestCacheAnswersAsUncached(t *testing.T) {
	cy, gb := phone.NewCache("CY", 64), phone.NewCache("GB", 64)
	inputs := []string{"+357 22 123456", "22 123456", " 22 123456 ", "00357 22123456", "0035712", "020 7946 0123",
		"1001", "", " ", "abc", "N<+35722123456>", "+35799123456", "0030 6944 123456"}
	for range 2 {
		for _, raw := range inputs {
			for _, tc := range []struct {
				c      *phone.Cache
				region string
			}{{cy, "CY"}, {gb, "GB"}} {
				if got, want := tc.c.Normalize(raw), phone.Normalize(raw, tc.region); got != want {
					t.Errorf("%s cache: Normalize(%q) = %+v, want %+v", tc.region, raw, got, want)
				}
				if got, want := tc.c.Display(raw), phone.Display(raw, tc.region); got != want {
					t.Errorf("%s cache: Display(%q) = %q, want %q", tc.region, raw, got, want)
				}
			}
		}
	}
}

// A flood of distinct numbers — caller IDs are outside input — does not
// grow the cache past its size, and a number in steady use stays in it
// and keeps its right answer.
func TestCacheBoundedUnderFlood(t *testing.T) {
	const size = 256
	c := phone.NewCache("CY", size)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1500 {
				raw := fmt.Sprintf("+3579%07d", w*1_000_000+i)
				if got := c.Display(raw); got != phone.Display(raw, "CY") {
					t.Errorf("Display(%q) = %q", raw, got)
					return
				}
				c.Display("+357 22 123456") // a regular caller
			}
		}()
	}
	wg.Wait()
	if n := c.Len(); n > size {
		t.Fatalf("the cache holds %d entries after 6,000 distinct numbers; its size is %d", n, size)
	}
	if got := c.Normalize("+357 22 123456"); got.E164 != "+35722123456" {
		t.Errorf("the regular caller normalised to %+v", got)
	}
	long := "+357 22 123456" + string(make([]byte, 100))
	if got := c.Display(long); got != phone.Display(long, "CY") {
		t.Errorf("a long input displayed as %q", got)
	}
}

// FuzzCache checks the cache against the uncached functions on any input.
func FuzzCache(f *testing.F) {
	for _, s := range []string{"+357 22 123456", "0035722123456", " 1001", "N<+35722>", ""} {
		f.Add(s)
	}
	c := phone.NewCache("CY", 64)
	f.Fuzz(func(t *testing.T, raw string) {
		for range 2 {
			if got, want := c.Normalize(raw), phone.Normalize(raw, "CY"); got != want {
				t.Fatalf("Normalize(%q) = %+v, want %+v", raw, got, want)
			}
			if got, want := c.Display(raw), phone.Display(raw, "CY"); got != want {
				t.Fatalf("Display(%q) = %q, want %q", raw, got, want)
			}
		}
	})
}

// BenchmarkCallNumbersCached is BenchmarkCallNumbers through the cache:
// every caller new to it, as in ctibench (random numbers of ten million).
func BenchmarkCallNumbersCached(b *testing.B) {
	c := phone.NewCache("CY", 8192)
	i := 0
	for b.Loop() {
		i++
		raw := fmt.Sprintf("+3579%07d", i%10_000_000)
		c.Display(raw)
		c.Normalize(raw)
		c.Display(raw)
	}
}

// BenchmarkCallNumbersRepeatCaller is a caller the cache has seen.
func BenchmarkCallNumbersRepeatCaller(b *testing.B) {
	c := phone.NewCache("CY", 8192)
	for b.Loop() {
		c.Display("+35799123456")
		c.Normalize("+35799123456")
		c.Display("+35799123456")
	}
}
