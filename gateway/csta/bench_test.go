package csta_test

import (
	"bytes"
	"io"
	"testing"

	"crmcti/gateway/csta"
)

// BenchmarkEncode encodes every message type (requests, responses, events).
func BenchmarkEncode(b *testing.B) {
	for _, m := range samples() {
		b.Run(m.MessageName(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := csta.Encode(m, csta.NamespaceEd4); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecode decodes every message type.
func BenchmarkDecode(b *testing.B) {
	for _, m := range samples() {
		body, err := csta.Encode(m, csta.NamespaceEd4)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(m.MessageName(), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, _, err := csta.Decode(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkFrameIO(b *testing.B) {
	body, _ := csta.Encode(samples()[0], csta.NamespaceEd4)
	framed, _ := csta.AppendFrame(nil, 1, body)
	b.Run("write", func(b *testing.B) {
		b.SetBytes(int64(len(framed)))
		for b.Loop() {
			if err := csta.WriteFrame(io.Discard, 1, body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("read", func(b *testing.B) {
		b.SetBytes(int64(len(framed)))
		r := bytes.NewReader(framed)
		for b.Loop() {
			r.Reset(framed)
			if _, err := csta.ReadFrame(r, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkParseDevice(b *testing.B) {
	for b.Loop() {
		csta.ParseDevice("N<7868772298>Line71001;displayNumber=7868772298;noa=nk")
	}
}
