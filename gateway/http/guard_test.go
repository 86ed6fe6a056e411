package http

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"crmcti/gateway/wire"
)

// A page served from the gateway's own host is not the extension: its
// Origin is refused unless configured.
func TestSameHostOriginRefusedUnlessConfigured(t *testing.T) {
	svc, srv := serve(t, Config{AllowedOrigins: []string{"chrome-extension://amkhmoonbbfpbpgpaciafkkodeiodbkg"}})
	sameHost := http.Header{"Origin": {srv.URL}} // http://127.0.0.1:port, the Host dialled
	if _, err := dial(t, srv, &websocket.DialOptions{Subprotocols: []string{wire.Subprotocol}, HTTPHeader: sameHost}); err == nil {
		t.Fatal("a same-host page connected")
	}
	svc.mu.Lock()
	n := len(svc.conns)
	svc.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d connections reached the core", n)
	}
	_, srv2 := serve(t, Config{AllowedOrigins: []string{srv.URL[len("http://"):], "http://127.0.0.1:*"}})
	if _, err := dial(t, srv2, &websocket.DialOptions{Subprotocols: []string{wire.Subprotocol}, HTTPHeader: http.Header{"Origin": {srv2.URL}}}); err != nil {
		t.Fatalf("a configured origin refused: %v", err)
	}
}

// With a separate admin listener, /metrics is not on the public one, and
// the admin /readyz gives each failing dependency's error.
func TestAdminEndpointsSeparate(t *testing.T) {
	svc := &fakeService{ready: map[string]error{"pbx": nil, "database": errors.New("dial tcp db.internal:5432: password authentication failed for user gw")}, closed: make(chan *fakeConn, 16)}
	s := New(Config{SeparateAdmin: true}, svc, NewMetrics())
	pub, admin := httptest.NewServer(s), httptest.NewServer(s.Admin())
	t.Cleanup(pub.Close)
	t.Cleanup(admin.Close)
	if code, _ := get(t, pub.URL+"/metrics"); code != http.StatusNotFound {
		t.Errorf("public /metrics: %d", code)
	}
	if code, body := get(t, admin.URL+"/metrics"); code != 200 || !strings.Contains(body, "crmcti_clients") {
		t.Errorf("admin /metrics: %d", code)
	}
	if code, body := get(t, pub.URL+"/readyz"); code != 503 || strings.Contains(body, "db.internal") || !strings.Contains(body, `"database":"down"`) {
		t.Errorf("public /readyz: %d %s", code, body)
	}
	if code, body := get(t, admin.URL+"/readyz"); code != 503 || !strings.Contains(body, "db.internal") {
		t.Errorf("admin /readyz: %d %s", code, body)
	}
}

// X-Forwarded-For names the client only when the peer is a trusted
// proxy, read from the right past every trusted hop.
func TestClientIPBehindTrustedProxies(t *testing.T) {
	trusted, err := ParsePrefixes("10.0.0.0/8, 192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		peer, xff, want string
	}{
		{"198.51.100.9:5000", "203.0.113.5", "198.51.100.9"},                // not a proxy: the header is ignored
		{"10.1.2.3:5000", "203.0.113.5", "203.0.113.5"},                     // one proxy
		{"10.1.2.3:5000", "6.6.6.6, 203.0.113.5, 192.0.2.1", "203.0.113.5"}, // two proxies; the client's own claim is ignored
		{"10.1.2.3:5000", "", "10.1.2.3"},                                   // no header
		{"10.1.2.3:5000", "garbage", "10.1.2.3"},
		{"[::ffff:10.1.2.3]:5000", "203.0.113.5", "203.0.113.5"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/ws", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := clientIP(r, trusted); got != c.want {
			t.Errorf("peer %s, X-Forwarded-For %q: %s, want %s", c.peer, c.xff, got, c.want)
		}
	}
	if _, err := ParsePrefixes("10.0.0.0/33"); err == nil {
		t.Error("a bad prefix accepted")
	}
}

// Without an admin listener /metrics is on the public one, but only for
// this host: a stranger, a listed proxy or a request a local proxy
// forwarded for someone is refused.
func TestPublicMetricsOnlyForThisHost(t *testing.T) {
	trusted, err := ParsePrefixes("127.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	svc := &fakeService{ready: map[string]error{}, closed: make(chan *fakeConn, 16)}
	s := New(Config{TrustedProxies: trusted}, svc, NewMetrics())
	for _, tc := range []struct {
		peer, forwarded string
		want            int
	}{
		{"127.0.0.1:5000", "", 200},
		{"[::1]:5000", "", 200},
		{"192.0.2.7:5000", "", http.StatusForbidden},
		{"127.0.0.1:5000", "198.51.100.9", http.StatusForbidden},
		{"127.0.0.2:5000", "", http.StatusForbidden},
	} {
		r := httptest.NewRequest("GET", "/metrics", nil)
		r.RemoteAddr = tc.peer
		if tc.forwarded != "" {
			r.Header.Set("X-Forwarded-For", tc.forwarded)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != tc.want {
			t.Errorf("/metrics from %s (for %q): %d, want %d", tc.peer, tc.forwarded, w.Code, tc.want)
		}
	}
}
