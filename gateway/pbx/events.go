package pbx

import (
	"context"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/csta"
)

// recentlyEnded is how long a call's ID is remembered after it ended, so
// that the events a switch still sends for it (a CallCleared after our own
// ConnectionCleared, the far end's clearing) are expected, not unattributed.
const recentlyEnded = 2 * time.Minute

// onEvent runs on the link's event goroutine, in order. It applies the
// event to its device's tracker under the lock, then reports the changes
// (the sink queues) and, if the event could not be attributed, says so.
func (a *Adapter) onEvent(ev csta.Event) {
	a.reporting.Lock()
	defer a.reporting.Unlock()
	a.mu.Lock()
	d, ok := a.byXref[ev.CrossRefID()]
	if !ok {
		_, stopped := a.stopped[ev.CrossRefID()]
		a.mu.Unlock()
		if stopped {
			a.log.Debug("pbx: event for a monitor just stopped", "event", ev.MessageName(), "xref", ev.CrossRefID())
			return
		}
		a.unattributed(ev, "", "no monitor has this cross-reference")
		return
	}
	t := &turn{a: a, d: d, now: time.Now()}
	t.apply(ev)
	a.mu.Unlock()
	for i, c := range t.out {
		a.sink.CallChanged(c, t.evs[i])
	}
	if t.statusSet {
		a.sink.StatusChanged(d.ext, t.status)
	}
	if t.why != "" {
		a.unattributed(ev, d.ext, t.why)
	}
}

// unattributed logs, with the event as XML, an event the adapter could not
// tie to a call or a monitored device, and counts it: a switch that names
// devices in a form we do not know must show up, not lose calls quietly.
func (a *Adapter) unattributed(ev csta.Event, ext, why string) {
	frame, _ := csta.Encode(ev, "")
	a.log.Warn("pbx: event not attributed", "event", ev.MessageName(), "xref", ev.CrossRefID(),
		"device", ext, "reason", why, "frame", string(frame))
	if a.cfg.OnUnattributed != nil {
		a.cfg.OnUnattributed(ev.MessageName())
	}
}

// turn is one event's effect on one device, gathered under the adapter's
// lock and reported after it.
type turn struct {
	a   *Adapter
	d   *device
	now time.Time

	out       []gateway.Call
	evs       []gateway.CallEvent
	status    gateway.Status
	statusSet bool
	why       string // set when the event could not be attributed
}

func (t *turn) apply(ev csta.Event) {
	switch e := ev.(type) {
	case *csta.ServiceInitiatedEvent:
		t.serviceInitiated(e)
	case *csta.OriginatedEvent:
		t.originated(e)
	case *csta.DeliveredEvent:
		t.delivered(e)
	case *csta.EstablishedEvent:
		t.established(e)
	case *csta.HeldEvent:
		t.held(e.HeldConnection, e.HoldingDevice, gateway.CallHeld, gateway.EvHeld)
	case *csta.RetrievedEvent:
		t.held(e.RetrievedConnection, e.RetrievingDevice, gateway.CallConnected, gateway.EvRetrieved)
	case *csta.ConnectionClearedEvent:
		t.connectionCleared(e)
	case *csta.CallClearedEvent:
		if c := t.call(e.ClearedCall.CallID); c != nil {
			t.end(c, gateway.CallEnded, e.Cause, gateway.EvEnded)
		}
	case *csta.TransferedEvent:
		t.transferred(e)
	case *csta.ConferencedEvent:
		t.conferenced(e)
	case *csta.DivertedEvent:
		cause := e.Cause
		if cause == "" {
			cause = "diverted"
		}
		if t.refused(e.Connection.CallID, e.CallingDevice, e.DivertingDevice, e.Connection.DeviceID, cause) {
			break
		}
		if c := t.call(e.Connection.CallID); c != nil && t.self(e.DivertingDevice, e.Connection.DeviceID) {
			t.end(c, gateway.CallEnded, "diverted", gateway.EvEnded)
		}
	case *csta.FailedEvent:
		t.failed(e)
	case *csta.DoNotDisturbEvent:
		t.doNotDisturb(e)
	case *csta.AgentReadyEvent:
		t.agentState(e.AgentDevice, gateway.StatusAvailable)
	case *csta.AgentNotReadyEvent:
		t.agentState(e.AgentDevice, gateway.StatusBusy)
	case *csta.AgentWorkingAfterCallEvent:
		t.agentState(e.AgentDevice, gateway.StatusBusy)
	case *csta.AgentLoggedOffEvent:
		t.agentState(e.AgentDevice, gateway.StatusBusy)
	}
}

// self reports whether the event names the monitored device: by its own
// field when the switch filled it, else by the connection's device.
func (t *turn) self(field, connDevice csta.DeviceID) bool {
	if field != "" {
		return t.d.is(field)
	}
	return t.d.is(connDevice)
}

