// Package postgres is the gateway's PostgreSQL adapter: migrations
// (migrate.go), sessions (sessions.go), agents' overrides (agents.go), the
// customer directory (contacts.go, import.go) and its number lookup and
// search (lookup.go), the call log (calllog.go), the audit log (audit.go)
// and the single-instance lock (lock.go). One file per table or concern,
// so that a change to one touches one file.
package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
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
