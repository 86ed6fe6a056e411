package conformance

import (
	"fmt"
	"strings"

	"crmcti/gateway/csta"
)

// describe words an event for the report's "received": its name, its
// call and the devices it names, as the switch wrote them.
func describe(ev csta.Event) string {
	var devs []string
	add := func(role string, d csta.DeviceID) {
		if d != "" {
			devs = append(devs, role+"="+string(d))
		}
	}
	switch e := ev.(type) {
	case *csta.DeliveredEvent:
		add("alerting", e.AlertingDevice)
		add("calling", e.CallingDevice)
	case *csta.EstablishedEvent:
		add("answering", e.AnsweringDevice)
	case *csta.HeldEvent:
		add("holding", e.HoldingDevice)
	case *csta.RetrievedEvent:
		add("retrieving", e.RetrievingDevice)
	case *csta.ConnectionClearedEvent:
		add("releasing", e.ReleasingDevice)
	case *csta.TransferedEvent:
		add("transferring", e.TransferringDevice)
		add("transferredTo", e.TransferredToDevice)
	case *csta.ConferencedEvent:
		add("conferencing", e.ConferencingDevice)
		add("added", e.AddedParty)
	case *csta.OriginatedEvent:
		add("called", e.CalledDevice)
	case *csta.FailedEvent:
		add("failing", e.FailingDevice)
		devs = append(devs, "cause="+e.Cause)
	case *csta.DoNotDisturbEvent:
		add("device", e.Device)
		devs = append(devs, fmt.Sprintf("on=%t", e.DoNotDisturbOn))
	}
	if d, ok := agentDevice(ev); ok {
		add("agent", d)
	}
	if conn := connOf(ev); conn.CallID != "" {
		devs = append([]string{"call=" + conn.CallID}, devs...)
	}
	if len(devs) == 0 {
		return ev.MessageName()
	}
	return ev.MessageName() + "(" + strings.Join(devs, " ") + ")"
}

// connOf is the connection a call event is about.
func connOf(ev csta.Event) csta.ConnectionID {
	switch e := ev.(type) {
	case *csta.DeliveredEvent:
		return e.Connection
	case *csta.EstablishedEvent:
		return e.EstablishedConnection
	case *csta.HeldEvent:
		return e.HeldConnection
	case *csta.RetrievedEvent:
		return e.RetrievedConnection
	case *csta.ConnectionClearedEvent:
		return e.DroppedConnection
	case *csta.CallClearedEvent:
		return e.ClearedCall
	case *csta.TransferedEvent:
		return e.PrimaryOldCall
	case *csta.ConferencedEvent:
		return e.PrimaryOldCall
	case *csta.ServiceInitiatedEvent:
		return e.InitiatedConnection
	case *csta.OriginatedEvent:
		return e.OriginatedConnection
	case *csta.FailedEvent:
		return e.FailedConnection
	case *csta.DivertedEvent:
		return e.Connection
	}
	return csta.ConnectionID{}
}

// agentDevice is the device an agent event names, and whether ev is one.
func agentDevice(ev csta.Event) (csta.DeviceID, bool) {
	switch e := ev.(type) {
	case *csta.AgentReadyEvent:
		return e.AgentDevice, true
	case *csta.AgentNotReadyEvent:
		return e.AgentDevice, true
	case *csta.AgentWorkingAfterCallEvent:
		return e.AgentDevice, true
	case *csta.AgentLoggedOnEvent:
		return e.AgentDevice, true
	case *csta.AgentLoggedOffEvent:
		return e.AgentDevice, true
	}
	return "", false
}

// orDevice fills in a connection's device when the switch left it out.
func orDevice(c csta.ConnectionID, callID string, d csta.DeviceID) csta.ConnectionID {
	if c.CallID == "" {
		c.CallID = callID
	}
	if c.DeviceID == "" {
		c.DeviceID = d
	}
	return c
}

// sameCall accepts any call when want is unknown ("").
func sameCall(got, want string) bool { return want == "" || got == want }