// call returns the tracked call, or nil: with the reason recorded when the
// switch sent no call ID or a call we never knew, and quietly for a call
// that ended a moment ago.
func (t *turn) call(id string) *gateway.Call {
	if id == "" {
		t.why = "no callID"
		return nil
	}
	if c := t.d.calls[id]; c != nil {
		return c
	}
	if _, ok := t.d.ended[id]; !ok {
		t.why = "unknown call " + id
		// A snapshot answered just before this event may still name the
		// call: its reconcile must not bring it in (the event is newer).
		t.d.touch(id)
	}
	return nil
}

// begin starts tracking a call the device takes part in.
func (t *turn) begin(id string, dir gateway.Direction) *gateway.Call {
	c := &gateway.Call{ID: id, Device: t.d.ext, Direction: dir, Started: t.now}
	t.d.calls[id] = c
	t.d.touch(id)
	return c
}

func (t *turn) emit(c *gateway.Call, e gateway.CallEvent) {
	t.d.touch(c.ID)
	t.out = append(t.out, *c)
	t.evs = append(t.evs, e)
}

// end reports the call's end, forgets it, and wakes a Clear waiting for it.
func (t *turn) end(c *gateway.Call, state gateway.CallState, cause string, e gateway.CallEvent) {
	if c.State.Live() {
		c.State = state
	}
	c.Ended, c.Cause = t.now, cause
	t.emit(c, e)
	t.d.forget(c.ID, t.now)
}

// remote records the far end, unless the identifier is our own device.
func (t *turn) remote(c *gateway.Call, id csta.DeviceID) {
	if id != "" && !t.d.is(id) {
		c.RemoteRaw, c.Remote = string(id), id.Number()
	}
}

func (t *turn) serviceInitiated(e *csta.ServiceInitiatedEvent) {
	id := e.InitiatedConnection.CallID
	if id == "" {
		t.why = "no callID"
		return
	}
	if !t.self(e.InitiatingDevice, e.InitiatedConnection.DeviceID) {
		t.why = "initiating device is not the monitored one"
		return
	}
	if t.d.calls[id] == nil {
		c := t.begin(id, gateway.Outbound)
		c.State, c.Cause = gateway.CallDialing, e.Cause
	}
}

func (t *turn) originated(e *csta.OriginatedEvent) {
	id := e.OriginatedConnection.CallID
	if id == "" {
		t.why = "no callID"
		return
	}
	c := t.d.calls[id]
	if c == nil {
		if !t.self(e.CallingDevice, e.OriginatedConnection.DeviceID) {
			t.why = "calling device is not the monitored one"
			return
		}
		c = t.begin(id, gateway.Outbound)
	}
	c.State, c.Cause = gateway.CallDialing, e.Cause
	t.remote(c, e.CalledDevice)
	t.emit(c, gateway.EvDialed)
}

func (t *turn) delivered(e *csta.DeliveredEvent) {
	id := e.Connection.CallID
	if t.self(e.AlertingDevice, e.Connection.DeviceID) {
		if id == "" {
			t.why = "no callID"
			return
		}
		c := t.d.calls[id]
		if c == nil {
			c = t.begin(id, gateway.Inbound)
		}
		c.State, c.Cause = gateway.CallRinging, e.Cause
		t.remote(c, e.CallingDevice)
		t.emit(c, gateway.EvRang)
		return
	}
	if c := t.call(id); c != nil && c.State == gateway.CallDialing {
		t.remote(c, e.AlertingDevice) // the far end rings
	}
}

func (t *turn) established(e *csta.EstablishedEvent) {
	id := e.EstablishedConnection.CallID
	c := t.d.calls[id]
	if c == nil && id != "" && t.self(e.AnsweringDevice, e.EstablishedConnection.DeviceID) {
		// Answered here without ringing here first (a pickup): track it.
		c = t.begin(id, gateway.Inbound)
		t.remote(c, e.CallingDevice)
	}
	if c == nil {
		t.call(id) // records why
		return
	}
	c.State, c.Cause = gateway.CallConnected, e.Cause
	if c.Answered.IsZero() {
		c.Answered = t.now
	}
	if c.Direction == gateway.Outbound {
		t.remote(c, e.AnsweringDevice)
	}
	t.emit(c, gateway.EvAnswered)
}

// held applies a Held or Retrieved event: a change of our own side; the
// far end holding us changes nothing here.
func (t *turn) held(conn csta.ConnectionID, by csta.DeviceID, state gateway.CallState, ev gateway.CallEvent) {
	if c := t.call(conn.CallID); c != nil && t.self(by, conn.DeviceID) {
		c.State = state
		t.emit(c, ev)
	}
}

