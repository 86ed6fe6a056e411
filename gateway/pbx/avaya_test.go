package pbx_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/csta"
	cs "crmcti/gateway/csta/cstatest"
	"crmcti/gateway/pbx"
)

const (
	xmlDecl  = `<?xml version="1.0" encoding="UTF-8"?>`
	avayaNS  = "http://www.ecma-international.org/standards/ecma-323/csta/ed3/priv2"
	dmccID   = "1001:CM1:10.0.0.1:0"
	monitor7 = xmlDecl + `<MonitorStart xmlns="` + avayaNS + `"><monitorObject><deviceObject>` + dmccID + `</deviceObject></monitorObject></MonitorStart>`
)

func expectLogin(sessionID string) cs.Step {
	return cs.Expect("StartApplicationSession", func(m csta.Message) error {
		li := m.(*csta.StartApplicationSession).ApplicationInfo.ApplicationSpecificInfo.SessionLoginInfo
		if li == nil || li.UserName != "cti" || li.Password != "s3cret" || li.SessionID != sessionID {
			return fmt.Errorf("SessionLoginInfo %+v, want cti/s3cret resuming %q", li, sessionID)
		}
		return nil
	})
}

// TestAvayaDeviceFlowAndSessionRecovery runs the adapter against a
// scripted AES: login, GetDeviceId before MonitorStart (byte for byte),
// events naming the device by its DMCC ID without the switch name, a link
// loss resumed within the cleanup delay (the old monitor and ID kept, so
// no second GetDeviceId or MonitorStart), and ReleaseDeviceId on logout.
func TestAvayaDeviceFlowAndSessionRecovery(t *testing.T) {
	hdr := csta.EventHeader{MonitorCrossRefID: "7"}
	ringing := csta.SnapshotDeviceResponse{CrossRefIDorSnapshotData: csta.SnapshotChoice{SnapshotData: csta.SnapshotData{Info: []csta.SnapshotDeviceInfo{
		{ConnectionIdentifier: csta.ConnectionID{CallID: "42", DeviceID: dmccID}, LocalCallState: csta.LocalCallState{CompoundCallState: csta.CompoundCallState{LocalConnectionState: csta.StateAlerting}}}}}}}
	srv := cs.NewServers(t, []cs.Step{
		expectLogin(""),
		cs.Reply(&csta.StartApplicationSessionPosResponse{SessionID: "S1", ActualProtocolVersion: avayaNS, ActualSessionDuration: 180}),
		cs.SetNamespace(avayaNS),
		cs.ExpectFrame(-1, []byte(xmlDecl+`<GetDeviceId xmlns="http://www.avaya.com/csta"><switchName>CM1</switchName><extension>1001</extension></GetDeviceId>`)),
		cs.Reply(&csta.GetDeviceIdResponse{Device: dmccID}),
		cs.ExpectFrame(-1, []byte(monitor7)),
		cs.Reply(&csta.MonitorStartResponse{MonitorCrossRefID: "7"}),
		cs.ExpectFrame(-1, []byte(xmlDecl+`<SnapshotDevice xmlns="`+avayaNS+`"><snapshotObject>`+dmccID+`</snapshotObject></SnapshotDevice>`)),
		cs.Reply(&csta.SnapshotDeviceResponse{}),
		cs.Send(9999, &csta.DeliveredEvent{EventHeader: hdr, Connection: csta.ConnectionID{CallID: "42", DeviceID: "1001::10.0.0.1:0"},
			AlertingDevice: "1001::10.0.0.1:0", CallingDevice: "35799000111:CM1:10.0.0.1:0", CalledDevice: "1001::10.0.0.1:0", LocalConnectionInfo: csta.StateAlerting, Cause: "newCall"}),
		cs.Pause(200 * time.Millisecond),
		cs.Hangup(),
	}, []cs.Step{
		expectLogin("S1"),
		cs.Reply(&csta.StartApplicationSessionPosResponse{SessionID: "S1", ActualProtocolVersion: avayaNS, ActualSessionDuration: 180}),
		cs.SetNamespace(avayaNS),
		cs.Expect("SnapshotDevice", nil),
		cs.Reply(&ringing),
		cs.Send(9999, &csta.EstablishedEvent{EventHeader: hdr, EstablishedConnection: csta.ConnectionID{CallID: "42", DeviceID: dmccID},
			AnsweringDevice: "1001::10.0.0.1:0", CallingDevice: "35799000111:CM1:10.0.0.1:0", LocalConnectionInfo: csta.StateConnected, Cause: "newCall"}),
		cs.ExpectFrame(-1, []byte(xmlDecl+`<MonitorStop xmlns="`+avayaNS+`"><monitorCrossRefID>7</monitorCrossRefID></MonitorStop>`)),
		cs.Reply(&csta.MonitorStopResponse{}),
		cs.ExpectFrame(-1, []byte(xmlDecl+`<ReleaseDeviceId xmlns="http://www.avaya.com/csta"><device>`+dmccID+`</device></ReleaseDeviceId>`)),
		cs.Reply(&csta.ReleaseDeviceIdResponse{}),
	})
	p, _ := csta.LookupProfile("avaya")
	s := newSink()
	a := pbx.New(pbx.Config{Addr: srv.Addr, Profile: p, UserName: "cti", Password: "s3cret", SwitchName: "CM1",
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}, s)
	defer a.Close()
	s.waitLink(t, true)
	if err := a.Monitor(context.Background(), "1001"); err != nil {
		t.Fatal(err)
	}
	c := s.next(t, gateway.EvRang, gateway.CallRinging)
	if c.ID != "42" || c.Device != "1001" || c.Remote != "35799000111" {
		t.Fatalf("rang %+v", c)
	}
	s.waitLink(t, false)
	s.waitLink(t, true)
	if c = s.next(t, gateway.EvAnswered, gateway.CallConnected); c.ID != "42" || c.Device != "1001" {
		t.Fatalf("answered %+v (events on the resumed monitor)", c)
	}
	if err := a.Unmonitor(context.Background(), "1001"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Wait(5 * time.Second); err != nil {
		t.Fatal(err)
	}
}
