package conformance

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"crmcti/gateway/csta"
)

// frame is one CSTA frame as it crossed the wire, kept so that a failed
// step can show the very frame that made it fail.
type frame struct {
	at       time.Time
	in       bool // from the switch
	invokeID int
	name     string       // root element, "" when the body is not CSTA XML
	msg      csta.Message // decoded, nil when the body is not CSTA XML
	body     []byte       // passwords redacted
}

// String renders the frame as the trace file has it.
func (f *frame) String() string {
	dir := "out"
	if f.in {
		dir = "in "
	}
	return fmt.Sprintf("%s %s %04d %s", f.at.UTC().Format("2006-01-02T15:04:05.000000Z"), dir, f.invokeID, f.body)
}

// tracer keeps every frame in and out of the link (csta.Config.Trace,
// redacted there), writes it to the trace file in the format of
// ctigateway serve -pbx-trace, and lets steps wait for the switch's
// messages.
type tracer struct {
	w     *syncWriter // nil: no trace file
	write func(csta.TraceRecord)

	mu     sync.Mutex
	frames []*frame
	grew   chan struct{} // closed and replaced when a frame is added
}

// syncWriter keeps frame lines and notes whole and in order in one file,
// and remembers the first write error.
type syncWriter struct {
	mu  sync.Mutex
	w   io.Writer
	err error
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	s.err = err
	return n, err
}

func (s *syncWriter) Err() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func newTracer(w io.Writer) *tracer {
	t := &tracer{grew: make(chan struct{})}
	if w != nil {
		t.w = &syncWriter{w: w}
		t.write = csta.TraceWriter(t.w)
	}
	return t
}

// note writes a comment line (a step starting, the run's settings) so a
// reader of the trace knows which frames belong to which step.
func (t *tracer) note(format string, args ...any) {
	if t.w != nil {
		fmt.Fprintf(t.w, "# %s\n", strings.ReplaceAll(fmt.Sprintf(format, args...), "\n", " "))
	}
}

// record is the link's csta.Config.Trace.
func (t *tracer) record(r csta.TraceRecord) {
	if t.write != nil {
		t.write(r)
	}
	f := &frame{at: r.At, in: r.Dir == csta.In, invokeID: r.InvokeID, body: r.Body}
	if m, _, err := csta.Decode(r.Body); err == nil {
		f.msg, f.name = m, m.MessageName()
	}
	t.mu.Lock()
	t.frames = append(t.frames, f)
	close(t.grew)
	t.grew = make(chan struct{})
	t.mu.Unlock()
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
