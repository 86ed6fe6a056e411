// Package gateway holds the domain of CRM CTI: agents, their calls, the
// customers who call, the errors an agent may see, and the rules that
// decide which call-control action is allowed when. It imports only the
// standard library, so that the browser extension's wasm core can use the
// very same rules to grey out buttons; the gateway stays the authority.
//
// The technologies live in packages below: csta (the PBX protocol), pbx
// (the switch adapter), ldap (agents' identity), postgres (contacts,
// sessions, call log), http (WebSocket API and endpoints), wire (the
// JSON messages), core (the service that ties them together).
package gateway

import (
	"errors"
	"fmt"
	"time"
)

// Agent is a person who may take and make calls through CTI.
type Agent struct {
	Username    string `json:"username"`
	DisplayName string `json:"displayName"`
	// Extension is the agent's phone, as the PBX names the device.
	Extension string `json:"extension"`
}

// Status is an agent's availability (R11).
type Status string

// Statuses. Busy still allows outgoing calls.
const (
	StatusAvailable Status = "available"
	StatusBusy      Status = "busy"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return s == StatusAvailable || s == StatusBusy }

// Direction of a call from the agent's point of view.
type Direction string

// Directions.
const (
	Inbound  Direction = "inbound"
	Outbound Direction = "outbound"
)

// CallState is the agent's side of a call.
type CallState string

// Call states. Ringing is inbound alerting at the agent's phone; Dialing is
// an outbound call whose far end has not answered.
const (
	CallRinging   CallState = "ringing"
	CallDialing   CallState = "dialing"
	CallConnected CallState = "connected"
	CallHeld      CallState = "held"
	CallEnded     CallState = "ended"
	CallFailed    CallState = "failed"
)

// Live reports whether the call still involves the agent.
func (s CallState) Live() bool { return s != CallEnded && s != CallFailed && s != "" }

// Call is one call at an agent's device.
type Call struct {
	ID        string    `json:"id"`
	Device    string    `json:"device"`
	Direction Direction `json:"direction"`
	State     CallState `json:"state"`
	// Remote is the other party's dialable number (+E.164 when the switch
	// gave one), RemoteRaw the identifier as the switch sent it.
	Remote    string `json:"remote"`
	RemoteRaw string `json:"remoteRaw,omitempty"`
	// Contact is the CRM contact code the agent chose for this call.
	Contact  string    `json:"contact,omitempty"`
	Started  time.Time `json:"started"`
	Answered time.Time `json:"answered,omitzero"`
	Ended    time.Time `json:"ended,omitzero"`
	// Cause is the switch's reason for the last change (newCall,
	// normalClearing, doNotDisturb, …).
	Cause string `json:"cause,omitempty"`
	// RemoteName is the colleague's name when Remote is another agent's
	// extension, from the directory (B13); the switch never sets it.
	RemoteName string `json:"remoteName,omitempty"`
	// Note and Disposition are what the agent wrote after the call (B13);
	// the switch never sets them.
	Note        string      `json:"note,omitempty"`
	Disposition Disposition `json:"disposition,omitempty"`
}

