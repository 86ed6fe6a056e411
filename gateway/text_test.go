package gateway_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"crmcti/gateway"
)

func TestCheckText(t *testing.T) {
	cases := []struct {
		in, reason string
		max        int
	}{
		{"Andreas Andreou", "", 200},
		{"Ανδρέας Ανδρέου", "", 15}, // characters, not bytes
		{"Ανδρέας Ανδρέου", "is longer than 14 characters", 14},
		{"C0\x00", "contains a NUL", 100},
		{"bell\a", "contains the control character U+0007", 100},
		{"tab\there", "contains the control character U+0009", 100},
		{"c1\u0085", "contains the control character U+0085", 100},
		{"Caf\xe9", "is not valid UTF-8", 100}, // Latin-1
		{"evil\u202egnp.exe", "contains the text direction control U+202E", 100},
		{"a\u2028b", "contains the line separator U+2028", 100},
		{strings.Repeat("x", 5000), "", 0},
	}
	for _, c := range cases {
		err := gateway.CheckText(c.in, c.max)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.reason || gateway.ValidText(c.in, c.max) != (c.reason == "") {
			t.Errorf("CheckText(%q, %d) = %q, want %q", c.in, c.max, got, c.reason)
		}
	}
}

func FuzzCheckText(f *testing.F) {
	f.Add("Andreas", 10)
	f.Add("C0\x00", 3)
	f.Fuzz(func(t *testing.T, s string, max int) {
		if gateway.CheckText(s, max) != nil {
			return
		}
		if strings.ContainsRune(s, 0) || strings.ContainsRune(s, '\n') || !utf8.ValidString(s) {
			t.Fatalf("accepted %q", s)
		}
	})
}

func TestCleanText(t *testing.T) {
	for in, want := range map[string]string{
		"Andreas":       "Andreas",
		"Ανδρέας":       "Ανδρέας",
		"x\x00":         `x\x00`,
		"Caf\xe9 \"a\"": `Caf\xe9 \"a\"`,
		"bell\a":        `bell\a`,
	} {
		got := gateway.CleanText(in)
		if got != want || gateway.CheckText(got, 0) != nil {
			t.Errorf("CleanText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckNoteAllowsLineFeedsOnly(t *testing.T) {
	if err := gateway.CheckNote("Wants a quote.\nCall back Monday"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"a\rb", "a\tb", "a\x00b", strings.Repeat("x", gateway.MaxNoteChars+1)} {
		if gateway.CheckNote(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if got := gateway.CleanNote("one\ntw\x00o"); got != `one`+"\n"+`tw\x00o` {
		t.Fatalf("cleaned %q", got)
	}
}
