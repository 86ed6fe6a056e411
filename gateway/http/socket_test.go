package http

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// countingConn counts the writes that reach the connection.
type countingConn struct {
	net.Conn
	writes atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// socketPair accepts one WebSocket the way serveWS does and returns the
// server's socket, the count of its system writes and the client's end.
func socketPair(t *testing.T) (*socket, *countingConn, *websocket.Conn) {
	t.Helper()
	got := make(chan *socket, 1)
	var counted *countingConn
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hijack := &smallReads{ResponseWriter: w}
		conn, err := websocket.Accept(hijack, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		counted = &countingConn{Conn: hijack.out.Conn}
		hijack.out.Conn = counted
		got <- &socket{conn: conn, out: hijack.out}
	}))
	t.Cleanup(srv.Close)
	client, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.CloseNow() })
	s := <-got
	t.Cleanup(func() { s.conn.CloseNow() })
	return s, counted, client
}

// The frames queued while the last batch was written leave in one system
// call, and the browser still reads each as a message of its own, in
// order.
func TestFramesQueuedTogetherLeaveInOneWrite(t *testing.T) {
	s, counted, client := socketPair(t)
	var frames [][]byte
	for i := range 3 {
		frames = append(frames, fmt.Appendf(nil, `{"type":"event","id":"%d"}`, i))
	}
	frames = append(frames, []byte(`{"type":"snapshot","data":"`+strings.Repeat("x", 3*writeBuffer)+`"}`))
	before := counted.writes.Load()
	if !s.batch(frames, []byte(`{"type":"heartbeat"}`)) {
		t.Fatal("the batch failed")
	}
	if n := counted.writes.Load() - before; n != 1 {
		t.Errorf("%d writes for a batch of 5 frames, want 1", n)
	}
	want := append(frames, []byte(`{"type":"heartbeat"}`))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i, w := range want {
		_, b, err := client.Read(ctx)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if string(b) != string(w) {
			t.Fatalf("message %d: %.40s, want %.40s", i, b, w)
		}
	}
}

// A socket whose write has blocked for writeTimeout is hung up at the
// heartbeat's round; one whose write is younger, or that is not writing,
// is left alone.
func TestStuckWriteHangsUp(t *testing.T) {
	s, _, client := socketPair(t)
	now := time.Now()
	s.stuck(now) // not writing
	s.writing.Store(now.Add(-writeTimeout + time.Second).UnixNano())
	s.stuck(now)
	if !s.batch([][]byte{[]byte(`{"type":"event"}`)}, nil) {
		t.Fatal("a socket that was not stuck was hung up")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, err := client.Read(ctx); err != nil {
		t.Fatal(err)
	}
	s.writing.Store(now.Add(-writeTimeout - time.Second).UnixNano())
	s.stuck(now)
	if _, _, err := client.Read(ctx); err == nil || ctx.Err() != nil {
		t.Fatalf("the stuck socket is still open: %v", err)
	}
}
