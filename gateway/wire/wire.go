// Package wire defines the JSON messages between the gateway and the
// browser extension, over a WebSocket with subprotocol Subprotocol. It
// uses only the standard library (it is compiled into the extension's
// wasm core too) and imports nothing of ours: the domain types travel as
// the plain structs below.
//
// Every frame is one JSON object, an Envelope:
//
//	{"type":"answer","id":"7","data":{"callId":"00A1"}}
//
// The client sends a command with an id; the gateway answers with
// "result" (or "error") carrying the same id. Unsolicited messages
// (call, status, link, heartbeat, bye) have no id.
//
// Log in or resume first, over the socket:
//
//	-> {"type":"login","id":"1","data":{"username":"alice","password":"demo"}}
//	<- {"type":"session","id":"1","data":{"token":"…","agent":{"username":"alice","displayName":"Alice Andreou","extension":"1001"},"expiresAt":"2026-11-29T08:00:00Z"}}
//	<- {"type":"snapshot","data":{"protocol":1,"agent":{…},"status":"available","pbx":"up","calls":[]}}
//	-> {"type":"resume","id":"1","data":{"token":"…"}}          (after a reconnect)
//
// A snapshot follows every login and resume: it is the whole state, and
// replaces whatever the client had. A login is answered before the
// switch has the agent's phone under watch (a morning's logins would
// otherwise queue behind the switch's request rate): the snapshot then
// says "phone":"connecting", and "phone" {"state":"ready"} follows once
// the phone is monitored and its calls are known; a phone the switch
// refuses ends the session with "bye" pbx_refused. Then, as things
// happen:
//
//	<- {"type":"call","data":{"event":"rang","call":{"id":"00A1","device":"1001","direction":"inbound","state":"ringing","remote":"+35722123456",…},"matches":[{"contact":{"code":"C000001","fullName":"Andreas Constantinou",…},"number":"+357 22 123456","kind":"work"}]}}
//	<- {"type":"status","data":{"status":"busy","source":"phone"}}
//	<- {"type":"link","data":{"pbx":"down"}}
//	<- {"type":"phone","data":{"state":"ready"}}
//	<- {"type":"heartbeat","data":{"time":"2026-11-28T12:00:20Z"}}
//	<- {"type":"bye","data":{"code":"session_expired","message":"…"}}
//	<- {"type":"noted","data":{"callId":"00A1","note":"Wants a quote","disposition":"callback"}}
//
// Commands (data → result data):
//
//	logout    {}                                  → {}
//	call      {"number":"+35722123456","contact":"C000001"} → {"callId":"…"}
//	answer    {"callId":"…"}                      → {}
//	hangup    {"callId":"…"}                      → {}
//	hold      {"callId":"…"}                      → {}
//	retrieve  {"callId":"…"}                      → {}
//	transfer  {"callId":"…","to":"1002"}          → {}   (blind)
//	digits    {"callId":"…","digits":"1234#"}    → {}   (DTMF on a connected call)
//	consult   {"callId":"…","to":"1002"}          → {"callId":"…"} (the call is held, 1002 is called)
//	complete  {"callId":"held…","with":"consult…"} → {}  (attended transfer: the agent leaves)
//	conference {"callId":"held…","with":"consult…"} → {} (everyone stays)
//	status    {"status":"available"|"busy"}       → {}
//	lookup    {"number":"+35722123456"}           → {"matches":[…]}
//	search    {"query":"constantinou","page":0,"pageSize":20} → {"contacts":[…],"more":false}
//	select    {"callId":"…","contact":"C000001"}  → {}
//	recent    {"limit":20}                        → {"calls":[…]}
//	note      {"callId":"…","note":"Wants a quote","disposition":"callback"} → {}
//	          (after-call note and outcome, on a live or ended call of the
//	          agent's; every tab then gets "noted")
//	ping      {}                                  → {}
//
// Errors carry a stable code (see gateway.Code) and a message for people:
//
//	<- {"type":"error","id":"7","data":{"code":"on_call","message":"you are on a call; end it before accepting another"}}
//
// The protocol is versioned by the subprotocol; installed extensions lag
// gateway releases, so a gateway keeps serving older versions it knows.
package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Subprotocol names this version of the protocol in the WebSocket
// handshake.
const Subprotocol = "crmcti.v1"

// Protocol is the version number carried in snapshots.
const Protocol = 1

