package http

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"crmcti/gateway/wire"
)

// fakeService answers every frame with a result echoing its id, and
// "bye" ends the connection from the core's side.
type fakeService struct {
	mu     sync.Mutex
	ready  map[string]error
	conns  []*fakeConn
	closed chan *fakeConn
}

func (f *fakeService) Connect(addr string) Conn {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := &fakeConn{svc: f, addr: addr, done: make(chan struct{})}
	f.conns = append(f.conns, c)
	return c
}

func (f *fakeService) Ready(ctx context.Context) map[string]error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ready
}

type fakeConn struct {
	svc       *fakeService
	addr      string
	mu        sync.Mutex
	queue     [][]byte
	wake      func()
	done      chan struct{}
	frames    []string
	closeOnce sync.Once
}

func (c *fakeConn) Handle(ctx context.Context, frame []byte) {
	c.svc.mu.Lock()
	c.frames = append(c.frames, string(frame))
	c.svc.mu.Unlock()
	env, err := wire.Decode(frame)
	if err != nil {
		return
	}
	if env.Type == "bye" {
		close(c.done)
		c.notify()
		return
	}
	b, _ := wire.Encode(wire.TResult, env.ID, map[string]string{"type": env.Type})
	c.mu.Lock()
	c.queue = append(c.queue, b)
	c.mu.Unlock()
	c.notify()
}

func (c *fakeConn) notify() {
	c.mu.Lock()
	f := c.wake
	c.mu.Unlock()
	if f != nil {
		f()
	}
}

func (c *fakeConn) Wake(f func()) {
	c.mu.Lock()
	c.wake = f
	c.mu.Unlock()
	f()
}

func (c *fakeConn) Take(spare [][]byte) [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.queue
	c.queue = spare[:0]
	return out
}

func (c *fakeConn) Done() <-chan struct{} { return c.done }
func (c *fakeConn) CloseReason() wire.Error {
	return wire.Error{Code: "shutdown", Message: "the gateway is restarting"}
}
func (c *fakeConn) Close() { c.closeOnce.Do(func() { c.svc.closed <- c }) }

func serve(t *testing.T, cfg Config) (*fakeService, *httptest.Server) {
	t.Helper()
	svc := &fakeService{ready: map[string]error{"pbx": nil, "database": nil}, closed: make(chan *fakeConn, 16)}
	srv := httptest.NewServer(New(cfg, svc, NewMetrics()))
	t.Cleanup(srv.Close)
	return svc, srv
}

func wsURL(srv *httptest.Server) string { return "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws" }

