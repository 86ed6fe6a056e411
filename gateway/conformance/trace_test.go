package conformance

import (
	"bytes"
	"strings"
	"testing"

	"crmcti/gateway/csta"
)

func TestRedactHidesPasswordsOnly(t *testing.T) {
	body := `<StartApplicationSession xmlns="http://www.ecma-international.org/standards/ecma-354/appl_session">` +
		`<applicationInfo><applicationID>CRM-CTI</applicationID><applicationSpecificInfo>` +
		`<ns1:SessionLoginInfo xmlns:ns1="http://www.avaya.com/csta"><ns1:userName>cti</ns1:userName>` +
		`<ns1:password>s3cr&amp;t</ns1:password><ns1:sessionCleanupDelay>60</ns1:sessionCleanupDelay>` +
		`</ns1:SessionLoginInfo></applicationSpecificInfo></applicationInfo><Password>x</Password><userPassword a="1">y</userPassword></StartApplicationSession>`
	got := redact([]byte(body))
	for _, secret := range []string{"s3cr", ">x<", ">y<"} {
		if strings.Contains(got, secret) {
			t.Errorf("%q left in %s", secret, got)
		}
	}
	for _, kept := range []string{"<ns1:userName>cti</ns1:userName>", "<ns1:password>***</ns1:password>",
		"<ns1:sessionCleanupDelay>60</ns1:sessionCleanupDelay>", "CRM-CTI", `<userPassword a="1">***</userPassword>`} {
		if !strings.Contains(got, kept) {
			t.Errorf("%q missing from %s", kept, got)
		}
	}
}

// The trace must show frames as they crossed the wire, however the
// stream was cut into reads.
func TestTracerSplitsFramesAcrossReads(t *testing.T) {
	var stream []byte
	for i, m := range []csta.Message{&csta.SystemStatus{SystemStatus: "normal"}, &csta.MonitorStartResponse{MonitorCrossRefID: "12"}} {
		body, _ := csta.Encode(m, csta.NamespaceEd4)
		stream, _ = csta.AppendFrame(stream, i+1, body)
	}
	var out bytes.Buffer
	tr := newTracer(&out)
	for i := range stream {
		tr.feed(true, stream[i:i+1])
	}
	got := tr.since(0)
	if len(got) != 2 || got[0].name != "SystemStatus" || got[1].name != "MonitorStartResponse" || got[1].invokeID != 2 {
		t.Fatalf("frames: %+v", got)
	}
	if lines := strings.Count(out.String(), "\n"); lines != 2 || !strings.Contains(out.String(), "< 0002 <?xml") {
		t.Errorf("trace:\n%s", out.String())
	}
	tr.feed(false, []byte("\x01\x02garbage"))
	if !strings.Contains(out.String(), "bad frame header") {
		t.Errorf("garbage not traced:\n%s", out.String())
	}
}
