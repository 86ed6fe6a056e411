package contacts

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"crmcti/gateway"
)

// Record is one contact as the NDJSON export and the push API carry it:
//
//	{"code":"C1","full_name":"Andreas Andreou","type":"Individual",
//	 "phones":[{"kind":"mobile","number":"+357 99 123456"}],
//	 "fields":{"email":"a@example.com"}}
//	{"code":"C2","action":"delete"}
type Record struct {
	Code     string            `json:"code"`
	FullName string            `json:"full_name,omitempty"`
	Type     string            `json:"type,omitempty"`
	Action   string            `json:"action,omitempty"`
	Phones   []RecordPhone     `json:"phones,omitempty"`
	Fields   map[string]string `json:"fields,omitempty"`
}

// RecordPhone is one number of a Record.
type RecordPhone struct {
	Kind   string `json:"kind"`
	Number string `json:"number"`
}

// MaxLine bounds one NDJSON line (one contact), in bytes.
const MaxLine = 64 << 10

// NDJSONReader reads one JSON object per line. Blank lines are skipped.
type NDJSONReader struct {
	br       *bufio.Reader
	line     int
	region   string
	onReject func(gateway.RowReject)
}

// NewNDJSONReader reads r; region and onReject are as for NewCSVReader.
func NewNDJSONReader(r io.Reader, region string, onReject func(gateway.RowReject)) *NDJSONReader {
	if onReject == nil {
		onReject = func(gateway.RowReject) {}
	}
	return &NDJSONReader{br: bufio.NewReaderSize(r, MaxLine), region: region, onReject: onReject}
}

// Next returns the next good row, or io.EOF.
func (r *NDJSONReader) Next() (gateway.ContactChange, error) {
	for {
		b, err := r.readLine()
		if err != nil {
			return gateway.ContactChange{}, err
		}
		if b == nil {
			continue // a line too long, already reported
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		ch, notes, rerr := DecodeRecord(b, r.line, r.region)
		if rerr != nil {
			r.onReject(*rerr)
			continue
		}
		for _, n := range notes {
			r.onReject(gateway.RowReject{Line: r.line, Code: ch.Contact.Code, Reason: n, Kept: true})
		}
		return ch, nil
	}
}

// readLine returns the next line without its newline, nil for a line over
// MaxLine (reported and skipped), or io.EOF.
func (r *NDJSONReader) readLine() ([]byte, error) {
	b, err := r.br.ReadSlice('\n')
	if len(b) > 0 || err == nil {
		r.line++
	}
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		line := r.line
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = r.br.ReadSlice('\n')
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("contacts: %w", err)
		}
		r.onReject(gateway.RowReject{Line: line, Reason: fmt.Sprintf("line longer than %d bytes", MaxLine)})
		return nil, nil
	case errors.Is(err, io.EOF) && len(b) == 0:
		return nil, io.EOF
	case err != nil && !errors.Is(err, io.EOF):
		return nil, fmt.Errorf("contacts: %w", err)
	}
	return bytes.TrimSuffix(b, []byte{'\n'}), nil
}

// DecodeRecord validates one JSON object (an NDJSON line or a pushed
// record) at line (0 when it is not from a file).
func DecodeRecord(b []byte, line int, region string) (gateway.ContactChange, []string, *gateway.RowReject) {
	rec, err := UnmarshalRecord(b)
	if err != nil {
		return gateway.ContactChange{}, nil, &gateway.RowReject{Line: line, Reason: err.Error()}
	}
	return FromRecord(rec, line, region)
}

// UnmarshalRecord decodes one JSON object strictly: it refuses what is not
// UTF-8 (encoding/json would quietly turn the bad bytes into U+FFFD),
// unknown keys (a misspelt "fullname" must not import a contact with no
// name) and trailing values. The error reads as a reason.
func UnmarshalRecord(b []byte) (Record, error) {
	var rec Record
	if !utf8.Valid(b) {
		return rec, errors.New("is not valid UTF-8 (export the file as UTF-8)")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return rec, fmt.Errorf("not a contact object: %v", err)
	}
	if dec.More() {
		return rec, errors.New("more than one JSON value on the line")
	}
	return rec, nil
}

// FromRecord validates a decoded record.
func FromRecord(rec Record, line int, region string) (gateway.ContactChange, []string, *gateway.RowReject) {
	rw := row{line: line, code: rec.Code, name: rec.FullName, typ: rec.Type, action: rec.Action, fields: rec.Fields}
	for _, p := range rec.Phones {
		rw.phones = append(rw.phones, rawPhone{kind: p.Kind, number: p.Number})
	}
	ch, notes, err := build(rw, region)
	if err != nil {
		return ch, nil, &gateway.RowReject{Line: line, Code: reportable(rec.Code), Reason: err.reason}
	}
	return ch, notes, nil
}
