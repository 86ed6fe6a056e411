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
//	4750:CM1:111.2.33.444:0                  Avaya DMCC with the switch name
//
// An unknown form keeps Raw and puts in Number whatever leading dialable
// characters it has.
type Device struct {
	Raw           DeviceID
	Number        string            // digits, with a leading + when international
	DisplayNumber string            // displayNumber parameter, if any
	Params        map[string]string // ;key=value parameters, if any
	// DMCC is set for an Avaya DMCC device ID.
	DMCC *DMCCDevice
}

// DMCCDevice is an Avaya DMCC device ID taken apart. AES writes the
// switch name in some messages and leaves it out in others, so two IDs of
// one station may differ in it.
type DMCCDevice struct {
	Extension, SwitchName, SwitchAddr, Instance string
}

// parseDMCC reads extension:switchName:switchAddr:instance, where the
// switch name may be empty and the address may be IPv6 (colons); the
// extension must be dialable.
func parseDMCC(s string) (*DMCCDevice, bool) {
	if strings.Count(s, ":") < 3 {
		return nil, false
	}
	ext, rest, _ := strings.Cut(s, ":")
	name, rest, _ := strings.Cut(rest, ":")
	i := strings.LastIndexByte(rest, ':')
	addr, inst := rest[:i], rest[i+1:]
	if ext == "" || dialable(ext) != ext || addr == "" {
		return nil, false
	}
	return &DMCCDevice{Extension: ext, SwitchName: name, SwitchAddr: addr, Instance: inst}, true
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
	case isDMCC(s):
		d.DMCC, _ = parseDMCC(s)
		d.Number = d.DMCC.Extension
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

func isDMCC(s string) bool {
	_, ok := parseDMCC(s)
	return ok
}

// SameDevice reports whether two identifiers name the same device, in
// whatever forms the switch and the configuration wrote them: equal as
// written; two DMCC IDs of one station (the switch name may be missing
// from either; the instance does not matter); or the same dialable number
// inside N<…>, tel:, sip: or a DMCC ID, with or without a leading +.
// Numbers are compared whole, never by suffix, so 1001 is not +35722101001:
// map extensions to full numbers with the configuration instead.
func SameDevice(a, b DeviceID) bool {
	sa, sb := strings.TrimSpace(string(a)), strings.TrimSpace(string(b))
	if sa == "" || sb == "" {
		return false
	}
	if sa == sb {
		return true
	}
	da, db := ParseDevice(DeviceID(sa)), ParseDevice(DeviceID(sb))
	if da.DMCC != nil && db.DMCC != nil {
		x, y := da.DMCC, db.DMCC
		return x.Extension == y.Extension && x.SwitchAddr == y.SwitchAddr &&
			(x.SwitchName == "" || y.SwitchName == "" || x.SwitchName == y.SwitchName)
	}
	na, nb := strings.TrimPrefix(da.Number, "+"), strings.TrimPrefix(db.Number, "+")
	return na != "" && na == nb
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
