package postgres_test

import (
	"context"
	"testing"
	"time"

	"crmcti/gateway"
)

// TestPoisonStringsAreWrittenEscaped: a NUL or a Latin-1 byte that slipped
// past the wire boundary must not fail the batch it is in (the writer
// would retry that batch for ever, and log nothing after it).
func TestPoisonStringsAreWrittenEscaped(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	t0 := time.Now().UTC()
	good := gateway.LogEntry{Call: gateway.Call{ID: "GOOD", Device: "1001", Direction: gateway.Inbound, State: gateway.CallRinging, Started: t0},
		Username: "alice", Event: gateway.EvRang, At: t0}
	bad := gateway.LogEntry{Call: gateway.Call{ID: "BAD", Device: "1001", Direction: gateway.Outbound, State: gateway.CallDialing,
		Remote: "99\x00", Contact: "C0\x00", Started: t0}, Username: "alice", Event: gateway.EvContact, Detail: "Caf\xe9\x00", At: t0}
	if err := db.WriteCallLog(ctx, []gateway.LogEntry{good, bad}); err != nil {
		t.Fatal(err)
	}
	rows, err := db.CallLog(ctx, "BAD")
	if err != nil || len(rows) != 1 || rows[0].Contact != `C0\x00` || rows[0].Timeline[0].Detail != `Caf\xe9\x00` {
		t.Fatalf("%+v %v", rows, err)
	}
	if rows, err := db.CallLog(ctx, "GOOD"); err != nil || len(rows) != 1 {
		t.Fatalf("the good entry of the batch: %+v %v", rows, err)
	}
	err = db.Audit(ctx, []gateway.AuditEntry{
		{At: t0, Username: "x\x00", Client: "127.0.0.1", Action: "login", Detail: "bad_credentials"},
		{At: t0, Username: "alice", Action: "login", Allowed: true},
	})
	if err != nil {
		t.Fatal(err)
	}
}
