// Package phone normalises telephone numbers with libphonenumber (the Go
// port), so that "+357 22 123456", "0035722123456", "22 123 456" and the
// switch's "N<+35722123456>" all find the same customer.
package phone

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Number is a normalised phone number.
type Number struct {
	// E164 is "+35722123456", empty when the input could not be parsed.
	E164 string
	// National is the national significant number's digits ("22123456"),
	// the fallback key for numbers stored or dialled without a usable
	// country code.
	National string
}

// Normalize parses raw in the context of the default region (ISO 3166
// alpha-2, e.g. "CY"). It never fails: what cannot be parsed keeps its
// digits as National, minus an international or trunk prefix.
func Normalize(raw, region string) Number {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return Number{}
	}
	raw, num := parse(raw, region)
	return normalized(raw, num)
}

// Display formats a number for people: international format when it
// parses, the input otherwise.
func Display(raw, region string) string {
	raw, num := parse(raw, region)
	return displayed(raw, num)
}

// parse reads raw as a number of region, with a leading "00" taken for
// "+"; it returns raw so rewritten, and nil when raw is not a possible
// number.
func parse(raw, region string) (string, *phonenumbers.PhoneNumber) {
	if strings.HasPrefix(raw, "00") {
		raw = "+" + raw[2:]
	}
	num, err := phonenumbers.Parse(raw, strings.ToUpper(region))
	if err != nil || !phonenumbers.IsPossibleNumber(num) {
		return raw, nil
	}
	return raw, num
}

// normalized is Normalize's answer for what parse returned.
func normalized(raw string, num *phonenumbers.PhoneNumber) Number {
	if num == nil {
		return Number{National: strings.TrimLeft(Digits(raw), "0")}
	}
	return Number{E164: phonenumbers.Format(num, phonenumbers.E164), National: phonenumbers.GetNationalSignificantNumber(num)}
}

// displayed is Display's answer for what parse returned.
func displayed(raw string, num *phonenumbers.PhoneNumber) string {
	if num == nil {
		return raw
	}
	return phonenumbers.Format(num, phonenumbers.INTERNATIONAL)
}

// ValidRegion reports whether region is a region libphonenumber knows.
func ValidRegion(region string) bool {
	return phonenumbers.GetCountryCodeForRegion(strings.ToUpper(region)) != 0
}

// Digits keeps the ASCII digits of s and drops everything else
// ("+357 (22) 12-34" is "357221234"). It is the one digit filter of
// the gateway (number normalisation, the directory's search, the demo
// CRM), so that they agree on what a typed number is.
func Digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