// IsExtension reports whether a number is an internal extension (up to
// six digits) rather than a subscriber's number: it names a colleague,
// never a customer.
func IsExtension(number string) bool {
	if number == "" || len(number) > 6 {
		return false
	}
	for _, r := range number {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Refused reports whether the switch turned the call away from the
// agent's phone without ringing it (do-not-disturb, not ready): an
// inbound call that failed there. A caller who gives up while it rings
// ends the call instead; that is a missed call.
func (c Call) Refused() bool {
	return c.Direction == Inbound && c.State == CallFailed && c.Answered.IsZero()
}

// Disposition is the outcome an agent gives a call when it is over
// (B13). The codes are stable: they are stored in the call log and
// reports group by them; the panel words them.
type Disposition string

// Dispositions, in the order the panel offers them.
const (
	DispResolved    Disposition = "resolved"
	DispFollowUp    Disposition = "follow_up"
	DispCallback    Disposition = "callback"
	DispWrongNumber Disposition = "wrong_number"
	DispNoAnswer    Disposition = "no_answer"
)

// Dispositions lists every valid disposition, in the panel's order.
var Dispositions = []Disposition{DispResolved, DispFollowUp, DispCallback, DispWrongNumber, DispNoAnswer}

// Valid reports whether d is one of Dispositions; the empty disposition
// (none chosen) is valid too.
func (d Disposition) Valid() bool {
	if d == "" {
		return true
	}
	for _, x := range Dispositions {
		if d == x {
			return true
		}
	}
	return false
}

// MaxNoteChars bounds an after-call note: a few lines, not a document.
const MaxNoteChars = 500

// CallEvent names what happened to a call, for the timeline (B6).
type CallEvent string

// Timeline events.
const (
	EvRang        CallEvent = "rang"
	EvDialed      CallEvent = "dialed"
	EvAnswered    CallEvent = "answered"
	EvHeld        CallEvent = "held"
	EvRetrieved   CallEvent = "retrieved"
	EvTransferred CallEvent = "transferred"
	EvConferenced CallEvent = "conferenced"
	EvFailed      CallEvent = "failed"
	EvEnded       CallEvent = "ended"
	EvContact     CallEvent = "contact" // the agent chose who is calling
	EvNoted       CallEvent = "noted"   // the agent wrote a note or an outcome
)

// Contact is a CRM customer.
type Contact struct {
	Code     string            `json:"code"`
	FullName string            `json:"fullName"`
	Type     string            `json:"type,omitempty"`
	Fields   map[string]string `json:"fields,omitempty"`
	Phones   []Phone           `json:"phones,omitempty"`
}

// Phone is one of a contact's numbers.
type Phone struct {
	Kind string `json:"kind"`
	Raw  string `json:"raw"`
	// E164 is the normalised number, empty when it could not be parsed.
	E164 string `json:"e164,omitempty"`
	// National is the national significant number's digits, the lookup's
	// fallback key.
	National string `json:"-"`
}

// Match is a contact found for a number, with the number that matched,
// formatted for display (R4).
type Match struct {
	Contact Contact `json:"contact"`
	Number  string  `json:"number"`
	Kind    string  `json:"kind,omitempty"`
}

// AgentOverride is what an admin set for an agent in the database,
// beyond the directory: another extension, or CTI disabled.
type AgentOverride struct {
	Extension string // empty: the directory's
	Disabled  bool
}

// ErrNotFound is returned by stores for a record that does not exist.
var ErrNotFound = errors.New("not found")

// ErrAgentDisabled is returned by Sessions.CreateSession for an agent an
// admin disabled CTI for (AgentOverride.Disabled): no session is made.
var ErrAgentDisabled = errors.New("agent disabled")

// Code is a stable error code: the only part of an error that reaches the
// panel, which translates it. Never rename one; add new ones.
type Code string

// Error codes.
const (
	CodeBadCredentials Code = "bad_credentials"
	CodeNotCTIEnabled  Code = "not_cti_enabled"
	CodeNoExtension    Code = "no_extension"
	CodeDirectoryDown  Code = "directory_unavailable"
	CodeRateLimited    Code = "rate_limited"
	CodeNotLoggedIn    Code = "not_logged_in"
	CodeSessionExpired Code = "session_expired"
	CodeNotYourCall    Code = "not_your_call"
	CodeNoSuchCall     Code = "no_such_call"
	CodeOnCall         Code = "on_call"
	CodeInvalidState   Code = "invalid_state"
	CodeInvalidRequest Code = "invalid_request"
	CodePBXUnavailable Code = "pbx_unavailable"
	CodePBXRefused     Code = "pbx_refused"
	CodeDatabaseDown   Code = "database_unavailable"
	CodeAgentDisabled  Code = "agent_disabled"
	CodeUnsupported    Code = "unsupported"
	CodeInternal       Code = "internal"
	// CodeNoSuchContact: a contact code that is not in the directory of
	// customers (a call or a caller chosen with a code the CRM never had).
	CodeNoSuchContact Code = "no_such_contact"
	// CodeUpdateRequired: the extension is older than the gateway accepts.
	CodeUpdateRequired Code = "update_required"
	// CodeTooManyConnections: too many connections not logged in from one
	// address.
	CodeTooManyConnections Code = "too_many_connections"
	// CodeLoginTimeout: a connection that did not log in in time.
	CodeLoginTimeout Code = "login_timeout"
	// CodeLoggedOut: the session was ended by a logout on another
	// connection.
	CodeLoggedOut Code = "logged_out"
	// CodeStandby: this gateway is a standby (another is active, or it
	// just lost its leadership); the client moves to the next gateway of
	// its list and resumes its session there.
	CodeStandby Code = "standby"
)

// Error is an error with a stable code for the agent and a message for
// people. Wrap the cause for logs; only Code and Message go on the wire.
type Error struct {
	Code    Code
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap builds an Error around a cause.
func Wrap(code Code, err error, message string) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

// ErrorCode extracts the stable code of err; anything unexpected is
// internal, so that no detail of a failure leaks to the panel. A nil
// error has no code: success is never reported as a failure.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage is the human message of err, generic for internal errors.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// LogEntry is one step of a call's timeline for the call log: the call as
// it stands after the step, and the step.
type LogEntry struct {
	Call     Call
	Username string
	Event    CallEvent
	At       time.Time
	Detail   string
}

// AuditEntry records a login, a command or a denial.
type AuditEntry struct {
	At       time.Time
	Username string
	Client   string
	Action   string
	Allowed  bool
	Detail   string
}
