package core

import (
	"context"
	"reflect"
	"strings"

	"crmcti/gateway"
)

// fieldLimits bound each string a client may send, in characters, by its
// JSON name. A string longer than any real value is refused at the
// boundary instead of reaching the switch, the directory or a log.
var fieldLimits = map[string]int{
	"username": 256,
	"password": 1024,
	"token":    256,
	"version":  32,
	"number":   64,
	"to":       64,
	"contact":  100,
	"callId":   128,
	"with":     128,
	"digits":   32,
	"status":   16,
	"query":    200,
	// An after-call note may run over lines (see checkNote).
	"note":        gateway.MaxNoteChars,
	"disposition": 32,
}

// defaultFieldLimit bounds a string field not in fieldLimits.
const defaultFieldLimit = 256

// checkFields refuses a command whose data holds a string that may not be
// stored or shown (a NUL, a control character, invalid UTF-8) or that is
// longer than its field allows. Every string of every message passes
// here, once, before any handler sees it: a NUL in a contact code once
// made PostgreSQL refuse a whole call-log batch and wedged the writer.
func checkFields(typ string, data any) error {
	v := reflect.ValueOf(data)
	if v.Kind() != reflect.Struct {
		return nil
	}
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Type.Kind() != reflect.String || !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		limit, ok := fieldLimits[name]
		if !ok {
			limit = defaultFieldLimit
		}
		check := gateway.CheckText
		if name == "note" {
			check = func(s string, _ int) error { return gateway.CheckNote(s) }
		}
		if err := check(v.Field(i).String(), limit); err != nil {
			return gateway.Wrap(gateway.CodeInvalidRequest, err, typ+": "+name+" "+err.Error())
		}
	}
	return nil
}

// checkContact refuses a contact code that names no customer. A code among
// the call's matches is known without asking the database (so that a
// caller can still be chosen while it is down); any other is looked up.
func (s *Service) checkContact(ctx context.Context, st *agentState, callID, code string) error {
	s.mu.Lock()
	known := false
	if lc := st.findRecent(callID); lc != nil && callID != "" {
		for _, m := range lc.Matches {
			known = known || m.Contact.Code == code
		}
	}
	s.mu.Unlock()
	if known {
		return nil
	}
	ok, err := s.store.ContactExists(ctx, code)
	switch {
	case err != nil:
		return gateway.Wrap(gateway.CodeDatabaseDown, err, "the customer directory is unavailable; try again shortly")
	case !ok:
		return gateway.Errorf(gateway.CodeNoSuchContact, "no customer has the code %q", code)
	}
	return nil
}
