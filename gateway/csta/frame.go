package csta

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

const (
	// HeaderLen is the size of the frame header: two zero format bytes, a
	// big-endian uint16 total length (header included) and a four-digit
	// ASCII invoke ID.
	HeaderLen = 8
	// MaxFrameLen is the largest frame the 16-bit length can describe.
	MaxFrameLen = 65535
	// EventInvokeID is the invoke ID switches put on unsolicited events.
	EventInvokeID = 9999
)

// FrameError says why a frame header was rejected. After one, the stream
// is out of step and the connection must be dropped.
type FrameError struct {
	Reason string
	Header [HeaderLen]byte
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("csta: bad frame: %s (header % x)", e.Reason, e.Header[:])
}

// Frame is one framed message.
type Frame struct {
	InvokeID int // 0..9999
	Body     []byte
}

// ReadFrame reads one frame from r. It checks the header before
// allocating: the body is never larger than maxLen-8, whatever the peer
// claims. maxLen <= 0 means MaxFrameLen.
func ReadFrame(r io.Reader, maxLen int) (Frame, error) {
	if maxLen <= 0 || maxLen > MaxFrameLen {
		maxLen = MaxFrameLen
	}
	var h [HeaderLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return Frame{}, fmt.Errorf("csta: read frame header: %w", err)
		}
		return Frame{}, err // io.EOF between frames is a clean close
	}
	if h[0] != 0 || h[1] != 0 {
		return Frame{}, &FrameError{Reason: "format bytes are not zero", Header: h}
	}
	n := int(binary.BigEndian.Uint16(h[2:4]))
	if n < HeaderLen {
		return Frame{}, &FrameError{Reason: fmt.Sprintf("length %d is shorter than the header", n), Header: h}
	}
	if n > maxLen {
		return Frame{}, &FrameError{Reason: fmt.Sprintf("length %d exceeds the maximum %d", n, maxLen), Header: h}
	}
	id, ok := parseInvokeID(h[4:8])
	if !ok {
		return Frame{}, &FrameError{Reason: "invoke ID is not four digits", Header: h}
	}
	body := make([]byte, n-HeaderLen)
	if _, err := io.ReadFull(r, body); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, fmt.Errorf("csta: read frame body: %w", err)
	}
	return Frame{InvokeID: id, Body: body}, nil
}

func parseInvokeID(b []byte) (int, bool) {
	id := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		id = id*10 + int(c-'0')
	}
	return id, true
}

// AppendFrame appends the framed body to dst. It fails when the frame would
// not fit the 16-bit length or the invoke ID is out of range.
func AppendFrame(dst []byte, invokeID int, body []byte) ([]byte, error) {
	n := HeaderLen + len(body)
	if n > MaxFrameLen {
		return dst, fmt.Errorf("csta: frame of %d bytes exceeds %d", n, MaxFrameLen)
	}
	if invokeID < 0 || invokeID > 9999 {
		return dst, fmt.Errorf("csta: invoke ID %d out of range 0-9999", invokeID)
	}
	dst = append(dst, 0, 0, byte(n>>8), byte(n),
		byte('0'+invokeID/1000), byte('0'+invokeID/100%10), byte('0'+invokeID/10%10), byte('0'+invokeID%10))
	return append(dst, body...), nil
}

// WriteFrame writes one frame in a single Write call, so that concurrent
// writers serialised by a mutex never interleave.
func WriteFrame(w io.Writer, invokeID int, body []byte) error {
	b, err := AppendFrame(make([]byte, 0, HeaderLen+len(body)), invokeID, body)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
