// Package wireclient is an agent's browser as the gateway sees it: a
// WebSocket speaking the wire protocol, with nothing of the extension's
// logic. The tests use it through gatewaytest (which adds testing.TB
// conveniences) and the load command (gateway/bench) directly, so that
// there is one test-side client of the protocol.
package wireclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"crmcti/gateway/wire"
)

// Client is one connection. Frames are read as they come; Next and Reply
// pick the ones asked for and keep the others, unless Watch hands every
// frame to a function instead.
type Client struct {
	Conn *websocket.Conn

	done chan struct{}
	err  error // why the connection ended, once done is closed
	// more is signalled when queue grows. The queue has no fixed bound: a
	// channel of 1,024 frames per client was 57 KiB each, half a
	// gigabyte for the benchmark's 10,000 simulated browsers, which the
	// benchmark's garbage collector then scanned on the cores it shares
	// with the gateway.
	more chan struct{}

	mu     sync.Mutex
	id     int
	watch  func(wire.Envelope, time.Time)
	queue  []wire.Envelope // read, not yet looked at by Next or Reply
	unread []wire.Envelope // touched only by the goroutine calling Next and Reply
}

// Dial connects to url offering the protocol's subprotocol.
func Dial(ctx context.Context, url string) (*Client, error) {
	return DialFrom(ctx, url, "")
}

// DialFrom is Dial from the local IP address from (empty: any): the load
// benchmark gives each simulated browser its own loopback address
// (127.0.0.0/8), as agents on their own machines have.
func DialFrom(ctx context.Context, url, from string) (*Client, error) {
	opts := &websocket.DialOptions{Subprotocols: []string{wire.Subprotocol}}
	if from != "" {
		ip := net.ParseIP(from)
		if ip == nil {
			return nil, fmt.Errorf("dial %s: bad local address %q", url, from)
		}
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}}
		opts.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	}
	conn, _, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	conn.SetReadLimit(1 << 20)
	c := &Client{Conn: conn, more: make(chan struct{}, 1), done: make(chan struct{})}
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
		at := time.Now()
		if err != nil {
			c.err = err
			return
		}
		c.mu.Lock()
		watch := c.watch
		if watch == nil {
			c.queue = append(c.queue, env)
		}
		c.mu.Unlock()
		if watch != nil {
			watch(env, at)
			continue
		}
		select {
		case c.more <- struct{}{}:
		default:
		}
	}
}

// Watch hands every frame read from now on to f, with the moment it was
// decoded, instead of keeping it for Next and Reply. f runs on the
// reading goroutine: it must not block.
func (c *Client) Watch(f func(env wire.Envelope, at time.Time)) {
	c.mu.Lock()
	c.watch = f
	c.mu.Unlock()
}

// Send sends a command and returns its id.
func (c *Client) Send(ctx context.Context, typ string, data any) (string, error) {
	c.mu.Lock()
	c.id++
	id := strconv.Itoa(c.id)
	c.mu.Unlock()
	b, err := wire.Encode(typ, id, data)
	if err != nil {
		return "", err
	}
	if err := c.SendRaw(ctx, b); err != nil {
		return "", fmt.Errorf("send %s: %w", typ, err)
	}
	return id, nil
}

// SendRaw writes bytes as a text frame.
func (c *Client) SendRaw(ctx context.Context, b []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return c.Conn.Write(ctx, websocket.MessageText, b)
}

// Next returns the next frame that f accepts (heartbeats are dropped);
// the frames it passes over are kept for later calls.
func (c *Client) next(what string, timeout time.Duration, f func(wire.Envelope) bool) (wire.Envelope, error) {
	for i, e := range c.unread {
		if f(e) {
			c.unread = append(c.unread[:i:i], c.unread[i+1:]...)
			return e, nil
		}
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		if e, ok := c.take(f); ok {
			return e, nil
		}
		select {
		case <-c.more:
		case <-c.done:
			if e, ok := c.take(f); ok {
				return e, nil
			}
			return wire.Envelope{}, fmt.Errorf("connection ended waiting for %s: %v (unread %s)", what, c.err, c.types())
		case <-t.C:
			return wire.Envelope{}, fmt.Errorf("no %s within %s (unread %s)", what, timeout, c.types())
		}
	}
}

