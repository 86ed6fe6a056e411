package core

import (
	"context"
	"errors"
	"testing"
	"time"

	"crmcti/gateway"
)

// takeoverDB is the shared database as a gateway taking over reads it.
type takeoverDB struct{ live []gateway.LiveSession }

func (d takeoverDB) LiveSessions(context.Context) ([]gateway.LiveSession, error) { return d.live, nil }

func (d takeoverDB) OpenCalls(context.Context, []string) ([]gateway.Call, error) { return nil, nil }

// TestTakeOverMonitorRefusedLeavesTheAgentToItsOwnLogin: a take-over
// (a standby becoming active, a single gateway back from a crash) whose
// monitor of an agent's phone fails must not keep a live state for her
// that nothing monitors: her own login is then her first and monitors
// the phone, instead of leaving her logged in and deaf.
func TestTakeOverMonitorRefusedLeavesTheAgentToItsOwnLogin(t *testing.T) {
	h := newHarness(t)
	h.sw.MonitorFail = errors.New("switch refused the monitor")
	h.svc.TakeOver(context.Background(), takeoverDB{live: []gateway.LiveSession{{Agent: alice, Expires: time.Now().Add(time.Hour)}}})
	h.sw.MonitorFail = nil
	h.dial().login("alice")
	if !h.sw.Monitored(alice.Extension) {
		t.Fatal("alice logged in after a failed take-over monitor; her phone is not monitored")
	}
}
