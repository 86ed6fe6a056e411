package main

// Each vendor profile driven by the same independent client: raw framing,
// hand-written XML, encoding/xml to read. What is asserted is what the
// vendor's switch does and what a gateway must cope with.

import (
	"errors"
	"os"
	"regexp"
	"testing"
	"time"
)

const (
	nsEd3      = "http://www.ecma-international.org/standards/ecma-323/csta/ed3"
	nsEd3Priv2 = nsEd3 + "/priv2"
	nsEd5      = "http://www.ecma-international.org/standards/ecma-323/csta/ed5"
	nsAppl     = "http://www.ecma-international.org/standards/ecma-354/appl_session"
	nsAvaya    = "http://www.avaya.com/csta"
	dmcc1001   = "1001:CM1:10.0.0.1:0"
	osv1001    = "35722101001"
	callerE164 = "+35722123456"
)

func connXML(tag, callID, dev string) string {
	return "<" + tag + "><callID>" + callID + "</callID><deviceID>" + dev + "</deviceID></" + tag + ">"
}

func wantError(t *testing.T, r node, category, value string) {
	t.Helper()
	if r.XMLName.Local != "CSTAErrorCode" || r.path(category) != value {
		t.Fatalf("got %s %+v, want CSTAErrorCode %s/%s", r.XMLName.Local, r, category, value)
	}
}

// openScapeSession plays the application's side of an OpenScape Voice
// link start.
func openScapeSession(t *testing.T, cl *client) {
	t.Helper()
	id, root := cl.read()
	if root.XMLName.Local != "SystemStatus" || root.XMLName.Space != ns {
		t.Fatalf("first message %s in %q", root.XMLName.Local, root.XMLName.Space)
	}
	cl.write(id, `<SystemStatusResponse xmlns="`+ns+`"/>`)
	beats := cl.beats
	cl.beats = true // a heartbeat may come before the answer
	defer func() { cl.beats = beats }()
	if r := cl.request(`<SystemRegister xmlns="` + ns + `"><requestTypes><systemStatus>true</systemStatus></requestTypes></SystemRegister>`); r.XMLName.Local != "SystemRegisterResponse" {
		t.Fatalf("SystemRegister: %s", r.XMLName.Local)
	}
}