// take looks at the frames read since the last look, in order: it
// returns the first that f accepts and keeps the others (heartbeats
// dropped) for later calls.
func (c *Client) take(f func(wire.Envelope) bool) (wire.Envelope, bool) {
	c.mu.Lock()
	q := c.queue
	c.queue = nil
	c.mu.Unlock()
	for i, e := range q {
		if f(e) {
			c.mu.Lock()
			c.queue = append(q[i+1:len(q):len(q)], c.queue...)
			c.mu.Unlock()
			return e, true
		}
		if e.Type != wire.THeartbeat {
			c.unread = append(c.unread, e)
		}
	}
	return wire.Envelope{}, false
}

// Next returns the next frame of type typ.
func (c *Client) Next(typ string, timeout time.Duration) (wire.Envelope, error) {
	return c.next(typ, timeout, func(e wire.Envelope) bool { return e.Type == typ })
}

func (c *Client) types() string {
	var b strings.Builder
	for _, e := range c.unread {
		b.WriteString(e.Type + " ")
	}
	return b.String()
}

// Reply waits for the answer to command id: its data, or the wire.Error
// the gateway answered with.
func (c *Client) Reply(id string, timeout time.Duration) (json.RawMessage, *wire.Error, error) {
	e, err := c.next("reply "+id, timeout, func(e wire.Envelope) bool { return e.ID == id })
	if err != nil {
		return nil, nil, err
	}
	if e.Type == wire.TError {
		var we wire.Error
		if err := json.Unmarshal(e.Data, &we); err != nil {
			return nil, nil, err
		}
		return nil, &we, nil
	}
	return e.Data, nil, nil
}

// Login logs in and returns the session and the snapshot that follows,
// once the agent's phone is ready (AwaitPhone): the agent can then work.
func (c *Client) Login(ctx context.Context, user, pass string, timeout time.Duration) (wire.Session, wire.Snapshot, error) {
	sess, snap, err := c.LoginAnswered(ctx, user, pass, timeout)
	if err == nil {
		err = c.AwaitPhone(snap, timeout)
	}
	return sess, snap, err
}

// AwaitPhone waits, after a snapshot that says the agent's phone is still
// being connected, until the gateway says it is ready.
func (c *Client) AwaitPhone(snap wire.Snapshot, timeout time.Duration) error {
	if snap.Phone != wire.PhoneConnecting {
		return nil
	}
	e, err := c.next("phone ready", timeout, func(e wire.Envelope) bool { return e.Type == wire.TPhone || e.Type == wire.TBye })
	if err != nil {
		return err
	}
	if e.Type == wire.TBye {
		var we wire.Error
		_ = json.Unmarshal(e.Data, &we)
		return fmt.Errorf("phone: %s: %s", we.Code, we.Message)
	}
	return nil
}

// LoginAnswered logs in and returns the session and the snapshot that
// follows, without waiting for the agent's phone.
func (c *Client) LoginAnswered(ctx context.Context, user, pass string, timeout time.Duration) (wire.Session, wire.Snapshot, error) {
	var sess wire.Session
	var snap wire.Snapshot
	id, err := c.Send(ctx, wire.TLogin, wire.Login{Username: user, Password: pass})
	if err != nil {
		return sess, snap, err
	}
	b, werr, err := c.Reply(id, timeout)
	switch {
	case err != nil:
		return sess, snap, fmt.Errorf("login %s: %w", user, err)
	case werr != nil:
		return sess, snap, fmt.Errorf("login %s: %s: %s", user, werr.Code, werr.Message)
	}
	if err := json.Unmarshal(b, &sess); err != nil {
		return sess, snap, err
	}
	e, err := c.Next(wire.TSnapshot, timeout)
	if err != nil {
		return sess, snap, err
	}
	return sess, snap, json.Unmarshal(e.Data, &snap)
}

// Done is closed when the connection has ended and nothing more is read.
func (c *Client) Done() <-chan struct{} { return c.done }

// Close drops the connection at once.
func (c *Client) Close() error { return c.Conn.CloseNow() }
