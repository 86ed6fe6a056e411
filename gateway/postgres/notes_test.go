package postgres_test

import (
	"context"
	"testing"
	"time"

	"crmcti/gateway"
)

// TestCallNoteKeptAcrossLaterSteps: a note and an outcome written after
// the call survive a later step of the same call (a late "ended" replayed
// from the spool carries no note), show in recent calls, and a second
// note replaces the first.
func TestCallNoteKeptAcrossLaterSteps(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	c := gateway.Call{ID: "N1", Device: "1001", Direction: gateway.Inbound, State: gateway.CallEnded, Remote: "+35722123456",
		Started: t0, Answered: t0.Add(time.Second), Ended: t0.Add(9 * time.Second), Cause: "normalClearing"}
	ended := gateway.LogEntry{Call: c, Username: "alice", Event: gateway.EvEnded, At: c.Ended}
	noted := c
	noted.Note, noted.Disposition = "Wants a quote.\nCall back on Monday", gateway.DispCallback
	steps := []gateway.LogEntry{ended, {Call: noted, Username: "alice", Event: gateway.EvNoted, At: t0.Add(20 * time.Second), Detail: "callback"}, ended}
	if err := db.WriteCallLog(ctx, steps); err != nil {
		t.Fatal(err)
	}
	recent, err := db.RecentCalls(ctx, "alice", 10)
	if err != nil || len(recent) != 1 {
		t.Fatalf("%+v %v", recent, err)
	}
	if recent[0].Note != noted.Note || recent[0].Disposition != gateway.DispCallback || recent[0].State != gateway.CallEnded {
		t.Fatalf("recent %+v", recent[0])
	}
	noted.Note, noted.Disposition = "Sorted after all", gateway.DispResolved
	if err := db.WriteCallLog(ctx, []gateway.LogEntry{{Call: noted, Username: "alice", Event: gateway.EvNoted, At: t0.Add(30 * time.Second)}}); err != nil {
		t.Fatal(err)
	}
	rows, err := db.CallLog(ctx, "N1")
	if err != nil || len(rows) != 1 || rows[0].Note != "Sorted after all" || rows[0].Disposition != gateway.DispResolved {
		t.Fatalf("%+v %v", rows, err)
	}
}

func TestUsernamesByExtension(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	for u, ext := range map[string]string{"carol": "1003", "dan": "1003", "erin": "1005"} {
		if err := db.SetAgentOverride(ctx, u, gateway.AgentOverride{Extension: ext}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.SetAgentOverride(ctx, "fay", gateway.AgentOverride{Disabled: true}); err != nil {
		t.Fatal(err)
	}
	got, err := db.UsernamesByExtension(ctx, "1003")
	if err != nil || len(got) != 2 || got[0] != "carol" || got[1] != "dan" {
		t.Fatalf("%v %v", got, err)
	}
	if got, err := db.UsernamesByExtension(ctx, "1009"); err != nil || len(got) != 0 {
		t.Fatalf("%v %v", got, err)
	}
}
