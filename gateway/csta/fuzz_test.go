package csta_test

import (
	"bytes"
	"os"
	"path/filepath"
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
