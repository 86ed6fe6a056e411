package pbxsim

import (
	"bufio"
	"errors"
	"net"
	"sync"
	"time"

	"crmcti/gateway/csta"
)

var errNotFound = errors.New("not found")

// linkQueue bounds what may wait to be written to one application. An
// application that falls this far behind is disconnected, as a switch
// protecting itself would.
const linkQueue = 16384

type monitor struct {
	xref   string
	device string
	link   *link
}

// outFrame is a frame waiting to be written, with the event it carries
// (nil for responses) for the OnEventWritten hook.
type outFrame struct {
	b  []byte
	ev csta.Event
}

// link is one application's CSTA connection.
type link struct {
	sim  *Sim
	nc   net.Conn
	out  chan outFrame
	done chan struct{}
	once sync.Once

	// guarded by sim.mu
	ns          string
	nsFixed     bool // the session fixed the namespace (DMCC): requests do not change it
	monitors    map[string]*monitor
	session     string
	sessionEnd  time.Time
	nextInvoke  int
	missedBeats int // OpenScape heartbeats sent and not answered
	flow        flow
	refused     int // requests refused by flow control (flow.go)

	// DMCC (avaya): the session's user, how long AES keeps the session
	// after the link is lost, and the device IDs it obtained (ID ->
	// extension).
	user      string
	cleanup   time.Duration
	deviceIDs map[string]string
}

func (s *Sim) startLink(nc net.Conn) {
	lk := &link{sim: s, nc: nc, out: make(chan outFrame, linkQueue), done: make(chan struct{}),
		ns: s.cfg.Profile.Namespace, monitors: map[string]*monitor{}, deviceIDs: map[string]string{}}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		nc.Close()
		return
	}
	s.links[lk] = struct{}{}
	if s.cfg.Profile.Session == csta.SessionOpenScape {
		lk.sendRequestLocked(&csta.SystemStatus{SystemStatus: "normal"})
	}
	s.mu.Unlock()
	s.log.Info("pbxsim: link up", "peer", nc.RemoteAddr().String())
	s.wg.Add(3)
	go lk.writeLoop()
	go lk.readLoop()
	go lk.sessionLoop()
}

func (lk *link) close() {
	lk.once.Do(func() {
		close(lk.done)
		lk.nc.Close()
	})
}

func (lk *link) writeLoop() {
	defer lk.sim.wg.Done()
	for {
		select {
		case <-lk.done:
			return
		case f := <-lk.out:
			_ = lk.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := lk.nc.Write(f.b); err != nil {
				lk.close()
				return
			}
			lk.sim.framesOut.Add(1)
			if f.ev != nil && lk.sim.cfg.OnEventWritten != nil {
				lk.sim.cfg.OnEventWritten(f.ev, time.Now())
			}
		}
	}
}

// enqueue is called under sim.mu, which keeps every link's frames in the
// order the model produced them.
func (lk *link) enqueue(b []byte) { lk.enqueueFrame(outFrame{b: b}) }

func (lk *link) enqueueFrame(f outFrame) {
	select {
	case lk.out <- f:
	case <-lk.done:
	default:
		lk.sim.log.Warn("pbxsim: application too slow, dropping its link", "peer", lk.nc.RemoteAddr().String())
		lk.close()
	}
}

func (lk *link) sendRaw(b []byte) { lk.enqueue(b) }

func (lk *link) send(invokeID int, m csta.Message) {
	body, err := csta.Encode(m, lk.ns)
	if err != nil {
		lk.sim.log.Error("pbxsim: encode", "msg", m.MessageName(), "err", err)
		return
	}
	b, err := csta.AppendFrame(nil, invokeID, body)
	if err != nil {
		lk.sim.log.Error("pbxsim: frame", "msg", m.MessageName(), "err", err)
		return
	}
	lk.enqueue(b)
}

// sendEvent is called under sim.mu. While a request is being served its
// events wait in the batch, so that the response goes first.
func (lk *link) sendEvent(ev csta.Event) {
	s := lk.sim
	if s.stalled {
		return
	}
	if s.batching {
		s.batch = append(s.batch, batched{lk, ev})
		return
	}
	lk.sendEventNow(ev)
}

