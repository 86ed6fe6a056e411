package bench

import (
	"bytes"
	"encoding/xml"
	"io"
	"net"
	"sync"
	"time"

	"crmcti/gateway/csta"
)

// frameTap relays a gateway's CSTA links to the switch and records each
// frame from the gateway (its link, when it arrived, which message): the
// witness that a fenced gateway sent the switch nothing after it lost its
// leadership, and that a standby's watching link carries no command.
type frameTap struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	sent   []tappedFrame
	links  int
	conns  []net.Conn
	closed bool
	wg     sync.WaitGroup
}

// tappedFrame is one frame from the gateway: on which of its links (0 the
// first it opened), when its first bytes arrived, and its message.
type tappedFrame struct {
	link    int
	at      time.Time
	message string
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

// record copies the gateway's bytes to the switch, reading them frame by
// frame (csta.ReadFrame) to note each one's link, arrival and message. A
// frame is stamped when its header arrives: a frame the switch began to
// read counts, even if its body is still on the way.
func (t *frameTap) record(in, out net.Conn) {
	defer out.Close()
	t.mu.Lock()
	link := t.links
	t.links++
	t.mu.Unlock()
	r := &stampReader{r: in}
	for {
		f, err := csta.ReadFrame(r, 0)
		if err != nil {
			return
		}
		t.mu.Lock()
		t.sent = append(t.sent, tappedFrame{link: link, at: r.first, message: rootName(f.Body)})
		t.mu.Unlock()
		r.first = time.Time{}
		if err := csta.WriteFrame(out, f.InvokeID, f.Body); err != nil {
			return
		}
	}
}

// stampReader notes when the first bytes of the frame being read arrived.
type stampReader struct {
	r     io.Reader
	first time.Time
}

func (s *stampReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 && s.first.IsZero() {
		s.first = time.Now()
	}
	return n, err
}

// rootName is the local name of a frame's root element, its message.
func rootName(body []byte) string {
	d := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := d.Token()
		if err != nil {
			return "?"
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name.Local
		}
	}
}

// framesSince is the frames from the gateway that arrived at or after
// since, in order.
func (t *frameTap) framesSince(since time.Time) []tappedFrame {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []tappedFrame
	for _, f := range t.sent {
		if !f.at.Before(since) {
			out = append(out, f)
		}
	}
	return out
}

// linksOpened is how many links the gateway has opened so far.
func (t *frameTap) linksOpened() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.links
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
