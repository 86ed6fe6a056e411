package csta

import (
	"bytes"
	"encoding/xml"
	"io"

	"github.com/beevik/etree"
)

// maxDepth is etree's default limit on nesting.
const maxDepth = 1024

// parseDocument reads body into a tree as etree's Document.ReadFromBytes
// does with its default settings (strict, no entities, duplicate
// attributes resolved to the last, depth at most maxDepth), token for
// token. It exists for speed alone: etree hands encoding/xml a reader
// that hides io.ByteReader, so every frame decoded cost a 4 KiB
// bufio.Reader (under load, a third of the bytes the gateway allocated);
// a bytes.Reader is read directly.
func parseDocument(body []byte) (*etree.Document, error) {
	doc := etree.NewDocument()
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil } // as etree's default
	stack := []*etree.Element{&doc.Element}
	for {
		t, err := dec.RawToken()
		switch {
		case err == io.EOF:
			if len(stack) != 1 {
				return nil, etree.ErrXML
			}
			return doc, nil
		case err != nil:
			return nil, err
		}
		top := stack[len(stack)-1]
		switch t := t.(type) {
		case xml.StartElement:
			if len(stack) > maxDepth {
				return nil, etree.ErrMaxDepth
			}
			stack = append(stack, startElement(top, t))
		case xml.EndElement:
			if len(stack) == 1 || top.Tag != t.Name.Local || top.Space != t.Name.Space {
				return nil, etree.ErrXML
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			top.CreateText(string(t))
		case xml.Comment:
			top.CreateComment(string(t))
		case xml.Directive:
			top.CreateDirective(string(t))
		case xml.ProcInst:
			top.CreateProcInst(t.Target, string(t.Inst))
		}
	}
}

// startElement adds t's element under parent with its names exactly as
// the decoder split them, and its attributes, a repeated one keeping the
// last value in the first one's place.
func startElement(parent *etree.Element, t xml.StartElement) *etree.Element {
	e := parent.CreateElement(t.Name.Local)
	e.Space, e.Tag = t.Name.Space, t.Name.Local
	for _, a := range t.Attr {
		if i := attrIndex(e, a.Name); i >= 0 {
			e.Attr[i].Value = a.Value
			continue
		}
		// A key no XML name can be, renamed at once: CreateAttr ties the
		// attribute to its element, which an Attr literal cannot.
		at := e.CreateAttr("\x00", a.Value)
		at.Space, at.Key = a.Name.Space, a.Name.Local
	}
	return e
}

func attrIndex(e *etree.Element, n xml.Name) int {
	for i, a := range e.Attr {
		if a.Space == n.Space && a.Key == n.Local {
			return i
		}
	}
	return -1
}
