package ha_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"crmcti/gateway/devstack"
	"crmcti/gateway/ha"
	"crmcti/gateway/postgres"
)

func openDB(t *testing.T) *postgres.Leases {
	t.Helper()
	pg := devstack.PostgresForTest(t)
	db, err := postgres.Open(context.Background(), pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	leases, err := postgres.OpenLeases(context.Background(), pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(leases.Close)
	return leases
}

// stepUntil steps e until its role satisfies ok.
func stepUntil(t *testing.T, e *ha.Elector, ok func(ha.Role) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok(e.Role()) {
		if time.Now().After(deadline) {
			t.Fatalf("role %+v", e.Role())
		}
		e.Step(context.Background())
	}
}

// waitRole waits for the elector's role to satisfy ok.
func waitRole(t *testing.T, e *ha.Elector, ok func(ha.Role) bool, what string) ha.Role {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if r := e.Role(); ok(r) {
			return r
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: never; role %+v", what, e.Role())
	return ha.Role{}
}

func TestOneActiveThenTheStandbyTakesOverAnExpiredLease(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	const lease = 1500 * time.Millisecond
	a := ha.New(ha.Config{Node: "a", Lease: lease, Leases: db})
	b := ha.New(ha.Config{Node: "b", Lease: lease, Leases: db})
	if err := a.Fence(); !errors.Is(err, ha.ErrFenced) {
		t.Fatalf("a standby must be fenced: %v", err)
	}
	// A step on a loaded machine may time out (it then retries, as Run
	// does): step until each has an answer.
	stepUntil(t, a, func(r ha.Role) bool { return r.Active })
	stepUntil(t, b, func(r ha.Role) bool { return r.Leader != "" })
	if !a.Role().Active || b.Role().Active || b.Role().Leader != "a" {
		t.Fatalf("a %+v b %+v", a.Role(), b.Role())
	}
	if err := a.Fence(); err != nil {
		t.Fatalf("the active is fenced: %v", err)
	}
	// a renews while it runs: b stays standby over several leases.
	actx, stopA := context.WithCancel(ctx)
	go a.Run(actx)
	bctx, stopB := context.WithCancel(ctx)
	defer stopB()
	go b.Run(bctx)
	time.Sleep(3 * lease)
	if !a.Role().Active || b.Role().Active || b.Role().Suspect(lease) {
		t.Fatalf("while a renews: a %+v b %+v", a.Role(), b.Role())
	}
	epoch := a.Role().Epoch
	// a stops renewing (as if frozen): its fence closes before b holds
	// the lease, and b's epoch is the next one. Before b holds it, b
	// suspects a (it would hold the agents who come to it).
	stopA()
	stopped := time.Now()
	suspected := make(chan bool, 1)
	go func() {
		for r := b.Role(); !r.Active; r = b.Role() {
			if r.Suspect(lease) {
				suspected <- true
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
		suspected <- false
	}()
	for a.Fence() == nil {
		time.Sleep(time.Millisecond)
	}
	fenced := time.Now()
	r := waitRole(t, b, func(r ha.Role) bool { return r.Active }, "b active")
	if !<-suspected {
		t.Error("b took over without ever suspecting the silent active")
	}
	took := time.Now()
	if r.Epoch != epoch+1 {
		t.Fatalf("epoch %d after %d", r.Epoch, epoch)
	}
	if fenced.After(took) {
		t.Fatalf("a fenced %v after b took over", fenced.Sub(took))
	}
	t.Logf("a fenced %v after its last renewal loop stopped; b active %v after", fenced.Sub(stopped), took.Sub(stopped))
	// a, back, cannot renew epoch's lease: it learns it lost.
	a.Step(ctx)
	if a.Role().Active {
		t.Fatal("a still active after b took over")
	}
	if ok, err := db.RenewLease(ctx, "a", epoch, lease); ok || err != nil {
		t.Fatalf("a renewed a lease b holds: %v %v", ok, err)
	}
}

func TestReleaseHandsOverAtOnce(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	a := ha.New(ha.Config{Node: "a", Lease: time.Minute, Leases: db})
	b := ha.New(ha.Config{Node: "b", Lease: time.Minute, Leases: db})
	stepUntil(t, a, func(r ha.Role) bool { return r.Active })
	stepUntil(t, b, func(r ha.Role) bool { return r.Leader != "" })
	if b.Role().Active {
		t.Fatal("two active")
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if a.Fence() == nil || a.Role().Active {
		t.Fatal("a released but not fenced")
	}
	stepUntil(t, b, func(r ha.Role) bool { return r.Active || r.Leader != "a" })
	if !b.Role().Active {
		t.Fatalf("b did not take a released lease of a minute at once: %+v", b.Role())
	}
}

// A standby poked (an agent at its door) reads the lease at once instead
// of at its next poll: a released lease is taken without waiting.
func TestPokedStandbyTakesAReleasedLeaseAtOnce(t *testing.T) {
	db := openDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const lease = time.Minute // a standby polls every 7.5 s
	a := ha.New(ha.Config{Node: "a", Lease: lease, Leases: db})
	b := ha.New(ha.Config{Node: "b", Lease: lease, Leases: db})
	stepUntil(t, a, func(r ha.Role) bool { return r.Active })
	stepUntil(t, b, func(r ha.Role) bool { return r.Leader != "" })
	go b.Run(ctx)
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	poked := time.Now()
	b.Poke()
	waitRole(t, b, func(r ha.Role) bool { return r.Active }, "b active after a poke")
	if took := time.Since(poked); took > 5*time.Second {
		t.Fatalf("b took over %v after the poke: it waited for its poll", took)
	}
}
