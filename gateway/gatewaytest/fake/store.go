package fake

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"crmcti/gateway"
)

// Directory is a fake LDAP: agents by username, each with a password.
type Directory struct {
	// BeforeAuthenticate, when set, runs first (outside any lock).
	BeforeAuthenticate func(username string)

	mu     sync.Mutex
	agents map[string]directoryEntry
	down   bool
	// lookups counts the colleague lookups (AgentsByExtension,
	// AgentByUsername), for tests of caching.
	lookups int
}

type directoryEntry struct {
	agent    gateway.Agent
	password string
}

// NewDirectory returns an empty directory.
func NewDirectory() *Directory { return &Directory{agents: map[string]directoryEntry{}} }

// Add puts a CTI-enabled agent in the directory.
func (d *Directory) Add(a gateway.Agent, password string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.agents[a.Username] = directoryEntry{agent: a, password: password}
}

// SetDown makes the directory unreachable (or reachable again).
func (d *Directory) SetDown(down bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.down = down
}

// Lookups is how many colleague lookups the directory answered.
func (d *Directory) Lookups() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lookups
}

// AgentsByExtension implements gateway.Colleagues.
func (d *Directory) AgentsByExtension(ctx context.Context, ext string) ([]gateway.Agent, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.down {
		return nil, gateway.Errorf(gateway.CodeDirectoryDown, "directory down")
	}
	d.lookups++
	var out []gateway.Agent
	for _, e := range d.agents {
		if e.agent.Extension == ext {
			out = append(out, e.agent)
		}
	}
	return out, nil
}

// AgentByUsername implements gateway.Colleagues.
func (d *Directory) AgentByUsername(ctx context.Context, username string) (gateway.Agent, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.down {
		return gateway.Agent{}, gateway.Errorf(gateway.CodeDirectoryDown, "directory down")
	}
	d.lookups++
	e, ok := d.agents[username]
	if !ok {
		return gateway.Agent{}, gateway.ErrNotFound
	}
	return e.agent, nil
}

// Authenticate implements gateway.Directory.
func (d *Directory) Authenticate(ctx context.Context, username, password string) (gateway.Agent, error) {
	if d.BeforeAuthenticate != nil {
		d.BeforeAuthenticate(username)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.down {
		return gateway.Agent{}, gateway.Errorf(gateway.CodeDirectoryDown, "directory down")
	}
	e, ok := d.agents[username]
	if !ok || e.password != password {
		return gateway.Agent{}, gateway.Errorf(gateway.CodeBadCredentials, "wrong username or password")
	}
	return e.agent, nil
}

// Ping implements gateway.Directory.
func (d *Directory) Ping(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.down {
		return errors.New("directory down")
	}
	return nil
}

// ErrDown is what the store returns while it is down.
var ErrDown = errors.New("fake: database down")

// DataError is the store refusing a row for its data, with PostgreSQL's
// SQLSTATE for a NUL in text (see gateway.IsDataError).
type DataError struct{}

func (DataError) Error() string    { return "fake: invalid byte sequence (SQLSTATE 22021)" }
func (DataError) SQLState() string { return "22021" }

func refused[T any](rows []T, refuse func(T) bool) bool {
	if refuse == nil {
		return false
	}
	for _, r := range rows {
		if refuse(r) {
			return true
		}
	}
	return false
}

// Store is a fake database holding everything in memory.
type Store struct {
	// BeforeLoggedCall, when set, runs first (outside any lock).
	BeforeLoggedCall func(pbxCallID string)
	// RefuseLog and RefuseAudit, when set, make a write fail with a
	// DataError (and write nothing) if any of its rows is refused: a row
	// the database cannot take, like PostgreSQL refusing a NUL.
	RefuseLog   func(gateway.LogEntry) bool
	RefuseAudit func(gateway.AuditEntry) bool

	mu        sync.Mutex
	down      bool
	overrides map[string]gateway.AgentOverride
	sessions  map[string]storedSession
	contacts  []gateway.Contact
	log       []gateway.LogEntry
	audit     []gateway.AuditEntry
}

type storedSession struct {
	agent   gateway.Agent
	expires time.Time
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{overrides: map[string]gateway.AgentOverride{}, sessions: map[string]storedSession{}}
}

// SetDown makes every call fail with ErrDown (or succeed again).
func (s *Store) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

func (s *Store) lock() error {
	s.mu.Lock()
	if s.down {
		s.mu.Unlock()
		return ErrDown
	}
	return nil
}

// SetOverride is what an admin sets for an agent.
func (s *Store) SetOverride(username string, o gateway.AgentOverride) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.overrides[username] = o
}

// AddContact adds a customer; its phones need E164 or National set.
func (s *Store) AddContact(c gateway.Contact) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.contacts = append(s.contacts, c)
}

// Log adds call-log steps as if written earlier (by a gateway before a
// restart).
func (s *Store) Log(entries ...gateway.LogEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, entries...)
}

// CallLogEntries are the call-log steps written so far.
func (s *Store) CallLogEntries() []gateway.LogEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]gateway.LogEntry(nil), s.log...)
}

// AuditEntries are the audit entries written so far.
func (s *Store) AuditEntries() []gateway.AuditEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]gateway.AuditEntry(nil), s.audit...)
}

// Ping implements gateway.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.lock(); err != nil {
		return err
	}
	s.mu.Unlock()
	return nil
}

