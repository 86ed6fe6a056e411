// Package contacts reads the CRM's customer directory as it arrives from
// outside — a CSV export, an NDJSON export or one pushed record — into
// contact changes, every field validated at the boundary and every number
// normalised for lookup. It streams: a reader holds one row at a time, so
// a file of a million customers imports in bounded memory. A bad row is
// refused with its line and a reason, and the rows after it still count.
package contacts

import (
	"fmt"
	"sort"
	"strings"

	"crmcti/gateway"
	"crmcti/gateway/phone"
)

// Limits on what one contact may hold, in characters. They are far above
// any real CRM value and far below what would hurt the database or the
// panel.
const (
	MaxCode      = 100
	MaxName      = 200
	MaxType      = 100
	MaxFieldName = 100
	MaxField     = 1000
	MaxFields    = 100
	MaxKind      = 50
	MaxNumber    = 64
	MaxPhones    = 20
)

// PhoneColumns are the CSV columns read as phone numbers; every other
// column beyond code, full_name, type and action is kept as a field.
var PhoneColumns = []string{"mobile", "work", "home", "phone", "fax", "other_phone"}

// Actions a row may ask for; the empty action is an upsert.
const (
	ActionUpsert = "upsert"
	ActionDelete = "delete"
)

// Reader yields an import's rows in order. Next returns io.EOF after the
// last row; rows it refuses go to the reject function it was made with
// and are skipped. Any other error ends the import.
type Reader interface {
	Next() (gateway.ContactChange, error)
}

// row is a record as read, before validation: the same for every format.
type row struct {
	line                    int
	code, name, typ, action string
	phones                  []rawPhone
	fields                  map[string]string
}

type rawPhone struct{ kind, number string }

// rowError is a row refused as a whole.
type rowError struct{ reason string }

func (e *rowError) Error() string { return e.reason }

func refuse(format string, args ...any) *rowError {
	return &rowError{reason: fmt.Sprintf(format, args...)}
}

// build validates r and turns it into a change. Numbers that are not
// numbers are dropped with a note (the contact is kept); anything else
// wrong refuses the row.
func build(r row, region string) (gateway.ContactChange, []string, *rowError) {
	ch := gateway.ContactChange{Line: r.line}
	code := strings.TrimSpace(r.code)
	if code == "" {
		return ch, nil, refuse("no code")
	}
	if err := checkField("code", code, MaxCode); err != nil {
		return ch, nil, err
	}
	ch.Contact.Code = code
	switch strings.ToLower(strings.TrimSpace(r.action)) {
	case "", ActionUpsert:
	case ActionDelete:
		ch.Delete = true
		return ch, nil, nil
	default:
		return ch, nil, refuse("action %q is neither %s nor %s", truncate(r.action), ActionUpsert, ActionDelete)
	}
	if err := fillContact(&ch.Contact, r); err != nil {
		return ch, nil, err
	}
	notes, err := fillPhones(&ch.Contact, r.phones, region)
	return ch, notes, err
}

func fillContact(c *gateway.Contact, r row) *rowError {
	c.FullName, c.Type = strings.TrimSpace(r.name), strings.TrimSpace(r.typ)
	if c.FullName == "" {
		return refuse("no full_name")
	}
	if err := checkField("full_name", c.FullName, MaxName); err != nil {
		return err
	}
	if err := checkField("type", c.Type, MaxType); err != nil {
		return err
	}
	if len(r.fields) > MaxFields {
		return refuse("more than %d fields", MaxFields)
	}
	c.Fields = make(map[string]string, len(r.fields))
	for name, v := range r.fields {
		if err := checkField("field name", name, MaxFieldName); err != nil {
			return err
		}
		// A free-text field (an address, a note) may span lines in the
		// CRM; the panel shows it on one.
		v = strings.Join(strings.Fields(v), " ")
		if v == "" {
			continue
		}
		if err := checkField(name, v, MaxField); err != nil {
			return err
		}
		c.Fields[name] = v
	}
	return nil
}

func fillPhones(c *gateway.Contact, phones []rawPhone, region string) ([]string, *rowError) {
	if len(phones) > MaxPhones {
		return nil, refuse("more than %d phone numbers", MaxPhones)
	}
	var notes []string
	for _, p := range phones {
		kind, number := strings.TrimSpace(p.kind), strings.TrimSpace(p.number)
		if kind == "" {
			kind = "phone"
		}
		if err := checkField("phone kind", kind, MaxKind); err != nil {
			return nil, err
		}
		if err := checkField(kind, number, MaxField); err != nil {
			return nil, err
		}
		if number == "" {
			continue
		}
		n := phone.Normalize(number, region)
		if len([]rune(number)) > MaxNumber || (n.E164 == "" && n.National == "") {
			notes = append(notes, fmt.Sprintf("%s %q is not a phone number (kept the contact without it)", kind, truncate(number)))
			continue
		}
		c.Phones = append(c.Phones, gateway.Phone{Kind: kind, Raw: number, E164: n.E164, National: n.National})
	}
	sort.SliceStable(c.Phones, func(i, j int) bool { return c.Phones[i].Kind < c.Phones[j].Kind })
	return notes, nil
}

func checkField(name, v string, max int) *rowError {
	if err := gateway.CheckText(v, max); err != nil {
		return refuse("%s %s", name, err)
	}
	return nil
}

// truncate shortens a value quoted in a reason, so that a reject line
// stays a line.
func truncate(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

// reportable is a code fit to print in a reject line: valid text, short.
func reportable(code string) string {
	code = strings.TrimSpace(code)
	if !gateway.ValidText(code, 0) {
		return ""
	}
	return truncate(code)
}
