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
	const lease = 400 * time.Millisecond
	a := ha.New(ha.Config{Node: "a", Lease: lease, Leases: db})
	b := ha.New(ha.Config{Node: "b", Lease: lease, Leases: db})
	if err := a.Fence(); !errors.Is(err, ha.ErrFenced) {
		t.Fatalf("a standby must be fenced: %v", err)
	}
	a.Step(ctx)
	b.Step(ctx)
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
	if !a.Role().Active || b.Role().Active {
		t.Fatalf("while a renews: a %+v b %+v", a.Role(), b.Role())
	}
	epoch := a.Role().Epoch
	// a stops renewing (as if frozen): its fence closes before b holds
	// the lease, and b's epoch is the next one.
	stopA()
	stopped := time.Now()
	for a.Fence() == nil {
		time.Sleep(time.Millisecond)
	}
	fenced := time.Now()
	r := waitRole(t, b, func(r ha.Role) bool { return r.Active }, "b active")
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
	a.Step(ctx)
	b.Step(ctx)
	if b.Role().Active {
		t.Fatal("two active")
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if a.Fence() == nil || a.Role().Active {
		t.Fatal("a released but not fenced")
	}
	b.Step(ctx)
	if !b.Role().Active {
		t.Fatalf("b did not take a released lease of a minute at once: %+v", b.Role())
	}
}
