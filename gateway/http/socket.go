package http

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"crmcti/gateway/wire"
)

// socket writes one agent's WebSocket. It has no goroutine of its own
// while there is nothing to write: kick starts a writer that drains the
// connection's queue and ends when it is empty, so that ten thousand idle
// agents cost one reading goroutine each, not two.
type socket struct {
	conn *websocket.Conn
	c    Conn
	// out gathers a batch's frames into one system call (corked); nil
	// when the client had sent ahead of the handshake (smallReads).
	out *corked
	// writing is when the batch being written began (UnixNano), 0 when
	// none is: the heartbeat's round hangs up a socket whose write has
	// hung for writeTimeout (stuck), so that a write needs no timer.
	writing atomic.Int64

	mu      sync.Mutex
	running bool   // a writer goroutine is draining
	dirty   bool   // kicked since the writer last looked
	beat    []byte // a heartbeat to write, nil when none is due
	// spoke is when a frame other than a heartbeat was last written: any
	// frame tells the extension its gateway lives (heartbeat).
	spoke time.Time
	ended bool // the goodbye is said or the socket failed: write nothing more
	spare [][]byte
}

// writeTimeout is how long a write may block before its socket is hung
// up: a browser that reads nothing for that long is gone, and its frames
// would pile up in the core until it drops the connection as too slow.
const writeTimeout = 10 * time.Second

// kick makes sure a writer runs: it never blocks (the core calls it under
// its fan-out lock).
func (s *socket) kick() {
	s.mu.Lock()
	s.dirty = true
	start := !s.running && !s.ended
	s.running = s.running || start
	s.mu.Unlock()
	if start {
		go s.write()
	}
}

// heartbeat queues the frame b unless one is waiting already, or the
// socket had another frame in the last half interval: at ten thousand
// agents the heartbeats are most of the gateway's writes, and one saved
// is a system call and a goroutine saved. The extension then hears
// something at least every 1.5 intervals; it waits two and 2 s.
func (s *socket) heartbeat(b []byte, now time.Time, every time.Duration, maySkip bool) {
	s.mu.Lock()
	if maySkip && now.Sub(s.spoke) < every/2 {
		s.mu.Unlock()
		return
	}
	s.beat = b
	s.mu.Unlock()
	s.kick()
}

// write drains the queue, the heartbeat and, once the core has ended the
// connection, says goodbye; it returns when nothing is left to do.
func (s *socket) write() {
	for {
		s.mu.Lock()
		if !s.dirty || s.ended {
			s.running = false
			s.mu.Unlock()
			return
		}
		s.dirty = false
		beat, spare := s.beat, s.spare
		s.beat, s.spare = nil, nil
		s.mu.Unlock()
		frames := s.c.Take(spare)
		ok := s.batch(frames, beat)
		s.mu.Lock()
		s.spare = frames
		if len(frames) > 0 {
			s.spoke = time.Now()
		}
		s.mu.Unlock()
		if !ok {
			s.end()
			s.conn.CloseNow()
			return
		}
		select {
		case <-s.c.Done():
			s.goodbye()
			return
		default:
		}
	}
}

// batch writes frames, then beat if not nil, in one system call when
// the socket is corked: the frames queued while the last batch was
// written leave together.
func (s *socket) batch(frames [][]byte, beat []byte) bool {
	if len(frames) == 0 && beat == nil {
		return true
	}
	s.writing.Store(time.Now().UnixNano())
	defer s.writing.Store(0)
	s.out.cork()
	ok := true
	for _, b := range frames {
		if ok = s.send(b); !ok {
			break
		}
	}
	if ok && beat != nil {
		ok = s.send(beat)
	}
	return s.out.uncork() == nil && ok
}

// send writes one frame. Its context has no deadline: a timer per frame
// is what the watchdog (stuck) saves.
func (s *socket) send(b []byte) bool {
	return s.conn.Write(context.Background(), websocket.MessageText, b) == nil
}

// stuck hangs up the socket if its write has blocked for writeTimeout:
// closing the connection ends the write with an error.
func (s *socket) stuck(now time.Time) {
	if since := s.writing.Load(); since != 0 && now.UnixNano()-since > int64(writeTimeout) {
		s.conn.CloseNow()
	}
}

// goodbye tells the client why the core ended the connection, and hangs
// up.
func (s *socket) goodbye() {
	s.end()
	reason := s.c.CloseReason()
	b, _ := wire.Encode(wire.TBye, "", reason)
	s.writing.Store(time.Now().UnixNano())
	s.send(b)
	s.writing.Store(0)
	status := websocket.StatusGoingAway
	if reason.Code == "standby" {
		// A standby's goodbye (1013 Try Again Later): the extension moves
		// to the next gateway of its list at once.
		status = statusStandby
	}
	s.conn.Close(status, reason.Code)
}

// end stops any further writer.
func (s *socket) end() {
	s.mu.Lock()
	s.ended, s.running = true, false
	s.mu.Unlock()
}

// heartbeats sends the application heartbeat to every socket once per
// interval from one timer, a slot of the sockets per tick, instead of a
// timer per socket: a socket's heartbeat comes every interval all the
// same, and the sockets' heartbeats are spread over it rather than
// bunched.
//
// The interval is min until the sockets would get more than rate
// heartbeats a second between them; then it grows with their number, so
// that what the heartbeats cost the gateway stays bounded however many
// agents it serves (interval).
type heartbeats struct {
	min  time.Duration
	rate float64 // most heartbeats a second across all sockets; 0 or less: no cap

	mu    sync.Mutex
	every time.Duration // this cycle's interval
	grew  bool          // every is longer than the last cycle's
	slots [heartbeatSlots]map[*socket]struct{}
	next  int // the slot the next tick visits
	count int
	stop  chan struct{} // closes the timer's goroutine when no socket is left
}