func TestOpenScapeProfile(t *testing.T) {
	sim := startBinary(t, "-profile", "openscape")
	addr, post := sim.addr, sim.post
	cl := dial(t, addr)
	openScapeSession(t, cl)

	// The switch knows devices by their full number, not the extension.
	wantError(t, cl.request(`<MonitorStart xmlns="`+ns+`"><monitorObject><deviceObject>1001</deviceObject></monitorObject></MonitorStart>`), "operation", "invalidDeviceID")
	r := cl.request(`<MonitorStart xmlns="` + ns + `"><monitorObject><deviceObject>` + osv1001 + `</deviceObject></monitorObject></MonitorStart>`)
	xref := r.path("monitorCrossRefID")
	if r.XMLName.Local != "MonitorStartResponse" || xref == "" {
		t.Fatalf("MonitorStart: %+v", r)
	}
	// The application may check the switch too: SystemStatus both ways.
	if r := cl.request(`<SystemStatus xmlns="` + ns + `"><systemStatus>normal</systemStatus></SystemStatus>`); r.XMLName.Local != "SystemStatusResponse" {
		t.Fatalf("SystemStatus from the application: %s", r.XMLName.Local)
	}

	// The control API takes the extension; the events name the device in
	// the switch's forms.
	call := post("/calls", `{"from":"`+callerE164+`","to":"1001"}`)
	callID := call["callId"].(string)
	d := cl.event("DeliveredEvent", xref)
	if !regexp.MustCompile(`^FF0001[0-9A-F]{26}$`).MatchString(callID) || d.path("connection", "callID") != callID {
		t.Fatalf("call ID %q, Delivered %+v", callID, d)
	}
	if got := d.path("connection", "deviceID"); got != osv1001 {
		t.Errorf("connection deviceID %q, want the bare number %s", got, osv1001)
	}
	if got := d.path("alertingDevice", "deviceIdentifier"); got != "N<"+osv1001+">;noa=nk" {
		t.Errorf("alertingDevice %q", got)
	}
	caller := d.path("callingDevice", "deviceIdentifier")
	if !regexp.MustCompile(`^N<\+35722123456>Line7\d{4};displayNumber=\+35722123456;uid=[0-9a-f]{8}$`).MatchString(caller) {
		t.Errorf("callingDevice %q", caller)
	}

	// A connection names the device by its full number; the extension
	// names no party of the call.
	wantError(t, cl.request(`<AnswerCall xmlns="`+ns+`">`+connXML("callToBeAnswered", callID, "1001")+`</AnswerCall>`), "operation", "invalidConnectionID")
	if r := cl.request(`<AnswerCall xmlns="` + ns + `">` + connXML("callToBeAnswered", callID, osv1001) + `</AnswerCall>`); r.XMLName.Local != "AnswerCallResponse" {
		t.Fatalf("AnswerCall: %+v", r)
	}
	if e := cl.event("EstablishedEvent", xref); e.path("answeringDevice", "deviceIdentifier") != "N<"+osv1001+">;noa=nk" {
		t.Fatalf("Established %+v", e)
	}
	cl.request(`<ClearConnection xmlns="` + ns + `">` + connXML("connectionToBeCleared", callID, osv1001) + `</ClearConnection>`)
	cl.event("ConnectionClearedEvent", xref)
	cl.event("CallClearedEvent", xref)

	// MakeCall from the full number, dialling a short extension (the dial
	// plan takes it): the originating device is bare, the called one N<…>.
	r = cl.request(`<MakeCall xmlns="` + ns + `"><callingDevice>` + osv1001 + `</callingDevice><calledDirectoryNumber>1002</calledDirectoryNumber></MakeCall>`)
	if r.XMLName.Local != "MakeCallResponse" || r.path("callingDevice", "deviceID") != osv1001 {
		t.Fatalf("MakeCall: %+v", r)
	}
	cl.event("ServiceInitiatedEvent", xref)
	if o := cl.event("OriginatedEvent", xref); o.path("callingDevice", "deviceIdentifier") != osv1001 ||
		o.path("calledDevice", "deviceIdentifier") != "N<35722101002>;noa=nk" {
		t.Fatalf("Originated %+v", o)
	}
}

func TestOpenScapeDropsALinkThatAnswersNoHeartbeat(t *testing.T) {
	addr := startBinary(t, "-profile", "openscape", "-heartbeat", "50ms").addr
	cl := dial(t, addr)
	openScapeSession(t, cl)
	beats := 0
	for {
		cl.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := cl.r.Peek(1); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatal("the switch went silent but kept the link")
			}
			break // the switch closed the link
		}
		if _, root := cl.readFrame(); root.XMLName.Local == "SystemStatus" {
			beats++
		}
		if beats > 6 {
			t.Fatalf("%d heartbeats unanswered and the link still up", beats)
		}
	}
	// Three unanswered, or four when the first tick beat the answer to
	// the opening SystemStatus.
	if beats < 3 || beats > 4 {
		t.Fatalf("%d heartbeats before the link was dropped, want 3", beats)
	}
}

func TestOpenScapeKeepsALinkThatAnswersHeartbeats(t *testing.T) {
	addr := startBinary(t, "-profile", "openscape", "-heartbeat", "20ms").addr
	cl := dial(t, addr)
	openScapeSession(t, cl)
	// Read as an application does, answering every heartbeat, until well
	// past the three the switch lets go unanswered.
	for beats := 0; beats < 6; {
		cl.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		id, root := cl.readFrame()
		if root.XMLName.Local != "SystemStatus" {
			t.Fatalf("unexpected %s", root.XMLName.Local)
		}
		cl.write(id, `<SystemStatusResponse xmlns="`+ns+`"/>`)
		beats++
	}
	cl.beats = true
	if r := cl.request(`<MonitorStart xmlns="` + ns + `"><monitorObject><deviceObject>` + osv1001 + `</deviceObject></monitorObject></MonitorStart>`); r.XMLName.Local != "MonitorStartResponse" {
		t.Fatalf("MonitorStart after heartbeats: %+v", r)
	}
}