// MaxMessage bounds a client frame; the gateway refuses larger ones.
const MaxMessage = 16 << 10

// Message types, client to gateway.
const (
	TLogin    = "login"
	TResume   = "resume"
	TLogout   = "logout"
	TCall     = "call"
	TAnswer   = "answer"
	THangup   = "hangup"
	THold     = "hold"
	TRetrieve = "retrieve"
	TTransfer = "transfer"
	TConsult  = "consult"
	TDigits   = "digits"
	TComplete = "complete"
	TConfer   = "conference"
	TStatus   = "status"
	TLookup   = "lookup"
	TSearch   = "search"
	TSelect   = "select"
	TRecent   = "recent"
	TNote     = "note"
	TPing     = "ping"
)

// Message types, gateway to client.
const (
	TSession   = "session"
	TSnapshot  = "snapshot"
	TResult    = "result"
	TError     = "error"
	TCallEvent = "call"
	TStatusEv  = "status"
	TLink      = "link"
	THeartbeat = "heartbeat"
	TBye       = "bye"
	TNoted     = "noted"
	TPhone     = "phone"
)

// Envelope is one frame.
type Envelope struct {
	Type string          `json:"type"`
	ID   string          `json:"id,omitempty"`
	Data json.RawMessage `json:"data,omitempty"`
}

// Agent is the logged-in agent.
type Agent struct {
	Username    string `json:"username"`
	DisplayName string `json:"displayName"`
	Extension   string `json:"extension"`
}

// Call is one call at the agent's device.
type Call struct {
	ID        string `json:"id"`
	Device    string `json:"device"`
	Direction string `json:"direction"`
	State     string `json:"state"`
	Remote    string `json:"remote"`
	RemoteRaw string `json:"remoteRaw,omitempty"`
	// Display is Remote formatted for people (libphonenumber's
	// international format in the gateway's default region). The gateway
	// formats it so that the extension's wasm core does not carry
	// libphonenumber's metadata (it tripled the module and its start-up).
	Display  string    `json:"display,omitempty"`
	Contact  string    `json:"contact,omitempty"`
	Started  time.Time `json:"started"`
	Answered time.Time `json:"answered,omitzero"`
	Ended    time.Time `json:"ended,omitzero"`
	Cause    string    `json:"cause,omitempty"`
	// RemoteName is the colleague's name when Remote is another agent's
	// extension, from the company directory.
	RemoteName string `json:"remoteName,omitempty"`
	// Note and Disposition are the agent's after-call note and outcome
	// (see Note); in recent calls and "noted".
	Note        string `json:"note,omitempty"`
	Disposition string `json:"disposition,omitempty"`
	// Matches are the contacts whose numbers match Remote, found while
	// the call rings (B3) and kept for the call.
	Matches []Match `json:"matches,omitempty"`
}

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
	E164 string `json:"e164,omitempty"`
}

// Match is a contact found for a number.
type Match struct {
	Contact Contact `json:"contact"`
	Number  string  `json:"number"`
	Kind    string  `json:"kind,omitempty"`
}

// Login is the data of "login".
type Login struct {
	Username string `json:"username"`
	Password string `json:"password"`
	// Version is the extension's version ("1.4.2"), so that the gateway
	// can ask an old one to update; older extensions leave it out.
	Version string `json:"version,omitempty"`
}

// Resume is the data of "resume".
type Resume struct {
	Token   string `json:"token"`
	Version string `json:"version,omitempty"` // as in Login
}

