package postgres_test

import (
	"context"
	"testing"
	"time"

	"crmcti/gateway"
)

// TestOpenCallsAfterTakeover: the new active reads the rows that the
// former active left open (calls without an end) on the devices it takes
// over, to close those the switch no longer has; ended calls and other
// devices are not read.
func TestOpenCallsAfterTakeover(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	open := gateway.Call{ID: "O1", Device: "1001", Direction: gateway.Inbound, State: gateway.CallConnected, Remote: "+35722123456",
		Started: t0, Answered: t0.Add(time.Second)}
	ended := gateway.Call{ID: "O2", Device: "1001", Direction: gateway.Outbound, State: gateway.CallEnded, Remote: "+35799000001",
		Started: t0, Ended: t0.Add(5 * time.Second), Cause: "normalClearing"}
	other := gateway.Call{ID: "O3", Device: "1009", Direction: gateway.Inbound, State: gateway.CallRinging, Remote: "+35799000002", Started: t0}
	var steps []gateway.LogEntry
	for _, c := range []gateway.Call{open, ended, other} {
		steps = append(steps, gateway.LogEntry{Call: c, Username: "alice", Event: gateway.EvRang, At: t0})
	}
	steps[1].Event, steps[1].At = gateway.EvEnded, ended.Ended
	if err := db.WriteCallLog(ctx, steps); err != nil {
		t.Fatal(err)
	}
	got, err := db.OpenCalls(ctx, []string{"1001", "1002"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != "O1" || got[0].Device != "1001" || got[0].Remote != "+35722123456" {
		t.Fatalf("open calls %+v, want O1 only", got)
	}
}
