package http

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"crmcti/gateway"
	"crmcti/gateway/contacts"
)

// DirectoryStore is what the directory push API needs of the database
// (gateway/postgres).
type DirectoryStore interface {
	APIToken(ctx context.Context, hash []byte) (gateway.APIToken, error)
	ImportContacts(ctx context.Context, next func() (gateway.ContactChange, error), opts gateway.ImportOptions) (gateway.ImportReport, error)
	Audit(ctx context.Context, entries []gateway.AuditEntry) error
}

// DirectoryConfig sets up the directory push API.
type DirectoryConfig struct {
	Store  DirectoryStore
	Region string // default country of numbers without one
	// MaxBulkBytes bounds a bulk request's body (default 256 MiB); a larger
	// one is refused whole.
	MaxBulkBytes int64
	// Rate and Burst limit requests per token and per client address
	// (default 20/s, burst 40).
	Rate  float64
	Burst int
	// MaxRemoveShare is the safety limit of a full import by the API (see
	// gateway.ImportOptions); the API cannot force one.
	MaxRemoveShare float64
	Registerer     prometheus.Registerer // nil: no metrics
	Logger         *slog.Logger
}

// maxRecordBytes bounds one pushed contact.
const maxRecordBytes = contacts.MaxLine

// directoryAPI serves /api/v1/contacts.
type directoryAPI struct {
	cfg     DirectoryConfig
	log     *slog.Logger
	limiter *limiter
	changes *prometheus.CounterVec
	last    prometheus.Gauge
}

// DirectoryHandler serves the API the CRM pushes directory changes to:
//
//	PUT    /api/v1/contacts/{code}   add or replace one contact (JSON record)
//	DELETE /api/v1/contacts/{code}   remove one contact
//	POST   /api/v1/contacts          many changes, NDJSON (?mode=full: the whole directory)
//
// Every request carries "Authorization: Bearer TOKEN" with a token of
// scope "directory" (ctigateway token create). Each is idempotent, rate
// limited, audited, and seen by lookups as soon as it is answered.
func DirectoryHandler(cfg DirectoryConfig) http.Handler {
	if cfg.MaxBulkBytes <= 0 {
		cfg.MaxBulkBytes = 256 << 20
	}
	if cfg.Rate <= 0 {
		cfg.Rate, cfg.Burst = 20, 40
	}
	cfg.Burst = max(cfg.Burst, 1)
	a := &directoryAPI{cfg: cfg, log: cfg.Logger, limiter: newLimiter(cfg.Rate, cfg.Burst)}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.registerMetrics(cfg.Registerer)
	mux := http.NewServeMux()
	mux.Handle("PUT /api/v1/contacts/{code}", a.authorized(a.put))
	mux.Handle("DELETE /api/v1/contacts/{code}", a.authorized(a.delete))
	mux.Handle("POST /api/v1/contacts", a.authorized(a.bulk))
	return mux
}

func (a *directoryAPI) registerMetrics(reg prometheus.Registerer) {
	a.changes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ctigateway_directory_changes_total",
		Help: "Contacts changed by the directory API, by change: added, updated, unchanged, removed, rejected."}, []string{"change"})
	a.last = prometheus.NewGauge(prometheus.GaugeOpts{Name: "ctigateway_directory_last_push_timestamp_seconds",
		Help: "When the directory API last applied a change (Unix time); its age is how stale the directory may be."})
	if reg != nil {
		reg.MustRegister(a.changes, a.last)
	}
}

// HashAPIToken is how an API token is stored and looked up.
func HashAPIToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// NewAPIToken makes a token: 256 random bits, shown to the admin once.
func NewAPIToken() (token string, hash []byte, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("api token: %w", err)
	}
	token = "cti_" + base64.RawURLEncoding.EncodeToString(b)
	return token, HashAPIToken(token), nil
}

// caller is who made an API request.
type caller struct {
	token  gateway.APIToken
	client string
}

func (c caller) name() string { return "api:" + c.token.Name }

type apiHandler func(w http.ResponseWriter, r *http.Request, c caller)

