package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"crmcti/gateway"
	"crmcti/gateway/phone"
)

// LookupNumber finds every contact with a phone whose E.164 form is e164
// or, failing that, whose national significant digits are national. E.164
// matches come first.
func (db *DB) LookupNumber(ctx context.Context, e164, national string) ([]gateway.Match, error) {
	if e164 == "" && national == "" {
		return nil, nil
	}
	rows, err := db.pool.Query(ctx, `
		SELECT c.code, c.full_name, c.type, c.fields, p.kind, p.raw, coalesce(p.e164, ''), (p.e164 = $1) AS exact
		FROM contact_phones p JOIN contacts c ON c.code = p.contact_code
		WHERE ($1 <> '' AND p.e164 = $1) OR ($2 <> '' AND p.national = $2)
		ORDER BY exact DESC NULLS LAST, c.full_name, c.code
		LIMIT 50`, e164, national)
	if err != nil {
		return nil, fmt.Errorf("postgres: lookup number: %w", err)
	}
	defer rows.Close()
	var out []gateway.Match
	seen := map[string]bool{}
	for rows.Next() {
		var m gateway.Match
		var fields []byte
		var p gateway.Phone
		var exact *bool
		if err := rows.Scan(&m.Contact.Code, &m.Contact.FullName, &m.Contact.Type, &fields, &p.Kind, &p.Raw, &p.E164, &exact); err != nil {
			return nil, fmt.Errorf("postgres: lookup number: %w", err)
		}
		if seen[m.Contact.Code] {
			continue // one entry per contact, its best-matching number
		}
		seen[m.Contact.Code] = true
		_ = json.Unmarshal(fields, &m.Contact.Fields)
		m.Number, m.Kind = p.E164, p.Kind
		if m.Number == "" {
			m.Number = p.Raw
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: lookup number: %w", err)
	}
	return out, nil
}

// SearchContacts finds contacts by code, by name (case-insensitive
// substring) or by part of a number (digits), a page at a time.
func (db *DB) SearchContacts(ctx context.Context, query string, offset, limit int) ([]gateway.Contact, bool, error) {
	q := strings.TrimSpace(query)
	if q == "" {
		return nil, false, nil
	}
	digits := phone.Digits(q)
	like := "%" + escapeLike(strings.ToLower(q)) + "%"
	digitLike, e164 := "", ""
	if len(digits) >= 3 {
		digitLike = "%" + digits + "%"
	}
	if len(digits) >= 8 {
		e164 = "+" + strings.TrimLeft(digits, "0") // a number typed with its country code
	}
	// Each branch can use an index (code: primary key; name and national
	// digits: trigram, see 002_search_trgm.sql; E.164: equality).
	rows, err := db.pool.Query(ctx, `
		WITH hits AS (
			SELECT code FROM contacts WHERE code = $1
			UNION SELECT code FROM contacts WHERE lower(full_name) LIKE $2
			UNION SELECT contact_code FROM contact_phones WHERE $3 <> '' AND national LIKE $3
			UNION SELECT contact_code FROM contact_phones WHERE $6 <> '' AND e164 = $6
		)
		SELECT c.code, c.full_name, c.type, c.fields FROM contacts c JOIN hits h ON h.code = c.code
		ORDER BY (c.code = $1) DESC, c.full_name, c.code
		OFFSET $4 LIMIT $5`, q, like, digitLike, offset, limit+1, e164)
	if err != nil {
		return nil, false, fmt.Errorf("postgres: search contacts: %w", err)
	}
	cs, err := scanContacts(rows)
	if err != nil {
		return nil, false, err
	}
	more := len(cs) > limit
	if more {
		cs = cs[:limit]
	}
	if err := db.attachPhones(ctx, cs); err != nil {
		return nil, false, err
	}
	return cs, more, nil
}

func scanContacts(rows pgx.Rows) ([]gateway.Contact, error) {
	defer rows.Close()
	var out []gateway.Contact
	for rows.Next() {
		var c gateway.Contact
		var fields []byte
		if err := rows.Scan(&c.Code, &c.FullName, &c.Type, &fields); err != nil {
			return nil, fmt.Errorf("postgres: scan contact: %w", err)
		}
		_ = json.Unmarshal(fields, &c.Fields)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: scan contact: %w", err)
	}
	return out, nil
}

func (db *DB) attachPhones(ctx context.Context, cs []gateway.Contact) error {
	if len(cs) == 0 {
		return nil
	}
	codes := make([]string, len(cs))
	idx := map[string]int{}
	for i, c := range cs {
		codes[i] = c.Code
		idx[c.Code] = i
	}
	rows, err := db.pool.Query(ctx, `SELECT contact_code, kind, raw, coalesce(e164, '') FROM contact_phones
		WHERE contact_code = ANY($1) ORDER BY contact_code, kind, raw`, codes)
	if err != nil {
		return fmt.Errorf("postgres: contact phones: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var code string
		var p gateway.Phone
		if err := rows.Scan(&code, &p.Kind, &p.Raw, &p.E164); err != nil {
			return fmt.Errorf("postgres: contact phones: %w", err)
		}
		cs[idx[code]].Phones = append(cs[idx[code]].Phones, p)
	}
	return rows.Err()
}

// escapeLike makes user input literal inside a LIKE pattern.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
