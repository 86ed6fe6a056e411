package csta

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/beevik/etree"
)

// FuzzParseDocument: parseDocument builds the tree etree's own reader
// builds, byte for byte when written back, and refuses what it refuses.
func FuzzParseDocument(f *testing.F) {
	golden, _ := filepath.Glob("testdata/golden/*")
	for _, p := range golden {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		`<?xml version="1.0"?><a xmlns="urn:x" p:b="1" p:b="2" xmlns:p="urn:p"><p:c>t&amp;<!-- c --></p:c>  <d/></a>`,
		`<a:b:c x:y:z="1"/>`, `<a></b>`, `<a>`, `</a>`, `<!DOCTYPE a><a/>`, `<a/><b/>`, ` text <a/>`, `<a><![CDATA[x<y]]></a>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want := etree.NewDocument()
		werr := want.ReadFromBytes(b)
		got, gerr := parseDocument(b)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("etree: %v, parseDocument: %v", werr, gerr)
		}
		if werr != nil {
			return
		}
		wb, _ := want.WriteToBytes()
		gb, _ := got.WriteToBytes()
		if !bytes.Equal(wb, gb) {
			t.Fatalf("trees differ:\netree: %s\nours:  %s", wb, gb)
		}
	})
}
