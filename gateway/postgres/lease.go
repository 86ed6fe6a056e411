package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"crmcti/gateway"
)

// Leases is the lease of the active gateway (schema
// 005_gateway_lease.sql) on connections of its own: a renewal must never
// wait behind the agents' queries for a connection of the main pool (a
// thousand agents resuming at once fill it), or the active gateway would
// fence itself under load. Every time is the database's now(): the
// gateways' clocks never decide who holds the lease. Each statement is
// one round trip and commits on its own, so a renewal that times out
// leaves nothing half-done.
type Leases struct{ pool *pgxpool.Pool }

// OpenLeases connects (lazily) with at most two connections.
func OpenLeases(ctx context.Context, url string) (*Leases, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse url: %w", err)
	}
	cfg.MaxConns = 2
	cfg.ConnConfig.ConnectTimeout = 2 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open leases: %w", err)
	}
	return &Leases{pool: pool}, nil
}

// Close closes the connections. Safe to call twice.
func (db *Leases) Close() { db.pool.Close() }

// AcquireLease implements gateway.Leases: the lease is taken when it is
// free — never held, released, or expired by the database's clock — with
// the next epoch. Two standbys racing both try the UPDATE; the row lock
// makes the second re-check the expiry, which the first has moved.
func (db *Leases) AcquireLease(ctx context.Context, node string, d time.Duration) (gateway.Lease, error) {
	var (
		l      gateway.Lease
		silent float64
	)
	err := db.pool.QueryRow(ctx, `WITH taken AS (
			UPDATE gateway_lease SET node = $1, epoch = epoch + 1, expires = now() + $2 * interval '1 millisecond', renewed = now()
			WHERE id = 1 AND expires <= now()
			RETURNING node, epoch, true AS held, 0::float8 AS silent)
		SELECT node, epoch, held, silent FROM taken
		UNION ALL
		SELECT node, epoch, false, least(3600, greatest(0, extract(epoch FROM now() - renewed)))::float8 FROM gateway_lease
		WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM taken)`,
		node, d.Milliseconds()).Scan(&l.Node, &l.Epoch, &l.Held, &silent)
	if err != nil {
		return l, fmt.Errorf("postgres: acquire lease: %w", err)
	}
	l.Silent = time.Duration(silent * float64(time.Second))
	return l, nil
}

// RenewLease implements gateway.Leases: it extends the lease only while
// node still holds epoch and the lease has not expired; once it has, the
// holder must acquire it again (a new epoch), as any standby would.
func (db *Leases) RenewLease(ctx context.Context, node string, epoch int64, d time.Duration) (bool, error) {
	tag, err := db.pool.Exec(ctx, `UPDATE gateway_lease SET expires = now() + $3 * interval '1 millisecond', renewed = now()
		WHERE id = 1 AND node = $1 AND epoch = $2 AND expires > now()`, node, epoch, d.Milliseconds())
	if err != nil {
		return false, fmt.Errorf("postgres: renew lease: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// ReleaseLease implements gateway.Leases: the lease expires at once, so
// that a standby takes over without waiting for the lease to run out.
// The caller has stopped using the switch before it releases.
func (db *Leases) ReleaseLease(ctx context.Context, node string, epoch int64) error {
	if _, err := db.pool.Exec(ctx, `UPDATE gateway_lease SET expires = '-infinity' WHERE id = 1 AND node = $1 AND epoch = $2`, node, epoch); err != nil {
		return fmt.Errorf("postgres: release lease: %w", err)
	}
	return nil
}

// LiveSessions implements gateway.Takeover: every agent with a session
// neither revoked nor expired, with the extension of its latest session
// and the tokens of its sessions on that extension.
func (db *DB) LiveSessions(ctx context.Context) ([]gateway.LiveSession, error) {
	rows, err := db.pool.Query(ctx, `SELECT username, display_name, extension, expires, token_hash
		FROM sessions WHERE NOT revoked AND expires > now() ORDER BY username, expires DESC`)
	if err != nil {
		return nil, fmt.Errorf("postgres: live sessions: %w", err)
	}
	defer rows.Close()
	var out []gateway.LiveSession
	for rows.Next() {
		var (
			a    gateway.Agent
			tok  gateway.SessionToken
			last = len(out) - 1
		)
		if err := rows.Scan(&a.Username, &a.DisplayName, &a.Extension, &tok.Expires, &tok.Hash); err != nil {
			return nil, fmt.Errorf("postgres: live sessions: %w", err)
		}
		if last < 0 || out[last].Agent.Username != a.Username {
			out = append(out, gateway.LiveSession{Agent: a, Expires: tok.Expires})
			last++
		}
		if out[last].Agent == a {
			out[last].Tokens = append(out[last].Tokens, tok)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: live sessions: %w", err)
	}
	return out, nil
}

// OpenCalls implements gateway.Takeover.
func (db *DB) OpenCalls(ctx context.Context, devices []string) ([]gateway.Call, error) {
	rows, err := db.pool.Query(ctx, `SELECT pbx_call_id, device, coalesce(username, ''), direction, remote, coalesce(contact_code, ''),
		started, answered, ended, coalesce(outcome, ''), timeline, coalesce(note, ''), coalesce(disposition, '') FROM calls
		WHERE device = ANY($1) AND ended IS NULL AND started > now() - interval '1 day'`, devices)
	if err != nil {
		return nil, fmt.Errorf("postgres: open calls: %w", err)
	}
	rs, err := scanCalls(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: open calls: %w", err)
	}
	out := make([]gateway.Call, len(rs))
	for i, r := range rs {
		out[i] = r.Call
	}
	return out, nil
}
