package csta_test

import (
	"testing"

	"crmcti/gateway/csta"
)

func TestParseDevice(t *testing.T) {
	cases := []struct {
		raw, number, display string
	}{
		{"4711", "4711", ""},
		{"N<+35722123456>", "+35722123456", ""},
		{"N<302118840100>;noa=nk", "302118840100", ""},
		{"N<7868772298>Line71001;displayNumber=7868772298", "7868772298", "7868772298"},
		{"N<302118840101>;displayNumber=302118840101;noa=nk", "302118840101", "302118840101"},
		{"tel:+35722123456", "+35722123456", ""},
		{"TEL:+357-22-123456;phone-context=+357", "+35722123456", ""},
		{"sip:1001@pbx.example.com", "1001", ""},
		{"sips:+35799123456;user=phone@gw.example.com", "+35799123456", ""},
		{"4750::111.2.33.444:0", "4750", ""},
		{"+357 22 123 456", "+35722123456", ""},
		{"(22) 123-456", "22123456", ""},
		{"*72#", "*72#", ""},
		{"", "", ""},
		{"N<", "", ""},
		{"alice", "", ""},
		{"N<>;displayNumber=+441234", "+441234", "+441234"},
	}
	for _, c := range cases {
		d := csta.ParseDevice(csta.DeviceID(c.raw))
		if d.Raw != csta.DeviceID(c.raw) || d.Number != c.number || d.DisplayNumber != c.display {
			t.Errorf("ParseDevice(%q) = %+v, want number %q display %q", c.raw, d, c.number, c.display)
		}
	}
	if got := csta.ParseDevice("N<302118840100>;noa=nk").Params["noa"]; got != "nk" {
		t.Errorf("noa param %q", got)
	}
}

func TestParseDMCC(t *testing.T) {
	for raw, want := range map[string]*csta.DMCCDevice{
		"1001:CM1:10.0.0.1:0":   {Extension: "1001", SwitchName: "CM1", SwitchAddr: "10.0.0.1", Instance: "0"},
		"1001::10.0.0.1:0":      {Extension: "1001", SwitchAddr: "10.0.0.1", Instance: "0"},
		"4750:S8300:fe80::1:12": {Extension: "4750", SwitchName: "S8300", SwitchAddr: "fe80::1", Instance: "12"},
		"sip:1001@h:5060:x":     nil,
		"alice:CM1:10.0.0.1:0":  nil,
		"1001:CM1":              nil,
	} {
		d := csta.ParseDevice(csta.DeviceID(raw))
		if (d.DMCC == nil) != (want == nil) || d.DMCC != nil && *d.DMCC != *want {
			t.Errorf("ParseDevice(%q).DMCC = %+v, want %+v", raw, d.DMCC, want)
		}
		if want != nil && d.Number != want.Extension {
			t.Errorf("ParseDevice(%q).Number = %q", raw, d.Number)
		}
	}
}

func TestSameDevice(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"1001", "1001", true},
		{"3021061290002", "N<3021061290002>;noa=nk", true},
		{"N<7868772298>Line71001;displayNumber=7868772298;uid=4f2a", "7868772298", true},
		{"+35722101001", "N<+35722101001>", true},
		{"35722101001", "+35722101001", true},
		{"tel:+35722101001;phone-context=+357", "+35722101001", true},
		{"sip:1001@pbx.example.com", "1001", true},
		{"1001:CM1:10.0.0.1:0", "1001::10.0.0.1:0", true},
		{"1001:CM1:10.0.0.1:0", "1001:CM1:10.0.0.1:3", true},
		{"1001:CM1:10.0.0.1:0", "1001", true},
		{"1001:CM1:10.0.0.1:0", "1001:CM2:10.0.0.1:0", false},
		{"1001:CM1:10.0.0.1:0", "1001:CM1:10.0.0.2:0", false},
		{"1001::10.0.0.1:0", "1002::10.0.0.1:0", false},
		{"1001", "+35722101001", false}, // never by suffix
		{"1001", "10011", false},
		{"N<1001>", "1002", false},
		{"", "", false},
		{"", "1001", false},
		{"alice", "bob", false},
		{"alice", "alice", true},
	} {
		if got := csta.SameDevice(csta.DeviceID(c.a), csta.DeviceID(c.b)); got != c.same {
			t.Errorf("SameDevice(%q, %q) = %v, want %v", c.a, c.b, got, c.same)
		}
		if got := csta.SameDevice(csta.DeviceID(c.b), csta.DeviceID(c.a)); got != c.same {
			t.Errorf("SameDevice(%q, %q) = %v, want %v (not symmetric)", c.b, c.a, got, c.same)
		}
	}
}
