package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/devstack"
	"crmcti/gateway/phone"
	"crmcti/gateway/postgres"
)

func openDB(t *testing.T) (*postgres.DB, *devstack.Postgres) {
	t.Helper()
	pg := devstack.PostgresForTest(t)
	db, err := postgres.Open(context.Background(), pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db, pg
}

func contact(code, name string, numbers ...string) gateway.Contact {
	c := gateway.Contact{Code: code, FullName: name, Type: "Individual", Fields: map[string]string{"city": "Nicosia"}}
	for i, n := range numbers {
		norm := phone.Normalize(n, "CY")
		c.Phones = append(c.Phones, gateway.Phone{Kind: []string{"mobile", "work", "home"}[i%3], Raw: n, E164: norm.E164, National: norm.National})
	}
	return c
}

func TestMigrateIsIdempotent(t *testing.T) {
	db, _ := openDB(t)
	applied, err := db.Migrate(context.Background())
	if err != nil || len(applied) != 0 {
		t.Fatalf("second migrate applied %v, %v", applied, err)
	}
}

func TestLookupAndSearch(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	err := db.UpsertContacts(ctx, []gateway.Contact{
		contact("C1", "Andreas Constantinou", "+357 99 123456", "+357 22 123456"),
		contact("C2", "Constantinou Trading Ltd", "22 123456"),
		contact("C3", "Maria 100% Georgiou_", "99 654321"),
		contact("C4", "Robert'); DROP TABLE contacts;--", "+44 20 7946 0123"),
	})
	if err != nil {
		t.Fatal(err)
	}
	n := phone.Normalize("N<+35722123456>"[2:14], "CY")
	ms, err := db.LookupNumber(ctx, n.E164, n.National)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Contact.FullName != "Andreas Constantinou" || ms[1].Contact.Code != "C2" || ms[0].Number != "+35722123456" || ms[0].Kind != "work" {
		t.Fatalf("shared number: %+v", ms)
	}
	if ms[0].Contact.Fields["city"] != "Nicosia" {
		t.Errorf("fields lost: %+v", ms[0].Contact)
	}
	// National-digit fallback: a switch that sends the number without any
	// country code for a region we do not default to.
	ms, _ = db.LookupNumber(ctx, "", "99654321")
	if len(ms) != 1 || ms[0].Contact.Code != "C3" {
		t.Fatalf("national fallback: %+v", ms)
	}
	if ms, _ := db.LookupNumber(ctx, "+35700000000", "00000000"); len(ms) != 0 {
		t.Fatalf("unknown number matched %+v", ms)
	}

	search := func(q string) []string {
		cs, _, err := db.SearchContacts(ctx, q, 0, 10)
		if err != nil {
			t.Fatalf("search %q: %v", q, err)
		}
		var codes []string
		for _, c := range cs {
			codes = append(codes, c.Code)
		}
		return codes
	}
	if got := search("constantinou"); len(got) != 2 {
		t.Errorf("by name: %v", got)
	}
	if got := search("C3"); len(got) != 1 || got[0] != "C3" {
		t.Errorf("by code: %v", got)
	}
	if got := search("123 456"); len(got) != 2 {
		t.Errorf("by digits: %v", got)
	}
	// LIKE and SQL metacharacters are literal.
	if got := search("100%"); len(got) != 1 || got[0] != "C3" {
		t.Errorf("percent: %v", got)
	}
	if got := search("%"); len(got) != 1 {
		t.Errorf("lone percent matched %v", got)
	}
	if got := search("_"); len(got) != 1 {
		t.Errorf("underscore matched %v", got)
	}
	if got := search("'); DROP TABLE contacts;--"); len(got) != 1 || got[0] != "C4" {
		t.Errorf("injection text: %v", got)
	}
	// Paging.
	cs, more, _ := db.SearchContacts(ctx, "constantinou", 0, 1)
	if len(cs) != 1 || !more || len(cs[0].Phones) == 0 {
		t.Errorf("page 0: %+v more=%v", cs, more)
	}
	cs, more, _ = db.SearchContacts(ctx, "constantinou", 1, 1)
	if len(cs) != 1 || more {
		t.Errorf("page 1: %+v more=%v", cs, more)
	}
	// Upsert replaces phones.
	if err := db.UpsertContacts(ctx, []gateway.Contact{contact("C2", "Constantinou Trading Ltd", "25 000000")}); err != nil {
		t.Fatal(err)
	}
	if ms, _ := db.LookupNumber(ctx, "+35722123456", "22123456"); len(ms) != 1 {
		t.Errorf("old phone still matches: %+v", ms)
	}
}

func TestSessions(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	a := gateway.Agent{Username: "alice", DisplayName: "Alice", Extension: "1001"}
	if got, err := db.CreateSession(ctx, []byte("h1"), a, time.Now().Add(time.Hour)); err != nil || got != a {
		t.Fatalf("%+v %v", got, err)
	}
	if _, err := db.CreateSession(ctx, []byte("h2"), a, time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, _, err := db.Session(ctx, []byte("h1"))
	if err != nil || got != a {
		t.Fatalf("%+v %v", got, err)
	}
	if _, _, err := db.Session(ctx, []byte("h2")); !errors.Is(err, postgres.ErrNoSession) {
		t.Fatalf("expired session: %v", err)
	}
	if _, _, err := db.Session(ctx, []byte("nope")); !errors.Is(err, postgres.ErrNoSession) {
		t.Fatalf("unknown session: %v", err)
	}
	db.RevokeSession(ctx, []byte("h1"))
	if _, _, err := db.Session(ctx, []byte("h1")); !errors.Is(err, postgres.ErrNoSession) {
		t.Fatalf("revoked session: %v", err)
	}
	if n, err := db.DeleteStaleSessions(ctx, time.Now().Add(time.Hour)); err != nil || n != 2 {
		t.Fatalf("deleted %d, %v", n, err)
	}
	if err := db.SetAgentOverride(ctx, "alice", gateway.AgentOverride{Extension: "1050", Disabled: true}); err != nil {
		t.Fatal(err)
	}
	if o, err := db.AgentOverride(ctx, "alice"); err != nil || o.Extension != "1050" || !o.Disabled {
		t.Fatalf("%+v %v", o, err)
	}
	if o, err := db.AgentOverride(ctx, "nobody"); err != nil || o != (gateway.AgentOverride{}) {
		t.Fatalf("%+v %v", o, err)
	}
	// A disabled agent gets no session; an admin's extension replaces
	// the directory's in the session made; an empty one does not.
	if _, err := db.CreateSession(ctx, []byte("h3"), a, time.Now().Add(time.Hour)); !errors.Is(err, gateway.ErrAgentDisabled) {
		t.Fatalf("disabled agent: %v", err)
	}
	if _, _, err := db.Session(ctx, []byte("h3")); !errors.Is(err, postgres.ErrNoSession) {
		t.Fatalf("disabled agent's session: %v", err)
	}
	db.SetAgentOverride(ctx, "alice", gateway.AgentOverride{Extension: "1050"})
	if got, err := db.CreateSession(ctx, []byte("h4"), a, time.Now().Add(time.Hour)); err != nil || got.Extension != "1050" {
		t.Fatalf("overridden extension: %+v %v", got, err)
	}
	if got, _, err := db.Session(ctx, []byte("h4")); err != nil || got.Extension != "1050" {
		t.Fatalf("stored session: %+v %v", got, err)
	}
	db.SetAgentOverride(ctx, "alice", gateway.AgentOverride{})
	if got, err := db.CreateSession(ctx, []byte("h5"), a, time.Now().Add(time.Hour)); err != nil || got.Extension != "1001" {
		t.Fatalf("cleared override: %+v %v", got, err)
	}
}

func TestCallLogTimeline(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	c := gateway.Call{ID: "CALL1", Device: "1001", Direction: gateway.Inbound, State: gateway.CallRinging, Remote: "+35722123456", Started: t0}
	steps := []gateway.LogEntry{{Call: c, Username: "alice", Event: gateway.EvRang, At: t0}}
	c.State, c.Answered = gateway.CallConnected, t0.Add(time.Second)
	steps = append(steps, gateway.LogEntry{Call: c, Username: "alice", Event: gateway.EvAnswered, At: c.Answered})
	c.Contact = "C1"
	steps = append(steps, gateway.LogEntry{Call: c, Username: "alice", Event: gateway.EvContact, At: t0.Add(2 * time.Second), Detail: "C1"})
	if err := db.WriteCallLog(ctx, steps); err != nil {
		t.Fatal(err)
	}
	c.State, c.Ended, c.Cause = gateway.CallEnded, t0.Add(5*time.Second), "normalClearing"
	if err := db.WriteCallLog(ctx, []gateway.LogEntry{{Call: c, Username: "alice", Event: gateway.EvEnded, At: c.Ended}}); err != nil {
		t.Fatal(err)
	}
	rows, err := db.CallLog(ctx, "CALL1")
	if err != nil || len(rows) != 1 {
		t.Fatalf("%+v %v", rows, err)
	}
	r := rows[0]
	if r.Contact != "C1" || r.Username != "alice" || !r.Answered.Equal(t0.Add(time.Second)) || r.State != gateway.CallEnded || r.Cause != "normalClearing" {
		t.Fatalf("row %+v", r)
	}
	var evs []gateway.CallEvent
	for _, s := range r.Timeline {
		evs = append(evs, s.Event)
	}
	if len(evs) != 4 || evs[0] != gateway.EvRang || evs[3] != gateway.EvEnded {
		t.Fatalf("timeline %v", evs)
	}
	recent, err := db.RecentCalls(ctx, "alice", 10)
	if err != nil || len(recent) != 1 {
		t.Fatalf("%+v %v", recent, err)
	}
}

func TestInstanceLock(t *testing.T) {
	db, pg := openDB(t)
	ctx := context.Background()
	release, err := db.LockInstance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	other, err := postgres.Open(ctx, pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.LockInstance(ctx); !errors.Is(err, postgres.ErrInstanceRunning) {
		t.Fatalf("second instance: %v", err)
	}
	release()
	r2, err := other.LockInstance(ctx)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	r2()
}

func TestAudit(t *testing.T) {
	db, _ := openDB(t)
	if err := db.Audit(context.Background(), []gateway.AuditEntry{{At: time.Now(), Username: "alice", Action: "login", Allowed: true}}); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkLookupNumber is the caller lookup against 100,000 customers
// (200,000 numbers); ctibench measures it at 2,000,000.
func BenchmarkLookupNumber(b *testing.B) {
	pg := devstack.PostgresForTest(b)
	ctx := context.Background()
	db, err := postgres.Open(ctx, pg.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	const n = 100_000
	if err := db.CopyContacts(ctx, n, func(i int) gateway.Contact {
		return contact(fmt.Sprintf("B%07d", i), "Customer", fmt.Sprintf("+3579%07d", i), fmt.Sprintf("+3572%07d", i))
	}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	i := 0
	for b.Loop() {
		num := phone.Normalize(fmt.Sprintf("+3572%07d", i%n), "CY")
		i += 7919
		if ms, err := db.LookupNumber(ctx, num.E164, num.National); err != nil || len(ms) != 1 {
			b.Fatalf("%v %v", ms, err)
		}
	}
}
