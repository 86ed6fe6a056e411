// Package backoff spaces out reconnection attempts: the gateway's link to
// the PBX and the extension's link to the gateway both retry with the same
// doubling, capped, jittered delay, so that a switch or gateway that comes
// back is not hit by every client in the same millisecond. It uses only
// the standard library (the extension's wasm core imports it too).
package backoff

import (
	"math/rand/v2"
	"time"
)

// Backoff is the delay before the next attempt. The zero value is not
// usable; build one with New. It is not safe for concurrent use: each
// reconnect loop owns its own.
type Backoff struct {
	min, max, cur time.Duration
}

// New starts at min and doubles up to max.
func New(min, max time.Duration) *Backoff {
	if min <= 0 {
		min = time.Second
	}
	if max < min {
		max = min
	}
	return &Backoff{min: min, max: max, cur: min}
}

// Next returns the delay to wait now (the current step plus up to a
// quarter of it at random) and doubles the step for the attempt after.
func (b *Backoff) Next() time.Duration {
	d := b.cur + time.Duration(rand.Int64N(int64(b.cur)/4+1))
	b.cur = min(b.cur*2, b.max)
	return d
}

// Current is the step Next will start from, without jitter.
func (b *Backoff) Current() time.Duration { return b.cur }

// Reset starts over from the minimum, after a success.
func (b *Backoff) Reset() { b.cur = b.min }
