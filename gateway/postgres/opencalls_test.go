package postgres_test

import (
	"context"
	"testing"
	"time"

	"crmcti/gateway"
)

// TestOpenCallsListsRowsWithoutEnd: what a gateway taking over (a standby,
// or a single gateway back from a crash) closes when the switch no longer
// has the call: the rows of these devices that have no end, with what the
// call log knew of them.
func TestOpenCallsListsRowsWithoutEnd(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	rang := func(id, dev string) gateway.LogEntry {
		c := gateway.Call{ID: id, Device: dev, Direction: gateway.Inbound, State: gateway.CallRinging, Remote: "+35722123456", Started: t0}
		return gateway.LogEntry{Call: c, Username: "alice", Event: gateway.EvRang, At: t0}
	}
	ended := rang("O2", "1001")
	ended.Call.State, ended.Call.Ended, ended.Event = gateway.CallEnded, t0.Add(time.Second), gateway.EvEnded
	steps := []gateway.LogEntry{rang("O1", "1001"), rang("O2", "1001"), ended, rang("O3", "1002")}
	if err := db.WriteCallLog(ctx, steps); err != nil {
		t.Fatal(err)
	}
	open, err := db.OpenCalls(ctx, []string{"1001"})
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 1 || open[0].ID != "O1" || open[0].Device != "1001" || open[0].Remote != "+35722123456" || !open[0].Ended.IsZero() {
		t.Fatalf("open calls %+v", open)
	}
}