func (lk *link) sendEventNow(ev csta.Event) {
	if lk.sim.naming == namingAvaya {
		addAvayaPrivateData(ev)
	}
	body, err := csta.Encode(ev, lk.ns)
	if err != nil {
		lk.sim.log.Error("pbxsim: encode", "msg", ev.MessageName(), "err", err)
		return
	}
	if lk.sim.modes[FaultNoCallID] {
		body = dropCallIDs(body)
	}
	b, _ := csta.AppendFrame(nil, csta.EventInvokeID, body)
	lk.enqueueFrame(outFrame{b: b, ev: ev})
}

// sendRequestLocked sends a switch-originated request (SystemStatus) with
// the switch's own invoke IDs.
func (lk *link) sendRequestLocked(m csta.Message) {
	lk.nextInvoke = lk.nextInvoke%9998 + 1
	lk.send(lk.nextInvoke, m)
}

func (lk *link) readLoop() {
	s := lk.sim
	defer s.wg.Done()
	defer s.dropLink(lk)
	br := bufio.NewReader(lk.nc)
	for {
		f, err := csta.ReadFrame(br, 0)
		if err != nil {
			var fe *csta.FrameError
			if errors.As(err, &fe) {
				s.log.Warn("pbxsim: bad frame from application, dropping link", "err", err)
			}
			return
		}
		s.framesIn.Add(1)
		s.serve(lk, f)
	}
}

func (s *Sim) dropLink(lk *link) {
	lk.close()
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.links, lk)
	if s.parkSessionLocked(lk) {
		s.log.Info("pbxsim: link down, session kept for recovery", "peer", lk.nc.RemoteAddr().String(), "session", lk.session, "for", lk.cleanup)
		return
	}
	for _, m := range lk.monitors {
		s.removeMonitorLocked(m)
	}
	s.log.Info("pbxsim: link down", "peer", lk.nc.RemoteAddr().String())
}

func (s *Sim) removeMonitorLocked(m *monitor) {
	list := s.monitors[m.device]
	for i, x := range list {
		if x == m {
			s.monitors[m.device] = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(s.monitors[m.device]) == 0 {
		delete(s.monitors, m.device)
	}
	if m.link != nil {
		delete(m.link.monitors, m.xref)
	}
}

type batched struct {
	lk *link
	ev csta.Event
}

// serve answers one request from an application.
func (s *Sim) serve(lk *link, f csta.Frame) {
	msg, ns, err := csta.Decode(f.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stalled {
		return // a stalled switch swallows requests
	}
	if err != nil {
		s.log.Warn("pbxsim: malformed request", "invokeID", f.InvokeID, "err", err)
		lk.send(f.InvokeID, csta.NewError(csta.ErrCatOperation, "generic"))
		return
	}
	if !lk.flow.admit(s.cfg.Profile.RequestsPerSecond, time.Now()) {
		if lk.refused++; lk.refused == 1 {
			s.log.Warn("pbxsim: requests faster than the profile's rate refused", "rate", s.cfg.Profile.RequestsPerSecond, "msg", msg.MessageName())
		}
		lk.send(f.InvokeID, errFlow())
		return
	}
	if ns != "" && csta.FixedNamespace(msg.MessageName()) == "" && ns != lk.ns {
		if lk.nsFixed {
			// AES keeps the protocol version of the session; we serve the
			// request but say so, as the application is at fault.
			s.log.Warn("pbxsim: request in another namespace than the session's", "msg", msg.MessageName(), "ns", ns, "session", lk.ns)
		} else {
			lk.ns = ns
		}
	}
	s.batching, s.batch = true, s.batch[:0]
	resp := s.handleLocked(lk, msg)
	s.batching = false
	if resp != nil {
		lk.send(f.InvokeID, resp)
	}
	for _, b := range s.batch {
		b.lk.sendEventNow(b.ev)
	}
	s.batch = s.batch[:0]
	if _, ok := msg.(*csta.StopApplicationSession); ok {
		// Let the response go out, then end the link.
		go func() {
			time.Sleep(100 * time.Millisecond)
			lk.close()
		}()
	}
}
