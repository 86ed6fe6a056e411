package gateway

// The rules below decide which call-control action an agent may take. The
// gateway enforces them on every command; the extension evaluates the same
// functions to enable or disable its buttons and say why.

// Action is a call-control action an agent asks for.
type Action string

// Actions.
const (
	ActAnswer   Action = "answer"
	ActHangup   Action = "hangup"
	ActHold     Action = "hold"
	ActRetrieve Action = "retrieve"
	ActTransfer Action = "transfer"
	ActCall     Action = "call"
	// ActConsult holds the call and calls someone else about it.
	ActConsult Action = "consult"
	// ActDigits sends DTMF tones (menus, PINs) on a connected call.
	ActDigits Action = "digits"
	// ActComplete joins a held call with the agent's connected
	// consultation: an attended transfer, or a conference.
	ActComplete Action = "complete"
)

// OnCall reports whether the agent has a connected or held call (R6).
func OnCall(calls []Call) bool {
	for _, c := range calls {
		if c.State == CallConnected || c.State == CallHeld {
			return true
		}
	}
	return false
}

// CheckAction says whether action a may be taken on call c, given all the
// agent's calls. It returns nil or an *Error with a stable code.
func CheckAction(a Action, c *Call, calls []Call) error {
	if a == ActCall {
		// Busy still allows outgoing calls (R11); only a call already
		// ringing out or connected stops another.
		for _, x := range calls {
			if x.State == CallConnected || x.State == CallDialing {
				return Errorf(CodeOnCall, "finish or hold the current call first")
			}
		}
		return nil
	}
	if c == nil || !c.State.Live() {
		return Errorf(CodeNoSuchCall, "no such call")
	}
	switch a {
	case ActAnswer:
		if c.State != CallRinging {
			return Errorf(CodeInvalidState, "the call is not ringing")
		}
		if OnCall(calls) {
			return Errorf(CodeOnCall, "you are on a call; end it before accepting another")
		}
	case ActHangup:
		// Any live call can be ended (a ringing one is rejected).
	case ActHold:
		if c.State != CallConnected {
			return Errorf(CodeInvalidState, "only a connected call can be held")
		}
	case ActRetrieve:
		if c.State != CallHeld {
			return Errorf(CodeInvalidState, "the call is not on hold")
		}
		for _, x := range calls {
			if x.ID != c.ID && x.State == CallConnected {
				return Errorf(CodeOnCall, "hold or end the connected call first")
			}
		}
	case ActTransfer:
		if c.State != CallConnected {
			return Errorf(CodeInvalidState, "only a connected call can be transferred")
		}
	case ActDigits:
		if c.State != CallConnected {
			return Errorf(CodeInvalidState, "tones can only be sent on a connected call")
		}
	case ActConsult:
		if c.State != CallConnected {
			return Errorf(CodeInvalidState, "only a connected call can be put on hold to consult")
		}
	case ActComplete:
		if c.State != CallHeld {
			return Errorf(CodeInvalidState, "hold the call first, then consult")
		}
		other := false
		for _, x := range calls {
			if x.ID != c.ID && x.State == CallConnected {
				other = true
			}
		}
		if !other {
			return Errorf(CodeInvalidState, "there is no connected consultation call to join")
		}
	default:
		return Errorf(CodeInvalidRequest, "unknown action %q", a)
	}
	return nil
}
