package pbxsim_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"crmcti/gateway/csta"
	"crmcti/gateway/pbxsim"
)

func TestConfigCheckRefusesUnknownProfilesAndFaults(t *testing.T) {
	for _, cfg := range []pbxsim.Config{{Vendor: "siemens"}, {Faults: []string{"drop-link"}}} {
		if err := cfg.Check(); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
	for _, v := range pbxsim.Vendors() {
		if err := (pbxsim.Config{Vendor: v, Faults: []string{pbxsim.FaultNoCallID}}).Check(); err != nil {
			t.Errorf("%s: %v", v, err)
		}
	}
}

// The control API speaks extensions on every profile and takes the
// switch's own names of a device too.
func TestControlAPIResolvesTheSwitchsDeviceNames(t *testing.T) {
	for _, tc := range []struct {
		cfg  pbxsim.Config
		name string
	}{
		{pbxsim.Config{Vendor: pbxsim.VendorOpenScape, DeviceTemplate: "+4930555{ext}"}, "+49305551001"},
		{pbxsim.Config{Vendor: pbxsim.VendorAvaya, SwitchName: "S8300"}, "1001:S8300:10.0.0.1:0"},
	} {
		sim := pbxsim.New(tc.cfg)
		defer sim.Close()
		srv := httptest.NewServer(sim.ControlHandler())
		defer srv.Close()
		var res pbxsim.Result
		api(t, srv, "POST", "/calls", `{"from":"+35722123456","to":"`+tc.name+`"}`, 201, &res)
		var d pbxsim.DeviceInfo
		api(t, srv, "GET", "/devices/"+tc.name, "", 200, &d)
		if res.Device != "1001" || d.Device != "1001" || len(d.Calls) != 1 || d.Calls[0].State != csta.StateAlerting {
			t.Errorf("%s: %+v %+v", tc.name, res, d)
		}
		if !strings.Contains(sim.Describe(), "profile="+tc.cfg.Vendor) {
			t.Errorf("Describe: %s", sim.Describe())
		}
	}
}

// Through csta.Conn, as the gateway's link sees it: a misbehaviour set
// through InjectFault shows, and FaultClear ends it.
func TestInjectedMisbehaviours(t *testing.T) {
	r := newRig(t, pbxsim.Config{})
	r.monitor("1001")
	if err := r.sim.InjectFault(pbxsim.FaultAnswerAny, 0); err != nil {
		t.Fatal(err)
	}
	res, _ := r.sim.StartInbound("+35722123456", "1001")
	r.next("1001", "DeliveredEvent")
	r.do(&csta.AnswerCall{CallToBeAnswered: conn(res.CallID, "1001")})
	r.next("1001", "EstablishedEvent")
	r.do(&csta.AnswerCall{CallToBeAnswered: conn(res.CallID, "1001")}) // succeeds, wrongly
	r.sim.InjectFault(pbxsim.FaultClear, 0)
	_, err := r.conn.Do(t.Context(), &csta.AnswerCall{CallToBeAnswered: conn(res.CallID, "1001")})
	wantCSTAError(t, err, csta.ErrCatStateIncompatibility, "noCallToAnswer")
}
