package gateway

import "context"

// SwitchEvents receives what happens on the PBX, in order, from the switch
// adapter. Implementations must not block: they queue.
type SwitchEvents interface {
	// CallChanged reports a call at an agent's device after event ev.
	CallChanged(c Call, ev CallEvent)
	// StatusChanged reports the device's availability set on the phone
	// (or confirmed by the switch).
	StatusChanged(device string, s Status)
	// LinkChanged reports the PBX link going down or coming back (after
	// resynchronisation, so that the calls reported since are current).
	LinkChanged(up bool)
}

// Switch is call control on the PBX, for one agent device at a time.
// Errors are *Error with codes pbx_unavailable or pbx_refused.
type Switch interface {
	Monitor(ctx context.Context, device string) error
	Unmonitor(ctx context.Context, device string) error
	// Calls is the tracker's view of a device's live calls.
	Calls(device string) []Call
	MakeCall(ctx context.Context, device, number string) (callID string, err error)
	Answer(ctx context.Context, device, callID string) error
	Clear(ctx context.Context, device, callID string) error
	Hold(ctx context.Context, device, callID string) error
	Retrieve(ctx context.Context, device, callID string) error
	Transfer(ctx context.Context, device, callID, to string) error
	// SendDigits plays DTMF tones on a connected call.
	SendDigits(ctx context.Context, device, callID, digits string) error
	// Consult holds callID and calls to; it returns the new call's ID.
	Consult(ctx context.Context, device, callID, to string) (string, error)
	// Complete joins the held call with the connected one: attended
	// transfer (the agent leaves) or conference (everyone stays).
	Complete(ctx context.Context, device, heldID, activeID string, conference bool) error
	SetStatus(ctx context.Context, device, agentID string, s Status) error
	Up() bool
}