// authorized checks the rate limits and the token before h. The token
// itself is never logged.
func (a *directoryAPI) authorized(h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client := clientHost(r)
		if !a.limiter.allow("ip:" + client) {
			tooMany(w)
			return
		}
		secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || secret == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ctigateway"`)
			apiError(w, http.StatusUnauthorized, "unauthorized", "an API token is required (Authorization: Bearer TOKEN)")
			return
		}
		tok, err := a.cfg.Store.APIToken(r.Context(), HashAPIToken(strings.TrimSpace(secret)))
		switch {
		case errors.Is(err, gateway.ErrNotFound):
			w.Header().Set("WWW-Authenticate", `Bearer realm="ctigateway", error="invalid_token"`)
			apiError(w, http.StatusUnauthorized, "unauthorized", "the API token is unknown or revoked")
			return
		case err != nil:
			a.log.Error("directory api: token check", "err", err)
			apiError(w, http.StatusServiceUnavailable, "database_unavailable", "the database is not reachable; try again shortly")
			return
		}
		c := caller{token: tok, client: client}
		if tok.Scope != gateway.ScopeDirectory {
			a.audit(r.Context(), c, r.Method+" "+r.URL.Path, false, "token scope "+tok.Scope)
			apiError(w, http.StatusForbidden, "forbidden", "this token may not change the directory")
			return
		}
		if !a.limiter.allow("token:" + tok.Name) {
			tooMany(w)
			return
		}
		h(w, r, c)
	})
}

// put adds or replaces one contact; the body may leave the code out.
func (a *directoryAPI) put(w http.ResponseWriter, r *http.Request, c caller) {
	code := r.PathValue("code")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRecordBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		apiError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("a contact is at most %d bytes", maxRecordBytes))
		return
	}
	if err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", "the body could not be read")
		return
	}
	ch, notes, reason := a.decodePut(code, body)
	if reason != "" {
		a.audit(r.Context(), c, "contacts.put", false, gateway.CleanText(truncateText(code))+": "+reason)
		apiError(w, http.StatusUnprocessableEntity, "invalid_contact", reason)
		return
	}
	rep, ok := a.apply(w, r, c, "contacts.put "+ch.Contact.Code, one(ch), gateway.ImportOptions{})
	if ok {
		writeJSONBody(w, http.StatusOK, map[string]any{"code": ch.Contact.Code, "result": result(rep), "dropped": notes})
	}
}

// decodePut validates a PUT body for the path's code; reason is empty
// when it is good.
func (a *directoryAPI) decodePut(code string, body []byte) (ch gateway.ContactChange, notes []string, reason string) {
	rec, err := contacts.UnmarshalRecord(body)
	if err != nil {
		return ch, nil, err.Error()
	}
	if rec.Code == "" {
		rec.Code = code
	}
	if rec.Code != code || strings.EqualFold(strings.TrimSpace(rec.Action), contacts.ActionDelete) {
		return ch, nil, "the body's code or action does not match the request (DELETE removes a contact)"
	}
	ch, notes, rej := contacts.FromRecord(rec, 0, a.cfg.Region)
	if rej != nil {
		return ch, nil, rej.Reason
	}
	return ch, notes, ""
}

func truncateText(s string) string {
	if r := []rune(s); len(r) > 100 {
		return string(r[:100]) + "…"
	}
	return s
}

// delete removes one contact; removing an absent one is not an error.
func (a *directoryAPI) delete(w http.ResponseWriter, r *http.Request, c caller) {
	code := r.PathValue("code")
	if err := gateway.CheckText(code, contacts.MaxCode); err != nil || strings.TrimSpace(code) == "" {
		apiError(w, http.StatusUnprocessableEntity, "invalid_contact", "the code is empty, too long or not text")
		return
	}
	ch := gateway.ContactChange{Delete: true, Contact: gateway.Contact{Code: strings.TrimSpace(code)}}
	rep, ok := a.apply(w, r, c, "contacts.delete "+ch.Contact.Code, one(ch), gateway.ImportOptions{})
	if ok {
		writeJSONBody(w, http.StatusOK, map[string]any{"code": code, "result": result(rep)})
	}
}

// maxListedRejects bounds the rejections a bulk response lists; all are
// counted.
const maxListedRejects = 1000

