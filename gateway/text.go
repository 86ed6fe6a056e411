package gateway

import (
	"fmt"
	"strconv"
	"strings"
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

// CleanText returns s if CheckText accepts it, else s with the offending
// bytes written as Go escapes ("C0\x00" becomes `C0\x00`). It is for
// records that must be written whatever they hold — the audit log, the
// call log — so that a bad string is kept as evidence instead of failing
// the write (and every write queued behind it).
func CleanText(s string) string {
	if CheckText(s, 0) == nil {
		return s
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

// CheckNote is CheckText for an after-call note, which may run over
// several lines: a line feed is allowed, every other control character is
// not.
func CheckNote(s string) error {
	return CheckText(strings.ReplaceAll(s, "\n", " "), MaxNoteChars)
}

// CleanNote is CleanText for a note: its line feeds are kept.
func CleanNote(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = CleanText(l)
	}
	return strings.Join(lines, "\n")
}
