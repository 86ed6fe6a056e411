package csta

import "strings"

// Device is a device identifier taken apart. Raw addresses the device on
// the switch; Number is what a person would dial, used to find the
// customer. Switches disagree wildly on the form:
//
//	4711                                    a bare extension
//	N<+35722123456>                          OpenScape, E.164
//	N<302118840100>;noa=nk                   with nature of address
//	N<7868772298>Line71001;displayNumber=…   with a line suffix
//	tel:+35722123456;phone-context=…         RFC 3966
//	sip:1001@pbx.example.com                  SIP URI
//	4750::111.2.33.444:0                     Avaya DMCC (extension::switch IP:instance)
//
// An unknown form keeps Raw and puts in Number whatever leading dialable
// characters it has.
type Device struct {
	Raw           DeviceID
	Number        string            // digits, with a leading + when international
	DisplayNumber string            // displayNumber parameter, if any
	Params        map[string]string // ;key=value parameters, if any
}

// ParseDevice takes a device identifier apart; it never fails.
func ParseDevice(id DeviceID) Device {
	s := strings.TrimSpace(string(id))
	d := Device{Raw: id}
	switch {
	case strings.HasPrefix(s, "N<"):
		inner, rest, ok := strings.Cut(s[2:], ">")
		if !ok {
			d.Number = dialable(s[2:])
			return d
		}
		d.Number = dialable(inner)
		if _, params, ok := strings.Cut(rest, ";"); ok {
			d.parseParams(params)
		}
	case hasPrefixFold(s, "tel:"):
		num, params, _ := strings.Cut(s[4:], ";")
		d.Number = dialable(num)
		d.parseParams(params)
	case hasPrefixFold(s, "sip:"), hasPrefixFold(s, "sips:"):
		_, rest, _ := strings.Cut(s, ":")
		user, _, _ := strings.Cut(rest, "@")
		user, params, _ := strings.Cut(user, ";")
		d.Number = dialable(user)
		d.parseParams(params)
	case strings.Contains(s, "::"):
		ext, _, _ := strings.Cut(s, "::")
		d.Number = dialable(ext)
	default:
		num, params, _ := strings.Cut(s, ";")
		d.Number = dialable(num)
		d.parseParams(params)
	}
	if d.Number == "" && d.DisplayNumber != "" {
		d.Number = dialable(d.DisplayNumber)
	}
	return d
}

// Number is a shortcut for ParseDevice(id).Number.
func (id DeviceID) Number() string { return ParseDevice(id).Number }

func (d *Device) parseParams(s string) {
	for _, kv := range strings.Split(s, ";") {
		k, v, _ := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		if d.Params == nil {
			d.Params = map[string]string{}
		}
		d.Params[k] = strings.TrimSpace(v)
		if strings.EqualFold(k, "displayNumber") {
			d.DisplayNumber = strings.TrimSpace(v)
		}
	}
}

// dialable keeps the leading run of a number: an optional + then digits,
// ignoring visual separators, and stops at the first other character (so
// "7868772298Line71001" gives "7868772298").
func dialable(s string) string {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r == '+' && b.Len() == 0 && i == 0:
			b.WriteRune(r)
		case r >= '0' && r <= '9', r == '*', r == '#':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
			// separators people and some switches put in numbers
		default:
			return strings.TrimSuffix(b.String(), "+")
		}
	}
	return strings.TrimSuffix(b.String(), "+")
}

func hasPrefixFold(s, p string) bool {
	return len(s) >= len(p) && strings.EqualFold(s[:len(p)], p)
}
