package core

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/gatewaytest/fake"
	"crmcti/gateway/wire"
)

// harness is the core with fakes of every port: no database, directory
// or switch is started.
type harness struct {
	t   *testing.T
	svc *Service
	sw  *fake.Switch
	dir *fake.Directory
	db  *fake.Store
	// spool, when set, is the gateway's spool (kept across restart).
	spool gateway.Spool
	// agentTab is alice's tab in table tests.
	agentTab *tab
}

// Agents of the tests; every password is "pw".
var (
	alice = gateway.Agent{Username: "alice", DisplayName: "Alice", Extension: "1001"}
	bob   = gateway.Agent{Username: "bob", DisplayName: "Bob", Extension: "1002"}
)

// Andreas is a customer who calls from +35722123456.
var andreas = gateway.Contact{Code: "C000001", FullName: "Andreas Constantinou", Type: "Individual",
	Phones: []gateway.Phone{{Kind: "work", Raw: "22 123456", E164: "+35722123456", National: "22123456"}}}

func newHarness(t *testing.T, edit ...func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, sw: fake.NewSwitch(), dir: fake.NewDirectory(), db: fake.NewStore()}
	h.dir.Add(alice, "pw")
	h.dir.Add(bob, "pw")
	h.db.AddContact(andreas)
	h.start(edit...)
	return h
}

func (h *harness) start(edit ...func(*Config)) {
	cfg := Config{Region: "CY", SweepEvery: time.Hour, Spool: h.spool}
	for _, e := range edit {
		e(&cfg)
	}
	h.svc = New(cfg, h.dir, h.db)
	h.sw.Events = h.svc
	h.svc.SetSwitch(h.sw)
	h.svc.LinkChanged(true)
	h.t.Cleanup(h.svc.Close)
}

// restart is a new gateway on the same database, directory and switch
// (which, like the real adapter's tracker, still knows its calls).
func (h *harness) restart() *harness {
	h.svc.Close()
	h2 := &harness{t: h.t, sw: h.sw, dir: h.dir, db: h.db, spool: h.spool}
	h2.start()
	return h2
}

// eventually waits for cond, failing the test after a generous deadline.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("never: %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// tab is one browser connection, driven frame by frame.
type tab struct {
	t      *testing.T
	c      *Conn
	n      int
	unread []wire.Envelope
	// woke is signalled when the connection queues a frame or ends;
	// pending are frames taken and not yet read.
	woke    chan struct{}
	pending [][]byte
}

func (h *harness) dial() *tab {
	c := h.svc.NewConn("192.0.2.1")
	h.t.Cleanup(c.Close)
	return &tab{t: h.t, c: c}
}

// send hands the core one command and returns its id; the reply is queued
// by the time it returns.
func (tb *tab) send(typ string, data any) string {
	tb.n++
	id := strconv.Itoa(tb.n)
	b, err := wire.Encode(typ, id, data)
	if err != nil {
		tb.t.Fatal(err)
	}
	tb.c.Handle(context.Background(), b)
	return id
}

// read takes the next frame, waiting for asynchronous ones.
func (tb *tab) read() (wire.Envelope, error) {
	if tb.woke == nil {
		tb.woke = make(chan struct{}, 1)
		tb.c.Wake(func() {
			select {
			case tb.woke <- struct{}{}:
			default:
			}
		})
	}
	timeout := time.After(5 * time.Second)
	for {
		if len(tb.pending) == 0 {
			tb.pending = tb.c.Take(nil)
		}
		if len(tb.pending) > 0 {
			b := tb.pending[0]
			tb.pending = tb.pending[1:]
			return wire.Decode(b)
		}
		select {
		case <-tb.woke:
		case <-tb.c.Done():
			if tb.pending = tb.c.Take(nil); len(tb.pending) > 0 {
				continue
			}
			return wire.Envelope{}, fmt.Errorf("connection ended: %+v", tb.c.CloseReason())
		case <-timeout:
			return wire.Envelope{}, fmt.Errorf("no frame (unread %d)", len(tb.unread))
		}
	}
}

// next returns the next frame matching f; others are kept unread.
func (tb *tab) next(what string, f func(wire.Envelope) bool) wire.Envelope {
	tb.t.Helper()
	for i, e := range tb.unread {
		if f(e) {
			tb.unread = append(tb.unread[:i:i], tb.unread[i+1:]...)
			return e
		}
	}
	for {
		e, err := tb.read()
		if err != nil {
			tb.t.Fatalf("waiting for %s: %v", what, err)
		}
		if f(e) {
			return e
		}
		tb.unread = append(tb.unread, e)
	}
}

