// Package postgres is the gateway's PostgreSQL adapter: migrations,
// sessions, agents' overrides, the customer directory and its number
// lookup, the call log, the audit log and the single-instance lock.
package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"crmcti/gateway"
	"crmcti/schema"
)

// DB is the gateway's database.
type DB struct {
	pool *pgxpool.Pool
}

// Open connects (lazily: the database may come up later) and checks the
// URL.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse url: %w", err)
	}
	cfg.MaxConns = 20
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	return &DB{pool: pool}, nil
}

// Close closes the pool. Safe to call twice.
func (db *DB) Close() { db.pool.Close() }

// Ping checks the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// migrationLock serialises migrations of concurrent gateways.
const migrationLock = 0x63746901 // "cti" 1

// instanceLock is held by the running gateway (see LockInstance).
const instanceLock = 0x63746902

// Migrate applies the migrations not applied yet, each in a transaction,
// under an advisory lock. Running it again changes nothing.
func (db *DB) Migrate(ctx context.Context) (applied []string, err error) {
	ms, err := schema.Migrations()
	if err != nil {
		return nil, err
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return nil, fmt.Errorf("postgres: migrate: lock: %w", err)
	}
	defer conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, migrationLock)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version int PRIMARY KEY, name text NOT NULL, applied timestamptz NOT NULL DEFAULT now())`); err != nil {
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	for _, m := range ms {
		var done bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, m.Version).Scan(&done); err != nil {
			return applied, fmt.Errorf("postgres: migrate: %w", err)
		}
		if done {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name)
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("postgres: migrate %s: %w", m.Name, err)
		}
		applied = append(applied, m.Name)
	}
	return applied, nil
}

// ErrInstanceRunning means another gateway holds the instance lock.
var ErrInstanceRunning = errors.New("postgres: another gateway instance is running against this database")

// LockInstance takes the single-instance lock on a connection of its own
// and holds it until release is called or the connection dies. Two
// gateways on one database and PBX would both monitor every device and
// log every call twice; until scale-out (B12) lands, the second refuses
// to start.
func (db *DB) LockInstance(ctx context.Context) (release func(), err error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: instance lock: %w", err)
	}
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, instanceLock).Scan(&ok); err != nil {
		conn.Release()
		return nil, fmt.Errorf("postgres: instance lock: %w", err)
	}
	if !ok {
		conn.Release()
		return nil, ErrInstanceRunning
	}
	// The session-level lock lives as long as this connection: keep it
	// out of the pool until release.
	raw := conn.Hijack()
	return func() {
		// Unlock before hanging up: the server frees a dead session's locks
		// only when its backend has exited, and a restarted gateway should
		// not have to wait for that.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = raw.Exec(ctx, `SELECT pg_advisory_unlock($1)`, instanceLock)
		raw.Close(ctx)
	}, nil
}

// AgentOverride reads the admin's overrides for username (zero if none).
func (db *DB) AgentOverride(ctx context.Context, username string) (gateway.AgentOverride, error) {
	var o gateway.AgentOverride
	var ext *string
	err := db.pool.QueryRow(ctx, `SELECT extension_override, disabled FROM agents WHERE username = $1`, username).Scan(&ext, &o.Disabled)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, nil
	}
	if err != nil {
		return o, fmt.Errorf("postgres: agent override: %w", err)
	}
	if ext != nil {
		o.Extension = *ext
	}
	return o, nil
}

// SetAgentOverride sets an admin's overrides (used by tests and admin tools).
func (db *DB) SetAgentOverride(ctx context.Context, username string, o gateway.AgentOverride) error {
	var ext *string
	if o.Extension != "" {
		ext = &o.Extension
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO agents (username, extension_override, disabled) VALUES ($1, $2, $3)
		ON CONFLICT (username) DO UPDATE SET extension_override = $2, disabled = $3`, username, ext, o.Disabled)
	if err != nil {
		return fmt.Errorf("postgres: set agent override: %w", err)
	}
	return nil
}

// CreateSession records a new session for agent under the token's hash.
func (db *DB) CreateSession(ctx context.Context, hash []byte, a gateway.Agent, expires time.Time) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO agents (username, display_name, last_login) VALUES ($1, $2, now())
			ON CONFLICT (username) DO UPDATE SET display_name = $2, last_login = now()`, a.Username, a.DisplayName); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO sessions (token_hash, username, display_name, extension, expires) VALUES ($1, $2, $3, $4, $5)`,
			hash, a.Username, a.DisplayName, a.Extension, expires)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: create session: %w", err)
	}
	return nil
}

