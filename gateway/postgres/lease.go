package postgres

import (
	"context"
	"fmt"
	"time"

	"crmcti/gateway"
)

// The lease of the active gateway (schema 004_gateway_lease.sql). Every
// time is the database's now(): the gateways' clocks never decide who
// holds it. Each statement is one round trip and commits on its own, so a
// renewal that times out leaves nothing half-done.

// AcquireLease implements gateway.Leases: the lease is taken when it is
// free — never held, released, or expired by the database's clock — with
// the next epoch. Two standbys racing both try the UPDATE; the row lock
// makes the second re-check the expiry, which the first has moved.
func (db *DB) AcquireLease(ctx context.Context, node string, d time.Duration) (gateway.Lease, error) {
	var l gateway.Lease
	err := db.pool.QueryRow(ctx, `WITH taken AS (
			UPDATE gateway_lease SET node = $1, epoch = epoch + 1, expires = now() + $2 * interval '1 millisecond', renewed = now()
			WHERE id = 1 AND expires <= now()
			RETURNING node, epoch, true AS held)
		SELECT node, epoch, held FROM taken
		UNION ALL
		SELECT node, epoch, false FROM gateway_lease WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM taken)`,
		node, d.Milliseconds()).Scan(&l.Node, &l.Epoch, &l.Held)
	if err != nil {
		return l, fmt.Errorf("postgres: acquire lease: %w", err)
	}
	return l, nil
}

// RenewLease implements gateway.Leases: it extends the lease only while
// node still holds epoch and the lease has not expired; once it has, the
// holder must acquire it again (a new epoch), as any standby would.
func (db *DB) RenewLease(ctx context.Context, node string, epoch int64, d time.Duration) (bool, error) {
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
func (db *DB) ReleaseLease(ctx context.Context, node string, epoch int64) error {
	if _, err := db.pool.Exec(ctx, `UPDATE gateway_lease SET expires = '-infinity' WHERE id = 1 AND node = $1 AND epoch = $2`, node, epoch); err != nil {
		return fmt.Errorf("postgres: release lease: %w", err)
	}
	return nil
}

// LiveSessions implements gateway.LiveSessions: every agent with a session
// neither revoked nor expired, with the extension of its latest session.
func (db *DB) LiveSessions(ctx context.Context) ([]gateway.LiveSession, error) {
	rows, err := db.pool.Query(ctx, `SELECT DISTINCT ON (username) username, display_name, extension, expires
		FROM sessions WHERE NOT revoked AND expires > now() ORDER BY username, expires DESC`)
	if err != nil {
		return nil, fmt.Errorf("postgres: live sessions: %w", err)
	}
	defer rows.Close()
	var out []gateway.LiveSession
	for rows.Next() {
		var s gateway.LiveSession
		if err := rows.Scan(&s.Agent.Username, &s.Agent.DisplayName, &s.Agent.Extension, &s.Expires); err != nil {
			return nil, fmt.Errorf("postgres: live sessions: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: live sessions: %w", err)
	}
	return out, nil
}
