// Package procs runs the gateway on as few of the machine's cores as its
// load needs, by setting GOMAXPROCS from the CPU it has used.
//
// Why: at a third of a core's load, most of it waiting on sockets, Go's
// scheduler wakes a second thread for nearly every goroutine made
// runnable while a P is idle, and the woken thread spins, finds nothing
// and sleeps again (futex, epoll). With 10,000 agents at 80 calls a
// second that was about a quarter of the gateway's CPU: 38% of one core
// with two Ps, 28% with one, and a lower event latency tail too (see
// BENCHMARKS.md). A morning login storm needs every core, though, so the
// gateway does not simply run on one: Govern doubles the Ps as soon as
// they are nearly all busy and halves them once the load has stayed low.
package procs

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"time"
)

// Config tunes Govern; the zero value is the default.
type Config struct {
	// Max is the most Ps; 0 is GOMAXPROCS as the runtime set it at the
	// start (the machine's cores, or its container's CPU limit).
	Max int
	// Every is how often the CPU used is read; 0 is 500 ms.
	Every  time.Duration
	Logger *slog.Logger
}

// The thresholds, in cores per P: above busy the Ps are doubled, below
// idle (for quietFor readings in a row) halved. Halving at under a
// quarter leaves the remaining Ps at most half busy, well under busy, so
// the two never chase each other.
const (
	busy     = 0.75
	idle     = 0.25
	quietFor = 4
)

// Govern adjusts GOMAXPROCS until ctx ends, then gives the process its
// Max Ps back. It does nothing when the administrator set GOMAXPROCS
// (their choice stands) or the platform cannot say how much CPU the
// process used.
func Govern(ctx context.Context, cfg Config) {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	if cfg.Max <= 0 {
		cfg.Max = runtime.GOMAXPROCS(0)
	}
	if cfg.Every <= 0 {
		cfg.Every = 500 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	last, ok := cpuTime()
	if !ok || cfg.Max == 1 {
		return
	}
	defer runtime.GOMAXPROCS(cfg.Max)
	g := governor{max: cfg.Max, cur: 1}
	runtime.GOMAXPROCS(1)
	t := time.NewTicker(cfg.Every)
	defer t.Stop()
	at := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			used, _ := cpuTime()
			cores := (used - last).Seconds() / now.Sub(at).Seconds()
			last, at = used, now
			if n, changed := g.next(cores); changed {
				runtime.GOMAXPROCS(n)
				cfg.Logger.Debug("procs: GOMAXPROCS changed", "procs", n, "cores_used", cores)
			}
		}
	}
}

// governor decides the number of Ps from the cores used in each reading.
type governor struct {
	max, cur int
	quiet    int // readings in a row under idle
}

// next takes the cores used since the last reading and returns the Ps to
// run, and whether that is a change.
func (g *governor) next(cores float64) (int, bool) {
	perP := cores / float64(g.cur)
	switch {
	case perP >= busy && g.cur < g.max:
		g.cur, g.quiet = min(g.max, 2*g.cur), 0
		return g.cur, true
	case perP < idle && g.cur > 1:
		if g.quiet++; g.quiet >= quietFor {
			g.cur, g.quiet = max(1, g.cur/2), 0
			return g.cur, true
		}
	default:
		g.quiet = 0
	}
	return g.cur, false
}