// ErrNoSession means no live session has that token; it is
// gateway.ErrNotFound.
var ErrNoSession = fmt.Errorf("postgres: no such session: %w", gateway.ErrNotFound)

// Session finds a live session by token hash.
func (db *DB) Session(ctx context.Context, hash []byte) (gateway.Agent, time.Time, error) {
	var a gateway.Agent
	var expires time.Time
	var revoked bool
	err := db.pool.QueryRow(ctx, `SELECT username, display_name, extension, expires, revoked FROM sessions WHERE token_hash = $1`, hash).
		Scan(&a.Username, &a.DisplayName, &a.Extension, &expires, &revoked)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && (revoked || time.Now().After(expires))) {
		return a, expires, ErrNoSession
	}
	if err != nil {
		return a, expires, fmt.Errorf("postgres: session: %w", err)
	}
	return a, expires, nil
}

// RevokeSession ends a session (logout).
func (db *DB) RevokeSession(ctx context.Context, hash []byte) error {
	if _, err := db.pool.Exec(ctx, `UPDATE sessions SET revoked = true WHERE token_hash = $1`, hash); err != nil {
		return fmt.Errorf("postgres: revoke session: %w", err)
	}
	return nil
}

// RevokeAgentSessions ends every session of username (admin action).
func (db *DB) RevokeAgentSessions(ctx context.Context, username string) error {
	if _, err := db.pool.Exec(ctx, `UPDATE sessions SET revoked = true WHERE username = $1`, username); err != nil {
		return fmt.Errorf("postgres: revoke sessions: %w", err)
	}
	return nil
}