// avayaSession starts a DMCC session with the given SessionLoginInfo
// children and returns the response.
func avayaSession(cl *client, login string) node {
	info := ""
	if login != "" {
		info = `<applicationSpecificInfo><ns1:SessionLoginInfo xmlns:ns1="` + nsAvaya + `" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="ns1:SessionLoginInfo">` +
			login + `</ns1:SessionLoginInfo></applicationSpecificInfo>`
	}
	return cl.request(`<StartApplicationSession xmlns="` + nsAppl + `"><applicationInfo><applicationID>test</applicationID>` + info +
		`</applicationInfo><requestedProtocolVersions><protocolVersion>` + nsEd3Priv2 + `</protocolVersion></requestedProtocolVersions>` +
		`<requestedSessionDuration>180</requestedSessionDuration></StartApplicationSession>`)
}

func TestAvayaProfile(t *testing.T) {
	sim := startBinary(t, "-profile", "avaya", "-user", "crm", "-password", "s3cret")
	addr, post := sim.addr, sim.post
	cl := dial(t, addr)
	cl.ns = nsEd3Priv2

	// Nothing before a session; no session without valid credentials.
	wantError(t, cl.request(`<MonitorStart xmlns="`+nsEd3Priv2+`"><monitorObject><deviceObject>1001</deviceObject></monitorObject></MonitorStart>`), "security", "requestNotAllowed")
	for _, login := range []string{"", `<ns1:userName>crm</ns1:userName><ns1:password>wrong</ns1:password>`} {
		if r := avayaSession(cl, login); r.XMLName.Local != "StartApplicationSessionNegResponse" || r.path("errorCode", "definedError") != "invalidApplicationInfo" {
			t.Fatalf("session with %q: %+v", login, r)
		}
	}
	r := avayaSession(cl, `<ns1:userName>crm</ns1:userName><ns1:password>s3cret</ns1:password><ns1:sessionCleanupDelay>30</ns1:sessionCleanupDelay>`)
	session := r.path("sessionID")
	if r.XMLName.Local != "StartApplicationSessionPosResponse" || session == "" || r.path("actualProtocolVersion") != nsEd3Priv2 {
		t.Fatalf("session: %+v", r)
	}

	// Devices only by the IDs GetDeviceId hands out.
	monitor := func(dev string) node {
		return cl.request(`<MonitorStart xmlns="` + nsEd3Priv2 + `"><monitorObject><deviceObject>` + dev + `</deviceObject></monitorObject></MonitorStart>`)
	}
	wantError(t, monitor("1001"), "operation", "invalidDeviceID")
	wantError(t, monitor(dmcc1001), "operation", "invalidDeviceID")
	wantError(t, cl.request(`<GetDeviceId xmlns="`+nsAvaya+`"><switchName>CM9</switchName><extension>1001</extension></GetDeviceId>`), "operation", "invalidDeviceID")
	r = cl.request(`<GetDeviceId xmlns="` + nsAvaya + `"><switchName>CM1</switchName><extension>1001</extension></GetDeviceId>`)
	if r.XMLName.Local != "GetDeviceIdResponse" || r.XMLName.Space != nsAvaya || r.path("device") != dmcc1001 {
		t.Fatalf("GetDeviceId: %+v", r)
	}
	xref := monitor(dmcc1001).path("monitorCrossRefID")
	if xref == "" {
		t.Fatal("MonitorStart refused the obtained device ID")
	}

	// Every event names the device by its DMCC ID and carries private data.
	callID := post("/calls", `{"from":"`+callerE164+`","to":"1001"}`)["callId"].(string)
	d := cl.event("DeliveredEvent", xref)
	if d.path("connection", "deviceID") != dmcc1001 || d.path("alertingDevice", "deviceIdentifier") != dmcc1001 ||
		d.path("callingDevice", "deviceIdentifier") != callerE164+":CM1::0" || d.path("connection", "callID") != callID {
		t.Fatalf("Delivered %+v", d)
	}
	if ucid := d.path("extensions", "privateData", "private", "DeliveredEventPrivateData", "ucid"); len(ucid) != 20 {
		t.Fatalf("no UCID in the private data: %+v", d)
	}
	wantError(t, cl.request(`<AnswerCall xmlns="`+nsEd3Priv2+`">`+connXML("callToBeAnswered", callID, "1001")+`</AnswerCall>`), "operation", "invalidConnectionID")
	cl.request(`<AnswerCall xmlns="` + nsEd3Priv2 + `">` + connXML("callToBeAnswered", callID, dmcc1001) + `</AnswerCall>`)
	if e := cl.event("EstablishedEvent", xref); e.path("answeringDevice", "deviceIdentifier") != dmcc1001 {
		t.Fatalf("Established %+v", e)
	}

	// The link is lost; within the cleanup delay the session comes back
	// with its monitor, by its ID.
	cl.c.Close()
	time.Sleep(200 * time.Millisecond) // the switch notices the loss
	cl = dial(t, addr)
	cl.ns = nsEd3Priv2
	if r := avayaSession(cl, `<ns1:userName>crm</ns1:userName><ns1:password>s3cret</ns1:password><ns1:sessionID>UNKNOWN-1</ns1:sessionID>`); r.path("errorCode", "definedError") != "invalidSessionID" {
		t.Fatalf("recovering an unknown session: %+v", r)
	}
	r = avayaSession(cl, `<ns1:userName>crm</ns1:userName><ns1:password>s3cret</ns1:password><ns1:sessionID>`+session+`</ns1:sessionID>`)
	if r.XMLName.Local != "StartApplicationSessionPosResponse" || r.path("sessionID") != session {
		t.Fatalf("recovery: %+v", r)
	}
	post("/calls/"+callID+"/hangup", `{"device":"`+callerE164+`"}`)
	cl.event("ConnectionClearedEvent", xref)
	cl.event("ConnectionClearedEvent", xref)
	cl.event("CallClearedEvent", xref)

	// ReleaseDeviceId gives the ID back: it addresses nothing after.
	if r := cl.request(`<ReleaseDeviceId xmlns="` + nsAvaya + `"><device>` + dmcc1001 + `</device></ReleaseDeviceId>`); r.XMLName.Local != "ReleaseDeviceIdResponse" {
		t.Fatalf("ReleaseDeviceId: %+v", r)
	}
	wantError(t, monitor(dmcc1001), "operation", "invalidDeviceID")
}

