package main

// This test is the acceptance: a CSTA client written from the
// standard — raw framing, hand-written XML, encoding/xml to read — and
// deliberately not using gateway/csta, drives the real pbxsim binary.

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const ns = "http://www.ecma-international.org/standards/ecma-323/csta/ed4"

// node is a generic XML element.
type node struct {
	XMLName  xml.Name
	Children []node `xml:",any"`
	Text     string `xml:",chardata"`
}

func (n node) child(name string) *node {
	for i := range n.Children {
		if n.Children[i].XMLName.Local == name {
			return &n.Children[i]
		}
	}
	return nil
}

func (n node) path(names ...string) string {
	cur := &n
	for _, name := range names {
		if cur = cur.child(name); cur == nil {
			return ""
		}
	}
	return strings.TrimSpace(cur.Text)
}

type client struct {
	t      *testing.T
	c      net.Conn
	r      *bufio.Reader
	nextID int
	events []node
	ns     string // the namespace events must be in (ed4 unless set)
	beats  bool   // answer the switch's SystemStatus heartbeats as they come
}

func (cl *client) write(id int, body string) {
	cl.t.Helper()
	doc := `<?xml version="1.0" encoding="UTF-8"?>` + body
	h := make([]byte, 8)
	binary.BigEndian.PutUint16(h[2:], uint16(8+len(doc)))
	copy(h[4:], fmt.Sprintf("%04d", id))
	if _, err := cl.c.Write(append(h, doc...)); err != nil {
		cl.t.Fatal(err)
	}
}

// read returns the next frame's invoke ID and root element, checking the
// header as the standard framing defines it; heartbeats are answered and
// skipped when cl.beats is set.
func (cl *client) read() (int, node) {
	cl.t.Helper()
	for {
		id, root := cl.readFrame()
		if cl.beats && root.XMLName.Local == "SystemStatus" && id != 9999 {
			cl.write(id, `<SystemStatusResponse xmlns="`+root.XMLName.Space+`"/>`)
			continue
		}
		return id, root
	}
}

func (cl *client) readFrame() (int, node) {
	cl.t.Helper()
	cl.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	h := make([]byte, 8)
	if _, err := io.ReadFull(cl.r, h); err != nil {
		cl.t.Fatalf("read header: %v", err)
	}
	if h[0] != 0 || h[1] != 0 {
		cl.t.Fatalf("format bytes % x", h[:2])
	}
	n := int(binary.BigEndian.Uint16(h[2:4]))
	id, err := strconv.Atoi(string(h[4:8]))
	if err != nil || n < 8 {
		cl.t.Fatalf("bad header % x", h)
	}
	body := make([]byte, n-8)
	if _, err := io.ReadFull(cl.r, body); err != nil {
		cl.t.Fatal(err)
	}
	var root node
	if err := xml.Unmarshal(body, &root); err != nil {
		cl.t.Fatalf("body is not XML: %v\n%s", err, body)
	}
	return id, root
}

// request sends body and returns the response with the same invoke ID;
// events that arrive meanwhile are kept in order.
func (cl *client) request(body string) node {
	cl.t.Helper()
	cl.nextID++
	id := cl.nextID
	cl.write(id, body)
	for {
		got, root := cl.read()
		if got == 9999 {
			cl.checkEvent(root)
			cl.events = append(cl.events, root)
			continue
		}
		if got != id {
			cl.t.Fatalf("response invoke ID %04d, want %04d (%s)", got, id, root.XMLName.Local)
		}
		return root
	}
}

func (cl *client) event(name, xref string) node {
	cl.t.Helper()
	for len(cl.events) == 0 {
		id, root := cl.read()
		if id != 9999 {
			cl.t.Fatalf("unsolicited %s with invoke ID %d", root.XMLName.Local, id)
		}
		cl.checkEvent(root)
		cl.events = append(cl.events, root)
	}
	e := cl.events[0]
	cl.events = cl.events[1:]
	if e.XMLName.Local != name || e.path("monitorCrossRefID") != xref {
		cl.t.Fatalf("got %s (xref %s), want %s (xref %s)", e.XMLName.Local, e.path("monitorCrossRefID"), name, xref)
	}
	return e
}

