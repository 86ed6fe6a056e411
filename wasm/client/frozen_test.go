//go:build !js

package client_test

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"crmcti/gateway/gatewaytest"
	"crmcti/wasm/client"
)

// freezer relays TCP to a gateway and can freeze: every byte stops both
// ways while the connections stay open, as a gateway stopped by SIGSTOP,
// or cut off by a network that drops packets, looks to its agents. No
// socket error ever comes.
type freezer struct {
	ln     net.Listener
	mu     sync.Mutex
	frozen bool
	conns  []net.Conn
}

func startFreezer(t *testing.T, target string) *freezer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln}
	t.Cleanup(f.close)
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			f.mu.Lock()
			f.conns = append(f.conns, in, out)
			f.mu.Unlock()
			go f.pipe(in, out)
			go f.pipe(out, in)
		}
	}()
	return f
}

// pipe copies until the connection ends; once frozen it copies nothing.
func (f *freezer) pipe(from, to net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := from.Read(buf)
		f.mu.Lock()
		frozen := f.frozen
		f.mu.Unlock()
		if frozen {
			io.Copy(io.Discard, from) // swallow, never deliver
			return
		}
		if n > 0 {
			if _, werr := to.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			to.Close()
			return
		}
	}
}

func (f *freezer) freeze() {
	f.mu.Lock()
	f.frozen = true
	f.mu.Unlock()
}

func (f *freezer) close() {
	f.ln.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
}

func (f *freezer) url(gatewayURL string) string {
	return strings.Replace(gatewayURL, strings.TrimPrefix(strings.TrimSuffix(gatewayURL, "/ws"), "ws://"), f.ln.Addr().String(), 1)
}

// A gateway that goes silent without closing anything (frozen, cut off)
// is left after about two of its heartbeat intervals, which its
// heartbeats announce: the core resumes on the next gateway of the list
// without a login.
func TestSilentGatewayIsLeftAfterItsHeartbeats(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{Heartbeat: 300 * time.Millisecond})
	fr := startFreezer(t, strings.TrimSuffix(strings.TrimPrefix(sys.URL(), "ws://"), "/ws"))
	frozenURL := fr.url(sys.URL())
	h := newHarness(t, frozenURL, func(s *client.Settings) { s.GatewayURLs = []string{frozenURL, sys.URL()} })
	h.core.Intent(client.Intent{Type: "login", Username: "carol", Password: "demo"})
	h.until("logged in through the relay", func(v client.View) bool { return v.LoggedIn && v.Connection == "online" && v.Gateway == frozenURL })
	token := h.tokens.Load()
	time.Sleep(time.Second) // a heartbeat in, saying the interval
	fr.freeze()
	// Within until's 10 s: the default silence is 45 s; 2 × 300 ms + 2 s
	// is what the heartbeats announced.
	h.until("online on the next gateway", func(v client.View) bool { return v.Connection == "online" && v.Gateway == sys.URL() })
	if h.tokens.Load() != token {
		t.Fatal("the agent logged in again")
	}
}

// An agent who presses a button on a gateway that has gone silent is
// moved to the next gateway when the command goes unanswered, before the
// heartbeats' silence would tell.
func TestUnansweredCommandLeavesTheGateway(t *testing.T) {
	sys := gatewaytest.Start(t, gatewaytest.Options{Heartbeat: time.Minute})
	fr := startFreezer(t, strings.TrimSuffix(strings.TrimPrefix(sys.URL(), "ws://"), "/ws"))
	frozenURL := fr.url(sys.URL())
	h := newHarness(t, frozenURL, func(s *client.Settings) { s.GatewayURLs = []string{frozenURL, sys.URL()} })
	h.core.Intent(client.Intent{Type: "login", Username: "carol", Password: "demo"})
	h.until("logged in through the relay", func(v client.View) bool { return v.LoggedIn && v.Connection == "online" && v.Gateway == frozenURL })
	fr.freeze()
	h.core.Intent(client.Intent{Type: "status", Status: "busy"})
	deadline := time.Now().Add(30 * time.Second) // the command timeout is 8 s; the heartbeat's minute never comes
	for {
		if v := h.core.View(); v.Connection == "online" && v.Gateway == sys.URL() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still on the silent gateway: %+v", h.core.View())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
