package gatewaytest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"crmcti/gateway/wire"
)

// Client is an agent's connection speaking the wire protocol.
type Client struct {
	tb   testing.TB
	Conn *websocket.Conn
	in   chan wire.Envelope
	mu   sync.Mutex
	id   int
	// Unread holds frames read while waiting for another.
	Unread []wire.Envelope
	done   chan struct{}
	err    error
}

// Dial connects to url with the protocol's subprotocol.
func Dial(tb testing.TB, url string) *Client {
	tb.Helper()
	c, err := DialErr(url)
	if err != nil {
		tb.Fatal(err)
	}
	c.tb = tb
	tb.Cleanup(func() { c.Conn.CloseNow() })
	return c
}

// DialErr connects without a testing.TB (the load command).
func DialErr(url string) (*Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{wire.Subprotocol}})
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	c := &Client{Conn: conn, in: make(chan wire.Envelope, 1024), done: make(chan struct{})}
	go c.read()
	return c, nil
}

func (c *Client) read() {
	defer close(c.done)
	for {
		_, b, err := c.Conn.Read(context.Background())
		if err != nil {
			c.err = err
			return
		}
		env, err := wire.Decode(b)
		if err != nil {
			c.err = err
			return
		}
		c.in <- env
	}
}

// Send sends a command and returns its id.
func (c *Client) Send(typ string, data any) string {
	c.mu.Lock()
	c.id++
	id := strconv.Itoa(c.id)
	c.mu.Unlock()
	b, err := wire.Encode(typ, id, data)
	if err != nil {
		c.tb.Fatal(err)
	}
	if err := c.Conn.Write(context.Background(), websocket.MessageText, b); err != nil {
		c.tb.Fatalf("send %s: %v", typ, err)
	}
	return id
}

// SendRaw writes bytes as a text frame.
func (c *Client) SendRaw(b []byte) error {
	return c.Conn.Write(context.Background(), websocket.MessageText, b)
}

// Next returns the next frame of type typ (heartbeats skipped unless
// asked for); frames of other types are kept in Unread.
func (c *Client) Next(typ string) wire.Envelope {
	c.tb.Helper()
	env, err := c.NextErr(typ, 5*time.Second)
	if err != nil {
		c.tb.Fatal(err)
	}
	return env
}

// NextErr is Next without a testing.TB.
func (c *Client) NextErr(typ string, timeout time.Duration) (wire.Envelope, error) {
	for i, e := range c.Unread {
		if e.Type == typ {
			c.Unread = append(c.Unread[:i:i], c.Unread[i+1:]...)
			return e, nil
		}
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case e := <-c.in:
			if e.Type == typ {
				return e, nil
			}
			if e.Type != wire.THeartbeat {
				c.Unread = append(c.Unread, e)
			}
		case <-c.done:
			return wire.Envelope{}, fmt.Errorf("connection ended waiting for %s: %v (unread %s)", typ, c.err, c.types())
		case <-t.C:
			return wire.Envelope{}, fmt.Errorf("no %s within %s (unread %s)", typ, timeout, c.types())
		}
	}
}

func (c *Client) types() string {
	s := ""
	for _, e := range c.Unread {
		s += e.Type + " "
	}
	return s
}

// Reply waits for the answer to command id: its data on "result", or the
// wire.Error on "error".
func (c *Client) Reply(id string) (json.RawMessage, *wire.Error) {
	c.tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for i, e := range c.Unread {
			if e.ID != id {
				continue
			}
			c.Unread = append(c.Unread[:i:i], c.Unread[i+1:]...)
			if e.Type == wire.TError {
				var we wire.Error
				json.Unmarshal(e.Data, &we)
				return nil, &we
			}
			return e.Data, nil
		}
		select {
		case e := <-c.in:
			if e.Type != wire.THeartbeat {
				c.Unread = append(c.Unread, e)
			}
		case <-c.done:
			c.tb.Fatalf("connection ended waiting for reply %s: %v", id, c.err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	c.tb.Fatalf("no reply to %s (unread %s)", id, c.types())
	return nil, nil
}

// Do sends a command and requires success.
func (c *Client) Do(typ string, data any, out any) {
	c.tb.Helper()
	b, werr := c.Reply(c.Send(typ, data))
	if werr != nil {
		c.tb.Fatalf("%s: %s: %s", typ, werr.Code, werr.Message)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.tb.Fatal(err)
		}
	}
}

// Fail sends a command and requires the error code.
func (c *Client) Fail(typ string, data any, code string) {
	c.tb.Helper()
	_, werr := c.Reply(c.Send(typ, data))
	if werr == nil || werr.Code != code {
		c.tb.Fatalf("%s: got %+v, want error %s", typ, werr, code)
	}
}

// Login logs in and returns the session and the snapshot that follows.
func (c *Client) Login(user, pass string) (wire.Session, wire.Snapshot) {
	c.tb.Helper()
	var sess wire.Session
	id := c.Send(wire.TLogin, wire.Login{Username: user, Password: pass})
	env := c.Next(wire.TSession)
	if env.ID != id {
		c.tb.Fatalf("session for id %s, sent %s", env.ID, id)
	}
	json.Unmarshal(env.Data, &sess)
	var snap wire.Snapshot
	json.Unmarshal(c.Next(wire.TSnapshot).Data, &snap)
	return sess, snap
}

// CallEvent waits for a "call" message with the given event.
func (c *Client) CallEvent(event string) wire.CallEvent {
	c.tb.Helper()
	for {
		env := c.Next(wire.TCallEvent)
		var ce wire.CallEvent
		json.Unmarshal(env.Data, &ce)
		if ce.Event == event {
			return ce
		}
	}
}

// Done is closed when the connection ends.
func (c *Client) Done() <-chan struct{} { return c.done }
