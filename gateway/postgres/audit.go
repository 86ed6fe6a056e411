package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"crmcti/gateway"
)

// Audit writes audit entries. What a stranger typed is written escaped
// when PostgreSQL would refuse it (see gateway.CleanText): an audit record
// of "x\x00" is evidence, and must not fail the batch. An entry the
// table already has, field for field, is not written again: a gateway
// replaying its write-ahead log after a kill must not double the trail.
func (db *DB) Audit(ctx context.Context, entries []gateway.AuditEntry) error {
	batch := &pgx.Batch{}
	cl := gateway.CleanText
	for _, e := range entries {
		batch.Queue(`INSERT INTO audit (at, username, client, action, allowed, detail)
			SELECT $1, $2, $3, $4, $5, $6 WHERE NOT EXISTS (
				SELECT 1 FROM audit WHERE at = $1 AND username = $2 AND client = $3 AND action = $4 AND allowed = $5 AND detail = $6)`,
			e.At, cl(e.Username), cl(e.Client), cl(e.Action), e.Allowed, cl(e.Detail))
	}
	if err := db.pool.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("postgres: audit: %w", err)
	}
	return nil
}
