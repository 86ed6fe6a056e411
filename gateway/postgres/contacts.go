package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"crmcti/gateway"
)

// UpsertContacts inserts or replaces contacts by code, with all their
// phones, in one transaction. Phones must be normalised by the caller.
func (db *DB) UpsertContacts(ctx context.Context, cs []gateway.Contact) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		batch := &pgx.Batch{}
		for _, c := range cs {
			fields, err := json.Marshal(orEmpty(c.Fields))
			if err != nil {
				return err
			}
			batch.Queue(`INSERT INTO contacts (code, full_name, type, fields, updated) VALUES ($1, $2, $3, $4, now())
				ON CONFLICT (code) DO UPDATE SET full_name = $2, type = $3, fields = $4, updated = now()`,
				c.Code, c.FullName, c.Type, fields)
			batch.Queue(`DELETE FROM contact_phones WHERE contact_code = $1`, c.Code)
			for _, p := range c.Phones {
				var e164 *string
				if p.E164 != "" {
					e164 = &p.E164
				}
				batch.Queue(`INSERT INTO contact_phones (contact_code, kind, raw, e164, national) VALUES ($1, $2, $3, $4, $5)
					ON CONFLICT DO NOTHING`, c.Code, p.Kind, p.Raw, e164, p.National)
			}
		}
		return tx.SendBatch(ctx, batch).Close()
	})
	if err != nil {
		return fmt.Errorf("postgres: upsert contacts: %w", err)
	}
	return nil
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// CopyContacts bulk-loads n generated contacts and their phones with
// COPY, for the load benchmark's directory of a million customers. It
// does not replace existing rows: load into an empty directory. contact
// is called twice per index and must return the same contact both times.
func (db *DB) CopyContacts(ctx context.Context, n int, contact func(i int) gateway.Contact) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: copy contacts: %w", err)
	}
	defer conn.Release()
	i := 0
	_, err = conn.Conn().CopyFrom(ctx, pgx.Identifier{"contacts"}, []string{"code", "full_name", "type", "fields"},
		pgx.CopyFromFunc(func() ([]any, error) {
			if i >= n {
				return nil, nil
			}
			c := contact(i)
			i++
			fields, _ := json.Marshal(orEmpty(c.Fields))
			return []any{c.Code, c.FullName, c.Type, string(fields)}, nil
		}))
	if err != nil {
		return fmt.Errorf("postgres: copy contacts: %w", err)
	}
	i = 0
	var pending []gateway.Phone
	var code string
	_, err = conn.Conn().CopyFrom(ctx, pgx.Identifier{"contact_phones"}, []string{"contact_code", "kind", "raw", "e164", "national"},
		pgx.CopyFromFunc(func() ([]any, error) {
			for len(pending) == 0 {
				if i >= n {
					return nil, nil
				}
				c := contact(i)
				i++
				code, pending = c.Code, c.Phones
			}
			p := pending[0]
			pending = pending[1:]
			var e164 any
			if p.E164 != "" {
				e164 = p.E164
			}
			return []any{code, p.Kind, p.Raw, e164, p.National}, nil
		}))
	if err != nil {
		return fmt.Errorf("postgres: copy contact phones: %w", err)
	}
	if _, err := conn.Exec(ctx, `ANALYZE contacts; ANALYZE contact_phones`); err != nil {
		return fmt.Errorf("postgres: analyze: %w", err)
	}
	return nil
}