// schemaOrder is the element sequence of the events this test sees
// (ECMA-323; every event may end with extensions, where switches put their
// private data); present children must appear in this order.
var schemaOrder = map[string][]string{
	"DeliveredEvent":         {"monitorCrossRefID", "connection", "alertingDevice", "callingDevice", "calledDevice", "lastRedirectionDevice", "localConnectionInfo", "cause"},
	"EstablishedEvent":       {"monitorCrossRefID", "establishedConnection", "answeringDevice", "callingDevice", "calledDevice", "lastRedirectionDevice", "localConnectionInfo", "cause"},
	"HeldEvent":              {"monitorCrossRefID", "heldConnection", "holdingDevice", "localConnectionInfo", "cause"},
	"RetrievedEvent":         {"monitorCrossRefID", "retrievedConnection", "retrievingDevice", "localConnectionInfo", "cause"},
	"ConnectionClearedEvent": {"monitorCrossRefID", "droppedConnection", "releasingDevice", "localConnectionInfo", "cause"},
	"CallClearedEvent":       {"monitorCrossRefID", "clearedCall", "localConnectionInfo", "cause"},
	"ServiceInitiatedEvent":  {"monitorCrossRefID", "initiatedConnection", "initiatingDevice", "localConnectionInfo", "cause"},
	"OriginatedEvent":        {"monitorCrossRefID", "originatedConnection", "callingDevice", "calledDevice", "localConnectionInfo", "cause"},
	"DoNotDisturbEvent":      {"monitorCrossRefID", "device", "doNotDisturbOn"},
}

func (cl *client) checkEvent(e node) {
	cl.t.Helper()
	order, ok := schemaOrder[e.XMLName.Local]
	if !ok {
		return
	}
	order = append(order[:len(order):len(order)], "extensions")
	if want := cmp.Or(cl.ns, ns); e.XMLName.Space != want {
		cl.t.Errorf("%s in namespace %q", e.XMLName.Local, e.XMLName.Space)
	}
	pos := 0
	for _, c := range e.Children {
		for pos < len(order) && order[pos] != c.XMLName.Local {
			pos++
		}
		if pos == len(order) {
			cl.t.Fatalf("%s: element %s out of schema order", e.XMLName.Local, c.XMLName.Local)
		}
	}
	if e.Children[0].XMLName.Local != "monitorCrossRefID" {
		cl.t.Fatalf("%s does not start with monitorCrossRefID", e.XMLName.Local)
	}
}

