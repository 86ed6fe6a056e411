package csta_test

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"crmcti/gateway/csta"
	cs "crmcti/gateway/csta/cstatest"
)

// syncBuffer is a bytes.Buffer safe for the link's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestTraceHasEveryFrameAndNoPassword runs an Avaya session with a trace:
// every frame in and out is there, timestamped, and neither our password
// nor one a switch echoes in any form is.
func TestTraceHasEveryFrameAndNoPassword(t *testing.T) {
	srv := cs.NewServer(t,
		cs.Expect("StartApplicationSession", nil),
		cs.Reply(&csta.StartApplicationSessionPosResponse{SessionID: "S1", ActualSessionDuration: 180}),
		cs.SendRaw(frame(9999, `<Echo xmlns="urn:x"><acx:Password xmlns:acx="urn:y">hunter2</acx:Password><password><![CDATA[cdata-secret]]></password><login password="attr-secret"/></Echo>`)),
		cs.Expect("MonitorStart", nil),
		cs.Reply(&csta.MonitorStartResponse{MonitorCrossRefID: "1"}),
	)
	var out syncBuffer
	cfg := avayaConfig()
	cfg.Trace = csta.TraceWriter(&out)
	c := dial(t, srv, cfg)
	if _, err := c.Do(t.Context(), monitor1001); err != nil {
		t.Fatal(err)
	}
	if err := srv.Wait(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	trace := out.String()
	for _, secret := range []string{"s3cret", "hunter2", "cdata-secret", "attr-secret"} {
		if strings.Contains(trace, secret) {
			t.Errorf("trace shows the password %q:\n%s", secret, trace)
		}
	}
	lines := strings.Split(strings.TrimSuffix(trace, "\n"), "\n")
	line := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z (in |out) \d{4} <`)
	var frames []string
	for _, l := range lines {
		if !line.MatchString(l) {
			t.Fatalf("trace line %q", l)
		}
		frames = append(frames, l[28:36])
	}
	slices.Sort(frames)
	if got := strings.Join(frames, ","); got != "in  0001,in  0002,in  9999,out 0001,out 0002" {
		t.Errorf("frames %s, want every frame in and out\n%s", got, trace)
	}
	if !strings.Contains(trace, "<acx:password>***</acx:password>") || !strings.Contains(trace, "<acx:userName>cti</acx:userName>") {
		t.Errorf("SessionLoginInfo not redacted as expected:\n%s", trace)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		`<password>x</password>`:                              `<password>***</password>`,
		`<a:PASSWORD a:x="1">x y</a:PASSWORD>`:                `<a:PASSWORD a:x="1">***</a:PASSWORD>`,
		"<password><![CDATA[a<b]]></password>":                `<password>***</password>`,
		`<login password='x' user="u"/>`:                      `<login password="***" user="u"/>`,
		`<passwordHint>kept</passwordHint>`:                   `<passwordHint>kept</passwordHint>`,
		`<userName>u</userName>`:                              `<userName>u</userName>`,
		"<p><password>a</password><password>b</password></p>": `<p><password>***</password><password>***</password></p>`,
	} {
		if got := string(csta.Redact([]byte(in))); got != want {
			t.Errorf("Redact(%s) = %s, want %s", in, got, want)
		}
	}
}
