package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/jackc/pgx/v5"

	"crmcti/gateway"
)

// importLock serialises directory imports and pushes: two at once would
// each compute what to remove from a directory the other is changing.
const importLock = 0x63746903

// ImportContacts applies a stream of contact changes to the directory in
// one transaction, so that lookups see the directory before or after, never
// half of it. next yields the changes and returns io.EOF after the last;
// any other error aborts the import and changes nothing.
//
// The rows are streamed with COPY into a temporary table (memory stays flat
// whatever the size), a code's second row is rejected, and the directory is
// changed by set operations: contacts whose name, type, fields or numbers
// differ are replaced, new ones added, and then either every contact absent
// from the rows (opts.Full) or the ones marked Delete are removed. A full
// import that would remove more than opts.MaxRemoveShare of the directory
// fails with gateway.ErrTooManyRemovals unless opts.Force.
func (db *DB) ImportContacts(ctx context.Context, next func() (gateway.ContactChange, error), opts gateway.ImportOptions) (gateway.ImportReport, error) {
	var rep gateway.ImportReport
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if err := stageImport(ctx, tx, next); err != nil {
			return err
		}
		dups, err := rejectDuplicates(ctx, tx, opts.OnReject)
		if err != nil {
			return err
		}
		rep, err = applyImport(ctx, tx, opts)
		rep.Rejected = dups
		return err
	})
	if err != nil {
		return gateway.ImportReport{}, fmt.Errorf("postgres: import contacts: %w", err)
	}
	return rep, nil
}

// stagedPhone is a number as staged and as compared with the stored ones:
// the keys and order must match phonesJSON below.
type stagedPhone struct {
	Kind     string `json:"kind"`
	Raw      string `json:"raw"`
	E164     string `json:"e164"`
	National string `json:"national"`
}

// phonesJSON is a stored contact's numbers in the staged form.
const phonesJSON = `(SELECT coalesce(jsonb_agg(jsonb_build_object('kind', p.kind, 'raw', p.raw, 'e164', coalesce(p.e164, ''),
	'national', p.national) ORDER BY p.kind COLLATE "C", p.raw COLLATE "C"), '[]'::jsonb)
	FROM contact_phones p WHERE p.contact_code = c.code)`

