package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"crmcti/gateway"
)

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

// UsernamesByExtension lists the agents whose extension an admin set to
// ext.
func (db *DB) UsernamesByExtension(ctx context.Context, ext string) ([]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT username FROM agents WHERE extension_override = $1 ORDER BY username`, ext)
	if err != nil {
		return nil, fmt.Errorf("postgres: usernames by extension: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("postgres: usernames by extension: %w", err)
	}
	return names, nil
}