// Session is the data of "session".
type Session struct {
	Token     string    `json:"token"`
	Agent     Agent     `json:"agent"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// Snapshot is the agent's whole state.
type Snapshot struct {
	Protocol int    `json:"protocol"`
	Agent    Agent  `json:"agent"`
	Status   string `json:"status"`
	PBX      string `json:"pbx"` // up | down
	// Phone is "connecting" until the switch monitors the agent's phone
	// (her calls are not seen before), then "ready"; empty from a gateway
	// that monitored it before answering the login.
	Phone string `json:"phone,omitempty"`
	Calls []Call `json:"calls"`
}

// PhoneState is the data of "phone": the agent's phone is now monitored
// ("ready").
type PhoneState struct {
	State string `json:"state"`
}

// Phone states, in Snapshot.Phone and PhoneState.
const (
	PhoneConnecting = "connecting"
	PhoneReady      = "ready"
)

// CallEvent is the data of "call".
type CallEvent struct {
	Event string `json:"event"`
	Call  Call   `json:"call"`
}

// StatusEvent is the data of "status".
type StatusEvent struct {
	Status string `json:"status"`
	Source string `json:"source"` // panel | phone
}

// Link is the data of "link".
type Link struct {
	PBX string `json:"pbx"`
}

// Heartbeat is the data of "heartbeat".
type Heartbeat struct {
	Time time.Time `json:"time"`
	// Every is the gateway's heartbeat interval in milliseconds (0 from a
	// gateway that does not say): a client that hears nothing for about
	// two of them takes its gateway for gone (frozen, cut off) and moves
	// to the next one, instead of a fixed 45 s.
	Every int64 `json:"every,omitempty"`
}

// Error is the data of "error" and "bye".
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// CallRequest is the data of "call".
type CallRequest struct {
	Number  string `json:"number"`
	Contact string `json:"contact,omitempty"`
}

// CallRef is the data of answer, hangup, hold and retrieve.
type CallRef struct {
	CallID string `json:"callId"`
}

// Transfer is the data of "transfer".
type Transfer struct {
	CallID string `json:"callId"`
	To     string `json:"to"`
}

// Digits is the data of "digits".
type Digits struct {
	CallID string `json:"callId"`
	Digits string `json:"digits"`
}

// Join is the data of "complete" and "conference": the held call and the
// consultation it is joined with.
type Join struct {
	CallID string `json:"callId"`
	With   string `json:"with"`
}

// StatusRequest is the data of "status".
type StatusRequest struct {
	Status string `json:"status"`
}

// Lookup is the data of "lookup".
type Lookup struct {
	Number string `json:"number"`
}

// LookupResult answers "lookup".
type LookupResult struct {
	Matches []Match `json:"matches"`
}

// Search is the data of "search".
type Search struct {
	Query    string `json:"query"`
	Page     int    `json:"page"`
	PageSize int    `json:"pageSize"`
}

// SearchResult answers "search".
type SearchResult struct {
	Contacts []Contact `json:"contacts"`
	More     bool      `json:"more"`
}

// Select is the data of "select".
type Select struct {
	CallID  string `json:"callId"`
	Contact string `json:"contact"`
}

// Recent is the data of "recent".
type Recent struct {
	Limit int `json:"limit"`
}

// RecentResult answers "recent".
type RecentResult struct {
	Calls []Call `json:"calls"`
}

// Note is the data of "note" and "noted": what the agent wrote after a
// call. Disposition is one of a fixed list of stable codes — resolved,
// follow_up, callback, wrong_number, no_answer — or empty. Note is at
// most 500 characters; it may hold line feeds, no other control
// characters. "note" replaces the call's earlier note and disposition.
type Note struct {
	CallID      string `json:"callId"`
	Note        string `json:"note"`
	Disposition string `json:"disposition,omitempty"`
}

// CallStarted answers "call".
type CallStarted struct {
	CallID string `json:"callId"`
}

// Encode builds a frame.
func Encode(typ, id string, data any) ([]byte, error) {
	env := Envelope{Type: typ, ID: id}
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return nil, fmt.Errorf("wire: encode %s: %w", typ, err)
		}
		env.Data = b
	}
	return json.Marshal(env)
}

// ErrBadMessage is wrapped by Decode and DecodeData errors.
var ErrBadMessage = errors.New("wire: bad message")

// Decode reads a frame's envelope.
func Decode(b []byte) (Envelope, error) {
	var env Envelope
	if len(b) > MaxMessage {
		return env, fmt.Errorf("%w: %d bytes, limit %d", ErrBadMessage, len(b), MaxMessage)
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return env, fmt.Errorf("%w: %v", ErrBadMessage, err)
	}
	if env.Type == "" {
		return env, fmt.Errorf("%w: no type", ErrBadMessage)
	}
	if len(env.ID) > 64 {
		return env, fmt.Errorf("%w: id longer than 64", ErrBadMessage)
	}
	return env, nil
}

// DecodeData reads an envelope's data into v; absent data is the zero
// value.
func DecodeData(env Envelope, v any) error {
	if len(env.Data) == 0 || string(env.Data) == "null" {
		return nil
	}
	if err := json.Unmarshal(env.Data, v); err != nil {
		return fmt.Errorf("%w: %s data: %v", ErrBadMessage, env.Type, err)
	}
	return nil
}
