package phone_test

import (
	"fmt"
	"testing"

	"crmcti/gateway/phone"
)

func TestNormalize(t *testing.T) {
	cases := []struct{ raw, region, e164, national string }{
		{"+357 22 123456", "CY", "+35722123456", "22123456"},
		{"22 123456", "CY", "+35722123456", "22123456"},
		{"(22) 123-456", "CY", "+35722123456", "22123456"},
		{"00357 22123456", "CY", "+35722123456", "22123456"},
		{"+357-99-123456", "CY", "+35799123456", "99123456"},
		{"0030 6944 123456", "CY", "+306944123456", "6944123456"},
		{"+44 20 7946 0123", "CY", "+442079460123", "2079460123"},
		{"020 7946 0123", "GB", "+442079460123", "2079460123"},
		{"1001", "CY", "", "1001"},
		{"", "CY", "", ""},
		{"abc", "CY", "", ""},
	}
	for _, c := range cases {
		got := phone.Normalize(c.raw, c.region)
		if got.E164 != c.e164 || got.National != c.national {
			t.Errorf("Normalize(%q, %s) = %+v, want %s / %s", c.raw, c.region, got, c.e164, c.national)
		}
	}
}

func TestDisplay(t *testing.T) {
	if got := phone.Display("+35722123456", "CY"); got != "+357 22 123456" {
		t.Errorf("got %q", got)
	}
	if got := phone.Display("1001", "CY"); got != "1001" {
		t.Errorf("extension shown as %q", got)
	}
	if !phone.ValidRegion("cy") || phone.ValidRegion("XX") {
		t.Error("ValidRegion")
	}
}

func BenchmarkNormalize(b *testing.B) {
	for b.Loop() {
		phone.Normalize("+357 22 123456", "CY")
	}
}

func TestDigits(t *testing.T) {
	for in, want := range map[string]string{
		"+357 (22) 12-34":   "357221234",
		"N<0035722>;noa=nk": "0035722",
		"call me":           "",
		"٢٢١٢":              "", // only ASCII digits: the switch and the CRM send those
	} {
		if got := phone.Digits(in); got != want {
			t.Errorf("Digits(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkCallNumbers is the formatting the gateway does for one inbound
// call from a caller it has not seen: the panel's display of the caller's
// number, its normalisation for the customer lookup, and the display of
// the matched customer's number (the same number as stored).
func BenchmarkCallNumbers(b *testing.B) {
	i := 0
	for b.Loop() {
		i++
		raw := fmt.Sprintf("+3579%07d", i%10_000_000)
		phone.Display(raw, "CY")
		phone.Normalize(raw, "CY")
		phone.Display(raw, "CY")
	}
}
