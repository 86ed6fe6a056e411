package csta

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/beevik/etree"
)

// Message is one CSTA XML document: a request, a response, an event or an
// error. MessageName is the root element's name, spelled as in the schema.
type Message interface {
	MessageName() string
}

// Unknown is a well-formed message this package has no type for. The
// connection logs and counts it; it is never fatal.
type Unknown struct {
	Name    string
	Element *etree.Element
}

// MessageName implements Message.
func (u *Unknown) MessageName() string { return u.Name }

// Extensions holds a message's <extensions> (private data) as received, so
// that a relay or a log keeps it. Nothing in this package requires it.
type Extensions struct {
	Element *etree.Element
}

// ErrNotCSTA is returned for input that is not one XML document with a
// single root element.
var ErrNotCSTA = errors.New("csta: not a CSTA XML document")

var (
	registryMu sync.RWMutex
	registry   = map[string]reflect.Type{}
)

func register(msgs ...Message) {
	registryMu.Lock()
	defer registryMu.Unlock()
	for _, m := range msgs {
		registry[m.MessageName()] = reflect.TypeOf(m).Elem()
	}
}

// Encode writes msg as an XML document in namespace ns, children in the
// order the schema's sequences require (the order of the struct fields).
// ECMA-354 session messages and Avaya's device-ID messages always get
// their own namespace (FixedNamespace).
func Encode(msg Message, ns string) ([]byte, error) {
	if fixed := FixedNamespace(msg.MessageName()); fixed != "" {
		ns = fixed
	}
	v := reflect.ValueOf(msg)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil, fmt.Errorf("csta: encode: nil %T", msg)
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil, fmt.Errorf("csta: encode: %T is not a message struct", msg)
	}
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	root := doc.CreateElement(msg.MessageName())
	if ns != "" {
		root.CreateAttr("xmlns", ns)
	}
	if u, ok := msg.(*Unknown); ok {
		if u.Element != nil {
			for _, c := range u.Element.ChildElements() {
				root.AddChild(c.Copy())
			}
		}
	} else {
		encodeStruct(root, v)
	}
	return writeDocument(doc), nil
}

// writeDocument is doc.WriteToBytes without the 4 KiB bufio.Writer etree
// puts in front of the bytes.Buffer (the same bytes: each token writes
// itself to the buffer directly).
func writeDocument(doc *etree.Document) []byte {
	var buf bytes.Buffer
	buf.Grow(1024)
	for _, t := range doc.Child {
		t.WriteTo(&buf, &doc.WriteSettings)
	}
	return buf.Bytes()
}

// Decode parses one CSTA XML document. Elements are matched by local name
// whatever their namespace; ns is the root's namespace, to answer in. A
// well-formed message of a kind this package does not know decodes to
// *Unknown with a nil error. DTDs are refused outright: CSTA has none, and
// entity tricks are the classic hostile-XML attack.
func Decode(body []byte) (msg Message, ns string, err error) {
	doc, err := parseDocument(body)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrNotCSTA, err)
	}
	var root *etree.Element
	for _, t := range doc.Child {
		switch t := t.(type) {
		case *etree.Directive:
			return nil, "", fmt.Errorf("%w: DTD or directive not allowed", ErrNotCSTA)
		case *etree.Element:
			if root != nil {
				return nil, "", fmt.Errorf("%w: more than one root element", ErrNotCSTA)
			}
			root = t
		case *etree.CharData:
			if strings.TrimSpace(t.Data) != "" {
				return nil, "", fmt.Errorf("%w: text outside the root element", ErrNotCSTA)
			}
		}
	}
	if root == nil {
		return nil, "", fmt.Errorf("%w: no root element", ErrNotCSTA)
	}
	if !validName(root.Tag) {
		return nil, "", fmt.Errorf("%w: root element name %q", ErrNotCSTA, root.Tag)
	}
	ns = root.NamespaceURI()
	registryMu.RLock()
	t, ok := registry[root.Tag]
	registryMu.RUnlock()
	if !ok {
		return &Unknown{Name: root.Tag, Element: root}, ns, nil
	}
	pv := reflect.New(t)
	if err := decodeStruct(root, pv.Elem()); err != nil {
		return nil, ns, fmt.Errorf("csta: decode %s: %w", root.Tag, err)
	}
	return pv.Interface().(Message), ns, nil
}

// field describes one struct field's element. Tag options after the name:
// "dev" for a device written as <name><deviceIdentifier>…</deviceIdentifier></name>,
// "omitfalse" for an optional boolean left out when false.
type field struct {
	index     []int
	name      string
	wrapDev   bool
	omitFalse bool
}

var fieldCache sync.Map // reflect.Type -> []field

// fieldsOf lists the fields with a csta tag, flattening embedded structs
// (EventHeader) in place so that their elements keep their position.
func fieldsOf(t reflect.Type) []field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field)
	}
	var out []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
			for _, inner := range fieldsOf(sf.Type) {
				inner.index = append([]int{i}, inner.index...)
				out = append(out, inner)
			}
			continue
		}
		tag := sf.Tag.Get("csta")
		if tag == "" || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		f := field{index: []int{i}, name: name}
		for _, o := range strings.Split(opts, ",") {
			f.wrapDev = f.wrapDev || o == "dev"
			f.omitFalse = f.omitFalse || o == "omitfalse"
		}
		out = append(out, f)
	}
	fieldCache.Store(t, out)
	return out
}

