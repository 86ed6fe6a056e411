// Package cstatest is a scripted fake switch for byte-exact tests of CSTA
// clients, in the manner of pgx's pgmock: a test lists what the client must
// send and what the switch answers, and the script fails the test on the
// first frame that differs. Behavioural tests use the real simulator
// (gateway/pbxsim); this is for protocol edge cases only.
package cstatest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"crmcti/gateway/csta"
)

// Step is one line of a script.
type Step func(s *Session) error

// Session is the state of one scripted connection.
type Session struct {
	Conn net.Conn
	NS   string // namespace the switch writes in
	r    *bufio.Reader
	// IDs are the invoke IDs of the requests received, in order.
	IDs []int
	// Received are the messages received, in order.
	Received []csta.Message
}

// Server accepts one connection and runs a script on it.
type Server struct {
	Addr string
	l    net.Listener
	done chan struct{}
	mu   sync.Mutex
	err  error
	sess *Session
}

// NewServer starts a fake switch on a loopback port. Its script runs on the
// first connection; the test fails at cleanup if the script failed.
func NewServer(tb testing.TB, steps ...Step) *Server {
	tb.Helper()
	return NewServers(tb, steps)
}

// NewServers is NewServer for a client that reconnects: each script runs
// on the next connection, after the previous script has ended (end one
// with Hangup to make the client reconnect).
func NewServers(tb testing.TB, scripts ...[]Step) *Server {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	return newServer(tb, l, scripts)
}

func newServer(tb testing.TB, l net.Listener, scripts [][]Step) *Server {
	s := &Server{Addr: l.Addr().String(), l: l, done: make(chan struct{})}
	go s.run(scripts)
	tb.Cleanup(func() {
		l.Close()
		s.mu.Lock()
		if s.sess != nil {
			s.sess.Conn.Close()
		}
		s.mu.Unlock()
		<-s.done
		if err := s.Err(); err != nil {
			tb.Errorf("cstatest script: %v", err)
		}
	})
	return s
}

func (s *Server) run(scripts [][]Step) {
	defer close(s.done)
	for n, steps := range scripts {
		c, err := s.l.Accept()
		if err != nil {
			return
		}
		sess := &Session{Conn: c, NS: csta.NamespaceEd4, r: bufio.NewReader(c)}
		s.mu.Lock()
		s.sess = sess
		s.mu.Unlock()
		for i, st := range steps {
			if err := st(sess); err != nil {
				s.mu.Lock()
				s.err = fmt.Errorf("connection %d step %d: %w", n+1, i+1, err)
				s.mu.Unlock()
				c.Close()
				return
			}
		}
	}
}

// Wait blocks until the script has run to its end (or failed) and returns
// its error.
func (s *Server) Wait(timeout time.Duration) error {
	select {
	case <-s.done:
		return s.Err()
	case <-time.After(timeout):
		return errors.New("cstatest: script did not finish")
	}
}

// Err is the script's failure, if any.
func (s *Server) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *Session) read() (csta.Frame, csta.Message, error) {
	_ = s.Conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	f, err := csta.ReadFrame(s.r, 0)
	if err != nil {
		return f, nil, fmt.Errorf("read: %w", err)
	}
	m, _, err := csta.Decode(f.Body)
	if err != nil {
		return f, nil, err
	}
	return f, m, nil
}

// Expect reads the next frame and requires a message named name; check,
// if not nil, looks at it further. The invoke ID is remembered for Reply.
func Expect(name string, check func(csta.Message) error) Step {
	return func(s *Session) error {
		f, m, err := s.read()
		if err != nil {
			return fmt.Errorf("expecting %s: %w", name, err)
		}
		if m.MessageName() != name {
			return fmt.Errorf("got %s, want %s: %s", m.MessageName(), name, f.Body)
		}
		s.IDs = append(s.IDs, f.InvokeID)
		s.Received = append(s.Received, m)
		if check != nil {
			if err := check(m); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		return nil
	}
}

// ExpectFrame reads the next frame and requires these exact body bytes
// and, when invokeID >= 0, this invoke ID.
func ExpectFrame(invokeID int, body []byte) Step {
	return func(s *Session) error {
		_ = s.Conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		f, err := csta.ReadFrame(s.r, 0)
		if err != nil {
			return fmt.Errorf("expecting frame: %w", err)
		}
		if invokeID >= 0 && f.InvokeID != invokeID {
			return fmt.Errorf("invoke ID %04d, want %04d", f.InvokeID, invokeID)
		}
		if string(f.Body) != string(body) {
			return fmt.Errorf("body\n got %s\nwant %s", f.Body, body)
		}
		s.IDs = append(s.IDs, f.InvokeID)
		return nil
	}
}

// Reply answers the most recent expected request, echoing its invoke ID.
func Reply(m csta.Message) Step {
	return func(s *Session) error {
		if len(s.IDs) == 0 {
			return errors.New("reply: nothing received yet")
		}
		return s.send(s.IDs[len(s.IDs)-1], m)
	}
}

// ReplyTo answers the i-th (0-based) request received.
func ReplyTo(i int, m csta.Message) Step {
	return func(s *Session) error {
		if i >= len(s.IDs) {
			return fmt.Errorf("reply to request %d: only %d received", i, len(s.IDs))
		}
		return s.send(s.IDs[i], m)
	}
}

// Send sends m with the given invoke ID (9999 for events).
func Send(invokeID int, m csta.Message) Step {
	return func(s *Session) error { return s.send(invokeID, m) }
}

// SendRaw writes bytes as they are: broken frames, garbage.
func SendRaw(b []byte) Step {
	return func(s *Session) error {
		_, err := s.Conn.Write(b)
		return err
	}
}

// SetNamespace changes the namespace the switch writes in.
func SetNamespace(ns string) Step {
	return func(s *Session) error { s.NS = ns; return nil }
}

// Pause waits.
func Pause(d time.Duration) Step {
	return func(*Session) error { time.Sleep(d); return nil }
}

// Hangup closes the connection.
func Hangup() Step {
	return func(s *Session) error { return s.Conn.Close() }
}

// ExpectHangup requires the client to close the connection.
func ExpectHangup() Step {
	return func(s *Session) error {
		_ = s.Conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		f, err := csta.ReadFrame(s.r, 0)
		if err == nil {
			return fmt.Errorf("got a frame (%s), want the link closed", f.Body)
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return errors.New("link still open")
		}
		return nil
	}
}

func (s *Session) send(id int, m csta.Message) error {
	body, err := csta.Encode(m, s.NS)
	if err != nil {
		return err
	}
	return csta.WriteFrame(s.Conn, id, body)
}