func TestIndependentClientAgainstBinary(t *testing.T) {
	// Default flags except the ports, so that a running demo is not in the way.
	sim := startBinary(t)
	cstaAddr, post := sim.addr, sim.post
	cl := dial(t, cstaAddr)
	nc := cl.c

	// OpenScape start-up: SystemStatus from the switch, our answer, SystemRegister.
	id, root := cl.read()
	if root.XMLName.Local != "SystemStatus" {
		t.Fatalf("first message %s", root.XMLName.Local)
	}
	cl.write(id, `<SystemStatusResponse xmlns="`+ns+`"/>`)
	if r := cl.request(`<SystemRegister xmlns="` + ns + `"><requestTypes><systemStatus>true</systemStatus></requestTypes></SystemRegister>`); r.XMLName.Local != "SystemRegisterResponse" {
		t.Fatalf("SystemRegister: %s", r.XMLName.Local)
	}
	xref := map[string]string{}
	for _, d := range []string{"1001", "1002"} {
		r := cl.request(`<MonitorStart xmlns="` + ns + `"><monitorObject><deviceObject>` + d + `</deviceObject></monitorObject></MonitorStart>`)
		if xref[d] = r.path("monitorCrossRefID"); r.XMLName.Local != "MonitorStartResponse" || xref[d] == "" {
			t.Fatalf("MonitorStart %s: %s", d, r.XMLName.Local)
		}
	}
	connXML := func(tag, callID, dev string) string {
		return "<" + tag + "><callID>" + callID + "</callID><deviceID>" + dev + "</deviceID></" + tag + ">"
	}

	// Inbound call -> answer -> hold -> retrieve -> clear.
	call := post("/calls", `{"from":"+35722123456","to":"1001"}`)
	callID := call["callId"].(string)
	d := cl.event("DeliveredEvent", xref["1001"])
	if d.path("connection", "callID") != callID || d.path("alertingDevice", "deviceIdentifier") != "1001" ||
		!strings.Contains(d.path("callingDevice", "deviceIdentifier"), "+35722123456") || d.path("localConnectionInfo") != "alerting" {
		t.Fatalf("Delivered: %+v", d)
	}
	for _, step := range []struct{ req, resp, event, state string }{
		{`<AnswerCall xmlns="` + ns + `">` + connXML("callToBeAnswered", callID, "1001") + `</AnswerCall>`, "AnswerCallResponse", "EstablishedEvent", "connected"},
		{`<HoldCall xmlns="` + ns + `">` + connXML("callToBeHeld", callID, "1001") + `</HoldCall>`, "HoldCallResponse", "HeldEvent", "hold"},
		{`<RetrieveCall xmlns="` + ns + `">` + connXML("callToBeRetrieved", callID, "1001") + `</RetrieveCall>`, "RetrieveCallResponse", "RetrievedEvent", "connected"},
		{`<ClearConnection xmlns="` + ns + `">` + connXML("connectionToBeCleared", callID, "1001") + `</ClearConnection>`, "ClearConnectionResponse", "ConnectionClearedEvent", "null"},
	} {
		if r := cl.request(step.req); r.XMLName.Local != step.resp {
			t.Fatalf("got %s, want %s", r.XMLName.Local, step.resp)
		}
		e := cl.event(step.event, xref["1001"])
		if e.path("localConnectionInfo") != step.state || !strings.Contains(fmt.Sprint(e), callID) {
			t.Fatalf("%s: %+v", step.event, e)
		}
	}
	cl.event("CallClearedEvent", xref["1001"])

	// Answering an already connected call is refused with CSTAErrorCode.
	call = post("/calls", `{"from":"+35799000111","to":"1001"}`)
	callID = call["callId"].(string)
	cl.event("DeliveredEvent", xref["1001"])
	cl.request(`<AnswerCall xmlns="` + ns + `">` + connXML("callToBeAnswered", callID, "1001") + `</AnswerCall>`)
	cl.event("EstablishedEvent", xref["1001"])
	if r := cl.request(`<AnswerCall xmlns="` + ns + `">` + connXML("callToBeAnswered", callID, "1001") + `</AnswerCall>`); r.XMLName.Local != "CSTAErrorCode" || r.path("stateIncompatibility") == "" {
		t.Fatalf("answering a connected call: %+v", r)
	}
	cl.request(`<ClearConnection xmlns="` + ns + `">` + connXML("connectionToBeCleared", callID, "1001") + `</ClearConnection>`)
	cl.event("ConnectionClearedEvent", xref["1001"])
	cl.event("CallClearedEvent", xref["1001"])

	// MakeCall 1001 -> 1002, answered at 1002.
	r := cl.request(`<MakeCall xmlns="` + ns + `"><callingDevice>1001</callingDevice><calledDirectoryNumber>1002</calledDirectoryNumber></MakeCall>`)
	callID = r.path("callingDevice", "callID")
	if r.XMLName.Local != "MakeCallResponse" || callID == "" {
		t.Fatalf("MakeCall: %+v", r)
	}
	cl.event("ServiceInitiatedEvent", xref["1001"])
	cl.event("OriginatedEvent", xref["1001"])
	cl.event("DeliveredEvent", xref["1001"])
	if e := cl.event("DeliveredEvent", xref["1002"]); e.path("connection", "callID") != callID {
		t.Fatalf("Delivered at 1002 with another call ID: %+v", e)
	}
	cl.request(`<AnswerCall xmlns="` + ns + `">` + connXML("callToBeAnswered", callID, "1002") + `</AnswerCall>`)
	cl.event("EstablishedEvent", xref["1001"])
	cl.event("EstablishedEvent", xref["1002"])
	cl.request(`<ClearConnection xmlns="` + ns + `">` + connXML("connectionToBeCleared", callID, "1002") + `</ClearConnection>`)
	cl.event("ConnectionClearedEvent", xref["1001"])
	cl.event("ConnectionClearedEvent", xref["1002"])
	cl.event("ConnectionClearedEvent", xref["1001"])
	cl.event("CallClearedEvent", xref["1001"])
	cl.event("CallClearedEvent", xref["1002"])

	// Do-not-disturb on 1002 refuses an inbound call.
	if r := cl.request(`<SetDoNotDisturb xmlns="` + ns + `"><device>1002</device><doNotDisturbOn>true</doNotDisturbOn></SetDoNotDisturb>`); r.XMLName.Local != "SetDoNotDisturbResponse" {
		t.Fatalf("SetDoNotDisturb: %s", r.XMLName.Local)
	}
	if e := cl.event("DoNotDisturbEvent", xref["1002"]); e.path("doNotDisturbOn") != "true" {
		t.Fatalf("%+v", e)
	}
	if res := post("/calls", `{"from":"+35722123456","to":"1002"}`); res["outcome"] != "failed" {
		t.Fatalf("call to DND device: %v", res)
	}
	// 1002 is told the call failed there (so that its agent's panel can
	// list it as refused), and is never offered it.
	if e := cl.event("FailedEvent", xref["1002"]); e.path("cause") != "doNotDisturb" {
		t.Fatalf("%+v", e)
	}
	nc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if b, err := cl.r.Peek(1); err == nil {
		t.Fatalf("1002 was offered the call anyway: % x", b)
	}
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// simBinary is a running pbxsim: its CSTA address and its control API.
type simBinary struct {
	t       *testing.T
	addr    string
	control string
}

// startBinary builds pbxsim once and runs it with args on loopback ports.
func startBinary(t *testing.T, args ...string) *simBinary {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pbxsim-test")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "pbxsim")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	cmd := exec.Command(binPath, append([]string{"-csta", "127.0.0.1:0", "-control", "127.0.0.1:0"}, args...)...)
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	sc := bufio.NewScanner(out)
	sb := &simBinary{t: t}
	for sc.Scan() && (sb.addr == "" || sb.control == "") {
		k, v, _ := strings.Cut(sc.Text(), ": ")
		switch k {
		case "pbx-csta":
			sb.addr = v
		case "pbx-control":
			sb.control = strings.TrimSuffix(v, "/")
		}
	}
	go io.Copy(io.Discard, out)
	return sb
}

func (sb *simBinary) post(path, body string) map[string]any {
	sb.t.Helper()
	return sb.do("POST", path, body)
}

func (sb *simBinary) get(path string) map[string]any {
	sb.t.Helper()
	return sb.do("GET", path, "")
}

func (sb *simBinary) do(method, path, body string) map[string]any {
	sb.t.Helper()
	req, _ := http.NewRequest(method, sb.control+path, strings.NewReader(body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		sb.t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
		sb.t.Fatal(err)
	}
	if res.StatusCode >= 300 {
		sb.t.Fatalf("%s %s: %d %v", method, path, res.StatusCode, m)
	}
	return m
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &client{t: t, c: nc, r: bufio.NewReader(nc)}
}