func (t *turn) connectionCleared(e *csta.ConnectionClearedEvent) {
	id := e.DroppedConnection.CallID
	c := t.call(id)
	switch {
	case c != nil && t.self(e.DroppedConnection.DeviceID, e.ReleasingDevice):
		t.end(c, gateway.CallEnded, e.Cause, gateway.EvEnded)
	case c == nil && id != "" && t.self(e.DroppedConnection.DeviceID, e.ReleasingDevice):
		// A call we do not track yet ended at this device: between a new
		// monitor and its snapshot (a reconnect, a take-over), the
		// snapshot asked before the end must not bring it back.
		t.d.ended[id] = t.now
		t.d.touch(id)
		t.why = ""
	}
}

func (t *turn) transferred(e *csta.TransferedEvent) {
	known := false
	for _, id := range []string{e.PrimaryOldCall.CallID, e.SecondaryOldCall.CallID} {
		c := t.d.calls[id]
		if _, ended := t.d.ended[id]; c != nil || ended {
			known = true
		}
		if c == nil {
			continue
		}
		if t.d.is(e.TransferringDevice) {
			t.end(c, gateway.CallEnded, "transferred", gateway.EvTransferred)
			continue
		}
		// We are the party the call was handed to: it continues under
		// the secondary call's ID with the transferred party as far end.
		for _, it := range e.TransferredConnections.Items {
			t.remote(c, it.Endpoint.DeviceID)
		}
		t.emit(c, gateway.EvTransferred)
	}
	if !known {
		t.why = "neither call of the transfer is known"
	}
}

func (t *turn) conferenced(e *csta.ConferencedEvent) {
	primary, secondary := t.d.calls[e.PrimaryOldCall.CallID], t.d.calls[e.SecondaryOldCall.CallID]
	if primary == nil && secondary == nil {
		t.call(e.PrimaryOldCall.CallID) // records why, unless it just ended
		return
	}
	if primary == nil && e.PrimaryOldCall.CallID != "" {
		// We are a party added to the conference (the one consulted): our
		// connection moved into the conference call, and the switch
		// reports and addresses it under that call's ID from now on.
		primary = t.begin(e.PrimaryOldCall.CallID, secondary.Direction)
		primary.Remote, primary.RemoteRaw = secondary.Remote, secondary.RemoteRaw
		primary.Started, primary.Answered = secondary.Started, secondary.Answered
	}
	if primary != nil {
		primary.State = gateway.CallConnected
		t.emit(primary, gateway.EvConferenced)
	}
	if secondary != nil && e.SecondaryOldCall.CallID != e.PrimaryOldCall.CallID {
		t.end(secondary, gateway.CallEnded, "conferenced", gateway.EvConferenced)
	}
}

// refused reports a call the switch turned away from the device without
// ringing it — do-not-disturb, not ready — when that is the device's
// first news of the call: it failed there, or was diverted away. The
// agent's recent calls list it ("Refused while Busy") and the call log
// keeps it. It returns false for any other event.
func (t *turn) refused(id string, calling, at, connDevice csta.DeviceID, cause string) bool {
	if id == "" || t.d.calls[id] != nil || !t.self(at, connDevice) || calling == "" || t.d.is(calling) {
		return false
	}
	if _, ended := t.d.ended[id]; ended {
		return false
	}
	c := t.begin(id, gateway.Inbound)
	t.remote(c, calling)
	c.State, c.Cause, c.Ended = gateway.CallFailed, cause, t.now
	t.emit(c, gateway.EvFailed)
	t.d.forget(id, t.now)
	return true
}

func (t *turn) failed(e *csta.FailedEvent) {
	if t.refused(e.FailedConnection.CallID, e.CallingDevice, e.FailingDevice, e.FailedConnection.DeviceID, e.Cause) {
		return
	}
	c := t.call(e.FailedConnection.CallID)
	if c == nil {
		return
	}
	c.State, c.Cause = gateway.CallFailed, e.Cause
	c.Ended = t.now
	t.emit(c, gateway.EvFailed)
	t.d.forget(c.ID, t.now)
	// Free the phone: a failed call has nothing more to give.
	go func(ext, id string) { _ = t.a.Clear(context.Background(), ext, id) }(t.d.ext, c.ID)
}

func (t *turn) doNotDisturb(e *csta.DoNotDisturbEvent) {
	if e.Device != "" && !t.d.is(e.Device) {
		t.why = "device is not the monitored one"
		return
	}
	if t.a.cfg.StatusMode == StatusDoNotDisturb {
		t.status, t.statusSet = gateway.StatusAvailable, true
		if e.DoNotDisturbOn {
			t.status = gateway.StatusBusy
		}
	}
}

func (t *turn) agentState(dev csta.DeviceID, s gateway.Status) {
	if dev != "" && !t.d.is(dev) {
		t.why = "agent device is not the monitored one"
		return
	}
	if t.a.cfg.StatusMode == StatusAgentState {
		t.status, t.statusSet = s, true
	}
}
