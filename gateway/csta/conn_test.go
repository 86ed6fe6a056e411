package csta_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"crmcti/gateway/csta"
	cs "crmcti/gateway/csta/cstatest"
)

func dial(t *testing.T, srv *cs.Server, cfg csta.Config) *csta.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := csta.Dial(ctx, srv.Addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

var monitor1001 = &csta.MonitorStart{MonitorObject: csta.MonitorObject{DeviceObject: "1001"}}

func TestRequestResponse(t *testing.T) {
	srv := cs.NewServer(t,
		cs.Expect("MonitorStart", func(m csta.Message) error {
			if d := m.(*csta.MonitorStart).MonitorObject.DeviceObject; d != "1001" {
				return fmt.Errorf("device %q", d)
			}
			return nil
		}),
		cs.Reply(&csta.MonitorStartResponse{MonitorCrossRefID: "77"}),
	)
	c := dial(t, srv, csta.Config{})
	r, err := csta.Call[*csta.MonitorStartResponse](context.Background(), c, monitor1001)
	if err != nil || r.MonitorCrossRefID != "77" {
		t.Fatalf("got %+v, %v", r, err)
	}
	if err := srv.Wait(time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestSwitchErrorIsReturnedAsError(t *testing.T) {
	srv := cs.NewServer(t,
		cs.Expect("AnswerCall", nil),
		cs.Reply(csta.NewError(csta.ErrCatStateIncompatibility, "noCallToAnswer")),
	)
	c := dial(t, srv, csta.Config{})
	_, err := c.Do(context.Background(), &csta.AnswerCall{CallToBeAnswered: csta.ConnectionID{CallID: "1", DeviceID: "1001"}})
	var ce *csta.CSTAErrorCode
	if !errors.As(err, &ce) || ce.StateIncompatibility != "noCallToAnswer" {
		t.Fatalf("got %v, want noCallToAnswer", err)
	}
	if !strings.HasPrefix(err.Error(), "csta: AnswerCall: ") {
		t.Errorf("error %q does not name the operation", err)
	}
}

func TestTimeoutThenLateResponseIsNotMisdelivered(t *testing.T) {
	gate := make(chan struct{})
	srv := cs.NewServer(t,
		cs.Expect("HoldCall", nil),
		func(*cs.Session) error { <-gate; return nil },
		cs.Reply(&csta.HoldCallResponse{}), // late
		cs.Expect("RetrieveCall", nil),
		cs.Reply(&csta.RetrieveCallResponse{}),
	)
	c := dial(t, srv, csta.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	_, err := c.Do(ctx, &csta.HoldCall{CallToBeHeld: csta.ConnectionID{CallID: "1", DeviceID: "1001"}})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want deadline exceeded", err)
	}
	close(gate)
	r, err := c.Do(context.Background(), &csta.RetrieveCall{CallToBeRetrieved: csta.ConnectionID{CallID: "1", DeviceID: "1001"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.(*csta.RetrieveCallResponse); !ok {
		t.Fatalf("RetrieveCall got %s: the late HoldCall answer was misdelivered", r.MessageName())
	}
	if st := c.Stats(); st.LateResponses != 1 {
		t.Errorf("late responses %d, want 1", st.LateResponses)
	}
}

func TestOutOfOrderResponses(t *testing.T) {
	srv := cs.NewServer(t,
		cs.Expect("SnapshotDevice", nil),
		cs.Expect("SnapshotDevice", nil),
		cs.ReplyTo(1, &csta.SnapshotDeviceResponse{CrossRefIDorSnapshotData: csta.SnapshotChoice{SnapshotData: csta.SnapshotData{Info: []csta.SnapshotDeviceInfo{{ConnectionIdentifier: csta.ConnectionID{CallID: "second"}}}}}}),
		cs.ReplyTo(0, &csta.SnapshotDeviceResponse{CrossRefIDorSnapshotData: csta.SnapshotChoice{SnapshotData: csta.SnapshotData{Info: []csta.SnapshotDeviceInfo{{ConnectionIdentifier: csta.ConnectionID{CallID: "first"}}}}}}),
	)
	c := dial(t, srv, csta.Config{})
	first := make(chan string, 1)
	go func() {
		r, err := csta.Call[*csta.SnapshotDeviceResponse](context.Background(), c, &csta.SnapshotDevice{SnapshotObject: "1001"})
		if err != nil {
			first <- err.Error()
			return
		}
		first <- r.Calls()[0].ConnectionIdentifier.CallID
	}()
	// Make sure the first request is on the wire before the second.
	time.Sleep(50 * time.Millisecond)
	r, err := csta.Call[*csta.SnapshotDeviceResponse](context.Background(), c, &csta.SnapshotDevice{SnapshotObject: "1002"})
	if err != nil || r.Calls()[0].ConnectionIdentifier.CallID != "second" {
		t.Fatalf("second request got %+v, %v", r, err)
	}
	if got := <-first; got != "first" {
		t.Fatalf("first request got %q", got)
	}
}

func TestUnknownInvokeIDAndUnknownMessageKeepTheLink(t *testing.T) {
	srv := cs.NewServer(t,
		cs.Send(1234, &csta.MakeCallResponse{}),
		cs.SendRaw(frame(9999, `<ParkCallEvent xmlns="urn:x"><monitorCrossRefID>1</monitorCrossRefID></ParkCallEvent>`)),
		cs.Expect("MonitorStart", nil),
		cs.Reply(&csta.MonitorStartResponse{MonitorCrossRefID: "5"}),
	)
	c := dial(t, srv, csta.Config{})
	if _, err := c.Do(context.Background(), monitor1001); err != nil {
		t.Fatal(err)
	}
	st := c.Stats()
	if st.UnknownInvokeID != 1 || st.Unknown != 1 {
		t.Errorf("stats %+v, want one unknown invoke ID and one unknown message", st)
	}
}

func TestMalformedBodyFailsItsRequestAtOnce(t *testing.T) {
	srv := cs.NewServer(t,
		cs.Expect("MonitorStart", nil),
		func(s *cs.Session) error {
			_, err := s.Conn.Write(frame(s.IDs[0], `<MonitorStartResponse><unclosed>`))
			return err
		},
		cs.Expect("MonitorStart", nil),
		cs.Reply(&csta.MonitorStartResponse{MonitorCrossRefID: "6"}),
	)
	c := dial(t, srv, csta.Config{RequestTimeout: time.Minute})
	if _, err := c.Do(context.Background(), monitor1001); !errors.Is(err, csta.ErrNotCSTA) {
		t.Fatalf("got %v, want ErrNotCSTA", err)
	}
	if _, err := c.Do(context.Background(), monitor1001); err != nil {
		t.Fatalf("link did not survive a malformed body: %v", err)
	}
}

func TestBadFrameDropsTheLinkAndWakesWaiters(t *testing.T) {
	srv := cs.NewServer(t,
		cs.Expect("MonitorStart", nil),
		cs.SendRaw([]byte("\x01\x02garbage!")),
	)
	c := dial(t, srv, csta.Config{RequestTimeout: time.Minute})
	_, err := c.Do(context.Background(), monitor1001)
	var fe *csta.FrameError
	if !errors.As(err, &fe) {
		t.Fatalf("got %v, want the FrameError", err)
	}
	<-c.Done()
	if !errors.As(c.Err(), &fe) {
		t.Fatalf("Err() = %v", c.Err())
	}
}

func TestCloseFailsPendingRequestsAndIsIdempotent(t *testing.T) {
	srv := cs.NewServer(t, cs.Expect("MakeCall", nil), cs.Expect("MakeCall", nil), cs.Expect("MakeCall", nil), cs.ExpectHangup())
	c := dial(t, srv, csta.Config{RequestTimeout: time.Minute})
	errs := make(chan error, 3)
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Do(context.Background(), &csta.MakeCall{CallingDevice: "1001", CalledDirectoryNumber: "1002"})
			errs <- err
		}()
	}
	time.Sleep(50 * time.Millisecond)
	c.Close()
	c.Close()
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, csta.ErrClosed) {
			t.Errorf("pending request got %v, want ErrClosed", err)
		}
	}
	if _, err := c.Do(context.Background(), monitor1001); !errors.Is(err, csta.ErrClosed) {
		t.Errorf("request after close: %v", err)
	}
	if err := srv.Wait(2 * time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestHeartbeatIsAnsweredWithItsInvokeID(t *testing.T) {
	srv := cs.NewServer(t,
		cs.Send(42, &csta.SystemStatus{SystemStatus: "normal"}),
		cs.ExpectFrame(42, mustEncode(t, &csta.SystemStatusResponse{}, csta.NamespaceEd4)),
	)
	dial(t, srv, csta.Config{})
	if err := srv.Wait(2 * time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestOpenScapeSessionStartup(t *testing.T) {
	srv := cs.NewServer(t,
		cs.Send(1, &csta.SystemStatus{SystemStatus: "normal"}),
		cs.ExpectFrame(1, mustEncode(t, &csta.SystemStatusResponse{}, csta.NamespaceEd4)),
		cs.Expect("SystemRegister", func(m csta.Message) error {
			if !m.(*csta.SystemRegister).RequestTypes.SystemStatus {
				return errors.New("does not ask for system status")
			}
			return nil
		}),
		cs.Reply(&csta.SystemRegisterResponse{SysStatRegisterID: "r1"}),
	)
	p, _ := csta.LookupProfile("openscape")
	dial(t, srv, csta.Config{Profile: p})
	if err := srv.Wait(2 * time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestECMA354SessionKeepAliveAndStop(t *testing.T) {
	srv := cs.NewServer(t,
		cs.Expect("StartApplicationSession", func(m csta.Message) error {
			s := m.(*csta.StartApplicationSession)
			if s.ApplicationInfo.ApplicationID == "" || len(s.RequestedProtocolVersions.ProtocolVersion) == 0 {
				return fmt.Errorf("incomplete: %+v", s)
			}
			return nil
		}),
		cs.Reply(&csta.StartApplicationSessionPosResponse{SessionID: "S9", ActualProtocolVersion: csta.NamespaceEd5, ActualSessionDuration: 1}),
		cs.Expect("ResetApplicationSessionTimer", func(m csta.Message) error {
			if id := m.(*csta.ResetApplicationSessionTimer).SessionID; id != "S9" {
				return fmt.Errorf("session %q", id)
			}
			return nil
		}),
		cs.Reply(&csta.ResetApplicationSessionTimerPosResponse{ActualSessionDuration: 1}),
		cs.Expect("StopApplicationSession", nil),
		cs.Reply(&csta.StopApplicationSessionPosResponse{}),
	)
	p, _ := csta.LookupProfile("ecma354")
	c := dial(t, srv, csta.Config{Profile: p})
	if c.Namespace() != csta.NamespaceEd5 {
		t.Errorf("namespace %q, want the one the switch granted", c.Namespace())
	}
	time.Sleep(700 * time.Millisecond) // one reset at half of 1s
	c.Close()
	if err := srv.Wait(2 * time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestECMA354SessionRefused(t *testing.T) {
	srv := cs.NewServer(t,
		cs.Expect("StartApplicationSession", nil),
		cs.Reply(&csta.StartApplicationSessionNegResponse{ErrorCode: csta.SessionErrorCode{DefinedError: "invalidApplicationInfo"}}),
	)
	p, _ := csta.LookupProfile("ecma354")
	_, err := csta.Dial(context.Background(), srv.Addr, csta.Config{Profile: p})
	if err == nil || !strings.Contains(err.Error(), "invalidApplicationInfo") {
		t.Fatalf("got %v", err)
	}
}

func TestEventsInOrderAndNamespaceFollowsPeer(t *testing.T) {
	srv := cs.NewServer(t,
		cs.SetNamespace(csta.NamespaceEd2),
		cs.Send(9999, &csta.DeliveredEvent{EventHeader: csta.EventHeader{MonitorCrossRefID: "1"}, Connection: csta.ConnectionID{CallID: "A"}}),
		cs.Send(9999, &csta.EstablishedEvent{EventHeader: csta.EventHeader{MonitorCrossRefID: "1"}, EstablishedConnection: csta.ConnectionID{CallID: "A"}}),
		cs.Send(9999, &csta.ConnectionClearedEvent{EventHeader: csta.EventHeader{MonitorCrossRefID: "1"}, DroppedConnection: csta.ConnectionID{CallID: "A"}}),
		cs.ExpectFrame(-1, mustEncode(t, monitor1001, csta.NamespaceEd2)),
	)
	got := make(chan string, 3)
	c := dial(t, srv, csta.Config{OnEvent: func(e csta.Event) { got <- e.MessageName() + "/" + e.CrossRefID() }})
	for _, want := range []string{"DeliveredEvent/1", "EstablishedEvent/1", "ConnectionClearedEvent/1"} {
		if g := <-got; g != want {
			t.Fatalf("event %s, want %s", g, want)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	c.Do(ctx, monitor1001) // the script checks it was written in ed2
	if err := srv.Wait(2 * time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestSlowConsumerOverflowDropsTheLink(t *testing.T) {
	// All ten events in one write: the client may drop the link before a
	// slower script could send them one by one.
	var burst []byte
	body := mustEncode(t, &csta.HeldEvent{EventHeader: csta.EventHeader{MonitorCrossRefID: "1"}}, csta.NamespaceEd4)
	for range 10 {
		burst, _ = csta.AppendFrame(burst, 9999, body)
	}
	srv := cs.NewServer(t, cs.SendRaw(burst))
	block := make(chan struct{})
	defer close(block)
	c := dial(t, srv, csta.Config{EventQueue: 2, OnEvent: func(csta.Event) { <-block }})
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("link not dropped on overflow")
	}
	if !errors.Is(c.Err(), csta.ErrEventOverflow) || c.Stats().EventOverflows != 1 {
		t.Fatalf("Err %v, stats %+v", c.Err(), c.Stats())
	}
}

func TestPacing(t *testing.T) {
	var steps []cs.Step
	for range 3 {
		steps = append(steps, cs.Expect("GetAgentState", nil), cs.Reply(&csta.GetAgentStateResponse{}))
	}
	srv := cs.NewServer(t, steps...)
	p := csta.Profile{Name: "slow", Session: csta.SessionNone, RequestsPerSecond: 10}
	c := dial(t, srv, csta.Config{Profile: p})
	start := time.Now()
	for range 3 {
		if _, err := c.Do(context.Background(), &csta.GetAgentState{Device: "1001"}); err != nil {
			t.Fatal(err)
		}
	}
	// Three requests at 10/s cannot all go out within 200ms: the first is
	// immediate, the next two wait 100ms each. (A lower bound only: this
	// asserts that pacing happens, not how fast anything is.)
	if el := time.Since(start); el < 200*time.Millisecond {
		t.Fatalf("3 requests at 10/s took %v", el)
	}
}

// A request's turn at the request rate is not the switch's time to
// answer: requests queued behind many others (a morning's logins) are not
// failed by RequestTimeout, which starts when each is written.
func TestQueueingIsNotTimingOut(t *testing.T) {
	const n = 5
	var steps []cs.Step
	for range n {
		steps = append(steps, cs.Expect("GetAgentState", nil), cs.Reply(&csta.GetAgentStateResponse{}))
	}
	srv := cs.NewServer(t, steps...)
	p := csta.Profile{Name: "slow", Session: csta.SessionNone, RequestsPerSecond: 10}
	// The last request waits 400 ms for its turn, twice the timeout.
	c := dial(t, srv, csta.Config{Profile: p, RequestTimeout: 200 * time.Millisecond})
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := c.Do(context.Background(), &csta.GetAgentState{Device: "1001"})
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("a request queued behind the rate failed: %v", err)
		}
	}
}

func TestInvokeIDsSkipThoseInFlight(t *testing.T) {
	// Many concurrent requests answered in reverse: every answer must
	// reach its own request.
	const n = 50
	var steps []cs.Step
	for range n {
		steps = append(steps, cs.Expect("SnapshotDevice", nil))
	}
	for i := n - 1; i >= 0; i-- {
		steps = append(steps, func(s *cs.Session) error {
			dev := s.Received[i].(*csta.SnapshotDevice).SnapshotObject
			return cs.ReplyTo(i, &csta.SnapshotDeviceResponse{CrossRefIDorSnapshotData: csta.SnapshotChoice{SnapshotData: csta.SnapshotData{Info: []csta.SnapshotDeviceInfo{{ConnectionIdentifier: csta.ConnectionID{DeviceID: dev}}}}}})(s)
		})
	}
	srv := cs.NewServer(t, steps...)
	c := dial(t, srv, csta.Config{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dev := csta.DeviceID(fmt.Sprint(1000 + i))
			r, err := csta.Call[*csta.SnapshotDeviceResponse](context.Background(), c, &csta.SnapshotDevice{SnapshotObject: dev})
			if err != nil {
				t.Error(err)
				return
			}
			if got := r.Calls()[0].ConnectionIdentifier.DeviceID; got != dev {
				t.Errorf("request for %s got the answer for %s", dev, got)
			}
		}()
	}
	wg.Wait()
}

func frame(id int, body string) []byte {
	b, err := csta.AppendFrame(nil, id, []byte(body))
	if err != nil {
		panic(err)
	}
	return b
}

func mustEncode(t *testing.T, m csta.Message, ns string) []byte {
	t.Helper()
	b, err := csta.Encode(m, ns)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
