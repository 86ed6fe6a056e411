package csta_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crmcti/gateway/csta"
)

// seeds are every golden message and capture, framed.
func seeds(f *testing.F) [][]byte {
	var out [][]byte
	files, _ := filepath.Glob("testdata/golden/*.xml")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	caps, _ := filepath.Glob("testdata/captures/*.frame")
	for _, name := range caps {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b[csta.HeaderLen:])
	}
	return out
}

// FuzzReadFrame: any byte stream yields frames or an error, never a panic
// or a body larger than the limit.
func FuzzReadFrame(f *testing.F) {
	for _, s := range seeds(f) {
		framed, _ := csta.AppendFrame(nil, 1, s)
		f.Add(framed)
	}
	f.Add([]byte("\x00\x00\xff\xff9999"))
	f.Add([]byte("\x00\x00\x00\x08000"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		for {
			fr, err := csta.ReadFrame(r, 4096)
			if err != nil {
				return
			}
			if len(fr.Body) > 4096-csta.HeaderLen || fr.InvokeID < 0 || fr.InvokeID > 9999 {
				t.Fatalf("frame out of bounds: id %d, %d bytes", fr.InvokeID, len(fr.Body))
			}
		}
	})
}

// FuzzDecode: any body decodes or errors, and whatever decodes encodes
// again and decodes to the same message type.
func FuzzDecode(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, ns, err := csta.Decode(b)
		if err != nil {
			return
		}
		if u, ok := m.(*csta.Unknown); ok && u.Name == "" {
			t.Fatal("unknown message without a name")
		}
		out, err := csta.Encode(m, ns)
		if err != nil {
			return // e.g. a name that is not a valid XML name after a round trip
		}
		m2, _, err := csta.Decode(out)
		if err != nil {
			t.Fatalf("re-decoding our own encoding: %v\n%s", err, out)
		}
		if m2.MessageName() != m.MessageName() {
			t.Fatalf("type changed: %s -> %s", m.MessageName(), m2.MessageName())
		}
	})
}

// FuzzSameDevice: any pair of identifiers from a switch compares without
// panicking, symmetrically, and every non-blank identifier is itself.
func FuzzSameDevice(f *testing.F) {
	for _, s := range []string{"1001", "N<+35722101001>;noa=international", "N<7868772298>Line71001;displayNumber=7868772298;uid=4f",
		"tel:+35722101001", "sip:1001@h", "1001:CM1:10.0.0.1:0", "1001::10.0.0.1:0", "4750:S:fe80::1:12", ":::", "N<"} {
		f.Add(s, "1001")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if csta.SameDevice(csta.DeviceID(a), csta.DeviceID(b)) != csta.SameDevice(csta.DeviceID(b), csta.DeviceID(a)) {
			t.Fatalf("SameDevice(%q, %q) is not symmetric", a, b)
		}
		if strings.TrimSpace(a) != "" && !csta.SameDevice(csta.DeviceID(a), csta.DeviceID(a)) {
			t.Fatalf("%q is not the same device as itself", a)
		}
	})
}

// FuzzRedact: whatever surrounds it, a password element's text never
// survives Redact.
func FuzzRedact(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(string(s), "s3cret")
	}
	f.Fuzz(func(t *testing.T, around, secret string) {
		if len(secret) < 4 || strings.ContainsAny(secret, "<>&*") || strings.Contains(around, secret) {
			return
		}
		i := len(around) / 2
		body := around[:i] + "<acx:password>" + secret + "</acx:password>" + around[i:]
		if out := csta.Redact([]byte(body)); bytes.Contains(out, []byte(secret)) {
			t.Fatalf("secret %q survives in %s", secret, out)
		}
	})
}