func TestPlainProfiles(t *testing.T) {
	for _, tc := range []struct{ profile, ns string }{{"ecma354", nsEd5}, {"none", ns}} {
		t.Run(tc.profile, func(t *testing.T) {
			sim := startBinary(t, "-profile", tc.profile)
			addr, post := sim.addr, sim.post
			cl := dial(t, addr)
			cl.ns = tc.ns
			if tc.profile == "ecma354" {
				wantError(t, cl.request(`<MonitorStart xmlns="`+tc.ns+`"><monitorObject><deviceObject>1001</deviceObject></monitorObject></MonitorStart>`), "security", "requestNotAllowed")
				r := cl.request(`<StartApplicationSession xmlns="` + nsAppl + `"><applicationInfo><applicationID>test</applicationID></applicationInfo>` +
					`<requestedProtocolVersions><protocolVersion>` + tc.ns + `</protocolVersion></requestedProtocolVersions><requestedSessionDuration>60</requestedSessionDuration></StartApplicationSession>`)
				if r.XMLName.Local != "StartApplicationSessionPosResponse" {
					t.Fatalf("session: %+v", r)
				}
			}
			xref := cl.request(`<MonitorStart xmlns="` + tc.ns + `"><monitorObject><deviceObject>1001</deviceObject></monitorObject></MonitorStart>`).path("monitorCrossRefID")
			callID := post("/calls", `{"from":"`+callerE164+`","to":"1001"}`)["callId"].(string)
			d := cl.event("DeliveredEvent", xref)
			if d.path("connection", "callID") != callID || d.path("connection", "deviceID") != "1001" ||
				d.path("alertingDevice", "deviceIdentifier") != "1001" || d.path("callingDevice", "deviceIdentifier") != callerE164 {
				t.Fatalf("Delivered %+v", d)
			}
		})
	}
}

