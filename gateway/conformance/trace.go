package conformance

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"time"

	"crmcti/gateway/csta"
)

// frame is one CSTA frame as it crossed the wire, kept so that a failed
// step can show the very bytes that made it fail.
type frame struct {
	seq      int
	at       time.Time
	in       bool // from the switch
	invokeID int
	name     string       // root element, "" when the body is not CSTA XML
	msg      csta.Message // decoded, nil when the body is not CSTA XML
	body     []byte
}

// String renders the frame as the trace file has it, password redacted.
func (f *frame) String() string {
	dir := ">"
	if f.in {
		dir = "<"
	}
	return fmt.Sprintf("%s %s %04d %s", f.at.UTC().Format("15:04:05.000000"), dir, f.invokeID, redact(f.body))
}

// passwordRe finds the text of any element whose local name ends in
// "password" (Avaya's SessionLoginInfo/password, and whatever a vendor
// calls theirs), with or without a namespace prefix.
var passwordRe = regexp.MustCompile(`(?is)(<(?:[\w.-]+:)?[\w.-]*password\b[^>]*>)([^<]*)(</(?:[\w.-]+:)?[\w.-]*password\s*>)`)

// redact blanks passwords: a trace goes into support cases and e-mails,
// and a switch account's password must never travel with it.
func redact(body []byte) string {
	return passwordRe.ReplaceAllString(string(body), "${1}***${3}")
}

// tracer records every frame in and out of the link, writes it to the
// trace file and hands the switch's events to the run. It learns the
// frames by splitting the byte streams itself, so what it shows is what
// went over the wire, not what the codec made of it.
type tracer struct {
	mu       sync.Mutex
	w        io.Writer // nil: no trace file
	frames   []*frame
	in, out  []byte        // partial frames
	grew     chan struct{} // closed and replaced when frames are added
	writeErr error
}

func newTracer(w io.Writer) *tracer {
	return &tracer{w: w, grew: make(chan struct{})}
}

// note writes a comment line (a step starting, the run's settings) so a
// reader of the trace knows which frames belong to which step.
func (t *tracer) note(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.writeLocked("# " + fmt.Sprintf(format, args...))
}

func (t *tracer) writeLocked(line string) {
	if t.w == nil || t.writeErr != nil {
		return
	}
	_, t.writeErr = io.WriteString(t.w, strings.ReplaceAll(line, "\n", " ")+"\n")
}

// feed takes bytes read from (in) or written to the switch.
func (t *tracer) feed(in bool, b []byte) {
	if len(b) == 0 {
		return
	}
	t.mu.Lock()
	buf := &t.out
	if in {
		buf = &t.in
	}
	*buf = append(*buf, b...)
	n := len(t.frames)
	for {
		f, rest := t.cut(in, *buf)
		*buf = rest
		if f == nil {
			break
		}
	}
	if len(t.frames) > n {
		close(t.grew)
		t.grew = make(chan struct{})
	}
	t.mu.Unlock()
}

// cut takes one frame off the front of buf and returns it with the rest
// (a nil frame when buf holds no whole frame yet). Bytes that cannot be a
// frame header are traced raw and dropped: the link is out of step and
// the codec drops it too.
func (t *tracer) cut(in bool, buf []byte) (*frame, []byte) {
	if len(buf) < csta.HeaderLen {
		return nil, buf
	}
	n := int(binary.BigEndian.Uint16(buf[2:4]))
	if buf[0] != 0 || buf[1] != 0 || n < csta.HeaderLen {
		t.writeLocked(fmt.Sprintf("%s ! bad frame header, raw bytes: %q", time.Now().UTC().Format("15:04:05.000000"), buf))
		return nil, nil
	}
	if len(buf) < n {
		return nil, buf
	}
	id := 0
	for _, c := range buf[4:8] {
		id = id*10 + int(c-'0')
	}
	f := &frame{seq: len(t.frames), at: time.Now(), in: in, invokeID: id, body: append([]byte(nil), buf[csta.HeaderLen:n]...)}
	if m, _, err := csta.Decode(f.body); err == nil {
		f.msg, f.name = m, m.MessageName()
	}
	t.frames = append(t.frames, f)
	t.writeLocked(f.String())
	return f, buf[n:]
}

// mark is the position of the next frame, to look only at what came after.
func (t *tracer) mark() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.frames)
}

// responseTo finds the switch's answer to the last request named name
// sent since mark: the frame in with the request's invoke ID.
func (t *tracer) responseTo(name string, since int) *frame {
	t.mu.Lock()
	defer t.mu.Unlock()
	req := -1
	for i := len(t.frames) - 1; i >= since && i >= 0; i-- {
		if f := t.frames[i]; !f.in && f.name == name {
			req = i
			break
		}
	}
	if req < 0 {
		return nil
	}
	for _, f := range t.frames[req+1:] {
		if f.in && f.invokeID == t.frames[req].invokeID {
			return f
		}
	}
	return nil
}

// exchanged reports whether a message named first (from the switch when
// firstIn) was answered by one named second with the same invoke ID: a
// heartbeat and its answer.
func (t *tracer) exchanged(first string, firstIn bool, second string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, f := range t.frames {
		if f.in != firstIn || f.name != first {
			continue
		}
		for _, g := range t.frames[i+1:] {
			if g.in != firstIn && g.name == second && g.invokeID == f.invokeID {
				return true
			}
		}
	}
	return false
}

// find returns the first frame since mark for which match is true.
func (t *tracer) find(since int, match func(*frame) bool) *frame {
	f, _ := t.scan(since, match)
	return f
}

// scan is find that also returns the channel closed when more frames come.
func (t *tracer) scan(since int, match func(*frame) bool) (*frame, <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, f := range t.frames[min(since, len(t.frames)):] {
		if match(f) {
			return f, nil
		}
	}
	return nil, t.grew
}

// await waits for the first frame since mark that match accepts, until
// ctx ends or down is closed (the link is gone).
func (t *tracer) await(ctx context.Context, down <-chan struct{}, since int, match func(*frame) bool) (*frame, error) {
	for {
		f, grew := t.scan(since, match)
		if f != nil {
			return f, nil
		}
		select {
		case <-grew:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-down:
			// Frames read just before the link closed still count.
			if f, _ := t.scan(since, match); f != nil {
				return f, nil
			}
			return nil, errLinkDown
		}
	}
}

// since returns the frames from mark on.
func (t *tracer) since(mark int) []*frame {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]*frame(nil), t.frames[min(mark, len(t.frames)):]...)
}

// tracedConn passes every byte through the tracer on its way.
type tracedConn struct {
	net.Conn
	t *tracer
}

func (c *tracedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.t.feed(true, p[:n])
	return n, err
}

// Write traces before writing: the answer may otherwise be read, and
// traced, before its request.
func (c *tracedConn) Write(p []byte) (int, error) {
	c.t.feed(false, p)
	return c.Conn.Write(p)
}