func stageImport(ctx context.Context, tx pgx.Tx, next func() (gateway.ContactChange, error)) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, importLock); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE import_rows (
		seq bigint NOT NULL, line int NOT NULL, code text NOT NULL, del boolean NOT NULL,
		full_name text NOT NULL, type text NOT NULL, fields jsonb NOT NULL, phones jsonb NOT NULL) ON COMMIT DROP`); err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	var seq int64
	var srcErr error // pgx keeps only the text of the source's error
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"import_rows"},
		[]string{"seq", "line", "code", "del", "full_name", "type", "fields", "phones"},
		pgx.CopyFromFunc(func() ([]any, error) {
			ch, err := next()
			if err != nil {
				if isEOF(err) {
					return nil, nil
				}
				srcErr = err
				return nil, err
			}
			seq++
			return stagedRow(seq, ch)
		}))
	if srcErr != nil {
		return fmt.Errorf("read rows: %w", srcErr)
	}
	if err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	_, err = tx.Exec(ctx, `CREATE INDEX ON import_rows (code); ANALYZE import_rows`)
	return err
}

func stagedRow(seq int64, ch gateway.ContactChange) ([]any, error) {
	c := ch.Contact
	fields, err := json.Marshal(orEmpty(c.Fields))
	if err != nil {
		return nil, err
	}
	phones := make([]stagedPhone, 0, len(c.Phones))
	for _, p := range c.Phones {
		phones = append(phones, stagedPhone{Kind: p.Kind, Raw: p.Raw, E164: p.E164, National: p.National})
	}
	// Sorted and unique as the table's key (contact, kind, raw) keeps them,
	// so that an unchanged contact compares equal.
	slices.SortStableFunc(phones, func(a, b stagedPhone) int { return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Raw, b.Raw)) })
	phones = slices.CompactFunc(phones, func(a, b stagedPhone) bool { return a.Kind == b.Kind && a.Raw == b.Raw })
	pj, err := json.Marshal(phones)
	if err != nil {
		return nil, err
	}
	return []any{seq, ch.Line, c.Code, ch.Delete, c.FullName, c.Type, string(fields), string(pj)}, nil
}

// rejectDuplicates keeps the first row of each code and reports the others.
func rejectDuplicates(ctx context.Context, tx pgx.Tx, onReject func(gateway.RowReject)) (int, error) {
	rows, err := tx.Query(ctx, `SELECT line, code, first FROM (
			SELECT seq, line, code, first_value(line) OVER (PARTITION BY code ORDER BY seq) AS first,
				row_number() OVER (PARTITION BY code ORDER BY seq) AS n FROM import_rows) d
		WHERE n > 1 ORDER BY seq`)
	if err != nil {
		return 0, fmt.Errorf("duplicates: %w", err)
	}
	n := 0
	for rows.Next() {
		var r gateway.RowReject
		var first int
		if err := rows.Scan(&r.Line, &r.Code, &first); err != nil {
			return n, fmt.Errorf("duplicates: %w", err)
		}
		n++
		r.Reason = fmt.Sprintf("code already on line %d", first)
		if onReject != nil {
			onReject(r)
		}
	}
	if err := rows.Err(); err != nil || n == 0 {
		return n, err
	}
	_, err = tx.Exec(ctx, `DELETE FROM import_rows r USING import_rows f WHERE f.code = r.code AND f.seq < r.seq`)
	return n, err
}

func applyImport(ctx context.Context, tx pgx.Tx, opts gateway.ImportOptions) (gateway.ImportReport, error) {
	var rep gateway.ImportReport
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE import_changed ON COMMIT DROP AS
		SELECT r.code, c.code IS NULL AS added FROM import_rows r LEFT JOIN contacts c ON c.code = r.code
		WHERE NOT r.del AND (c.code IS NULL OR c.full_name <> r.full_name OR c.type <> r.type OR c.fields <> r.fields
			OR r.phones <> `+phonesJSON+`)`); err != nil {
		return rep, fmt.Errorf("compare: %w", err)
	}
	removed, err := removeContacts(ctx, tx, opts)
	if err != nil {
		return rep, err
	}
	rep.Removed = removed
	if err := tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE added), count(*) FILTER (WHERE NOT added),
		(SELECT count(*) FROM import_rows WHERE NOT del) - count(*) FROM import_changed`).Scan(&rep.Added, &rep.Updated, &rep.Unchanged); err != nil {
		return rep, fmt.Errorf("count: %w", err)
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO contacts (code, full_name, type, fields, updated)
		SELECT r.code, r.full_name, r.type, r.fields, now() FROM import_rows r JOIN import_changed ch ON ch.code = r.code
		ON CONFLICT (code) DO UPDATE SET full_name = EXCLUDED.full_name, type = EXCLUDED.type, fields = EXCLUDED.fields, updated = now();
		DELETE FROM contact_phones p USING import_changed ch WHERE p.contact_code = ch.code AND NOT ch.added;
		INSERT INTO contact_phones (contact_code, kind, raw, e164, national)
		SELECT r.code, p.kind, p.raw, nullif(p.e164, ''), p.national
		FROM import_rows r JOIN import_changed ch ON ch.code = r.code,
			jsonb_to_recordset(r.phones) AS p(kind text, raw text, e164 text, national text)
		ON CONFLICT DO NOTHING`)
	if err != nil {
		return rep, fmt.Errorf("apply: %w", err)
	}
	return rep, nil
}

// removeContacts deletes what the import removes, and fails (the caller
// rolls back) when a full import removes more than it may.
func removeContacts(ctx context.Context, tx pgx.Tx, opts gateway.ImportOptions) (int, error) {
	if !opts.Full {
		tag, err := tx.Exec(ctx, `DELETE FROM contacts c USING import_rows r WHERE r.del AND r.code = c.code`)
		if err != nil {
			return 0, fmt.Errorf("remove: %w", err)
		}
		return int(tag.RowsAffected()), nil
	}
	var total int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM contacts`).Scan(&total); err != nil {
		return 0, fmt.Errorf("remove: %w", err)
	}
	tag, err := tx.Exec(ctx, `DELETE FROM contacts c WHERE NOT EXISTS (SELECT 1 FROM import_rows r WHERE r.code = c.code AND NOT r.del)`)
	if err != nil {
		return 0, fmt.Errorf("remove: %w", err)
	}
	removed := int(tag.RowsAffected())
	share := opts.MaxRemoveShare
	if share <= 0 {
		share = gateway.DefaultMaxRemoveShare
	}
	if !opts.Force && removed > 0 && float64(removed) > share*float64(total) {
		return removed, fmt.Errorf("%w: it would remove %d of %d contacts, more than %g%% (a truncated export?); nothing was changed",
			gateway.ErrTooManyRemovals, removed, total, share*100)
	}
	return removed, nil
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) }
