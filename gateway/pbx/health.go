package pbx

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"crmcti/gateway/csta"
)

// health is what the admin's /readyz says about the link, guarded by
// Adapter.mu: since when it is in its state, why it went down and why the
// last attempt to bring it back failed (categories, never an error's
// text, which can name hosts and users), and how many attempts failed.
type health struct {
	since      time.Time
	lost, last string
	failures   int
}

// Health reports the link: nil while it is up, else why it is not, in
// words an operator can act on ("PBX link down since …: lost: switch
// silent …; 3 reconnect attempts failed, the last: connection refused").
func (a *Adapter) Health() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.up {
		return nil
	}
	h := a.health
	if h.since.IsZero() {
		return errors.New("PBX link not up yet: connecting")
	}
	msg := fmt.Sprintf("PBX link down since %s (%s)", h.since.UTC().Format(time.RFC3339), time.Since(h.since).Round(time.Second))
	if h.lost != "" {
		msg += "; lost: " + h.lost
	}
	if h.failures > 0 {
		msg += fmt.Sprintf("; %d reconnect attempts failed, the last: %s", h.failures, h.last)
	}
	return errors.New(msg)
}

// noteUp, noteLost and noteFailed keep health. The caller holds a.mu.
func (a *Adapter) noteUp() { a.health = health{since: time.Now()} }

func (a *Adapter) noteLost(err error) { a.health = health{since: time.Now(), lost: category(err)} }

func (a *Adapter) noteFailed(err error) {
	if a.health.since.IsZero() {
		a.health.since = time.Now()
	}
	a.health.failures++
	a.health.last = category(err)
}

// category names an error of the link by its kind.
func category(err error) string {
	var ce *csta.CSTAErrorCode
	var fe *csta.FrameError
	var ne net.Error
	var rec tls.RecordHeaderError
	var cert *tls.CertificateVerificationError
	switch {
	case err == nil:
		return "unknown"
	case errors.Is(err, csta.ErrSilent):
		return "switch silent (no answer within the liveness window)"
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		return "closed by the switch"
	case errors.Is(err, csta.ErrEventOverflow):
		return "events arrived faster than the gateway took them"
	case errors.As(err, &fe):
		return "malformed frame from the switch"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &cert), errors.As(err, &rec):
		return "TLS handshake failed"
	case errors.As(err, &ce):
		cat, val := ce.Category()
		return fmt.Sprintf("switch refused the session (%s: %s)", cat, val)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timed out"
	}
	return "network error"
}