var (
	typExtensions = reflect.TypeOf(Extensions{})
	typDeviceID   = reflect.TypeOf(DeviceID(""))
)

func encodeStruct(parent *etree.Element, v reflect.Value) {
	for _, f := range fieldsOf(v.Type()) {
		encodeValue(parent, f, v.FieldByIndex(f.index))
	}
}

func encodeValue(parent *etree.Element, f field, fv reflect.Value) {
	switch {
	case fv.Type() == typExtensions:
		if e := fv.Interface().(Extensions).Element; e != nil {
			c := e.Copy()
			c.Space = ""
			c.Tag = f.name
			parent.AddChild(c)
		}
		return
	case fv.Kind() == reflect.Slice:
		for i := 0; i < fv.Len(); i++ {
			encodeValue(parent, f, fv.Index(i))
		}
		return
	case fv.Kind() == reflect.Pointer:
		if !fv.IsNil() {
			encodeValue(parent, f, fv.Elem())
		}
		return
	}
	switch fv.Kind() {
	case reflect.String:
		s := fv.String()
		if s == "" {
			return
		}
		el := parent.CreateElement(f.name)
		if f.wrapDev && fv.Type() == typDeviceID {
			el = el.CreateElement("deviceIdentifier")
		}
		el.SetText(s)
	case reflect.Bool:
		if fv.Bool() || !f.omitFalse {
			parent.CreateElement(f.name).SetText(strconv.FormatBool(fv.Bool()))
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		if fv.Int() != 0 {
			parent.CreateElement(f.name).SetText(strconv.FormatInt(fv.Int(), 10))
		}
	case reflect.Struct:
		if fv.IsZero() && !isPresence(fv.Type()) {
			return
		}
		el := parent.CreateElement(f.name)
		encodeStruct(el, fv)
		if fr, ok := fv.Interface().(foreign); ok {
			prefix, ns := fr.foreignPrefix()
			qualify(el, prefix, ns)
		}
	}
}

// foreign is a struct written in a vendor's namespace inside a standard
// message: SessionLoginInfo inside ECMA-354's applicationSpecificInfo,
// which is xsd:any, so Avaya's parser needs the prefix and the xsi:type.
type foreign interface {
	foreignPrefix() (prefix, ns string)
}

// qualify puts el and everything under it in namespace ns under prefix,
// declared on el together with the xsi:type that names el's type.
func qualify(el *etree.Element, prefix, ns string) {
	el.CreateAttr("xmlns:"+prefix, ns)
	el.CreateAttr("xmlns:xsi", NamespaceXSI)
	el.CreateAttr("xsi:type", prefix+":"+el.Tag)
	var walk func(*etree.Element)
	walk = func(e *etree.Element) {
		e.Space = prefix
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	walk(el)
}

// isPresence reports struct types whose empty element still carries
// meaning, such as an empty snapshotData (a device with no calls).
func isPresence(t reflect.Type) bool {
	_, ok := reflect.New(t).Interface().(interface{ presence() })
	return ok
}

func decodeStruct(el *etree.Element, v reflect.Value) error {
	fields := fieldsOf(v.Type())
	for _, c := range el.ChildElements() {
		for _, f := range fields {
			if f.name != c.Tag {
				continue
			}
			if err := decodeValue(c, f, v.FieldByIndex(f.index)); err != nil {
				return fmt.Errorf("%s: %w", f.name, err)
			}
			break
		}
	}
	return nil
}

func decodeValue(el *etree.Element, f field, fv reflect.Value) error {
	switch {
	case fv.Type() == typExtensions:
		fv.Set(reflect.ValueOf(Extensions{Element: el.Copy()}))
		return nil
	case fv.Kind() == reflect.Slice:
		item := reflect.New(fv.Type().Elem()).Elem()
		if err := decodeValue(el, f, item); err != nil {
			return err
		}
		fv.Set(reflect.Append(fv, item))
		return nil
	case fv.Kind() == reflect.Pointer:
		p := reflect.New(fv.Type().Elem())
		if err := decodeValue(el, f, p.Elem()); err != nil {
			return err
		}
		fv.Set(p)
		return nil
	}
	switch fv.Kind() {
	case reflect.String:
		if f.wrapDev && fv.Type() == typDeviceID {
			fv.SetString(deviceText(el))
		} else {
			fv.SetString(strings.TrimSpace(el.Text()))
		}
	case reflect.Bool:
		switch strings.TrimSpace(el.Text()) {
		case "true", "1":
			fv.SetBool(true)
		case "false", "0":
			fv.SetBool(false)
		default:
			return fmt.Errorf("not a boolean: %q", el.Text())
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, err := strconv.ParseInt(strings.TrimSpace(el.Text()), 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer: %q", el.Text())
		}
		fv.SetInt(n)
	case reflect.Struct:
		return decodeStruct(el, fv)
	}
	return nil
}

// deviceText reads a device that may be wrapped (<deviceIdentifier>, as
// events send it) or, from lax switches, bare text. notKnown and
// notRequired decode to an empty ID.
func deviceText(el *etree.Element) string {
	if d := el.SelectElement("deviceIdentifier"); d != nil {
		return strings.TrimSpace(d.Text())
	}
	if len(el.ChildElements()) > 0 {
		return ""
	}
	return strings.TrimSpace(el.Text())
}

// validName accepts the names CSTA uses (ASCII letters, digits, '_', '-',
// '.'), which also keeps a hostile name out of logs and metrics labels.
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_':
		case i > 0 && (r >= '0' && r <= '9' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return true
}
