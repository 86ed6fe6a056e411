package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"crmcti/gateway"
)

// ErrTokenName means a valid token already has that name.
var ErrTokenName = errors.New("postgres: a valid API token already has that name")

// CreateAPIToken stores a new API token by its hash.
func (db *DB) CreateAPIToken(ctx context.Context, name, scope string, hash []byte) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO api_tokens (name, token_hash, scope) VALUES ($1, $2, $3)`, name, hash, scope)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return ErrTokenName
	}
	if err != nil {
		return fmt.Errorf("postgres: create api token: %w", err)
	}
	return nil
}

// RevokeAPIToken ends the valid token named name; it fails with
// gateway.ErrNotFound when there is none.
func (db *DB) RevokeAPIToken(ctx context.Context, name string) error {
	tag, err := db.pool.Exec(ctx, `UPDATE api_tokens SET revoked = now() WHERE name = $1 AND revoked IS NULL`, name)
	if err != nil {
		return fmt.Errorf("postgres: revoke api token: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: revoke api token %q: %w", name, gateway.ErrNotFound)
	}
	return nil
}

// APITokens lists every token, valid ones first, newest first.
func (db *DB) APITokens(ctx context.Context) ([]gateway.APIToken, error) {
	rows, err := db.pool.Query(ctx, `SELECT name, scope, created, last_used, revoked FROM api_tokens
		ORDER BY revoked IS NOT NULL, created DESC, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("postgres: api tokens: %w", err)
	}
	defer rows.Close()
	var out []gateway.APIToken
	for rows.Next() {
		var t gateway.APIToken
		var used, revoked *time.Time
		if err := rows.Scan(&t.Name, &t.Scope, &t.Created, &used, &revoked); err != nil {
			return nil, fmt.Errorf("postgres: api tokens: %w", err)
		}
		if used != nil {
			t.LastUsed = *used
		}
		if revoked != nil {
			t.Revoked = *revoked
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: api tokens: %w", err)
	}
	return out, nil
}

// APIToken finds the valid token with that hash and records its use; it
// fails with gateway.ErrNotFound for an unknown or revoked token.
func (db *DB) APIToken(ctx context.Context, hash []byte) (gateway.APIToken, error) {
	var t gateway.APIToken
	err := db.pool.QueryRow(ctx, `UPDATE api_tokens SET last_used = now() WHERE token_hash = $1 AND revoked IS NULL
		RETURNING name, scope, created, last_used`, hash).Scan(&t.Name, &t.Scope, &t.Created, &t.LastUsed)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, fmt.Errorf("postgres: api token: %w", gateway.ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("postgres: api token: %w", err)
	}
	return t, nil
}
