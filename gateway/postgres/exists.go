package postgres

import (
	"context"
	"fmt"
)

// ContactExists reports whether a contact has the code.
func (db *DB) ContactExists(ctx context.Context, code string) (bool, error) {
	var ok bool
	if err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM contacts WHERE code = $1)`, code).Scan(&ok); err != nil {
		return false, fmt.Errorf("postgres: contact exists: %w", err)
	}
	return ok, nil
}
