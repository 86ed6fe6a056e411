package gateway

// The ports: what the gateway's core (gateway/core) needs of the world,
// each implemented by one adapter package (pbx, ldap, postgres) and, for
// unit tests, by the fakes in gatewaytest/fake. The core depends on
// these interfaces only.

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

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

// DeviceSync is what a SwitchEvents may also implement to serve an agent
// before the whole link is resynchronised: after a reconnect or a
// take-over the adapter resynchronises a thousand phones at the switch's
// pacing (seconds), and each agent can have her events again as soon as
// her own phone is monitored and its calls reconciled, not after the last.
type DeviceSync interface {
	// DeviceSynced reports the device monitored on the current link and
	// its calls reconciled with the switch's snapshot; its events flow
	// from then on. LinkChanged(false) undoes it for every device.
	DeviceSynced(device string)
}

// EndWitness is what a Switch may also implement: when it saw a call end,
// for a while after. A standby's watching link sees the calls that end
// while no gateway is active, so that the take-over closes their call-log
// rows at their real end instead of its own time.
type EndWitness interface {
	EndedAt(device, callID string) (time.Time, bool)
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

// Directory authenticates agents (gateway/ldap).
type Directory interface {
	// Authenticate checks the password and returns the CTI-enabled agent;
	// errors are *Error with codes bad_credentials, not_cti_enabled,
	// no_extension or directory_unavailable.
	Authenticate(ctx context.Context, username, password string) (Agent, error)
	Ping(ctx context.Context) error
}

// Sessions keeps agents' login sessions by the hash of their token, so
// that a session outlives a gateway restart. Session returns ErrNotFound
// for a token that was never issued, was revoked or has expired.
type Sessions interface {
	// CreateSession applies the admin's overrides (AgentOverride) and
	// records the session in one step, so that a login costs one round
	// trip to the store: it returns the agent as the session holds her
	// (the overriding extension), or ErrAgentDisabled and no session.
	CreateSession(ctx context.Context, hash []byte, a Agent, expires time.Time) (Agent, error)
	Session(ctx context.Context, hash []byte) (Agent, time.Time, error)
	RevokeSession(ctx context.Context, hash []byte) error
	// DeleteStaleSessions forgets sessions that expired before cutoff.
	DeleteStaleSessions(ctx context.Context, cutoff time.Time) (int64, error)
}

// Colleagues finds the people behind extensions in the directory
// (gateway/ldap), so that a call from or to a colleague shows her name
// (B13). A Directory that also implements it names colleagues.
type Colleagues interface {
	// AgentsByExtension are the users whose extension attribute is ext
	// (CTI enabled or not).
	AgentsByExtension(ctx context.Context, ext string) ([]Agent, error)
	// AgentByUsername returns ErrNotFound for a name the directory lacks.
	AgentByUsername(ctx context.Context, username string) (Agent, error)
}

// Agents holds what an admin set for an agent beyond the directory.
type Agents interface {
	// AgentOverride returns the zero override for an agent never set.
	AgentOverride(ctx context.Context, username string) (AgentOverride, error)
	// UsernamesByExtension are the agents an admin gave the extension ext.
	UsernamesByExtension(ctx context.Context, ext string) ([]string, error)
}

// Contacts finds the CRM's customers: by phone number to identify a
// caller (E.164 first, the national digits as fallback), by text for the
// agent's manual search.
type Contacts interface {
	LookupNumber(ctx context.Context, e164, national string) ([]Match, error)
	// SearchContacts returns one page and whether more follow.
	SearchContacts(ctx context.Context, query string, offset, limit int) ([]Contact, bool, error)
	// ContactExists reports whether a contact has the code: a code an
	// agent sends with a call or a choice must name a real customer.
	ContactExists(ctx context.Context, code string) (bool, error)
}

// CallLog keeps every call with its timeline (B6).
type CallLog interface {
	WriteCallLog(ctx context.Context, entries []LogEntry) error
	// RecentCalls are the agent's latest calls, newest first.
	RecentCalls(ctx context.Context, username string, limit int) ([]Call, error)
	// LoggedCall is a call as last logged, to restore what a switch's
	// snapshot leaves out (the far end, the direction, the contact); it
	// returns ErrNotFound for a call never logged.
	LoggedCall(ctx context.Context, pbxCallID, device string) (Call, error)
}

// AuditLog records logins, commands and denials (B11).
type AuditLog interface {
	Audit(ctx context.Context, entries []AuditEntry) error
}

// Store is everything the gateway keeps in its database
// (gateway/postgres), one interface per concern so that a reader sees
// which part of the core uses what.
type Store interface {
	Ping(ctx context.Context) error
	Agents
	Sessions
	Contacts
	CallLog
	AuditLog
}

// Observer is told what happens in the core, for metrics. Methods must
// not block. code is "ok" for a command that succeeded.
type Observer interface {
	Command(typ string, code Code, d time.Duration)
	Login(code Code, d time.Duration)
	// ClientDropped counts connections the gateway ended (reason "slow":
	// the client's queue was full).
	ClientDropped(reason string)
	// Clients counts connections opened (+1) and closed (-1).
	Clients(delta int)
}

// Spool keeps on the gateway's disk what the database could not take yet
// (gateway/spool): named files of JSON lines. Append syncs before it
// returns.
type Spool interface {
	Append(name string, items ...any) error
	Load(name string, each func(json.RawMessage) error) error
	Remove(name string) error
	// OpenLog opens the named file as a write-ahead log (SpoolLog).
	OpenLog(name string) (SpoolLog, error)
}

// SpoolLog is a spool file kept open as a write-ahead log: the call-log
// and audit writers append each step to it before the database has it,
// and empty it once the database does. Append is one write(2) without
// fsync: what it accepted survives the gateway being killed (the kernel
// holds it) but not a power cut; Sync makes it durable.
type SpoolLog interface {
	// Append adds items, one JSON line each, in one write.
	Append(items ...any) error
	// Reset replaces the log's content with items, atomically (none:
	// empties it).
	Reset(items ...any) error
	Sync() error
	// Close syncs and closes the log. Safe twice.
	Close() error
}

// IsDataError reports whether err is the database refusing the data
// itself — SQLSTATE class 22 (data exception: a NUL, bad UTF-8, a value
// out of range) or 23 (integrity constraint) — which no retry can fix,
// as opposed to the database being unreachable or busy, which a retry
// can. Errors carry their SQLSTATE through the SQLState method (pgx's
// *pgconn.PgError has it), so that the core need not import the driver.
func IsDataError(err error) bool {
	var st interface{ SQLState() string }
	if !errors.As(err, &st) {
		return false
	}
	class := st.SQLState()
	return strings.HasPrefix(class, "22") || strings.HasPrefix(class, "23")
}

// Lease is the leadership of the gateways that share one database, as
// last seen: who holds it, in which epoch, and whether the asker does.
type Lease struct {
	Node  string
	Epoch int64
	Held  bool
	// Silent is how long the holder has not renewed, by the database's
	// clock: a holder renews several times per lease, so a long silence
	// means it is likely dead, and a standby gets ready to take over
	// (it holds the agents who come to it instead of turning them away).
	Silent time.Duration
}

// Leases decide which of the gateways sharing a database is active
// (gateway/postgres), by the database's clock. The epoch grows by one at
// every change of holder: a renewal names it, so that a former holder
// frozen past its lease cannot renew the lease another gateway took.
type Leases interface {
	// AcquireLease takes the lease for d if it is free (never held,
	// released or expired); if another gateway holds it, the Lease
	// returned names that gateway with Held false.
	AcquireLease(ctx context.Context, node string, d time.Duration) (Lease, error)
	// RenewLease extends the lease of epoch by d from now; false when
	// node no longer holds it.
	RenewLease(ctx context.Context, node string, epoch int64, d time.Duration) (bool, error)
	// ReleaseLease ends the lease at once (a clean hand-over).
	ReleaseLease(ctx context.Context, node string, epoch int64) error
}

// LiveSession is an agent logged in on any gateway: what a gateway that
// takes over monitors before the agents' extensions reconnect to it.
type LiveSession struct {
	Agent   Agent
	Expires time.Time
	// Tokens are the hashes of the agent's live session tokens (those of
	// this extension), so that the gateway taking over resumes each
	// extension from memory instead of a thousand lookups at once.
	Tokens []SessionToken
}

// SessionToken is one live session of an agent: its token's hash and
// when it expires.
type SessionToken struct {
	Hash    []byte
	Expires time.Time
}

// Takeover is what a gateway that becomes active reads of the database
// it shares with the gateway it replaces (gateway/postgres).
type Takeover interface {
	// LiveSessions lists the agents with a session neither revoked nor
	// expired.
	LiveSessions(ctx context.Context) ([]LiveSession, error)
	// OpenCalls lists the calls logged at these devices that have no end
	// yet (started within the last day).
	OpenCalls(ctx context.Context, devices []string) ([]Call, error)
}
