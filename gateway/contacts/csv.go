package contacts

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"crmcti/gateway"
)

// CSVReader reads the CRM's CSV export: a header row naming at least code
// and full_name, then one contact per row. Columns named in PhoneColumns
// are numbers, type is the contact's type, action (optional) is upsert or
// delete, and every other column is a field shown with the contact.
type CSVReader struct {
	cr       *csv.Reader
	cols     []string // lower-cased header names, by column
	region   string
	onReject func(gateway.RowReject)
}

// NewCSVReader reads the header. region is the default country for
// numbers without one; onReject (nil: ignore) is told of every row
// refused and every number dropped.
func NewCSVReader(r io.Reader, region string, onReject func(gateway.RowReject)) (*CSVReader, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("contacts: read header: %w", err)
	}
	cols, err := readHeader(header)
	if err != nil {
		return nil, err
	}
	if onReject == nil {
		onReject = func(gateway.RowReject) {}
	}
	return &CSVReader{cr: cr, cols: cols, region: region, onReject: onReject}, nil
}

func readHeader(header []string) ([]string, error) {
	cols := make([]string, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		name := strings.ToLower(strings.TrimSpace(h))
		if err := gateway.CheckText(name, MaxFieldName); err != nil {
			return nil, fmt.Errorf("contacts: header column %d %v", i+1, err)
		}
		if name != "" && seen[name] {
			return nil, fmt.Errorf("contacts: header names column %q twice", name)
		}
		seen[name], cols[i] = true, name
	}
	for _, need := range []string{"code", "full_name"} {
		if !seen[need] {
			return nil, fmt.Errorf("contacts: header has no %q column (found %q)", need, header)
		}
	}
	return cols, nil
}

// Next returns the next good row, or io.EOF.
func (r *CSVReader) Next() (gateway.ContactChange, error) {
	for {
		rec, err := r.cr.Read()
		if errors.Is(err, io.EOF) {
			return gateway.ContactChange{}, io.EOF
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			r.onReject(gateway.RowReject{Line: pe.Line, Reason: pe.Err.Error()})
			continue
		}
		if err != nil {
			return gateway.ContactChange{}, fmt.Errorf("contacts: %w", err)
		}
		line, _ := r.cr.FieldPos(0)
		rw := r.row(line, rec)
		ch, notes, rerr := build(rw, r.region)
		if rerr != nil {
			r.onReject(gateway.RowReject{Line: line, Code: reportable(rw.code), Reason: rerr.reason})
			continue
		}
		for _, n := range notes {
			r.onReject(gateway.RowReject{Line: line, Code: ch.Contact.Code, Reason: n, Kept: true})
		}
		return ch, nil
	}
}

func (r *CSVReader) row(line int, rec []string) row {
	rw := row{line: line, fields: map[string]string{}}
	for i, v := range rec {
		if i >= len(r.cols) || r.cols[i] == "" {
			continue
		}
		switch name := r.cols[i]; {
		case name == "code":
			rw.code = v
		case name == "full_name":
			rw.name = v
		case name == "type":
			rw.typ = v
		case name == "action":
			rw.action = v
		case isPhoneColumn(name):
			rw.phones = append(rw.phones, rawPhone{kind: name, number: v})
		default:
			rw.fields[name] = v
		}
	}
	return rw
}

func isPhoneColumn(name string) bool {
	for _, p := range PhoneColumns {
		if p == name {
			return true
		}
	}
	return false
}
