package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"crmcti/gateway"
)

// CreateSession records a new session for agent under the token's hash.
// The agent's row and the session are written by one statement (one round
// trip, atomic as the transaction of two it replaces): a login storm of
// ten thousand agents waits on the database that much less.
func (db *DB) CreateSession(ctx context.Context, hash []byte, a gateway.Agent, expires time.Time) error {
	_, err := db.pool.Exec(ctx, `WITH agent AS (
			INSERT INTO agents (username, display_name, last_login) VALUES ($2, $3, now())
			ON CONFLICT (username) DO UPDATE SET display_name = $3, last_login = now()
			RETURNING username)
		INSERT INTO sessions (token_hash, username, display_name, extension, expires)
		SELECT $1, username, $3, $4, $5 FROM agent`,
		hash, a.Username, a.DisplayName, a.Extension, expires)
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

// DeleteStaleSessions removes sessions expired or revoked before cutoff.
func (db *DB) DeleteStaleSessions(ctx context.Context, cutoff time.Time) (int64, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM sessions WHERE expires < $1 OR (revoked AND created < $1)`, cutoff)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete stale sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}
