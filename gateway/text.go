package gateway

import (
	"fmt"
	"unicode/utf8"
)

// TextError says why a string from outside was refused. Its message reads
// after a field name: "full_name contains a NUL".
type TextError struct {
	Reason string
}

func (e *TextError) Error() string { return e.Reason }

// CheckText reports why s may not be stored or shown, or nil. Every string
// from outside (wire, CSV, directory, switch) passes it at the boundary:
// a NUL once made PostgreSQL refuse a whole call-log batch (SQLSTATE
// 22021) and wedged the writer behind it, and invalid UTF-8 fails the
// same way. Control characters are refused too (a bell or escape in a
// name is never meant), and so are the bidirectional overrides that make
// a name display as something else. maxChars counts characters, not
// bytes; 0 means no limit.
func CheckText(s string, maxChars int) error {
	if !utf8.ValidString(s) {
		return &TextError{Reason: "is not valid UTF-8"}
	}
	n := 0
	for _, r := range s {
		n++
		if reason := badRune(r); reason != "" {
			return &TextError{Reason: reason}
		}
	}
	if maxChars > 0 && n > maxChars {
		return &TextError{Reason: fmt.Sprintf("is longer than %d characters", maxChars)}
	}
	return nil
}

// ValidText reports whether CheckText accepts s.
func ValidText(s string, maxChars int) bool { return CheckText(s, maxChars) == nil }

func badRune(r rune) string {
	switch {
	case r == 0:
		return "contains a NUL"
	case r < 0x20 || (r >= 0x7f && r <= 0x9f):
		return fmt.Sprintf("contains the control character %U", r)
	case r == '\u2028' || r == '\u2029':
		return fmt.Sprintf("contains the line separator %U", r)
	case (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069'):
		return fmt.Sprintf("contains the text direction control %U", r)
	}
	return ""
}
