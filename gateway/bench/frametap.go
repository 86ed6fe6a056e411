package bench

import (
	"io"
	"net"
	"sync"
	"time"
)

// frameTap relays a gateway's CSTA link to the switch and records when
// each chunk of bytes from the gateway reached it: the witness that a
// fenced gateway sent the switch nothing after it lost its leadership.
type frameTap struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	sent   []time.Time // arrival of each chunk from the gateway
	conns  []net.Conn
	closed bool
	wg     sync.WaitGroup
}

func startFrameTap(target string) (*frameTap, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	t := &frameTap{ln: ln, target: target}
	t.wg.Add(1)
	go t.serve()
	return t, nil
}

func (t *frameTap) addr() string { return t.ln.Addr().String() }

func (t *frameTap) serve() {
	defer t.wg.Done()
	for {
		in, err := t.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", t.target)
		if err != nil {
			in.Close()
			continue
		}
		if !t.track(in, out) {
			return
		}
		t.wg.Add(2)
		go func() {
			defer t.wg.Done()
			t.record(in, out)
		}()
		go func() {
			defer t.wg.Done()
			io.Copy(in, out)
			in.Close()
		}()
	}
}

func (t *frameTap) track(cs ...net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	t.conns = append(t.conns, cs...)
	return true
}

// record copies the gateway's bytes to the switch, stamping each read.
func (t *frameTap) record(in, out net.Conn) {
	defer out.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := in.Read(buf)
		if n > 0 {
			t.mu.Lock()
			t.sent = append(t.sent, time.Now())
			t.mu.Unlock()
			if _, werr := out.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// sentSince counts the chunks from the gateway that arrived at or after
// since; first is the earliest of them.
func (t *frameTap) sentSince(since time.Time) (n int, first time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, at := range t.sent {
		if !at.Before(since) {
			if n == 0 {
				first = at
			}
			n++
		}
	}
	return n, first
}

func (t *frameTap) close() {
	t.mu.Lock()
	t.closed = true
	for _, c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	t.ln.Close()
	t.wg.Wait()
}
