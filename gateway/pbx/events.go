package pbx

import (
	"context"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/csta"
)

// onEvent runs on the link's event goroutine, in order. It updates the
// device's tracker and reports the change; the sink queues.
func (a *Adapter) onEvent(ev csta.Event) {
	a.mu.Lock()
	d, ok := a.byXref[ev.CrossRefID()]
	if !ok {
		a.mu.Unlock()
		a.log.Debug("pbx: event for no monitor", "event", ev.MessageName(), "xref", ev.CrossRefID())
		return
	}
	var out []gateway.Call
	var evs []gateway.CallEvent
	emit := func(c *gateway.Call, e gateway.CallEvent) {
		out = append(out, *c)
		evs = append(evs, e)
	}
	status, statusSet := gateway.Status(""), false
	now := time.Now()
	self := func(id csta.DeviceID) bool { return string(id) == d.id }
	get := func(callID string) *gateway.Call { return d.calls[callID] }
	end := func(c *gateway.Call, state gateway.CallState, cause string, e gateway.CallEvent) {
		if c.State.Live() {
			c.State = state
		}
		c.Ended, c.Cause = now, cause
		emit(c, e)
		delete(d.calls, c.ID)
	}
	remote := func(c *gateway.Call, id csta.DeviceID) {
		if id != "" && !self(id) {
			c.RemoteRaw, c.Remote = string(id), id.Number()
		}
	}

	switch e := ev.(type) {
	case *csta.ServiceInitiatedEvent:
		id := e.InitiatedConnection.CallID
		if get(id) == nil {
			d.calls[id] = &gateway.Call{ID: id, Device: d.id, Direction: gateway.Outbound, State: gateway.CallDialing, Started: now, Cause: e.Cause}
		}
	case *csta.OriginatedEvent:
		id := e.OriginatedConnection.CallID
		c := get(id)
		if c == nil {
			c = &gateway.Call{ID: id, Device: d.id, Direction: gateway.Outbound, Started: now}
			d.calls[id] = c
		}
		c.State, c.Cause = gateway.CallDialing, e.Cause
		remote(c, e.CalledDevice)
		emit(c, gateway.EvDialed)
	case *csta.DeliveredEvent:
		id := e.Connection.CallID
		c := get(id)
		if self(e.AlertingDevice) {
			if c == nil {
				c = &gateway.Call{ID: id, Device: d.id, Direction: gateway.Inbound, Started: now}
				d.calls[id] = c
			}
			c.State, c.Cause = gateway.CallRinging, e.Cause
			remote(c, e.CallingDevice)
			emit(c, gateway.EvRang)
		} else if c != nil && c.State == gateway.CallDialing {
			remote(c, e.AlertingDevice) // the far end rings
		}
	case *csta.EstablishedEvent:
		if c := get(e.EstablishedConnection.CallID); c != nil {
			c.State, c.Cause = gateway.CallConnected, e.Cause
			if c.Answered.IsZero() {
				c.Answered = now
			}
			if c.Direction == gateway.Outbound {
				remote(c, e.AnsweringDevice)
			}
			emit(c, gateway.EvAnswered)
		}
	case *csta.HeldEvent:
		if c := get(e.HeldConnection.CallID); c != nil && self(e.HoldingDevice) {
			c.State = gateway.CallHeld
			emit(c, gateway.EvHeld)
		}
	case *csta.RetrievedEvent:
		if c := get(e.RetrievedConnection.CallID); c != nil && self(e.RetrievingDevice) {
			c.State = gateway.CallConnected
			emit(c, gateway.EvRetrieved)
		}
	case *csta.ConnectionClearedEvent:
		if c := get(e.DroppedConnection.CallID); c != nil && self(e.DroppedConnection.DeviceID) {
			end(c, gateway.CallEnded, e.Cause, gateway.EvEnded)
		}
	case *csta.CallClearedEvent:
		if c := get(e.ClearedCall.CallID); c != nil {
			end(c, gateway.CallEnded, e.Cause, gateway.EvEnded)
		}
	case *csta.TransferedEvent:
		for _, id := range []string{e.PrimaryOldCall.CallID, e.SecondaryOldCall.CallID} {
			c := get(id)
			if c == nil {
				continue
			}
			if self(e.TransferringDevice) {
				end(c, gateway.CallEnded, "transferred", gateway.EvTransferred)
				continue
			}
			// We are the party the call was handed to: it continues under
			// the secondary call's ID with the transferred party as far end.
			for _, it := range e.TransferredConnections.Items {
				remote(c, it.Endpoint.DeviceID)
			}
			emit(c, gateway.EvTransferred)
		}
	case *csta.ConferencedEvent:
		if c := get(e.PrimaryOldCall.CallID); c != nil {
			c.State = gateway.CallConnected
			emit(c, gateway.EvConferenced)
		}
		if c := get(e.SecondaryOldCall.CallID); c != nil && e.SecondaryOldCall.CallID != e.PrimaryOldCall.CallID {
			end(c, gateway.CallEnded, "conferenced", gateway.EvConferenced)
		}
	case *csta.DivertedEvent:
		if c := get(e.Connection.CallID); c != nil && self(e.DivertingDevice) {
			end(c, gateway.CallEnded, "diverted", gateway.EvEnded)
		}
	case *csta.FailedEvent:
		if c := get(e.FailedConnection.CallID); c != nil {
			c.State, c.Cause = gateway.CallFailed, e.Cause
			c.Ended = now
			emit(c, gateway.EvFailed)
			delete(d.calls, c.ID)
			// Free the phone: a failed call has nothing more to give.
			go func(dev, id string) { _ = a.Clear(context.Background(), dev, id) }(d.id, c.ID)
		}
	case *csta.DoNotDisturbEvent:
		if a.cfg.StatusMode == StatusDoNotDisturb {
			status, statusSet = gateway.StatusAvailable, true
			if e.DoNotDisturbOn {
				status = gateway.StatusBusy
			}
		}
	case *csta.AgentReadyEvent:
		if a.cfg.StatusMode == StatusAgentState {
			status, statusSet = gateway.StatusAvailable, true
		}
	case *csta.AgentNotReadyEvent, *csta.AgentWorkingAfterCallEvent, *csta.AgentLoggedOffEvent:
		if a.cfg.StatusMode == StatusAgentState {
			status, statusSet = gateway.StatusBusy, true
		}
	}
	dev := d.id
	a.mu.Unlock()
	for i, c := range out {
		a.sink.CallChanged(c, evs[i])
	}
	if statusSet {
		a.sink.StatusChanged(dev, status)
	}
}
