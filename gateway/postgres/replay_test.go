package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"crmcti/gateway"
)

// After a kill the gateway replays its write-ahead log, whose first steps
// the database may already have: writing them again changes nothing, and
// the steps it did not have are added.
func TestCallLogAndAuditReplayIsIdempotent(t *testing.T) {
	db, pg := openDB(t)
	ctx := context.Background()
	t0 := time.Now().UTC()
	c := gateway.Call{ID: "REPLAY1", Device: "1001", Direction: gateway.Inbound, State: gateway.CallRinging, Remote: "+35722123456", Started: t0}
	rang := gateway.LogEntry{Call: c, Username: "alice", Event: gateway.EvRang, At: t0}
	c.State, c.Answered = gateway.CallConnected, t0.Add(time.Second)
	answered := gateway.LogEntry{Call: c, Username: "alice", Event: gateway.EvAnswered, At: c.Answered}
	c.State, c.Ended, c.Cause = gateway.CallEnded, t0.Add(3*time.Second), "normalClearing"
	ended := gateway.LogEntry{Call: c, Username: "alice", Event: gateway.EvEnded, At: c.Ended}
	if err := db.WriteCallLog(ctx, []gateway.LogEntry{rang, answered}); err != nil {
		t.Fatal(err)
	}
	if err := db.WriteCallLog(ctx, []gateway.LogEntry{rang, answered, ended}); err != nil {
		t.Fatal(err)
	}
	rows, err := db.CallLog(ctx, "REPLAY1")
	if err != nil || len(rows) != 1 {
		t.Fatalf("%+v %v", rows, err)
	}
	if r := rows[0]; len(r.Timeline) != 3 || r.State != gateway.CallEnded || r.Timeline[2].Event != gateway.EvEnded {
		t.Fatalf("after the replay: %+v", r)
	}

	login := gateway.AuditEntry{At: t0, Username: "alice", Client: "127.0.0.1", Action: "login", Allowed: true}
	other := login
	other.At = t0.Add(time.Millisecond)
	for range 2 {
		if err := db.Audit(ctx, []gateway.AuditEntry{login, other}); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM audit WHERE username = 'alice'`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d audit rows after the replay, want 2 (%v)", n, err)
	}
}
