package phone

import (
	"hash/maphash"
	"strings"
	"sync"
)

// Cache remembers what Normalize and Display made of the numbers seen
// lately, for one region. libphonenumber parses and formats a number in
// tens of microseconds and some forty allocations, and the gateway asks
// for the same number several times per call (the panel's display, the
// customer lookup, the matched customer's number) and again whenever the
// same customer calls back: under load that was about 9% of its CPU.
//
// It is bounded whatever it is fed — a caller ID is outside input, and a
// flood of distinct numbers must cost CPU, not memory: each of its shards
// keeps two generations of at most size/(2·shards) entries; a lookup
// found in the old generation moves to the new one, and when the new one
// is full the old one is dropped and the new one becomes old. Numbers in
// use stay (an approximate LRU, without a list to maintain), and at most
// size entries are held. Inputs longer than maxCachedLen are not kept.
// Safe for concurrent use.
type Cache struct {
	region string
	seed   maphash.Seed
	per    int // entries per generation in each shard
	shards [cacheShards]cacheShard
}

const (
	cacheShards = 16
	// maxCachedLen is the longest input kept: the longest number in the
	// world is 15 digits, and even written with spaces, dashes and a
	// "N<...>" wrapping, a number is shorter than this.
	maxCachedLen = 48
)

type cacheShard struct {
	mu       sync.Mutex
	cur, old map[string]cached
}

// cached is both answers for one input, from a single parse.
type cached struct {
	num     Number
	display string
}

// NewCache returns a cache for numbers of region holding at most size
// entries (at least 2·16).
func NewCache(region string, size int) *Cache {
	c := &Cache{region: region, seed: maphash.MakeSeed(), per: max(size/(2*cacheShards), 1)}
	for i := range c.shards {
		c.shards[i].cur = make(map[string]cached)
	}
	return c
}

// Normalize is Normalize(raw, region) for the cache's region.
func (c *Cache) Normalize(raw string) Number { return c.get(raw).num }

// Display is Display(raw, region) for the cache's region.
func (c *Cache) Display(raw string) string { return c.get(raw).display }

// Len is how many inputs the cache holds.
func (c *Cache) Len() int {
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		n += len(sh.cur) + len(sh.old)
		sh.mu.Unlock()
	}
	return n
}

func (c *Cache) get(raw string) cached {
	if len(raw) > maxCachedLen {
		return analyse(raw, c.region)
	}
	sh := &c.shards[maphash.String(c.seed, raw)%cacheShards]
	sh.mu.Lock()
	v, ok := sh.cur[raw]
	if !ok {
		if v, ok = sh.old[raw]; ok {
			sh.putLocked(raw, v, c.per)
		}
	}
	sh.mu.Unlock()
	if ok {
		return v
	}
	v = analyse(raw, c.region) // outside the lock: the slow part
	sh.mu.Lock()
	sh.putLocked(raw, v, c.per)
	sh.mu.Unlock()
	return v
}

// putLocked adds an entry to the new generation, first retiring it when
// full.
func (sh *cacheShard) putLocked(raw string, v cached, per int) {
	if len(sh.cur) >= per {
		sh.old, sh.cur = sh.cur, make(map[string]cached, per)
	}
	sh.cur[raw] = v
}

// analyse is Normalize and Display of raw, from one parse when the two
// read the same input (Normalize trims spaces, Display does not).
func analyse(raw, region string) cached {
	if raw == "" || raw != strings.TrimSpace(raw) {
		return cached{num: Normalize(raw, region), display: Display(raw, region)}
	}
	raw, num := parse(raw, region)
	return cached{num: normalized(raw, num), display: displayed(raw, num)}
}
