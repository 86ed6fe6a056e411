package pbx

import (
	"errors"
	"fmt"
	"time"
)

// A standby gateway keeps a link of its own to the switch that only
// watches (Config.Standby): it monitors the phones of the agents logged
// in on the active gateway and keeps their calls by the same events and
// snapshots as the active, but never controls a call. When the standby
// takes over, the link is already up, every phone already monitored and
// every call already known, so the agents are served at once instead of
// after a thousand phones' MonitorStart and SnapshotDevice at the switch's
// pacing (seconds). Genesys T-Server's hot standby and AES's paired
// applications keep their backup's link open the same way; a switch
// serves several monitors of one device (ECMA-269 monitors are per
// application) and sends each its events.
//
// "Two gateways never drive the switch at once" holds frame by frame: the
// watching link's fence (linkFence) admits only the messages that watch —
// monitors, snapshots, device IDs, the session and its keep-alives — and
// ends the link at any other one, before it is written. Commands are
// refused earlier, in do, with pbx_unavailable.

// errWatching refuses a frame a watching link may not carry.
var errWatching = errors.New("pbx: a standby's link only watches")

// watchingMessages are the messages a watching link carries: nothing in
// them changes a call or a device.
var watchingMessages = map[string]bool{
	"":             true, // the dial itself
	"MonitorStart": true, "MonitorStop": true, "SnapshotDevice": true,
	"GetDeviceId": true, "ReleaseDeviceId": true,
	"StartApplicationSession": true, "StopApplicationSession": true, "ResetApplicationSessionTimer": true,
	"SystemRegister": true, "SystemStatus": true, "SystemStatusResponse": true,
}

// linkFence is asked before the dial ("") and before every frame: while
// watching, only watchingMessages pass; once promoted, the leadership
// fence decides (Config.Fence, then the one Promote gave).
func (a *Adapter) linkFence(message string) error {
	if a.watching.Load() {
		if watchingMessages[message] {
			return nil
		}
		return fmt.Errorf("%w: %s", errWatching, message)
	}
	if f := a.fence.Load(); f != nil {
		return (*f)()
	}
	return nil
}

// Promote makes a watching adapter the active one's: from now on every
// frame must pass fence (this gateway's leadership, gateway/ha), and
// commands go to the switch. The link, its monitors and its calls stay:
// nothing is resynchronised.
func (a *Adapter) Promote(fence func() error) {
	if fence != nil {
		a.fence.Store(&fence)
	}
	a.watching.Store(false)
}

// Watching reports whether the adapter is still a standby's.
func (a *Adapter) Watching() bool { return a.watching.Load() }

// EndedAt implements gateway.EndWitness: when the call ended at the
// device, if within the last recentlyEnded.
func (a *Adapter) EndedAt(device, callID string) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	d, ok := a.devices[device]
	if !ok {
		return time.Time{}, false
	}
	at, ok := d.ended[callID]
	return at, ok
}
