package client

import (
	"errors"

	"crmcti/gateway"
)

// codeStandby is the bye code of a gateway that is not the active one of
// an active/standby set: it accepts the WebSocket, says so, and closes
// with statusTryAgainLater.
const codeStandby = string(gateway.CodeStandby)

// statusTryAgainLater is WebSocket close status 1013, with which a
// standby gateway ends every socket.
const statusTryAgainLater = 1013

// switchingMessage is what the panel says (in the connection badge's
// tooltip) while the core moves from a standby gateway to the next one.
const switchingMessage = "Switching to the standby gateway…"

// errStandby ends a session on a gateway that is standby.
var errStandby = errors.New(switchingMessage)

// isStandby reports whether a session ended because its gateway is (or
// just became) standby: the bye said so, or the close status did.
func isStandby(err error) bool {
	var ce *closeError
	return errors.Is(err, errStandby) || errors.As(err, &ce) && ce.Code == statusTryAgainLater
}

// gateways walks the gateways of the settings in order. A failure on one
// (a failed dial, a lost connection, a standby's bye) moves to the next
// at once; only when every one of them failed in a row does the core wait
// out the backoff, so that a failover costs no delay and a site that is
// down is not hammered. With one gateway every failure is a whole round:
// the core retries it with the backoff, as before lists existed.
type gateways struct {
	urls   []string
	i      int
	failed int // failures in a row since a gateway last came online
	// standby is set when a gateway of this round answered that it is
	// standby.
	standby bool
}

func newGateways(urls []string) *gateways { return &gateways{urls: urls} }

// url is the gateway to try now.
func (g *gateways) url() string { return g.urls[g.i] }

// online records that the current gateway serves the agent: the next
// failure starts a new round.
func (g *gateways) online() { g.failed, g.standby = 0, false }

// fail moves to the next gateway after err. It reports whether the whole
// round has now failed (time to back off), and then whether a standby
// answered in it: a takeover is under way, and the core retries at the
// backoff's first step rather than ever more slowly, so that agents are
// back within a second or so of the new active gateway taking over.
func (g *gateways) fail(err error) (round, standby bool) {
	g.i = (g.i + 1) % len(g.urls)
	g.failed++
	g.standby = g.standby || isStandby(err)
	if g.failed < len(g.urls) {
		return false, false
	}
	round, standby = true, g.standby
	g.failed, g.standby = 0, false
	return round, standby
}
