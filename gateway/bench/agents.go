package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/coder/websocket"

	"crmcti/gateway/wire"
)

// agent is one simulated agent's browser: a WebSocket client on
// gateway/wire that reacts to its calls as a person would, after a pause.
type agent struct {
	user, ext string
	conn      *websocket.Conn
	n         int
	mu        sync.Mutex
}

func (a *agent) send(ctx context.Context, typ string, data any) error {
	a.mu.Lock()
	a.n++
	id := fmt.Sprint(a.n)
	a.mu.Unlock()
	b, err := wire.Encode(typ, id, data)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return a.conn.Write(wctx, websocket.MessageText, b)
}

// dialAgent connects and logs in; it returns the login latency (login
// sent to snapshot decoded).
func dialAgent(ctx context.Context, url, user, password, ext string) (*agent, time.Duration, error) {
	dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(dctx, url, &websocket.DialOptions{Subprotocols: []string{wire.Subprotocol}})
	if err != nil {
		return nil, 0, err
	}
	c.SetReadLimit(1 << 20)
	a := &agent{user: user, ext: ext, conn: c}
	start := time.Now()
	if err := a.send(dctx, wire.TLogin, wire.Login{Username: user, Password: password}); err != nil {
		c.CloseNow()
		return nil, 0, err
	}
	for {
		_, b, err := c.Read(dctx)
		if err != nil {
			c.CloseNow()
			return nil, 0, fmt.Errorf("login %s: %w", user, err)
		}
		env, err := wire.Decode(b)
		if err != nil {
			c.CloseNow()
			return nil, 0, err
		}
		switch env.Type {
		case wire.TError:
			var e wire.Error
			_ = wire.DecodeData(env, &e)
			c.CloseNow()
			return nil, 0, fmt.Errorf("login %s: %s", user, e.Message)
		case wire.TSnapshot:
			return a, time.Since(start), nil
		}
	}
}

// callEvent is what a client decoded, when.
type callEvent struct {
	device, callID, event string
	at                    time.Time
}

// readLoop decodes every frame and hands call events to on, stamped the
// moment they were decoded.
func (a *agent) readLoop(ctx context.Context, on func(callEvent)) {
	for {
		_, b, err := a.conn.Read(ctx)
		if err != nil {
			return
		}
		env, err := wire.Decode(b)
		at := time.Now()
		if err != nil || env.Type != wire.TCallEvent {
			continue
		}
		var ce wire.CallEvent
		if wire.DecodeData(env, &ce) != nil {
			continue
		}
		on(callEvent{device: a.ext, callID: ce.Call.ID, event: ce.Event, at: at})
	}
}
