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
