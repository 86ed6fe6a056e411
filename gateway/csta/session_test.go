package csta_test

import (
	"context"
	"testing"
	"time"

	"crmcti/gateway/csta"
	cs "crmcti/gateway/csta/cstatest"
)

const xmlDecl = `<?xml version="1.0" encoding="UTF-8"?>`

// avayaStart is StartApplicationSession exactly as the avaya profile
// writes it, with the previous session's ID when recovering.
func avayaStart(sessionID string) []byte {
	sid := ""
	if sessionID != "" {
		sid = `<acx:sessionID>` + sessionID + `</acx:sessionID>`
	}
	return []byte(xmlDecl + `<StartApplicationSession xmlns="http://www.ecma-international.org/standards/ecma-354/appl_session">` +
		`<applicationInfo><applicationID>CRM-CTI</applicationID><applicationSpecificInfo>` +
		`<acx:SessionLoginInfo xmlns:acx="http://www.avaya.com/csta" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="acx:SessionLoginInfo">` +
		`<acx:userName>cti</acx:userName><acx:password>s3cret</acx:password><acx:sessionCleanupDelay>120</acx:sessionCleanupDelay>` + sid +
		`</acx:SessionLoginInfo></applicationSpecificInfo></applicationInfo>` +
		`<requestedProtocolVersions><protocolVersion>http://www.ecma-international.org/standards/ecma-323/csta/ed3/priv2</protocolVersion></requestedProtocolVersions>` +
		`<requestedSessionDuration>180</requestedSessionDuration></StartApplicationSession>`)
}

func avayaConfig() csta.Config {
	p, _ := csta.LookupProfile("avaya")
	return csta.Config{Profile: p, UserName: "cti", Password: "s3cret", SessionCleanupDelay: 120 * time.Second}
}

// TestAvayaSessionAndDeviceIDs checks byte for byte the session start with
// credentials and the device-ID requests, and that every CSTA request of
// the session goes out in the one namespace the switch granted even when
// the switch answers in another.
func TestAvayaSessionAndDeviceIDs(t *testing.T) {
	const ed3 = "http://www.ecma-international.org/standards/ecma-323/csta/ed3/priv2"
	srv := cs.NewServer(t,
		cs.ExpectFrame(1, avayaStart("")),
		cs.Reply(&csta.StartApplicationSessionPosResponse{SessionID: "S1", ActualProtocolVersion: ed3, ActualSessionDuration: 180}),
		cs.ExpectFrame(2, []byte(xmlDecl+`<GetDeviceId xmlns="http://www.avaya.com/csta"><switchName>CM1</switchName><extension>1001</extension></GetDeviceId>`)),
		cs.Reply(&csta.GetDeviceIdResponse{Device: "1001:CM1:10.0.0.1:0"}),
		cs.ExpectFrame(3, []byte(xmlDecl+`<MonitorStart xmlns="`+ed3+`"><monitorObject><deviceObject>1001:CM1:10.0.0.1:0</deviceObject></monitorObject></MonitorStart>`)),
		cs.SetNamespace(csta.NamespaceEd3), // a switch that answers in plain ed3
		cs.Reply(&csta.MonitorStartResponse{MonitorCrossRefID: "7"}),
		cs.ExpectFrame(4, []byte(xmlDecl+`<MonitorStop xmlns="`+ed3+`"><monitorCrossRefID>7</monitorCrossRefID></MonitorStop>`)),
		cs.Reply(&csta.MonitorStopResponse{}),
		cs.ExpectFrame(5, []byte(xmlDecl+`<ReleaseDeviceId xmlns="http://www.avaya.com/csta"><device>1001:CM1:10.0.0.1:0</device></ReleaseDeviceId>`)),
		cs.Reply(&csta.ReleaseDeviceIdResponse{}),
	)
	c := dial(t, srv, avayaConfig())
	ctx := context.Background()
	if c.SessionID() != "S1" || c.Recovered() {
		t.Fatalf("session %q recovered %v", c.SessionID(), c.Recovered())
	}
	dev, err := csta.Call[*csta.GetDeviceIdResponse](ctx, c, &csta.GetDeviceId{SwitchName: "CM1", Extension: "1001"})
	if err != nil {
		t.Fatal(err)
	}
	mon, err := csta.Call[*csta.MonitorStartResponse](ctx, c, &csta.MonitorStart{MonitorObject: csta.MonitorObject{DeviceObject: dev.Device}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(ctx, &csta.MonitorStop{MonitorCrossRefID: mon.MonitorCrossRefID}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(ctx, &csta.ReleaseDeviceId{Device: dev.Device}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Wait(2 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestAvayaSessionRecovery: with the previous session's ID the switch
// resumes it; when it refuses (cleanup delay passed) a new session starts
// on the same connection.
func TestAvayaSessionRecovery(t *testing.T) {
	for _, resumed := range []bool{true, false} {
		steps := []cs.Step{cs.ExpectFrame(1, avayaStart("S1"))}
		if resumed {
			steps = append(steps, cs.Reply(&csta.StartApplicationSessionPosResponse{SessionID: "S1", ActualSessionDuration: 180}))
		} else {
			steps = append(steps,
				cs.Reply(&csta.StartApplicationSessionNegResponse{ErrorCode: csta.SessionErrorCode{DefinedError: "invalidSessionID"}}),
				cs.ExpectFrame(2, avayaStart("")),
				cs.Reply(&csta.StartApplicationSessionPosResponse{SessionID: "S2", ActualSessionDuration: 180}))
		}
		srv := cs.NewServer(t, steps...)
		cfg := avayaConfig()
		cfg.RecoverSession = "S1"
		c := dial(t, srv, cfg)
		want := map[bool]string{true: "S1", false: "S2"}[resumed]
		if c.SessionID() != want || c.Recovered() != resumed {
			t.Errorf("resumed=%v: session %q recovered %v", resumed, c.SessionID(), c.Recovered())
		}
		if err := srv.Wait(2 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
}
