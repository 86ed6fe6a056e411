// Package ha decides whether this gateway is the active one of the
// gateways that share a database, and fences it: it holds a lease in the
// database (gateway.Leases), renews it several times per lease, and keeps
// a local deadline past which the gateway must not send the switch
// anything — reached before the database can give the lease to another
// gateway, so that two gateways never drive the switch at once.
//
// The deadline is measured on this host's clock from the moment the
// renewal was sent, which is before the database stamped the lease's new
// expiry with its own clock: the local deadline (sent + lease − margin)
// therefore falls at least margin before the expiry any standby sees,
// whatever the clocks' offsets, as long as they tick at the same rate
// (which margin also covers). A process frozen (SIGSTOP, a long GC pause,
// a suspended host) wakes past its deadline and is refused by Fence before
// its first frame.
package ha

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"crmcti/gateway"
)

// ErrFenced is what Fence returns once this gateway may no longer send to
// the switch.
var ErrFenced = errors.New("ha: fenced: this gateway no longer holds the lease")

// Config sets up an Elector.
type Config struct {
	// Node names this gateway in the lease, logs, metrics and /readyz;
	// every gateway of a database needs its own.
	Node string
	// Lease is how long a lease lasts without renewal (default 2s): how
	// long a standby waits before it takes over from a dead active.
	Lease  time.Duration
	Leases gateway.Leases
	Logger *slog.Logger
}

// Role is this gateway's part, as last decided.
type Role struct {
	Active bool
	// Node is this gateway; Leader the active one as last seen ("" when
	// none holds the lease).
	Node, Leader string
	Epoch        int64
	// LeaderSilent is how long the active had not renewed the lease when
	// a standby last read it; Seen is when that read was sent (on this
	// host). The database read it later, so Seen − LeaderSilent is never
	// after the active's last renewal: no proof of life is made up by a
	// slow read.
	LeaderSilent time.Duration
	Seen         time.Time
}

// Suspect reports whether the active has missed renewals: it renews four
// times per lease, so a silence of half a lease is two missed in a row. A
// standby that suspects the active keeps the agents who come to it,
// since it is about to take over.
func (r Role) Suspect(lease time.Duration) bool {
	return !r.Active && (r.Leader == "" || r.LeaderSilent > lease/2)
}

// Elector holds or waits for the lease. Run drives it; Fence is safe from
// any goroutine and is what the switch adapter asks before every frame.
type Elector struct {
	cfg Config
	log *slog.Logger
	// deadline is when the lease held stops being trusted, on now()'s
	// clock; 0 when not held.
	deadline atomic.Int64

	mu      sync.Mutex
	role    Role
	changes chan Role     // the latest role change, for Changes
	poke    chan struct{} // asks Run for a turn now (Poke)
}

// New builds an Elector; it starts as standby.
func New(cfg Config) *Elector {
	if cfg.Lease <= 0 {
		cfg.Lease = 2 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Elector{cfg: cfg, log: log, role: Role{Node: cfg.Node}, changes: make(chan Role, 1), poke: make(chan struct{}, 1)}
}

// renewEvery is how often the active renews: four times per lease, so
// that two renewals may fail (a slow query, a dropped connection) before
// the fence deadline.
func (e *Elector) renewEvery() time.Duration { return e.cfg.Lease / 4 }

// pollEvery is how often a standby asks for the lease: a dead active is
// replaced at most this long after its lease expired.
func (e *Elector) pollEvery() time.Duration { return e.cfg.Lease / 8 }

// margin is how long before the database's expiry this gateway stops
// using the switch: room for the last frame in flight and for clock-rate
// differences.
func (e *Elector) margin() time.Duration { return e.cfg.Lease / 4 }

// Fence returns ErrFenced unless this gateway holds the lease and its
// local deadline has not passed. The switch adapter calls it before
// every frame it writes.
func (e *Elector) Fence() error {
	d := e.deadline.Load()
	if d == 0 || now() >= d {
		return ErrFenced
	}
	return nil
}

// FenceEpoch is Fence for a switch link opened in epoch: it also refuses
// once the lease is held in another epoch, so that a link of an earlier
// term never carries a frame of a later one (that term opens its own).
func (e *Elector) FenceEpoch(epoch int64) func() error {
	return func() error {
		if err := e.Fence(); err != nil {
			return err
		}
		if e.Role().Epoch != epoch {
			return ErrFenced
		}
		return nil
	}
}

// Role is the current role.
func (e *Elector) Role() Role {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.role
}

// Changes yields the role after each change (only the latest one waits).
func (e *Elector) Changes() <-chan Role { return e.changes }

// Run keeps the lease, or waits for it, until ctx ends. It does not
// release the lease: Release does, after the caller stopped using the
// switch.
func (e *Elector) Run(ctx context.Context) {
	var last time.Time
	for {
		wait := e.pollEvery()
		if r := e.Role(); r.Active {
			wait = e.renewEvery()
		} else if r.Suspect(e.cfg.Lease) && r.Leader != "" {
			// The silent active's lease ends at its last renewal plus a
			// lease (by the database's clock, which Silent was read on):
			// ask right then rather than up to a poll later.
			if until := time.Until(r.Seen.Add(e.cfg.Lease - r.LeaderSilent + 5*time.Millisecond)); until > 0 && until < wait {
				wait = until
			} else if until <= 0 {
				wait = min(wait, 25*time.Millisecond)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-e.poke:
			t.Stop()
			// However many agents poke, one read per pokeGap at most.
			if gap := time.Until(last.Add(pokeGap)); gap > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(gap):
				}
			}
		}
		last = time.Now()
		e.Step(ctx)
	}
}

