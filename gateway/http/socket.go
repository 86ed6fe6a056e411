package http

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"sync"
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
	ctx  context.Context

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
func (s *socket) heartbeat(b []byte, now time.Time, every time.Duration) {
	s.mu.Lock()
	if now.Sub(s.spoke) < every/2 {
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
		ok := true
		for _, b := range frames {
			if ok = s.send(b); !ok {
				break
			}
		}
		if ok && beat != nil {
			ok = s.send(beat)
		}
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

// send writes one frame, for at most 10 seconds.
func (s *socket) send(b []byte) bool {
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	return s.conn.Write(ctx, websocket.MessageText, b) == nil
}

// goodbye tells the client why the core ended the connection, and hangs
// up.
func (s *socket) goodbye() {
	s.end()
	reason := s.c.CloseReason()
	b, _ := wire.Encode(wire.TBye, "", reason)
	s.send(b)
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
// interval from one ticker, a slot of the sockets per tick, instead of a
// ticker per socket: a socket's heartbeat comes every interval all the
// same, and the sockets' heartbeats are spread over it rather than
// bunched.
type heartbeats struct {
	every time.Duration
	mu    sync.Mutex
	slots [heartbeatSlots]map[*socket]struct{}
	next  int // the slot the next tick visits
	count int
	stop  chan struct{} // closes the ticker's goroutine when no socket is left
}

const heartbeatSlots = 16

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
	t := time.NewTicker(h.every / heartbeatSlots)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			h.beat(now)
		}
	}
}

// beat heartbeats the next slot's sockets, with one frame encoded once.
func (h *heartbeats) beat(now time.Time) {
	b, _ := wire.Encode(wire.THeartbeat, "", wire.Heartbeat{Time: now.UTC(), Every: h.every.Milliseconds()})
	h.mu.Lock()
	slot := h.slots[h.next]
	h.next = (h.next + 1) % heartbeatSlots
	due := make([]*socket, 0, len(slot))
	for s := range slot {
		due = append(due, s)
	}
	h.mu.Unlock()
	for _, s := range due {
		s.heartbeat(b, now, h.every)
	}
}

// Buffers of a hijacked connection, instead of net/http's 4 KiB each,
// which every idle agent would keep for the life of her socket. What an
// agent sends is a few hundred bytes at a time, and larger frames are
// read past the buffer; a call event is under 2 KiB, so that it still
// leaves in one write (a larger frame, a snapshot, takes two).
const (
	readBuffer  = 1024
	writeBuffer = 2048
)

// smallReads hands coder/websocket a hijacked connection with buffers of
// readBuffer and writeBuffer bytes.
type smallReads struct{ http.ResponseWriter }

func (w smallReads) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil || brw.Reader.Buffered() > 0 || brw.Writer.Buffered() > 0 {
		return conn, brw, err // the client has sent ahead: keep what is read
	}
	return conn, bufio.NewReadWriter(bufio.NewReaderSize(conn, readBuffer), bufio.NewWriterSize(conn, writeBuffer)), nil
}
