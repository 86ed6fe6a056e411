package csta_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"crmcti/gateway/csta"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestGoldenRoundTrip pins every message's bytes (element order and
// spellings are what strict switches check) and decodes them back.
func TestGoldenRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range samples() {
		name := m.MessageName()
		seen[name] = true
		t.Run(name, func(t *testing.T) { checkGolden(t, name, m) })
	}
	if len(seen) != 69 {
		t.Errorf("samples cover %d message types, want all 69", len(seen))
	}
}

// checkGolden encodes m in edition 4, compares the bytes with
// testdata/golden/file.xml and decodes them back to m.
func checkGolden(t *testing.T, file string, m csta.Message) []byte {
	t.Helper()
	b, err := csta.Encode(m, csta.NamespaceEd4)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "golden", file+".xml")
	if *update {
		os.MkdirAll(filepath.Dir(golden), 0o755)
		if err := os.WriteFile(golden, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update once to create it)", err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("encoding changed:\n got %s\nwant %s", b, want)
	}
	got, ns, err := csta.Decode(want)
	if err != nil {
		t.Fatal(err)
	}
	wantNS := csta.FixedNamespace(m.MessageName())
	if wantNS == "" {
		wantNS = csta.NamespaceEd4
	}
	if ns != wantNS {
		t.Errorf("namespace %q, want %q", ns, wantNS)
	}
	if !reflect.DeepEqual(got, m) {
		t.Errorf("round trip:\n got %#v\nwant %#v", got, m)
	}
	return b
}

func TestDecodeCaptures(t *testing.T) {
	read := func(name string) csta.Message {
		b, err := os.ReadFile(filepath.Join("testdata", "captures", name))
		if err != nil {
			t.Fatal(err)
		}
		f, err := csta.ReadFrame(bytes.NewReader(b), 0)
		if err != nil {
			t.Fatal(err)
		}
		if f.InvokeID != csta.EventInvokeID {
			t.Errorf("%s: invoke ID %d, want 9999", name, f.InvokeID)
		}
		m, ns, err := csta.Decode(f.Body)
		if err != nil {
			t.Fatal(err)
		}
		if ns != csta.NamespaceEd4 {
			t.Errorf("%s: namespace %q", name, ns)
		}
		return m
	}
	o, ok := read("openscape-voice-OriginatedEvent.frame").(*csta.OriginatedEvent)
	if !ok {
		t.Fatal("not an OriginatedEvent")
	}
	if o.CrossRefID() != "1169730059" || o.OriginatedConnection.CallID != "FF000100000000002D65C85C1C750000" ||
		o.OriginatedConnection.DeviceID != "302118840100" || o.CallingDevice != "302118840100" ||
		o.CalledDevice != "N<302118840101>;displayNumber=302118840101;noa=nk" ||
		o.LocalConnectionInfo != csta.StateConnected || o.Cause != "newCall" {
		t.Errorf("OriginatedEvent decoded as %+v", o)
	}
	if o.CalledDevice.Number() != "302118840101" {
		t.Errorf("called number %q", o.CalledDevice.Number())
	}
	if o.Extensions.Element == nil || o.Extensions.Element.FindElement(".//privateData") == nil {
		t.Error("private data was not kept")
	}
	s, ok := read("openscape-voice-ServiceInitiatedEvent.frame").(*csta.ServiceInitiatedEvent)
	if !ok {
		t.Fatal("not a ServiceInitiatedEvent")
	}
	if s.InitiatingDevice.Number() != "302118840100" || s.Cause != "makeCall" || s.LocalConnectionInfo != csta.StateInitiated {
		t.Errorf("ServiceInitiatedEvent decoded as %+v", s)
	}
}

