package app

import (
	"context"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/core"
)

// takeOverAtStart is a single gateway (no lease) starting: it may be
// coming back from a crash (SIGKILL, OOM, a power cut) that left agents
// logged in and their calls' rows open. It takes over from its dead self
// as a standby takes over from a dead active (core.Service.TakeOver):
// every agent with a live session has its phone monitored before its
// extension reconnects, and once the switch link is up and resynchronised
// the open rows of calls the switch no longer has are closed. Without it a
// call that ended while no gateway ran kept its row open for ever: no
// event will ever tell of that end (issue 11, gateway-sigkill).
func takeOverAtStart(ctx context.Context, svc *core.Service, db gateway.Takeover) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	svc.TakeOver(ctx, db)
}
