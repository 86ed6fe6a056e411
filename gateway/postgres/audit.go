package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"crmcti/gateway"
)

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