const heartbeatSlots = 16

func newHeartbeats(min time.Duration, rate float64) *heartbeats {
	return &heartbeats{min: min, rate: rate, every: min}
}

// interval is the heartbeat interval for n sockets, given the last
// cycle's: min, or n/rate when longer. It grows at most twofold a cycle,
// because a client takes its gateway for gone after twice the interval
// its last heartbeat stated (and 2 s); it shrinks at once.
func (h *heartbeats) interval(n int, last time.Duration) time.Duration {
	want := h.min
	if h.rate > 0 {
		want = max(want, time.Duration(float64(n)/h.rate*float64(time.Second)))
	}
	return min(want, 2*last)
}

// add registers s; its first heartbeat comes one interval from now.
func (h *heartbeats) add(s *socket) {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := (h.next + heartbeatSlots - 1) % heartbeatSlots // visited last: a whole interval away
	if h.slots[i] == nil {
		h.slots[i] = map[*socket]struct{}{}
	}
	h.slots[i][s] = struct{}{}
	if h.count++; h.count == 1 {
		h.stop = make(chan struct{})
		go h.tick(h.stop)
	}
}

func (h *heartbeats) remove(s *socket) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, slot := range h.slots {
		if _, ok := slot[s]; ok {
			delete(slot, s)
			if h.count--; h.count == 0 {
				close(h.stop)
			}
			return
		}
	}
}

func (h *heartbeats) tick(stop chan struct{}) {
	t := time.NewTimer(h.period())
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			h.beat(now)
			t.Reset(h.period())
		}
	}
}

// period is the time between two ticks: a slot's share of the interval.
func (h *heartbeats) period() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.every / heartbeatSlots
}

// beat heartbeats the next slot's sockets, with one frame encoded once;
// a new cycle first sets its interval.
func (h *heartbeats) beat(now time.Time) {
	h.mu.Lock()
	if h.next == 0 {
		last := h.every
		h.every = h.interval(h.count, last)
		h.grew = h.every > last
	}
	every, grew := h.every, h.grew
	slot := h.slots[h.next]
	h.next = (h.next + 1) % heartbeatSlots
	due := make([]*socket, 0, len(slot))
	for s := range slot {
		due = append(due, s)
	}
	h.mu.Unlock()
	b, _ := wire.Encode(wire.THeartbeat, "", wire.Heartbeat{Time: now.UTC(), Every: every.Milliseconds()})
	for _, s := range due {
		// In a cycle whose interval grew, every socket gets its heartbeat:
		// one skipped after a frame would leave its client up to half an
		// old interval and a new one (up to two old ones) without a word.
		s.heartbeat(b, now, every, !grew)
		s.stuck(now)
	}
}

// Buffers of a hijacked connection, instead of net/http's 4 KiB each,
// which every idle agent would keep for the life of her socket. What an
// agent sends is a few hundred bytes at a time, and larger frames are
// read past the buffer. Writes go through corked, which gathers a batch
// into one write whatever the buffer's size, so the write buffer only
// spares a frame's header and a small body a copy each: 2 KiB of it per
// agent was the largest single item of an idle gateway's heap.
const (
	readBuffer  = 1024
	writeBuffer = 256
)

// smallReads hands coder/websocket a hijacked connection with buffers of
// readBuffer and writeBuffer bytes, writing through corked (out).
type smallReads struct {
	http.ResponseWriter
	out *corked
}

func (w *smallReads) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil || brw.Reader.Buffered() > 0 || brw.Writer.Buffered() > 0 {
		return conn, brw, err // the client has sent ahead: keep what is read
	}
	w.out = &corked{Conn: conn}
	return conn, bufio.NewReadWriter(bufio.NewReaderSize(conn, readBuffer), bufio.NewWriterSize(w.out, writeBuffer)), nil
}

// corked holds back what coder/websocket writes between cork and uncork,
// then hands it to the kernel in one write. coder/websocket flushes every
// frame, and a write system call was a quarter of the gateway's CPU under
// load; a call's events and the answers to the agent's commands often
// queue together. A nil *corked writes nothing itself: cork and uncork do
// nothing.
type corked struct {
	net.Conn
	mu  sync.Mutex // orders a batch's write before any write after it
	on  bool
	buf *[]byte // from batches while corked, nil otherwise
}

// batches lends corked its buffers: one per socket being written, none
// kept by an idle agent's socket.
var batches = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func (c *corked) cork() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.on, c.buf = true, batches.Get().(*[]byte)
	c.mu.Unlock()
}

// uncork writes what was held back.
func (c *corked) uncork() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	buf := c.buf
	c.on, c.buf = false, nil
	var err error
	if len(*buf) > 0 {
		_, err = c.Conn.Write(*buf)
	}
	if cap(*buf) <= 64<<10 { // a snapshot's buffer may go back; a huge one not
		*buf = (*buf)[:0]
		batches.Put(buf)
	}
	return err
}

func (c *corked) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.on {
		*c.buf = append(*c.buf, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}