// Poke asks Run for its next turn now rather than at the next poll: an
// agent at a standby's door is a sign that the active may be gone. Pokes
// made during a turn are one more turn, never a burst, and turns that
// pokes ask for are pokeGap apart at least.
func (e *Elector) Poke() {
	select {
	case e.poke <- struct{}{}:
	default:
	}
}

// pokeGap is the least time between two reads of the lease that pokes
// ask for.
const pokeGap = 40 * time.Millisecond

// Lease is how long a lease lasts.
func (e *Elector) Lease() time.Duration { return e.cfg.Lease }

// Step is one turn of Run: renew the lease held, or try to take it.
func (e *Elector) Step(ctx context.Context) {
	if e.Role().Active {
		e.renew(ctx)
	} else {
		e.acquire(ctx)
	}
}

// acquire tries to take the lease.
func (e *Elector) acquire(ctx context.Context) {
	sent, asked := now(), time.Now()
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Lease/2)
	defer cancel()
	l, err := e.cfg.Leases.AcquireLease(ctx, e.cfg.Node, e.cfg.Lease)
	if err != nil {
		e.log.Debug("ha: acquire lease", "err", err)
		return
	}
	if !l.Held {
		e.setRole(Role{Node: e.cfg.Node, Leader: l.Node, Epoch: l.Epoch, LeaderSilent: l.Silent, Seen: asked})
		return
	}
	e.deadline.Store(sent + int64(e.cfg.Lease-e.margin()))
	e.log.Info("ha: active", "node", e.cfg.Node, "epoch", l.Epoch)
	e.setRole(Role{Active: true, Node: e.cfg.Node, Leader: e.cfg.Node, Epoch: l.Epoch})
}

// renew extends the lease held; the fence deadline moves only when the
// database said yes. A renewal refused, or none accepted before the
// deadline, ends the role.
func (e *Elector) renew(ctx context.Context) {
	role := e.Role()
	sent, deadline := now(), e.deadline.Load()
	if sent >= deadline {
		e.lost(role, "the lease ran out before a renewal was accepted")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(deadline-sent))
	defer cancel()
	ok, err := e.cfg.Leases.RenewLease(ctx, e.cfg.Node, role.Epoch, e.cfg.Lease)
	switch {
	case err != nil:
		e.log.Warn("ha: renew lease failed; retrying until the fence deadline", "err", err,
			"left", time.Duration(deadline-now()).Round(time.Millisecond).String())
		if now() >= deadline {
			e.lost(role, "the lease ran out before a renewal was accepted")
		}
	case !ok:
		e.lost(role, "another gateway holds the lease")
	default:
		e.deadline.Store(sent + int64(e.cfg.Lease-e.margin()))
	}
}

// lost fences at once and becomes standby.
func (e *Elector) lost(role Role, why string) {
	e.deadline.Store(0)
	e.log.Warn("ha: leadership lost; standby", "node", e.cfg.Node, "epoch", role.Epoch, "why", why)
	e.setRole(Role{Node: e.cfg.Node, Epoch: role.Epoch})
}

// Release gives the lease up at once, for a clean hand-over: the caller
// has stopped using the switch. The fence closes first.
func (e *Elector) Release(ctx context.Context) error {
	role := e.Role()
	e.deadline.Store(0)
	if !role.Active {
		return nil
	}
	e.setRole(Role{Node: e.cfg.Node, Epoch: role.Epoch})
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Lease)
	defer cancel()
	return e.cfg.Leases.ReleaseLease(ctx, e.cfg.Node, role.Epoch)
}

// setRole records r and, when the part changed, offers it on Changes.
func (e *Elector) setRole(r Role) {
	e.mu.Lock()
	changed := r.Active != e.role.Active || (r.Active && r.Epoch != e.role.Epoch)
	e.role = r
	if changed {
		select {
		case <-e.changes:
		default:
		}
		e.changes <- r
	}
	e.mu.Unlock()
}