// DeleteStaleSessions removes sessions expired or revoked before cutoff.
func (db *DB) DeleteStaleSessions(ctx context.Context, cutoff time.Time) (int64, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM sessions WHERE expires < $1 OR (revoked AND created < $1)`, cutoff)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete stale sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}

// UpsertContacts inserts or replaces contacts by code, with all their
// phones, in one transaction. Phones must be normalised by the caller.
func (db *DB) UpsertContacts(ctx context.Context, cs []gateway.Contact) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		batch := &pgx.Batch{}
		for _, c := range cs {
			fields, err := json.Marshal(orEmpty(c.Fields))
			if err != nil {
				return err
			}
			batch.Queue(`INSERT INTO contacts (code, full_name, type, fields, updated) VALUES ($1, $2, $3, $4, now())
				ON CONFLICT (code) DO UPDATE SET full_name = $2, type = $3, fields = $4, updated = now()`,
				c.Code, c.FullName, c.Type, fields)
			batch.Queue(`DELETE FROM contact_phones WHERE contact_code = $1`, c.Code)
			for _, p := range c.Phones {
				var e164 *string
				if p.E164 != "" {
					e164 = &p.E164
				}
				batch.Queue(`INSERT INTO contact_phones (contact_code, kind, raw, e164, national) VALUES ($1, $2, $3, $4, $5)
					ON CONFLICT DO NOTHING`, c.Code, p.Kind, p.Raw, e164, nationalOf(p))
			}
		}
		return tx.SendBatch(ctx, batch).Close()
	})
	if err != nil {
		return fmt.Errorf("postgres: upsert contacts: %w", err)
	}
	return nil
}

func nationalOf(p gateway.Phone) string { return p.National }

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// LookupNumber finds every contact with a phone whose E.164 form is e164
// or, failing that, whose national significant digits are national. E.164
// matches come first.
func (db *DB) LookupNumber(ctx context.Context, e164, national string) ([]gateway.Match, error) {
	if e164 == "" && national == "" {
		return nil, nil
	}
	rows, err := db.pool.Query(ctx, `
		SELECT c.code, c.full_name, c.type, c.fields, p.kind, p.raw, coalesce(p.e164, ''), (p.e164 = $1) AS exact
		FROM contact_phones p JOIN contacts c ON c.code = p.contact_code
		WHERE ($1 <> '' AND p.e164 = $1) OR ($2 <> '' AND p.national = $2)
		ORDER BY exact DESC NULLS LAST, c.full_name, c.code
		LIMIT 50`, e164, national)
	if err != nil {
		return nil, fmt.Errorf("postgres: lookup number: %w", err)
	}
	defer rows.Close()
	var out []gateway.Match
	seen := map[string]bool{}
	for rows.Next() {
		var m gateway.Match
		var fields []byte
		var p gateway.Phone
		var exact *bool
		if err := rows.Scan(&m.Contact.Code, &m.Contact.FullName, &m.Contact.Type, &fields, &p.Kind, &p.Raw, &p.E164, &exact); err != nil {
			return nil, fmt.Errorf("postgres: lookup number: %w", err)
		}
		if seen[m.Contact.Code] {
			continue // one entry per contact, its best-matching number
		}
		seen[m.Contact.Code] = true
		_ = json.Unmarshal(fields, &m.Contact.Fields)
		m.Number, m.Kind = p.E164, p.Kind
		if m.Number == "" {
			m.Number = p.Raw
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: lookup number: %w", err)
	}
	return out, nil
}

// SearchContacts finds contacts by code, by name (case-insensitive
// substring) or by part of a number (digits), a page at a time.
func (db *DB) SearchContacts(ctx context.Context, query string, offset, limit int) ([]gateway.Contact, bool, error) {
	q := strings.TrimSpace(query)
	if q == "" {
		return nil, false, nil
	}
	digits := onlyDigits(q)
	like := "%" + escapeLike(strings.ToLower(q)) + "%"
	digitLike, e164 := "", ""
	if len(digits) >= 3 {
		digitLike = "%" + digits + "%"
	}
	if len(digits) >= 8 {
		e164 = "+" + strings.TrimLeft(digits, "0") // a number typed with its country code
	}
	// Each branch can use an index (code: primary key; name and national
	// digits: trigram, see 002_search_trgm.sql; E.164: equality).
	rows, err := db.pool.Query(ctx, `
		WITH hits AS (
			SELECT code FROM contacts WHERE code = $1
			UNION SELECT code FROM contacts WHERE lower(full_name) LIKE $2
			UNION SELECT contact_code FROM contact_phones WHERE $3 <> '' AND national LIKE $3
			UNION SELECT contact_code FROM contact_phones WHERE $6 <> '' AND e164 = $6
		)
		SELECT c.code, c.full_name, c.type, c.fields FROM contacts c JOIN hits h ON h.code = c.code
		ORDER BY (c.code = $1) DESC, c.full_name, c.code
		OFFSET $4 LIMIT $5`, q, like, digitLike, offset, limit+1, e164)
	if err != nil {
		return nil, false, fmt.Errorf("postgres: search contacts: %w", err)
	}
	cs, err := scanContacts(rows)
	if err != nil {
		return nil, false, err
	}
	more := len(cs) > limit
	if more {
		cs = cs[:limit]
	}
	if err := db.attachPhones(ctx, cs); err != nil {
		return nil, false, err
	}
	return cs, more, nil
}

func scanContacts(rows pgx.Rows) ([]gateway.Contact, error) {
	defer rows.Close()
	var out []gateway.Contact
	for rows.Next() {
		var c gateway.Contact
		var fields []byte
		if err := rows.Scan(&c.Code, &c.FullName, &c.Type, &fields); err != nil {
			return nil, fmt.Errorf("postgres: scan contact: %w", err)
		}
		_ = json.Unmarshal(fields, &c.Fields)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: scan contact: %w", err)
	}
	return out, nil
}

func (db *DB) attachPhones(ctx context.Context, cs []gateway.Contact) error {
	if len(cs) == 0 {
		return nil
	}
	codes := make([]string, len(cs))
	idx := map[string]int{}
	for i, c := range cs {
		codes[i] = c.Code
		idx[c.Code] = i
	}
	rows, err := db.pool.Query(ctx, `SELECT contact_code, kind, raw, coalesce(e164, '') FROM contact_phones
		WHERE contact_code = ANY($1) ORDER BY contact_code, kind, raw`, codes)
	if err != nil {
		return fmt.Errorf("postgres: contact phones: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var code string
		var p gateway.Phone
		if err := rows.Scan(&code, &p.Kind, &p.Raw, &p.E164); err != nil {
			return fmt.Errorf("postgres: contact phones: %w", err)
		}
		cs[idx[code]].Phones = append(cs[idx[code]].Phones, p)
	}
	return rows.Err()
}

// Contact reads one contact with its phones.
func (db *DB) Contact(ctx context.Context, code string) (gateway.Contact, error) {
	rows, err := db.pool.Query(ctx, `SELECT code, full_name, type, fields FROM contacts WHERE code = $1`, code)
	if err != nil {
		return gateway.Contact{}, fmt.Errorf("postgres: contact: %w", err)
	}
	cs, err := scanContacts(rows)
	if err != nil {
		return gateway.Contact{}, err
	}
	if len(cs) == 0 {
		return gateway.Contact{}, ErrNoContact
	}
	if err := db.attachPhones(ctx, cs); err != nil {
		return gateway.Contact{}, err
	}
	return cs[0], nil
}

// ErrNoContact means no contact has that code; it is gateway.ErrNotFound.
var ErrNoContact = fmt.Errorf("postgres: no such contact: %w", gateway.ErrNotFound)

type timelineStep struct {
	At     time.Time         `json:"at"`
	Event  gateway.CallEvent `json:"event"`
	Detail string            `json:"detail,omitempty"`
}

// WriteCallLog applies call-log entries in one transaction: each upserts
// its call's row and appends its step to the timeline.
func (db *DB) WriteCallLog(ctx context.Context, entries []gateway.LogEntry) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		batch := &pgx.Batch{}
		for _, e := range entries {
			step, _ := json.Marshal([]timelineStep{{At: e.At, Event: e.Event, Detail: e.Detail}})
			c := e.Call
			var contact *string
			if c.Contact != "" {
				contact = &c.Contact
			}
			outcome := ""
			if !c.State.Live() {
				outcome = string(c.State)
				if c.Cause != "" {
					outcome += ":" + c.Cause
				}
			}
			batch.Queue(`INSERT INTO calls (pbx_call_id, device, username, direction, remote, contact_code, started, answered, ended, outcome, timeline)
				VALUES ($1, $2, nullif($3, ''), $4, $5, $6, $7, $8, $9, nullif($10, ''), $11)
				ON CONFLICT (pbx_call_id, device) DO UPDATE SET
					username = coalesce(calls.username, EXCLUDED.username),
					remote = CASE WHEN EXCLUDED.remote <> '' THEN EXCLUDED.remote ELSE calls.remote END,
					contact_code = coalesce(EXCLUDED.contact_code, calls.contact_code),
					answered = coalesce(calls.answered, EXCLUDED.answered),
					ended = coalesce(EXCLUDED.ended, calls.ended),
					outcome = coalesce(EXCLUDED.outcome, calls.outcome),
					timeline = calls.timeline || EXCLUDED.timeline`,
				c.ID, c.Device, e.Username, string(c.Direction), c.Remote, contact, c.Started, nullTime(c.Answered), nullTime(c.Ended), outcome, step)
		}
		return tx.SendBatch(ctx, batch).Close()
	})
	if err != nil {
		return fmt.Errorf("postgres: write call log: %w", err)
	}
	return nil
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// CallLogRow is a call as the log holds it.
type CallLogRow struct {
	gateway.Call
	Username string
	Timeline []TimelineStep
}

// TimelineStep is one step of a logged call.
type TimelineStep = timelineStep

// RecentCalls lists an agent's latest calls, newest first.
func (db *DB) RecentCalls(ctx context.Context, username string, limit int) ([]gateway.Call, error) {
	rows, err := db.pool.Query(ctx, `SELECT pbx_call_id, device, coalesce(username, ''), direction, remote, coalesce(contact_code, ''),
		started, answered, ended, coalesce(outcome, ''), timeline FROM calls WHERE username = $1 ORDER BY started DESC LIMIT $2`, username, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: recent calls: %w", err)
	}
	rs, err := scanCalls(rows)
	if err != nil {
		return nil, err
	}
	out := make([]gateway.Call, len(rs))
	for i, r := range rs {
		out[i] = r.Call
	}
	return out, nil
}

// CallLog reads one call's rows (one per agent device), for tests and tools.
func (db *DB) CallLog(ctx context.Context, pbxCallID string) ([]CallLogRow, error) {
	rows, err := db.pool.Query(ctx, `SELECT pbx_call_id, device, coalesce(username, ''), direction, remote, coalesce(contact_code, ''),
		started, answered, ended, coalesce(outcome, ''), timeline FROM calls WHERE pbx_call_id = $1 ORDER BY device`, pbxCallID)
	if err != nil {
		return nil, fmt.Errorf("postgres: call log: %w", err)
	}
	return scanCalls(rows)
}

func scanCalls(rows pgx.Rows) ([]CallLogRow, error) {
	defer rows.Close()
	var out []CallLogRow
	for rows.Next() {
		var r CallLogRow
		var dir, outcome string
		var answered, ended *time.Time
		var tl []byte
		if err := rows.Scan(&r.ID, &r.Device, &r.Username, &dir, &r.Remote, &r.Contact, &r.Started, &answered, &ended, &outcome, &tl); err != nil {
			return nil, fmt.Errorf("postgres: scan call: %w", err)
		}
		r.Direction = gateway.Direction(dir)
		if answered != nil {
			r.Answered = *answered
		}
		if ended != nil {
			r.Ended = *ended
		}
		state, cause, _ := strings.Cut(outcome, ":")
		r.State, r.Cause = gateway.CallState(state), cause
		if outcome == "" {
			r.State = gateway.CallConnected
		}
		_ = json.Unmarshal(tl, &r.Timeline)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: scan call: %w", err)
	}
	return out, nil
}

// Audit writes audit entries.
func (db *DB) Audit(ctx context.Context, entries []gateway.AuditEntry) error {
	batch := &pgx.Batch{}
	for _, e := range entries {
		batch.Queue(`INSERT INTO audit (at, username, client, action, allowed, detail) VALUES ($1, $2, $3, $4, $5, $6)`,
			e.At, e.Username, e.Client, e.Action, e.Allowed, e.Detail)
	}
	if err := db.pool.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("postgres: audit: %w", err)
	}
	return nil
}

func onlyDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// escapeLike makes user input literal inside a LIKE pattern.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// CopyContacts bulk-loads n generated contacts and their phones with
// COPY, for the load benchmark's directory of a million customers. It
// does not replace existing rows: load into an empty directory. contact
// is called twice per index and must return the same contact both times.
func (db *DB) CopyContacts(ctx context.Context, n int, contact func(i int) gateway.Contact) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: copy contacts: %w", err)
	}
	defer conn.Release()
	i := 0
	_, err = conn.Conn().CopyFrom(ctx, pgx.Identifier{"contacts"}, []string{"code", "full_name", "type", "fields"},
		pgx.CopyFromFunc(func() ([]any, error) {
			if i >= n {
				return nil, nil
			}
			c := contact(i)
			i++
			fields, _ := json.Marshal(orEmpty(c.Fields))
			return []any{c.Code, c.FullName, c.Type, string(fields)}, nil
		}))
	if err != nil {
		return fmt.Errorf("postgres: copy contacts: %w", err)
	}
	i = 0
	var pending []gateway.Phone
	var code string
	_, err = conn.Conn().CopyFrom(ctx, pgx.Identifier{"contact_phones"}, []string{"contact_code", "kind", "raw", "e164", "national"},
		pgx.CopyFromFunc(func() ([]any, error) {
			for len(pending) == 0 {
				if i >= n {
					return nil, nil
				}
				c := contact(i)
				i++
				code, pending = c.Code, c.Phones
			}
			p := pending[0]
			pending = pending[1:]
			var e164 any
			if p.E164 != "" {
				e164 = p.E164
			}
			return []any{code, p.Kind, p.Raw, e164, p.National}, nil
		}))
	if err != nil {
		return fmt.Errorf("postgres: copy contact phones: %w", err)
	}
	if _, err := conn.Exec(ctx, `ANALYZE contacts; ANALYZE contact_phones`); err != nil {
		return fmt.Errorf("postgres: analyze: %w", err)
	}
	return nil
}

// LoggedCall reads what the call log knows of a call at a device: after
// a gateway restart or a PBX outage the switch's snapshot names the call
// but not who is on the other end.
func (db *DB) LoggedCall(ctx context.Context, pbxCallID, device string) (gateway.Call, error) {
	rows, err := db.pool.Query(ctx, `SELECT pbx_call_id, device, coalesce(username, ''), direction, remote, coalesce(contact_code, ''),
		started, answered, ended, coalesce(outcome, ''), timeline FROM calls WHERE pbx_call_id = $1 AND device = $2`, pbxCallID, device)
	if err != nil {
		return gateway.Call{}, fmt.Errorf("postgres: logged call: %w", err)
	}
	rs, err := scanCalls(rows)
	if err != nil {
		return gateway.Call{}, err
	}
	if len(rs) == 0 {
		return gateway.Call{}, fmt.Errorf("postgres: logged call %s: %w", pbxCallID, gateway.ErrNotFound)
	}
	return rs[0].Call, nil
}