func TestDecodeAnyNamespaceAndPrefix(t *testing.T) {
	for _, doc := range []string{
		`<DeliveredEvent xmlns="http://www.ecma.ch/standards/ecma-323/csta/ed2"><monitorCrossRefID>7</monitorCrossRefID><connection><callID>C1</callID><deviceID>1001</deviceID></connection><alertingDevice><deviceIdentifier>1001</deviceIdentifier></alertingDevice><callingDevice><deviceIdentifier>N&lt;+35722123456&gt;</deviceIdentifier></callingDevice></DeliveredEvent>`,
		`<csta:DeliveredEvent xmlns:csta="http://www.ecma-international.org/standards/ecma-323/csta/ed3/priv1"><csta:monitorCrossRefID>7</csta:monitorCrossRefID><csta:connection><csta:callID>C1</csta:callID><csta:deviceID>1001</csta:deviceID></csta:connection><csta:alertingDevice><csta:deviceIdentifier>1001</csta:deviceIdentifier></csta:alertingDevice><csta:callingDevice><csta:deviceIdentifier>N&lt;+35722123456&gt;</csta:deviceIdentifier></csta:callingDevice></csta:DeliveredEvent>`,
		// A lax switch that sends devices unwrapped.
		`<DeliveredEvent xmlns="urn:x"><monitorCrossRefID>7</monitorCrossRefID><connection><callID>C1</callID><deviceID>1001</deviceID></connection><alertingDevice>1001</alertingDevice><callingDevice>+35722123456</callingDevice></DeliveredEvent>`,
	} {
		m, _, err := csta.Decode([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		d, ok := m.(*csta.DeliveredEvent)
		if !ok || d.CrossRefID() != "7" || d.Connection.CallID != "C1" || d.AlertingDevice != "1001" || d.CallingDevice.Number() != "+35722123456" {
			t.Errorf("decoded %#v from %s", m, doc)
		}
	}
}

func TestDecodeRejectsHostileAndMalformed(t *testing.T) {
	for name, doc := range map[string]string{
		"billion laughs":   `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><SystemStatus><systemStatus>&lol2;</systemStatus></SystemStatus>`,
		"external entity":  `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><SystemStatus><systemStatus>&xxe;</systemStatus></SystemStatus>`,
		"empty":            ``,
		"not xml":          `hello`,
		"unclosed":         `<MakeCall><callingDevice>1001</callingDevice>`,
		"two roots":        `<SystemStatus/><SystemStatus/>`,
		"bad boolean":      `<SetDoNotDisturb><device>1</device><doNotDisturbOn>maybe</doNotDisturbOn></SetDoNotDisturb>`,
		"bad integer":      `<ResetApplicationSessionTimerPosResponse><actualSessionDuration>x</actualSessionDuration></ResetApplicationSessionTimerPosResponse>`,
		"undefined entity": `<SystemStatus><systemStatus>&nope;</systemStatus></SystemStatus>`,
	} {
		if m, _, err := csta.Decode([]byte(doc)); err == nil {
			t.Errorf("%s: decoded %#v, want an error", name, m)
		}
	}
}

func TestUnknownMessageIsKept(t *testing.T) {
	m, _, err := csta.Decode([]byte(`<ParkCallEvent xmlns="urn:x"><monitorCrossRefID>1</monitorCrossRefID></ParkCallEvent>`))
	if err != nil {
		t.Fatal(err)
	}
	u, ok := m.(*csta.Unknown)
	if !ok || u.Name != "ParkCallEvent" {
		t.Fatalf("got %#v", m)
	}
}

func TestErrorCode(t *testing.T) {
	b, _ := csta.Encode(csta.NewError(csta.ErrCatOperation, "invalidDeviceIdentifier"), csta.NamespaceEd4)
	m, _, err := csta.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	e, ok := m.(*csta.CSTAErrorCode)
	if !ok {
		t.Fatalf("got %T", m)
	}
	if !errors.Is(e, csta.NewError(csta.ErrCatOperation, "invalidDeviceIdentifier")) || errors.Is(e, csta.NewError(csta.ErrCatOperation, "x")) {
		t.Error("errors.Is does not match on category and value")
	}
	if !strings.Contains(e.Error(), "operation/invalidDeviceIdentifier") {
		t.Errorf("message %q", e.Error())
	}
}