// bulk applies an NDJSON body of changes in one transaction: incremental
// (deletions as {"code":…,"action":"delete"}) or, with ?mode=full, the
// whole directory under the safety limit.
func (a *directoryAPI) bulk(w http.ResponseWriter, r *http.Request, c caller) {
	opts := gateway.ImportOptions{MaxRemoveShare: a.cfg.MaxRemoveShare}
	switch mode := r.URL.Query().Get("mode"); mode {
	case "", "incremental":
	case "full":
		opts.Full = true
	default:
		apiError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("mode %q: want incremental or full", mode))
		return
	}
	var rejects []gateway.RowReject
	nrejected := 0
	opts.OnReject = func(rj gateway.RowReject) {
		if !rj.Kept {
			nrejected++
		}
		if len(rejects) < maxListedRejects {
			rejects = append(rejects, rj)
		}
	}
	body := http.MaxBytesReader(w, r.Body, a.cfg.MaxBulkBytes)
	rd := contacts.NewNDJSONReader(body, a.cfg.Region, opts.OnReject)
	rep, ok := a.apply(w, r, c, "contacts.bulk "+r.URL.Query().Get("mode"), rd.Next, opts)
	if !ok {
		return
	}
	rep.Rejected = nrejected
	a.changes.WithLabelValues("rejected").Add(float64(nrejected))
	writeJSONBody(w, http.StatusOK, map[string]any{"added": rep.Added, "updated": rep.Updated, "unchanged": rep.Unchanged,
		"removed": rep.Removed, "rejected": rep.Rejected, "rejects": rejectList(rejects)})
}

// apply imports, audits and counts; it answers the errors itself.
func (a *directoryAPI) apply(w http.ResponseWriter, r *http.Request, c caller, action string,
	next func() (gateway.ContactChange, error), opts gateway.ImportOptions) (gateway.ImportReport, bool) {
	rep, err := a.cfg.Store.ImportContacts(r.Context(), next, opts)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		a.audit(r.Context(), c, action, false, "body too large")
		apiError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is over %d bytes; nothing was changed", tooLarge.Limit))
		return rep, false
	case errors.Is(err, gateway.ErrTooManyRemovals):
		a.audit(r.Context(), c, action, false, err.Error())
		apiError(w, http.StatusConflict, "too_many_removals", err.Error())
		return rep, false
	case err != nil:
		a.log.Error("directory api: import", "action", action, "token", c.token.Name, "err", err)
		apiError(w, http.StatusServiceUnavailable, "database_unavailable", "the change was not applied; try again shortly")
		return rep, false
	}
	a.audit(r.Context(), c, action, true, fmt.Sprintf("added %d, updated %d, unchanged %d, removed %d",
		rep.Added, rep.Updated, rep.Unchanged, rep.Removed))
	for k, v := range map[string]int{"added": rep.Added, "updated": rep.Updated, "unchanged": rep.Unchanged, "removed": rep.Removed} {
		a.changes.WithLabelValues(k).Add(float64(v))
	}
	a.last.SetToCurrentTime()
	return rep, true
}

func (a *directoryAPI) audit(ctx context.Context, c caller, action string, allowed bool, detail string) {
	// The request may be gone; the record must still be written.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	e := gateway.AuditEntry{At: time.Now(), Username: c.name(), Client: c.client, Action: action, Allowed: allowed, Detail: detail}
	if err := a.cfg.Store.Audit(ctx, []gateway.AuditEntry{e}); err != nil {
		a.log.Error("directory api: audit", "action", action, "token", c.token.Name, "err", err)
	}
}

func one(ch gateway.ContactChange) func() (gateway.ContactChange, error) {
	done := false
	return func() (gateway.ContactChange, error) {
		if done {
			return gateway.ContactChange{}, io.EOF
		}
		done = true
		return ch, nil
	}
}

// result names what a one-contact change did.
func result(rep gateway.ImportReport) string {
	switch {
	case rep.Added > 0:
		return "added"
	case rep.Updated > 0:
		return "updated"
	case rep.Removed > 0:
		return "removed"
	case rep.Unchanged > 0:
		return "unchanged"
	}
	return "absent"
}

type rejectJSON struct {
	Line   int    `json:"line"`
	Code   string `json:"code,omitempty"`
	Reason string `json:"reason"`
	Kept   bool   `json:"kept,omitempty"`
}

func rejectList(rs []gateway.RowReject) []rejectJSON {
	out := make([]rejectJSON, len(rs))
	for i, r := range rs {
		out[i] = rejectJSON{Line: r.Line, Code: r.Code, Reason: r.Reason, Kept: r.Kept}
	}
	return out
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	writeJSONBody(w, status, map[string]string{"error": code, "message": msg})
}

func tooMany(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	apiError(w, http.StatusTooManyRequests, "rate_limited", "too many requests; slow down")
}

func writeJSONBody(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func clientHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limiter is a token bucket per key (a client address, an API token).
type limiter struct {
	rate    float64
	burst   float64
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(rate float64, burst int) *limiter {
	return &limiter{rate: rate, burst: float64(burst), buckets: map[string]*bucket{}}
}

func (l *limiter) allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if len(l.buckets) > 10000 {
		l.forgetFull(now)
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// forgetFull drops buckets that have refilled: they limit nothing.
func (l *limiter) forgetFull(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
}
