//go:build !js

package client

import (
	"context"
	"errors"

	"github.com/coder/websocket"
)

type nativeConn struct{ c *websocket.Conn }

func dial(ctx context.Context, url, subprotocol string) (conn, error) {
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{subprotocol}})
	if err != nil {
		return nil, err
	}
	if c.Subprotocol() != subprotocol {
		c.Close(websocket.StatusPolicyViolation, "protocol")
		return nil, errors.New("the gateway does not speak " + subprotocol)
	}
	c.SetReadLimit(1 << 20)
	return &nativeConn{c: c}, nil
}

func (n *nativeConn) Read(ctx context.Context) ([]byte, error) {
	_, b, err := n.c.Read(ctx)
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return nil, &closeError{Code: int(ce.Code), Reason: ce.Reason}
	}
	return b, err
}

func (n *nativeConn) Write(ctx context.Context, b []byte) error {
	return n.c.Write(ctx, websocket.MessageText, b)
}

func (n *nativeConn) Close() { n.c.CloseNow() }