// do sends a command and returns its result data or its error.
func (tb *tab) do(typ string, data any) (json.RawMessage, *wire.Error) {
	tb.t.Helper()
	id := tb.send(typ, data)
	e := tb.next("reply to "+typ, func(e wire.Envelope) bool { return e.ID == id })
	if e.Type == wire.TError {
		var we wire.Error
		json.Unmarshal(e.Data, &we)
		return nil, &we
	}
	return e.Data, nil
}

// ok requires a command to succeed.
func (tb *tab) ok(typ string, data any) json.RawMessage {
	tb.t.Helper()
	b, werr := tb.do(typ, data)
	if werr != nil {
		tb.t.Fatalf("%s: %s: %s", typ, werr.Code, werr.Message)
	}
	return b
}

// fails requires a command to fail with code.
func (tb *tab) fails(typ string, data any, code gateway.Code) {
	tb.t.Helper()
	_, werr := tb.do(typ, data)
	if werr == nil || werr.Code != string(code) {
		tb.t.Fatalf("%s: got %+v, want error %s", typ, werr, code)
	}
}

// login logs in and returns the session and the snapshot.
func (tb *tab) login(user string) (wire.Session, wire.Snapshot) {
	tb.t.Helper()
	var sess wire.Session
	json.Unmarshal(tb.ok(wire.TLogin, wire.Login{Username: user, Password: "pw"}), &sess)
	return sess, tb.snapshot()
}

// loginConnecting logs in while the switch has not yet monitored the
// phone: the login is answered anyway, its snapshot saying so.
func (tb *tab) loginConnecting(user string) wire.Session {
	tb.t.Helper()
	var sess wire.Session
	json.Unmarshal(tb.ok(wire.TLogin, wire.Login{Username: user, Password: "pw"}), &sess)
	var snap wire.Snapshot
	json.Unmarshal(tb.next("snapshot", func(e wire.Envelope) bool { return e.Type == wire.TSnapshot }).Data, &snap)
	if snap.Phone != wire.PhoneConnecting {
		tb.t.Fatalf("snapshot phone %q while the switch has not answered, want connecting", snap.Phone)
	}
	return sess
}

// snapshot waits for the snapshot after a session and, if the phone was
// still being connected, for it to be ready, as an agent waits for the
// buttons to work.
func (tb *tab) snapshot() wire.Snapshot {
	tb.t.Helper()
	var snap wire.Snapshot
	json.Unmarshal(tb.next("snapshot", func(e wire.Envelope) bool { return e.Type == wire.TSnapshot }).Data, &snap)
	if snap.Phone == wire.PhoneConnecting {
		tb.next("phone ready", func(e wire.Envelope) bool { return e.Type == wire.TPhone })
	}
	return snap
}

// status waits for a status event.
func (tb *tab) status() wire.StatusEvent {
	tb.t.Helper()
	var ev wire.StatusEvent
	json.Unmarshal(tb.next("status", func(e wire.Envelope) bool { return e.Type == wire.TStatusEv }).Data, &ev)
	return ev
}

// event waits for the call event named ev of callID.
func (tb *tab) event(ev, callID string) wire.Call {
	tb.t.Helper()
	var ce wire.CallEvent
	tb.next(ev+" "+callID, func(e wire.Envelope) bool {
		if e.Type != wire.TCallEvent {
			return false
		}
		var x wire.CallEvent
		json.Unmarshal(e.Data, &x)
		if x.Event == ev && x.Call.ID == callID {
			ce = x
			return true
		}
		return false
	})
	return ce.Call
}

func ref(id string) wire.CallRef { return wire.CallRef{CallID: id} }

// connected is a call answered at device, as if on the phone.
func (h *harness) connected(device, remote string) string {
	h.t.Helper()
	id := h.sw.Ring(device, remote)
	if err := h.sw.Answer(context.Background(), device, id); err != nil {
		h.t.Fatal(err)
	}
	return id
}

// held is a connected call put on hold, as if on the phone.
func (h *harness) held(device, remote string) string {
	h.t.Helper()
	id := h.connected(device, remote)
	if err := h.sw.Hold(context.Background(), device, id); err != nil {
		h.t.Fatal(err)
	}
	return id
}

// logged waits for the call-log steps of callID and returns their events.
func (h *harness) logged(callID string, n int) []gateway.LogEntry {
	h.t.Helper()
	var out []gateway.LogEntry
	h.eventually(fmt.Sprintf("%d call-log steps of %s", n, callID), func() bool {
		out = out[:0]
		for _, e := range h.db.CallLogEntries() {
			if e.Call.ID == callID {
				out = append(out, e)
			}
		}
		return len(out) >= n
	})
	return out
}
