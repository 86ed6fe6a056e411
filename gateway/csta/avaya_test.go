package csta_test

import (
	"strings"
	"testing"

	"crmcti/gateway/csta"
)

// TestAvayaSessionLoginInfo pins StartApplicationSession as AES wants it:
// SessionLoginInfo in Avaya's namespace with its xsi:type inside
// applicationSpecificInfo, the session in ECMA-354's namespace.
func TestAvayaSessionLoginInfo(t *testing.T) {
	for _, tc := range []struct {
		file, sessionID string
	}{
		{"StartApplicationSession-avaya", ""},
		{"StartApplicationSession-avaya-recover", "9A3C5E1F0D2B4A6C8E0F1A2B3C4D5E6F-1"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			m := &csta.StartApplicationSession{
				ApplicationInfo: csta.ApplicationInfo{ApplicationID: "CRM-CTI",
					ApplicationSpecificInfo: csta.ApplicationSpecificInfo{SessionLoginInfo: &csta.SessionLoginInfo{
						UserName: "cti", Password: "s3cret", SessionCleanupDelay: 60, SessionID: tc.sessionID}}},
				RequestedProtocolVersions: csta.ProtocolVersions{ProtocolVersion: []string{csta.NamespaceEd3 + "/priv2"}},
				RequestedSessionDuration:  180,
			}
			b := string(checkGolden(t, tc.file, m))
			for _, want := range []string{
				`<StartApplicationSession xmlns="` + csta.NamespaceApplSession + `">`,
				`<applicationSpecificInfo><acx:SessionLoginInfo xmlns:acx="http://www.avaya.com/csta" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="acx:SessionLoginInfo">`,
				`<acx:userName>cti</acx:userName><acx:password>s3cret</acx:password><acx:sessionCleanupDelay>60</acx:sessionCleanupDelay>`,
			} {
				if !strings.Contains(b, want) {
					t.Errorf("missing %s in\n%s", want, b)
				}
			}
			if got := strings.Contains(b, "<acx:sessionID>"+tc.sessionID+"</acx:sessionID>"); got != (tc.sessionID != "") {
				t.Errorf("sessionID present = %v in\n%s", got, b)
			}
		})
	}
}

// TestDecodeDMCCForms reads the messages as AES and DMCC clients write
// them: other prefixes, attributes on device, Avaya's namespace.
func TestDecodeDMCCForms(t *testing.T) {
	m, ns, err := csta.Decode([]byte(`<?xml version="1.0" encoding="UTF-8"?>
<GetDeviceIdResponse xmlns="http://www.avaya.com/csta"><device typeOfNumber="other" mediaClass="notKnown" bitRate="constant">1001:CM1:10.0.0.1:0</device></GetDeviceIdResponse>`))
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := m.(*csta.GetDeviceIdResponse); !ok || r.Device != "1001:CM1:10.0.0.1:0" || ns != csta.NamespaceAvaya {
		t.Errorf("GetDeviceIdResponse decoded as %#v in %q", m, ns)
	}
	m, _, err = csta.Decode([]byte(`<StartApplicationSession xmlns="http://www.ecma-international.org/standards/ecma-354/appl_session" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <applicationInfo><applicationID>App</applicationID><applicationSpecificInfo>
  <ns1:SessionLoginInfo xsi:type="ns1:SessionLoginInfo" xmlns:ns1="http://www.avaya.com/csta">
   <ns1:userName>u</ns1:userName><ns1:password>p</ns1:password><ns1:sessionCleanupDelay>120</ns1:sessionCleanupDelay><ns1:sessionID>S7</ns1:sessionID>
  </ns1:SessionLoginInfo></applicationSpecificInfo></applicationInfo>
 <requestedProtocolVersions><protocolVersion>http://www.ecma-international.org/standards/ecma-323/csta/ed3/priv2</protocolVersion></requestedProtocolVersions>
 <requestedSessionDuration>180</requestedSessionDuration></StartApplicationSession>`))
	if err != nil {
		t.Fatal(err)
	}
	s, ok := m.(*csta.StartApplicationSession)
	if !ok {
		t.Fatalf("got %T", m)
	}
	li := s.ApplicationInfo.ApplicationSpecificInfo.SessionLoginInfo
	if li == nil || *li != (csta.SessionLoginInfo{UserName: "u", Password: "p", SessionCleanupDelay: 120, SessionID: "S7"}) {
		t.Errorf("SessionLoginInfo decoded as %+v", li)
	}
}

// TestGetDeviceIdControllable writes the optional flag only when set.
func TestGetDeviceIdControllable(t *testing.T) {
	b, err := csta.Encode(&csta.GetDeviceId{SwitchName: "CM1", Extension: "1001", ControllableByOtherSessions: true}, csta.NamespaceEd3)
	if err != nil {
		t.Fatal(err)
	}
	want := `<GetDeviceId xmlns="http://www.avaya.com/csta"><switchName>CM1</switchName><extension>1001</extension><controllableByOtherSessions>true</controllableByOtherSessions></GetDeviceId>`
	if !strings.HasSuffix(string(b), want) {
		t.Errorf("got %s", b)
	}
}
