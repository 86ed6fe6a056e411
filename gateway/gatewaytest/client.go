package gatewaytest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"crmcti/gateway/gatewaytest/wireclient"
	"crmcti/gateway/wire"
)

// Client is an agent's connection speaking the wire protocol
// (wireclient), failing the test on anything unexpected.
type Client struct {
	*wireclient.Client
	tb testing.TB
}

// Dial connects to url with the protocol's subprotocol.
func Dial(tb testing.TB, url string) *Client {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := wireclient.Dial(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return &Client{Client: c, tb: tb}
}

// Send sends a command and returns its id.
func (c *Client) Send(typ string, data any) string {
	id, err := c.Client.Send(context.Background(), typ, data)
	if err != nil {
		c.tb.Fatal(err)
	}
	return id
}

// SendRaw writes bytes as a text frame.
func (c *Client) SendRaw(b []byte) error { return c.Client.SendRaw(context.Background(), b) }

// Next returns the next frame of type typ (heartbeats skipped); frames of
// other types are kept for later.
func (c *Client) Next(typ string) wire.Envelope {
	c.tb.Helper()
	env, err := c.Client.Next(typ, 5*time.Second)
	if err != nil {
		c.tb.Fatal(err)
	}
	return env
}

// Reply waits for the answer to command id: its data on "result", or the
// wire.Error on "error".
func (c *Client) Reply(id string) (json.RawMessage, *wire.Error) {
	c.tb.Helper()
	b, werr, err := c.Client.Reply(id, 10*time.Second)
	if err != nil {
		c.tb.Fatal(err)
	}
	return b, werr
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
	sess, snap, err := c.Client.Login(context.Background(), user, pass, 5*time.Second)
	if err != nil {
		c.tb.Fatal(err)
	}
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