func TestMisbehavingSwitch(t *testing.T) {
	sim := startBinary(t, "-profile", "none", "-fault", "no-clear-response,no-call-id,answer-any")
	addr, post := sim.addr, sim.post
	cl := dial(t, addr)
	xref := cl.request(`<MonitorStart xmlns="` + ns + `"><monitorObject><deviceObject>1001</deviceObject></monitorObject></MonitorStart>`).path("monitorCrossRefID")
	callID := post("/calls", `{"from":"`+callerE164+`","to":"1001"}`)["callId"].(string)
	if d := cl.event("DeliveredEvent", xref); d.path("connection", "callID") != "" || d.path("connection", "deviceID") != "1001" {
		t.Fatalf("Delivered with a call ID: %+v", d)
	}
	answer := `<AnswerCall xmlns="` + ns + `">` + connXML("callToBeAnswered", callID, "1001") + `</AnswerCall>`
	cl.request(answer)
	cl.event("EstablishedEvent", xref)
	if r := cl.request(answer); r.XMLName.Local != "AnswerCallResponse" {
		t.Fatalf("answering a connected call: %s, want the misbehaving success", r.XMLName.Local)
	}
	cl.nextID++
	cl.write(cl.nextID, `<ClearConnection xmlns="`+ns+`">`+connXML("connectionToBeCleared", callID, "1001")+`</ClearConnection>`)
	cl.event("ConnectionClearedEvent", xref)
	cl.event("CallClearedEvent", xref)
	cl.c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if b, err := cl.r.Peek(1); err == nil {
		t.Fatalf("ClearConnection was answered: % x", b)
	}
	// Cleared, the switch behaves again.
	post("/faults", `{"kind":"clear"}`)
	callID = post("/calls", `{"from":"`+callerE164+`","to":"1001"}`)["callId"].(string)
	if d := cl.event("DeliveredEvent", xref); d.path("connection", "callID") != callID {
		t.Fatalf("Delivered after clear: %+v", d)
	}
	wantError(t, cl.request(`<AnswerCall xmlns="`+ns+`">`+connXML("callToBeAnswered", callID, "1002")+`</AnswerCall>`), "operation", "invalidConnectionID")
}

func TestAvayaSessionIsGoneAfterItsCleanupDelay(t *testing.T) {
	sim := startBinary(t, "-profile", "avaya")
	addr := sim.addr
	cl := dial(t, addr)
	login := `<ns1:userName>cti</ns1:userName><ns1:password>cti-password</ns1:password>`
	session := avayaSession(cl, login+`<ns1:sessionCleanupDelay>1</ns1:sessionCleanupDelay>`).path("sessionID")
	cl.request(`<GetDeviceId xmlns="` + nsAvaya + `"><switchName>CM1</switchName><extension>1001</extension></GetDeviceId>`)
	cl.request(`<MonitorStart xmlns="` + nsEd3Priv2 + `"><monitorObject><deviceObject>` + dmcc1001 + `</deviceObject></monitorObject></MonitorStart>`)
	cl.c.Close()
	time.Sleep(1500 * time.Millisecond)
	cl = dial(t, addr)
	if r := avayaSession(cl, login+`<ns1:sessionID>`+session+`</ns1:sessionID>`); r.path("errorCode", "definedError") != "invalidSessionID" {
		t.Fatalf("recovering a cleaned-up session: %+v", r)
	}
	if n := sim.get("/devices/1001")["monitors"]; n != 0.0 {
		t.Fatalf("%v monitors left on 1001 after the session was cleaned up", n)
	}
}
