package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"crmcti/gateway"
)

// TimelineStep is one step of a logged call.
type TimelineStep struct {
	At     time.Time         `json:"at"`
	Event  gateway.CallEvent `json:"event"`
	Detail string            `json:"detail,omitempty"`
}

// WriteCallLog applies call-log entries in one transaction: each upserts
// its call's row and appends its step to the timeline. It is idempotent:
// a step the timeline already has (the same time to the nanosecond, event
// and detail) is not appended again, so that the steps a gateway replays
// from its write-ahead log after a kill, some of which the database had
// already taken, do not double. Text that
// PostgreSQL would refuse (a NUL, bad UTF-8) is written escaped (see
// gateway.CleanText): one bad string must not fail the batch and wedge
// the writer that retries it.
func (db *DB) WriteCallLog(ctx context.Context, entries []gateway.LogEntry) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		batch := &pgx.Batch{}
		for _, e := range entries {
			queueLogEntry(batch, cleanLogEntry(e))
		}
		return tx.SendBatch(ctx, batch).Close()
	})
	if err != nil {
		return fmt.Errorf("postgres: write call log: %w", err)
	}
	return nil
}

func cleanLogEntry(e gateway.LogEntry) gateway.LogEntry {
	cl := gateway.CleanText
	e.Username, e.Detail, e.Event = cl(e.Username), cl(e.Detail), gateway.CallEvent(cl(string(e.Event)))
	c := &e.Call
	c.ID, c.Device, c.Remote, c.Contact, c.Cause = cl(c.ID), cl(c.Device), cl(c.Remote), cl(c.Contact), cl(c.Cause)
	c.Direction, c.State = gateway.Direction(cl(string(c.Direction))), gateway.CallState(cl(string(c.State)))
	c.Note, c.Disposition = gateway.CleanNote(c.Note), gateway.Disposition(cl(string(c.Disposition)))
	return e
}

func queueLogEntry(batch *pgx.Batch, e gateway.LogEntry) {
	step, _ := json.Marshal([]TimelineStep{{At: e.At, Event: e.Event, Detail: e.Detail}})
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
	// Only a "noted" step sets the note and the disposition: the steps
	// before and after it carry the call as the switch sees it.
	var note, disposition *string
	if e.Event == gateway.EvNoted {
		note, disposition = &c.Note, (*string)(&c.Disposition)
	}
	batch.Queue(`INSERT INTO calls (pbx_call_id, device, username, direction, remote, contact_code, started, answered, ended, outcome, timeline, note, disposition)
		VALUES ($1, $2, nullif($3, ''), $4, $5, $6, $7, $8, $9, nullif($10, ''), $11, $12, nullif($13, ''))
		ON CONFLICT (pbx_call_id, device) DO UPDATE SET
			username = coalesce(calls.username, EXCLUDED.username),
			remote = CASE WHEN EXCLUDED.remote <> '' THEN EXCLUDED.remote ELSE calls.remote END,
			contact_code = coalesce(EXCLUDED.contact_code, calls.contact_code),
			answered = coalesce(calls.answered, EXCLUDED.answered),
			ended = coalesce(EXCLUDED.ended, calls.ended),
			outcome = coalesce(EXCLUDED.outcome, calls.outcome),
			timeline = CASE WHEN calls.timeline @> EXCLUDED.timeline THEN calls.timeline ELSE calls.timeline || EXCLUDED.timeline END,
			note = CASE WHEN $12::text IS NULL THEN calls.note ELSE EXCLUDED.note END,
			disposition = CASE WHEN $12::text IS NULL THEN calls.disposition ELSE EXCLUDED.disposition END`,
		c.ID, c.Device, e.Username, string(c.Direction), c.Remote, contact, c.Started, nullTime(c.Answered), nullTime(c.Ended), outcome, step, note, disposition)
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

// RecentCalls lists an agent's latest calls, newest first.
func (db *DB) RecentCalls(ctx context.Context, username string, limit int) ([]gateway.Call, error) {
	rows, err := db.pool.Query(ctx, `SELECT pbx_call_id, device, coalesce(username, ''), direction, remote, coalesce(contact_code, ''),
		started, answered, ended, coalesce(outcome, ''), timeline, coalesce(note, ''), coalesce(disposition, '') FROM calls WHERE username = $1 ORDER BY started DESC LIMIT $2`, username, limit)
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
		started, answered, ended, coalesce(outcome, ''), timeline, coalesce(note, ''), coalesce(disposition, '') FROM calls WHERE pbx_call_id = $1 ORDER BY device`, pbxCallID)
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
		var dir, outcome, disposition string
		var answered, ended *time.Time
		var tl []byte
		if err := rows.Scan(&r.ID, &r.Device, &r.Username, &dir, &r.Remote, &r.Contact, &r.Started, &answered, &ended, &outcome, &tl, &r.Note, &disposition); err != nil {
			return nil, fmt.Errorf("postgres: scan call: %w", err)
		}
		r.Direction, r.Disposition = gateway.Direction(dir), gateway.Disposition(disposition)
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

// LoggedCall reads what the call log knows of a call at a device: after
// a gateway restart or a PBX outage the switch's snapshot names the call
// but not who is on the other end.
func (db *DB) LoggedCall(ctx context.Context, pbxCallID, device string) (gateway.Call, error) {
	rows, err := db.pool.Query(ctx, `SELECT pbx_call_id, device, coalesce(username, ''), direction, remote, coalesce(contact_code, ''),
		started, answered, ended, coalesce(outcome, ''), timeline, coalesce(note, ''), coalesce(disposition, '') FROM calls WHERE pbx_call_id = $1 AND device = $2`, pbxCallID, device)
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