// AgentOverride implements gateway.Agents.
func (s *Store) AgentOverride(ctx context.Context, username string) (gateway.AgentOverride, error) {
	if err := s.lock(); err != nil {
		return gateway.AgentOverride{}, err
	}
	defer s.mu.Unlock()
	return s.overrides[username], nil
}

// UsernamesByExtension implements gateway.Agents.
func (s *Store) UsernamesByExtension(ctx context.Context, ext string) ([]string, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []string
	for u, o := range s.overrides {
		if o.Extension == ext {
			out = append(out, u)
		}
	}
	slices.Sort(out)
	return out, nil
}

// CreateSession implements gateway.Sessions.
func (s *Store) CreateSession(ctx context.Context, hash []byte, a gateway.Agent, expires time.Time) (gateway.Agent, error) {
	if err := s.lock(); err != nil {
		return a, err
	}
	defer s.mu.Unlock()
	o := s.overrides[a.Username]
	if o.Disabled {
		return a, gateway.ErrAgentDisabled
	}
	if o.Extension != "" {
		a.Extension = o.Extension
	}
	s.sessions[string(hash)] = storedSession{agent: a, expires: expires}
	return a, nil
}

// Session implements gateway.Sessions.
func (s *Store) Session(ctx context.Context, hash []byte) (gateway.Agent, time.Time, error) {
	if err := s.lock(); err != nil {
		return gateway.Agent{}, time.Time{}, err
	}
	defer s.mu.Unlock()
	x, ok := s.sessions[string(hash)]
	if !ok || time.Now().After(x.expires) {
		return gateway.Agent{}, time.Time{}, gateway.ErrNotFound
	}
	return x.agent, x.expires, nil
}

// RevokeSession implements gateway.Sessions.
func (s *Store) RevokeSession(ctx context.Context, hash []byte) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	delete(s.sessions, string(hash))
	return nil
}

// DeleteStaleSessions implements gateway.Sessions.
func (s *Store) DeleteStaleSessions(ctx context.Context, cutoff time.Time) (int64, error) {
	if err := s.lock(); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	var n int64
	for h, x := range s.sessions {
		if x.expires.Before(cutoff) {
			delete(s.sessions, h)
			n++
		}
	}
	return n, nil
}

// LookupNumber implements gateway.Contacts.
func (s *Store) LookupNumber(ctx context.Context, e164, national string) ([]gateway.Match, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []gateway.Match
	for _, c := range s.contacts {
		for _, p := range c.Phones {
			if (e164 != "" && p.E164 == e164) || (e164 == "" && national != "" && p.National == national) {
				out = append(out, gateway.Match{Contact: c, Number: p.E164, Kind: p.Kind})
			}
		}
	}
	return out, nil
}

// SearchContacts implements gateway.Contacts: by code or name, any case.
func (s *Store) SearchContacts(ctx context.Context, query string, offset, limit int) ([]gateway.Contact, bool, error) {
	if err := s.lock(); err != nil {
		return nil, false, err
	}
	defer s.mu.Unlock()
	var all []gateway.Contact
	q := strings.ToLower(query)
	for _, c := range s.contacts {
		if strings.Contains(strings.ToLower(c.FullName), q) || strings.Contains(strings.ToLower(c.Code), q) {
			all = append(all, c)
		}
	}
	if offset >= len(all) {
		return nil, false, nil
	}
	all = all[offset:]
	if len(all) > limit {
		return all[:limit], true, nil
	}
	return all, false, nil
}

// ContactExists implements gateway.Contacts.
func (s *Store) ContactExists(ctx context.Context, code string) (bool, error) {
	if err := s.lock(); err != nil {
		return false, err
	}
	defer s.mu.Unlock()
	for _, c := range s.contacts {
		if c.Code == code {
			return true, nil
		}
	}
	return false, nil
}

// WriteCallLog implements gateway.CallLog.
func (s *Store) WriteCallLog(ctx context.Context, entries []gateway.LogEntry) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if refused(entries, s.RefuseLog) {
		return DataError{}
	}
	s.log = append(s.log, entries...)
	return nil
}

// RecentCalls implements gateway.CallLog: each call as last logged,
// newest first.
func (s *Store) RecentCalls(ctx context.Context, username string, limit int) ([]gateway.Call, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []gateway.Call
	seen := map[string]bool{}
	for i := len(s.log) - 1; i >= 0 && len(out) < limit; i-- {
		e := s.log[i]
		if e.Username == username && !seen[e.Call.ID] {
			seen[e.Call.ID] = true
			out = append(out, e.Call)
		}
	}
	return out, nil
}

// LoggedCall implements gateway.CallLog.
func (s *Store) LoggedCall(ctx context.Context, pbxCallID, device string) (gateway.Call, error) {
	if s.BeforeLoggedCall != nil {
		s.BeforeLoggedCall(pbxCallID)
	}
	if err := s.lock(); err != nil {
		return gateway.Call{}, err
	}
	defer s.mu.Unlock()
	for i := len(s.log) - 1; i >= 0; i-- {
		if c := s.log[i].Call; c.ID == pbxCallID && c.Device == device {
			return c, nil
		}
	}
	return gateway.Call{}, gateway.ErrNotFound
}

// Audit implements gateway.AuditLog.
func (s *Store) Audit(ctx context.Context, entries []gateway.AuditEntry) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if refused(entries, s.RefuseAudit) {
		return DataError{}
	}
	s.audit = append(s.audit, entries...)
	return nil
}

var (
	_ gateway.Switch    = (*Switch)(nil)
	_ gateway.Directory = (*Directory)(nil)
	_ gateway.Store     = (*Store)(nil)
)
