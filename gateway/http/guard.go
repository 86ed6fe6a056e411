package http

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strings"
)

// checkOrigin accepts a request with no Origin (tools, the load command:
// they must still log in) or one matching a configured pattern. Unlike
// coder/websocket's own check it does not accept an Origin naming the
// gateway's own host: a page served from the gateway's host (or one
// sharing its name behind a proxy) is not the extension, and may connect
// only if an administrator lists it.
func checkOrigin(r *http.Request, patterns []string) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return fmt.Errorf("origin %q is not a URL with a host", origin)
	}
	for _, p := range patterns {
		target := u.Host
		if strings.Contains(p, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(target)); ok {
			return nil
		}
	}
	return fmt.Errorf("origin %q is not allowed", origin)
}

// ParsePrefixes reads a comma-separated list of CIDR prefixes or bare
// addresses (a bare address is its own /32 or /128).
func ParsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: %w", s, err)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", s, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// clientIP is the address of the agent's browser: the peer's, unless the
// peer is a trusted proxy, in which case X-Forwarded-For is read from the
// right (the entries a proxy appended) past every trusted proxy; the
// first address that is not one is the client. Entries to its left were
// written by the client itself and are not believed.
func clientIP(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !isTrusted(peer, trusted) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer.String() // a garbled header: the proxy is the client we know
		}
		if !isTrusted(a, trusted) {
			return a.Unmap().String()
		}
		peer = a
	}
	return peer.Unmap().String()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// localOnly serves h only to a request made on this host: a loopback peer
// that is not a listed reverse proxy and forwards no one (no
// X-Forwarded-For or Forwarded header). /metrics on the public listener
// names users' counts, versions and error rates; a Prometheus on the same
// host still scrapes it, anything else gets 403 and is pointed to
// -admin-listen. A reverse proxy on the same host that forwards /metrics
// without saying whom for would pass: list it in -trusted-proxies.
func localOnly(h http.Handler, trusted []netip.Prefix) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !fromThisHost(r, trusted) {
			http.Error(w, "metrics are served to this host only; use -admin-listen to serve them elsewhere", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func fromThisHost(r *http.Request, trusted []netip.Prefix) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !peer.Unmap().IsLoopback() || isTrusted(peer, trusted) {
		return false
	}
	return r.Header.Get("X-Forwarded-For") == "" && r.Header.Get("Forwarded") == ""
}
