// Package contactpull keeps the customer directory in step with an export
// the CRM publishes: it fetches the export from an HTTPS URL on a schedule,
// with conditional requests (ETag, Last-Modified) so that an unchanged
// export costs one round trip, and applies it as a full import under the
// safety limit, so that a truncated export is refused without touching the
// directory. Success, failure and age are in its metrics and Ready.
package contactpull

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"crmcti/gateway"
	"crmcti/gateway/contacts"
)

// Importer applies an import (gateway/postgres).
type Importer interface {
	ImportContacts(ctx context.Context, next func() (gateway.ContactChange, error), opts gateway.ImportOptions) (gateway.ImportReport, error)
}

// Config says where the export is and how often to fetch it.
type Config struct {
	URL         string        // https://…; the export, CSV or NDJSON
	Format      string        // csv or ndjson (default: from the URL's path, else the Content-Type, else csv)
	Interval    time.Duration // between fetches (default 1h)
	BearerToken string        // sent as Authorization: Bearer, if the CRM wants one
	Region      string        // default country of numbers without one
	// MaxRemoveShare is the full import's safety limit (see
	// gateway.ImportOptions); a pull never forces.
	MaxRemoveShare float64
	// MaxStale is how old the last good pull may get before Ready fails
	// (default 3 intervals).
	MaxStale   time.Duration
	Store      Importer
	Client     *http.Client // default: 5-minute timeout
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Puller fetches and applies the export.
type Puller struct {
	cfg     Config
	log     *slog.Logger
	metrics metrics

	mu            sync.Mutex
	etag, lastMod string
	lastOK        time.Time
	lastErr       error
}

// CheckURL refuses an export URL that is not https://: the export is
// the whole customer directory.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("contactpull: URL %q: want https://host/…", raw)
	}
	return nil
}

// New checks the configuration.
func New(cfg Config) (*Puller, error) {
	if err := CheckURL(cfg.URL); err != nil {
		return nil, err
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Hour
	}
	if cfg.MaxStale <= 0 {
		cfg.MaxStale = 3 * cfg.Interval
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 5 * time.Minute}
	}
	if cfg.Format != "" && cfg.Format != "csv" && cfg.Format != "ndjson" {
		return nil, fmt.Errorf("contactpull: format %q: want csv or ndjson", cfg.Format)
	}
	p := &Puller{cfg: cfg, log: cfg.Logger, metrics: newMetrics(cfg.Registerer)}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p, nil
}

// Run pulls at once and then every Interval until ctx ends. Failures are
// logged and counted; the next tick tries again.
func (p *Puller) Run(ctx context.Context) {
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		rep, changed, err := p.Pull(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			p.log.Error("contact pull failed", "err", err)
		case changed:
			p.log.Info("contact pull applied", "added", rep.Added, "updated", rep.Updated, "removed", rep.Removed,
				"unchanged", rep.Unchanged, "rejected", rep.Rejected)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Pull fetches the export once and applies it if it changed. changed is
// false when the server answered 304 Not Modified.
func (p *Puller) Pull(ctx context.Context) (rep gateway.ImportReport, changed bool, err error) {
	defer func() { p.record(err) }()
	res, err := p.fetch(ctx)
	if err != nil {
		return rep, false, err
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusNotModified {
		return rep, false, nil
	}
	rep, err = p.apply(ctx, res)
	if err != nil {
		return rep, true, err
	}
	p.mu.Lock()
	p.etag, p.lastMod = res.Header.Get("ETag"), res.Header.Get("Last-Modified")
	p.mu.Unlock()
	p.metrics.count(rep)
	return rep, true, nil
}

func (p *Puller) fetch(ctx context.Context) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.cfg.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("contactpull: %w", err)
	}
	p.mu.Lock()
	if p.etag != "" {
		req.Header.Set("If-None-Match", p.etag)
	}
	if p.lastMod != "" {
		req.Header.Set("If-Modified-Since", p.lastMod)
	}
	p.mu.Unlock()
	if p.cfg.BearerToken != "" {
		req.Header.Set("Authorization", "Bearer "+p.cfg.BearerToken)
	}
	res, err := p.cfg.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("contactpull: fetch: %w", err)
	}
	if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusNotModified {
		res.Body.Close()
		return nil, fmt.Errorf("contactpull: fetch: %s", res.Status)
	}
	return res, nil
}

func (p *Puller) apply(ctx context.Context, res *http.Response) (gateway.ImportReport, error) {
	rejected := 0
	onReject := func(r gateway.RowReject) {
		if !r.Kept {
			rejected++
		}
		p.log.Warn("contact pull: row refused", "line", r.Line, "code", r.Code, "reason", r.Reason, "kept", r.Kept)
	}
	var rd contacts.Reader
	if p.format(res) == "ndjson" {
		rd = contacts.NewNDJSONReader(res.Body, p.cfg.Region, onReject)
	} else {
		var err error
		if rd, err = contacts.NewCSVReader(res.Body, p.cfg.Region, onReject); err != nil {
			return gateway.ImportReport{}, err
		}
	}
	rep, err := p.cfg.Store.ImportContacts(ctx, rd.Next, gateway.ImportOptions{Full: true, MaxRemoveShare: p.cfg.MaxRemoveShare, OnReject: onReject})
	if err != nil {
		return rep, fmt.Errorf("contactpull: %w", err)
	}
	rep.Rejected = rejected
	return rep, nil
}

func (p *Puller) format(res *http.Response) string {
	if p.cfg.Format != "" {
		return p.cfg.Format
	}
	switch strings.ToLower(path.Ext(res.Request.URL.Path)) {
	case ".ndjson", ".jsonl":
		return "ndjson"
	case ".csv":
		return "csv"
	}
	if ct := res.Header.Get("Content-Type"); strings.Contains(ct, "ndjson") || strings.Contains(ct, "jsonl") {
		return "ndjson"
	}
	return "csv"
}

func (p *Puller) record(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastErr = err
	if err == nil {
		p.lastOK = time.Now()
		p.metrics.success()
		return
	}
	p.metrics.failure()
}

// Ready fails while the directory is staler than MaxStale: no pull has
// succeeded for that long (or ever), for /readyz detail.
func (p *Puller) Ready() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lastOK.IsZero() {
		return errors.Join(errors.New("contactpull: no successful pull yet"), p.lastErr)
	}
	if age := time.Since(p.lastOK); age > p.cfg.MaxStale {
		return errors.Join(fmt.Errorf("contactpull: last successful pull %s ago", age.Round(time.Second)), p.lastErr)
	}
	return nil
}