func dial(t *testing.T, srv *httptest.Server, opts *websocket.DialOptions) (*websocket.Conn, error) {
	t.Helper()
	if opts == nil {
		opts = &websocket.DialOptions{Subprotocols: []string{wire.Subprotocol}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, wsURL(srv), opts)
	if err == nil {
		t.Cleanup(func() { c.CloseNow() })
	}
	return c, err
}

func read(t *testing.T, c *websocket.Conn) (wire.Envelope, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		return wire.Envelope{}, err
	}
	return wire.Decode(b)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestHealthAndReadiness(t *testing.T) {
	svc, srv := serve(t, Config{})
	if code, body := get(t, srv.URL+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("healthz %d %q", code, body)
	}
	if code, body := get(t, srv.URL+"/readyz"); code != 200 || !strings.Contains(body, `"pbx":"ok"`) {
		t.Fatalf("readyz %d %s", code, body)
	}
	svc.mu.Lock()
	svc.ready = map[string]error{"pbx": errors.New("PBX link down"), "database": nil}
	svc.mu.Unlock()
	// The public readiness names the dependency down, not its error
	// (which may name hosts and users).
	if code, body := get(t, srv.URL+"/readyz"); code != 503 || !strings.Contains(body, `"pbx":"down"`) || strings.Contains(body, "PBX link down") || !strings.Contains(body, `"database":"ok"`) {
		t.Fatalf("readyz %d %s", code, body)
	}
	if code, body := get(t, srv.URL+"/metrics"); code != 200 || !strings.Contains(body, "crmcti_clients") {
		t.Fatalf("metrics %d", code)
	}
}

func TestFrameRoundTrip(t *testing.T) {
	svc, srv := serve(t, Config{})
	c, err := dial(t, srv, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := wire.Encode(wire.TPing, "7", nil)
	if err := c.Write(context.Background(), websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
	env, err := read(t, c)
	if err != nil || env.Type != wire.TResult || env.ID != "7" || string(env.Data) != `{"type":"ping"}` {
		t.Fatalf("reply %+v %v", env, err)
	}
	// A binary frame is handed on as a message of an unknown type.
	c.Write(context.Background(), websocket.MessageBinary, []byte{1, 2})
	if env, err := read(t, c); err != nil || env.Type != wire.TResult || string(env.Data) != `{"type":"binary"}` {
		t.Fatalf("binary frame: %+v %v", env, err)
	}
	svc.mu.Lock()
	addr := svc.conns[0].addr
	svc.mu.Unlock()
	if addr != "127.0.0.1" {
		t.Fatalf("client address %q", addr)
	}
	// The core ending the connection: a goodbye with its reason.
	b, _ = wire.Encode("bye", "8", nil)
	c.Write(context.Background(), websocket.MessageText, b)
	env, err = read(t, c)
	if err != nil || env.Type != wire.TBye || !strings.Contains(string(env.Data), "shutdown") {
		t.Fatalf("goodbye %+v %v", env, err)
	}
	if _, err := read(t, c); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("closed with %v", err)
	}
	waitClosed(t, svc)
}

func TestHeartbeat(t *testing.T) {
	_, srv := serve(t, Config{Heartbeat: 10 * time.Millisecond})
	c, err := dial(t, srv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if env, err := read(t, c); err != nil || env.Type != wire.THeartbeat {
		t.Fatalf("%+v %v", env, err)
	}
}

func TestOriginRefused(t *testing.T) {
	svc, srv := serve(t, Config{AllowedOrigins: []string{"chrome-extension://amkhmoonbbfpbpgpaciafkkodeiodbkg"}})
	h := http.Header{"Origin": {"https://evil.example"}}
	if _, err := dial(t, srv, &websocket.DialOptions{Subprotocols: []string{wire.Subprotocol}, HTTPHeader: h}); err == nil {
		t.Fatal("a page of another origin connected")
	}
	h = http.Header{"Origin": {"chrome-extension://amkhmoonbbfpbpgpaciafkkodeiodbkg"}}
	c, err := dial(t, srv, &websocket.DialOptions{Subprotocols: []string{wire.Subprotocol}, HTTPHeader: h})
	if err != nil {
		t.Fatalf("the extension refused: %v", err)
	}
	// Once a frame has been answered, the server has registered the
	// connection; only the extension's reached the core.
	b, _ := wire.Encode(wire.TPing, "1", nil)
	c.Write(context.Background(), websocket.MessageText, b)
	if _, err := read(t, c); err != nil {
		t.Fatal(err)
	}
	svc.mu.Lock()
	defer svc.mu.Unlock()
	if len(svc.conns) != 1 {
		t.Fatalf("%d connections reached the core", len(svc.conns))
	}
}

func TestWrongSubprotocolRefused(t *testing.T) {
	svc, srv := serve(t, Config{})
	c, err := dial(t, srv, &websocket.DialOptions{Subprotocols: []string{"crmcti.v0"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := read(t, c); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("got %v, want a policy violation", err)
	}
	svc.mu.Lock()
	defer svc.mu.Unlock()
	if len(svc.conns) != 0 {
		t.Fatal("the connection reached the core")
	}
}

func TestOversizedFrameCloses(t *testing.T) {
	svc, srv := serve(t, Config{})
	c, err := dial(t, srv, nil)
	if err != nil {
		t.Fatal(err)
	}
	big := `{"type":"ping","data":"` + strings.Repeat("x", wire.MaxMessage) + `"}`
	c.Write(context.Background(), websocket.MessageText, []byte(big))
	if _, err := read(t, c); err == nil {
		t.Fatal("the connection survived an oversized frame")
	}
	waitClosed(t, svc)
	svc.mu.Lock()
	defer svc.mu.Unlock()
	if len(svc.conns[0].frames) != 0 {
		t.Fatal("the oversized frame reached the core")
	}
}

// waitClosed requires the server to have closed its core connection.
func waitClosed(t *testing.T, svc *fakeService) {
	t.Helper()
	select {
	case <-svc.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the core connection was never closed")
	}
}

// A socket that had a frame in the last half interval gets no heartbeat
// (any frame tells the extension its gateway lives); one quiet for longer
// does. The extension hears something at least every 1.5 intervals.
func TestHeartbeatSkippedAfterAFrame(t *testing.T) {
	now := time.Now()
	every := 5 * time.Second
	beat := []byte(`{"type":"heartbeat"}`)
	for _, tc := range []struct {
		spoke time.Duration // before now
		want  bool
	}{{time.Second, false}, {every/2 - time.Millisecond, false}, {every / 2, true}, {every, true}} {
		s := &socket{ended: true, spoke: now.Add(-tc.spoke)} // ended: no writer starts
		s.heartbeat(beat, now, every, true)
		if got := s.beat != nil; got != tc.want {
			t.Errorf("last frame %s ago: heartbeat queued %v, want %v", tc.spoke, got, tc.want)
		}
	}
	s := &socket{ended: true}
	s.heartbeat(beat, now, every, true)
	if s.beat == nil {
		t.Error("a socket that never had a frame got no heartbeat")
	}
	// While the interval grows, none is skipped.
	s = &socket{ended: true, spoke: now}
	s.heartbeat(beat, now, every, false)
	if s.beat == nil {
		t.Error("a heartbeat was skipped in a cycle whose interval grew")
	}
}

// The heartbeat interval stays the shortest while the agents are few,
// grows with their number beyond the rate (so that heartbeats cost the
// gateway a bounded rate of writes), grows at most twofold a cycle (a
// client waits two stated intervals), and shrinks at once.
func TestHeartbeatInterval(t *testing.T) {
	h := newHeartbeats(5*time.Second, 500)
	for _, tc := range []struct {
		n          int
		last, want time.Duration
	}{
		{100, 5 * time.Second, 5 * time.Second},
		{2500, 5 * time.Second, 5 * time.Second},
		{10000, 20 * time.Second, 20 * time.Second},
		{10000, 5 * time.Second, 10 * time.Second}, // twofold a cycle at most
		{10000, 10 * time.Second, 20 * time.Second},
		{1000, 20 * time.Second, 5 * time.Second}, // at once
	} {
		if got := h.interval(tc.n, tc.last); got != tc.want {
			t.Errorf("%d sockets after %s: %s, want %s", tc.n, tc.last, got, tc.want)
		}
	}
	if got := newHeartbeats(5*time.Second, 0).interval(100000, 5*time.Second); got != 5*time.Second {
		t.Errorf("no cap: %s, want 5s", got)
	}
}
