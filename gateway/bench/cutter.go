package bench

import (
	"context"
	"io"
	"net"
	"sync"
)

// cutter is the agents' network: a TCP relay between their browsers and
// the gateway that the fault suite can cut. A cut closes every relayed
// connection and refuses new ones until it is restored, as a failed
// office uplink would look to both sides once the NAT forgets them.
type cutter struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]struct{}
}

// startCutter relays 127.0.0.1:random to target.
func startCutter(target string) (*cutter, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c := &cutter{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go c.serve()
	return c, nil
}

func (c *cutter) addr() string { return c.ln.Addr().String() }

func (c *cutter) serve() {
	for {
		in, err := c.ln.Accept()
		if err != nil {
			return
		}
		go c.relay(in)
	}
}

// relay copies both ways until either side or a cut ends it.
func (c *cutter) relay(in net.Conn) {
	if !c.track(in) {
		in.Close()
		return
	}
	var d net.Dialer
	out, err := d.DialContext(context.Background(), "tcp", c.target)
	if err != nil || !c.track(out) {
		c.drop(in)
		if out != nil {
			out.Close()
		}
		return
	}
	done := make(chan struct{}, 2)
	go func() { io.Copy(out, in); done <- struct{}{} }()
	go func() { io.Copy(in, out); done <- struct{}{} }()
	<-done
	c.drop(in)
	c.drop(out)
}

// track adds a connection unless the network is cut.
func (c *cutter) track(conn net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return false
	}
	c.conns[conn] = struct{}{}
	return true
}

func (c *cutter) drop(conn net.Conn) {
	c.mu.Lock()
	delete(c.conns, conn)
	c.mu.Unlock()
	conn.Close()
}

// cut closes every relayed connection and refuses new ones.
func (c *cutter) cut() {
	c.mu.Lock()
	c.down = true
	conns := c.conns
	c.conns = map[net.Conn]struct{}{}
	c.mu.Unlock()
	for conn := range conns {
		conn.Close()
	}
}

// restore lets connections through again.
func (c *cutter) restore() {
	c.mu.Lock()
	c.down = false
	c.mu.Unlock()
}

// close stops the relay; safe twice.
func (c *cutter) close() {
	c.ln.Close()
	c.cut()
}
