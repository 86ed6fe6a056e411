package client

import (
	"testing"
	"time"

	"crmcti/gateway/wire"
)

func snapshotOf(calls ...wire.Call) wire.Snapshot {
	return wire.Snapshot{Agent: wire.Agent{Username: "a", Extension: "1001"}, PBX: "up", Calls: calls}
}

func liveIDs(st *state) []string {
	var ids []string
	for _, c := range st.view(time.Now()).Calls {
		ids = append(ids, c.ID)
	}
	return ids
}

// A gateway that just took over may answer a resume before it has
// monitored the agent's phone: its snapshot lacks calls that are still
// there. The panel keeps them (named) until an event confirms them or
// holdOverFor passes; the same gateway's snapshot stays the whole truth.
func TestCallsAreHeldOverASwitchOfGateway(t *testing.T) {
	now := time.Now()
	st := newState(DefaultSettings())
	st.gateway = "wss://a/ws"
	talking := wire.Call{ID: "c1", State: "connected", Direction: "inbound", Remote: "+35722123456", Contact: "C000002", Started: now.Add(-time.Minute)}
	held := wire.Call{ID: "c2", State: "held", Direction: "outbound", Remote: "+35799000111", Started: now.Add(-2 * time.Minute)}
	ringing := wire.Call{ID: "c3", State: "ringing", Direction: "inbound", Remote: "+35799000222", Started: now}
	st.applySnapshot(snapshotOf(talking, held, ringing), now)

	st.gateway = "wss://b/ws" // the switch: the new gateway knows c1 only, without its far end yet
	st.applySnapshot(snapshotOf(wire.Call{ID: "c1", State: "connected", Started: now}), now)
	if ids := liveIDs(&st); len(ids) != 3 {
		t.Fatalf("calls after the switch %v, want all three kept", ids)
	}
	if c := st.calls["c1"]; c.Remote != "+35722123456" || c.Contact != "C000002" || !c.Started.Equal(talking.Started) {
		t.Fatalf("c1 lost what the panel knew: %+v", c)
	}
	st.applyCall(wire.CallEvent{Event: "restored", Call: held}, now.Add(time.Second))
	st.expire(now.Add(holdOverFor + time.Second))
	if ids := liveIDs(&st); len(ids) != 2 || st.calls["c3"] != nil || len(st.recent) != 0 {
		t.Fatalf("after the hold-over: calls %v, recent %+v; want c1 and the confirmed c2, nothing in recent", ids, st.recent)
	}

	// A snapshot of the gateway the calls came from is the whole truth.
	st.applySnapshot(snapshotOf(talking), now.Add(time.Minute))
	if ids := liveIDs(&st); len(ids) != 1 || ids[0] != "c1" {
		t.Fatalf("the same gateway's snapshot: calls %v", ids)
	}
}
