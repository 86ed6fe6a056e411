package gatewaytest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"crmcti/gateway"
	"crmcti/gateway/wire"
)

// Standby is a server that plays a standby gateway of the HA contract
// (issue 14) and nothing else: it accepts the WebSocket with the
// protocol's subprotocol, sends a bye with code "standby", and closes with
// status 1013 (Try Again Later). Extension tests put it first in the list
// of gateways, before the real one, without a second gateway's database
// and leadership.
type Standby struct {
	srv   *httptest.Server
	dials atomic.Int64
}

// StartStandby starts a standby server; it stops at tb's cleanup.
func StartStandby(tb testing.TB) *Standby {
	tb.Helper()
	s := &Standby{}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.srv.Close)
	return s
}

// URL is the standby's WebSocket URL.
func (s *Standby) URL() string { return "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/ws" }

// Dials counts the WebSockets it turned away.
func (s *Standby) Dials() int { return int(s.dials.Load()) }

func (s *Standby) serve(w http.ResponseWriter, r *http.Request) {
	// Any origin: the test browser's extension origin is not known here.
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{wire.Subprotocol}, InsecureSkipVerify: true})
	if err != nil {
		return
	}
	s.dials.Add(1)
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	b, _ := wire.Encode(wire.TBye, "", wire.Error{Code: string(gateway.CodeStandby), Message: "this gateway is on standby"})
	_ = conn.Write(ctx, websocket.MessageText, b)
	conn.Close(websocket.StatusTryAgainLater, "standby")
}
