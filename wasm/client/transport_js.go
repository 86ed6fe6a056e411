//go:build js && wasm

package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall/js"
)

// jsConn wraps the browser's WebSocket. Its event handlers run on the
// JavaScript thread and must never block: frames go into a queue that
// Read drains.
type jsConn struct {
	ws    js.Value
	funcs []js.Func

	mu     sync.Mutex
	queue  [][]byte
	err    error
	notify chan struct{}
	once   sync.Once
}

// newWebSocket calls the browser's constructor, which throws (a Go
// panic through syscall/js) on a URL it does not accept: that is an
// error, not the end of the core.
func newWebSocket(url, subprotocol string) (ws js.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("websocket %q: %v", url, r)
		}
	}()
	return js.Global().Get("WebSocket").New(url, []any{subprotocol}), nil
}

func dial(ctx context.Context, url, subprotocol string) (conn, error) {
	c := &jsConn{notify: make(chan struct{}, 1)}
	ws, err := newWebSocket(url, subprotocol)
	if err != nil {
		return nil, err
	}
	c.ws = ws
	opened := make(chan struct{})
	var openOnce sync.Once
	on := func(name string, f func(js.Value)) {
		fn := js.FuncOf(func(this js.Value, args []js.Value) any {
			var ev js.Value
			if len(args) > 0 {
				ev = args[0]
			}
			defer func() { _ = recover() }() // never throw into the browser's event loop
			f(ev)
			return nil
		})
		c.funcs = append(c.funcs, fn)
		ws.Call("addEventListener", name, fn)
	}
	on("open", func(js.Value) { openOnce.Do(func() { close(opened) }) })
	on("message", func(ev js.Value) {
		data := ev.Get("data")
		if data.Type() != js.TypeString {
			return // the gateway sends text only
		}
		c.push([]byte(data.String()), nil)
	})
	on("close", func(ev js.Value) {
		c.push(nil, &closeError{Code: ev.Get("code").Int(), Reason: ev.Get("reason").String()})
		openOnce.Do(func() { close(opened) })
	})
	on("error", func(js.Value) {
		c.push(nil, errors.New("websocket error"))
		openOnce.Do(func() { close(opened) })
	})
	select {
	case <-opened:
	case <-ctx.Done():
		c.Close()
		return nil, ctx.Err()
	}
	c.mu.Lock()
	err = c.err
	c.mu.Unlock()
	if err != nil && len(c.queue) == 0 {
		c.Close()
		return nil, err
	}
	if ws.Get("protocol").String() != subprotocol {
		c.Close()
		return nil, errors.New("the gateway does not speak " + subprotocol)
	}
	return c, nil
}

func (c *jsConn) push(b []byte, err error) {
	c.mu.Lock()
	if err != nil {
		if c.err == nil {
			c.err = err
		}
	} else {
		c.queue = append(c.queue, b)
	}
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

func (c *jsConn) Read(ctx context.Context) ([]byte, error) {
	for {
		c.mu.Lock()
		if len(c.queue) > 0 {
			b := c.queue[0]
			c.queue[0] = nil
			c.queue = c.queue[1:]
			c.mu.Unlock()
			return b, nil
		}
		err := c.err
		c.mu.Unlock()
		if err != nil {
			return nil, err
		}
		select {
		case <-c.notify:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (c *jsConn) Write(ctx context.Context, b []byte) (err error) {
	c.mu.Lock()
	closed := c.err
	c.mu.Unlock()
	if closed != nil {
		return closed
	}
	defer func() {
		if r := recover(); r != nil { // send on a closing socket throws
			err = errors.New("websocket closed")
		}
	}()
	c.ws.Call("send", string(b))
	return nil
}

func (c *jsConn) Close() {
	c.once.Do(func() {
		func() {
			defer func() { recover() }()
			c.ws.Call("close", 1000)
		}()
		c.push(nil, errors.New("closed"))
		for _, f := range c.funcs {
			f.Release()
		}
	})
}
