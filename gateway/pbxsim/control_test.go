package pbxsim_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"crmcti/gateway/pbxsim"
)

func api(t *testing.T, srv *httptest.Server, method, path, body string, wantStatus int, out any) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != wantStatus {
		var e map[string]string
		json.NewDecoder(res.Body).Decode(&e)
		t.Fatalf("%s %s: status %d (%v), want %d", method, path, res.StatusCode, e, wantStatus)
	}
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}

func TestControlAPI(t *testing.T) {
	sim := pbxsim.New(pbxsim.Config{})
	defer sim.Close()
	srv := httptest.NewServer(sim.ControlHandler())
	defer srv.Close()

	var res pbxsim.Result
	api(t, srv, "POST", "/calls", `{"from":"+35722123456","to":"1001"}`, 201, &res)
	if res.CallID == "" || res.Outcome != "alerting" || res.Device != "1001" {
		t.Fatalf("%+v", res)
	}
	var calls []pbxsim.CallInfo
	api(t, srv, "GET", "/calls", "", 200, &calls)
	if len(calls) != 1 || calls[0].CallID != res.CallID || len(calls[0].Connections) != 2 {
		t.Fatalf("%+v", calls)
	}
	// The phone picks up; answering again conflicts with the state.
	api(t, srv, "POST", "/calls/"+res.CallID+"/answer", `{"device":"1001"}`, 200, nil)
	api(t, srv, "POST", "/calls/"+res.CallID+"/answer", `{"device":"1001"}`, 409, nil)
	var dev pbxsim.DeviceInfo
	api(t, srv, "GET", "/devices/1001", "", 200, &dev)
	if len(dev.Calls) != 1 || dev.Calls[0].State != "connected" {
		t.Fatalf("%+v", dev)
	}
	api(t, srv, "POST", "/calls/"+res.CallID+"/hangup", `{"device":"+35722123456"}`, 200, nil)
	api(t, srv, "POST", "/calls/"+res.CallID+"/hangup", `{"device":"+35722123456"}`, 404, nil)

	api(t, srv, "PUT", "/devices/1002", `{"doNotDisturb":true}`, 200, &dev)
	if !dev.DoNotDisturb {
		t.Fatalf("%+v", dev)
	}
	api(t, srv, "POST", "/calls", `{"from":"+35722123456","to":"1002"}`, 201, &res)
	if res.Outcome != "failed" {
		t.Fatalf("call to DND device: %+v", res)
	}
	api(t, srv, "PUT", "/devices/1003", `{"agentState":"notReady"}`, 200, &dev)
	if dev.AgentState != "agentNotReady" {
		t.Fatalf("%+v", dev)
	}
	var set map[string]int
	api(t, srv, "PUT", "/settings", `{"autoAnswerMs":500}`, 200, &set)
	if set["autoAnswerMs"] != 500 {
		t.Fatalf("%+v", set)
	}
	api(t, srv, "POST", "/faults", `{"kind":"stall","durationMs":10}`, 200, nil)
	// Bad input gets a clear error and changes nothing.
	api(t, srv, "POST", "/calls", `{"from":"+357","to":"4242"}`, 400, nil)
	api(t, srv, "POST", "/calls", `{"from":"1001","to":"1002"}`, 400, nil)
	api(t, srv, "POST", "/calls", `{"from":`, 400, nil)
	api(t, srv, "POST", "/calls", `{"from":"+1","to":"1001","extra":1}`, 400, nil)
	api(t, srv, "GET", "/devices/42", "", 404, nil)
	api(t, srv, "PUT", "/devices/1001", `{"agentState":"asleep"}`, 400, nil)
	api(t, srv, "PUT", "/settings", `{"autoAnswerMs":-1}`, 400, nil)
	api(t, srv, "POST", "/faults", `{"kind":"meteor"}`, 400, nil)
	api(t, srv, "POST", "/calls/x/answer", `{}`, 400, nil)
}
