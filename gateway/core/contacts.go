package core

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"crmcti/gateway"
	"crmcti/gateway/phone"
)

// Reject is a CSV row the import refused, with the reason.
type Reject struct {
	Line   int
	Code   string
	Reason string
}

// PhoneColumns are the CSV columns read as phone numbers; every other
// column beyond code, full_name and type is kept as a contact field.
var PhoneColumns = []string{"mobile", "work", "home", "phone", "fax", "other_phone"}

// ParseContacts reads the CRM's contact export: a header row naming at
// least code and full_name; phone columns are normalised for the default
// region. Rows without a code or a name, or with a code seen before in
// the file, are rejected with a reason; the rest are returned.
func ParseContacts(r io.Reader, region string) ([]gateway.Contact, []Reject, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("contacts: read header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	for _, need := range []string{"code", "full_name"} {
		if _, ok := col[need]; !ok {
			return nil, nil, fmt.Errorf("contacts: header has no %q column (found %v)", need, header)
		}
	}
	isPhone := map[string]bool{}
	for _, p := range PhoneColumns {
		isPhone[p] = true
	}
	var out []gateway.Contact
	var rejects []Reject
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				rejects = append(rejects, Reject{Line: pe.Line, Reason: pe.Err.Error()})
				continue
			}
			return out, rejects, fmt.Errorf("contacts: %w", err)
		}
		c, rs, ok := parseContactRow(rec, line, col, isPhone, region, seen)
		rejects = append(rejects, rs...)
		if ok {
			out = append(out, c)
		}
	}
	return out, rejects, nil
}

// parseContactRow reads one CSV record; ok is false when the row is
// rejected as a whole (its reason among the rejects).
func parseContactRow(rec []string, line int, col map[string]int, isPhone map[string]bool, region string, seen map[string]int) (c gateway.Contact, rejects []Reject, ok bool) {
	get := func(name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	c = gateway.Contact{Code: get("code"), FullName: get("full_name"), Type: get("type"), Fields: map[string]string{}}
	switch {
	case c.Code == "":
		return c, []Reject{{Line: line, Reason: "no code"}}, false
	case len(c.Code) > 100:
		return c, []Reject{{Line: line, Code: c.Code[:20] + "…", Reason: "code longer than 100 characters"}}, false
	case c.FullName == "":
		return c, []Reject{{Line: line, Code: c.Code, Reason: "no full_name"}}, false
	}
	if first, dup := seen[c.Code]; dup {
		return c, []Reject{{Line: line, Code: c.Code, Reason: fmt.Sprintf("code already on line %d", first)}}, false
	}
	seen[c.Code] = line
	for name, i := range col {
		if i >= len(rec) || name == "code" || name == "full_name" || name == "type" {
			continue
		}
		v := strings.TrimSpace(rec[i])
		if v == "" {
			continue
		}
		if !isPhone[name] {
			c.Fields[name] = v
			continue
		}
		n := phone.Normalize(v, region)
		if n.E164 == "" && n.National == "" {
			rejects = append(rejects, Reject{Line: line, Code: c.Code, Reason: fmt.Sprintf("%s %q is not a phone number (kept the contact without it)", name, v)})
			continue
		}
		c.Phones = append(c.Phones, gateway.Phone{Kind: name, Raw: v, E164: n.E164, National: n.National})
	}
	return c, rejects, true
}
