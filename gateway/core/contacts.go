package core

import (
	"errors"
	"fmt"
	"io"

	"crmcti/gateway"
	"crmcti/gateway/contacts"
)

// Reject is a CSV row the import refused, with the reason.
type Reject = gateway.RowReject

// ParseContacts reads a whole CRM CSV export into memory, for the demo
// and tests' small directories; imports of real ones stream with
// contacts.NewCSVReader. Rows without a code or a name, with text that is
// not clean UTF-8, or with a code seen before in the file, are rejected
// with a reason; the rest are returned.
func ParseContacts(r io.Reader, region string) ([]gateway.Contact, []Reject, error) {
	var rejects []Reject
	onReject := func(rj Reject) { rejects = append(rejects, rj) }
	rd, err := contacts.NewCSVReader(r, region, onReject)
	if err != nil {
		return nil, nil, err
	}
	var out []gateway.Contact
	seen := map[string]int{}
	for {
		ch, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out, rejects, nil
		}
		if err != nil {
			return out, rejects, err
		}
		if first, dup := seen[ch.Contact.Code]; dup {
			onReject(Reject{Line: ch.Line, Code: ch.Contact.Code, Reason: fmt.Sprintf("code already on line %d", first)})
			continue
		}
		seen[ch.Contact.Code] = ch.Line
		if !ch.Delete {
			out = append(out, ch.Contact)
		}
	}
}
