package csta_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"crmcti/gateway/csta"
)

func TestFrameRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	for _, id := range []int{1, 42, 9998, csta.EventInvokeID} {
		if err := csta.WriteFrame(&buf, id, []byte("<SystemStatus/>")); err != nil {
			t.Fatal(err)
		}
	}
	if got := buf.Bytes()[:8]; !bytes.Equal(got, []byte{0, 0, 0, 23, '0', '0', '0', '1'}) {
		t.Fatalf("header % x", got)
	}
	for _, want := range []int{1, 42, 9998, 9999} {
		f, err := csta.ReadFrame(&buf, 0)
		if err != nil {
			t.Fatal(err)
		}
		if f.InvokeID != want || string(f.Body) != "<SystemStatus/>" {
			t.Fatalf("frame %d %q", f.InvokeID, f.Body)
		}
	}
	if _, err := csta.ReadFrame(&buf, 0); err != io.EOF {
		t.Fatalf("at end: %v, want io.EOF", err)
	}
}

func TestReadFrameRejects(t *testing.T) {
	cases := map[string]struct {
		in     string
		max    int
		reason string
	}{
		"format bytes": {"\x01\x00\x00\x0a0001ab", 0, "format bytes"},
		"short length": {"\x00\x00\x00\x070001", 0, "shorter than the header"},
		"too long":     {"\x00\x00\x01\x000001", 200, "exceeds the maximum 200"},
		"invoke id":    {"\x00\x00\x00\x0a00a1ab", 0, "not four digits"},
		"invoke space": {"\x00\x00\x00\x0a 001ab", 0, "not four digits"},
	}
	for name, c := range cases {
		_, err := csta.ReadFrame(strings.NewReader(c.in), c.max)
		var fe *csta.FrameError
		if !errors.As(err, &fe) || !strings.Contains(fe.Reason, c.reason) {
			t.Errorf("%s: got %v, want a FrameError about %q", name, err, c.reason)
		}
	}
	// A truncated body is an unexpected EOF, not a clean close.
	if _, err := csta.ReadFrame(strings.NewReader("\x00\x00\x00\x200001<Sys"), 0); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated body: %v", err)
	}
	if _, err := csta.ReadFrame(strings.NewReader("\x00\x00\x00"), 0); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated header: %v", err)
	}
}

func TestWriteFrameLimits(t *testing.T) {
	if err := csta.WriteFrame(io.Discard, 1, make([]byte, csta.MaxFrameLen)); err == nil {
		t.Error("oversized body accepted")
	}
	if err := csta.WriteFrame(io.Discard, 10000, nil); err == nil {
		t.Error("invoke ID 10000 accepted")
	}
}

// countingReader fails the test if ReadFrame reads more than it may.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestReadFrameNeverTrustsLength(t *testing.T) {
	// Claims 65535 bytes but the limit is 100: nothing past the header is read.
	cr := &countingReader{r: strings.NewReader("\x00\x00\xff\xff0001" + strings.Repeat("x", 70000))}
	if _, err := csta.ReadFrame(cr, 100); err == nil {
		t.Fatal("accepted")
	}
	if cr.n > 8+4096 { // strings.Reader reads exactly; allow nothing big
		t.Fatalf("read %d bytes of a rejected frame", cr.n)
	}
}
