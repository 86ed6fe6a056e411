package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/app"
	"crmcti/gateway/contactpull"
)

// pullConfig is the directory pull's flags: pull-contacts runs it alone,
// serve runs it beside the agents when -pull-url is given.
type pullConfig struct {
	url, token, format string
	every              time.Duration
	maxRemove          float64
}

func pullFlags(fs *flag.FlagSet) *pullConfig {
	pc := &pullConfig{}
	fs.StringVar(&pc.url, "pull-url", "", "pull-contacts: https:// URL of the CRM's contact export (CSV or NDJSON)")
	fs.StringVar(&pc.token, "pull-token", "", "pull-contacts: bearer token the export URL wants (prefer CTI_PULL_TOKEN)")
	fs.StringVar(&pc.format, "pull-format", "", "pull-contacts: csv or ndjson (default: from the URL, then the Content-Type)")
	fs.DurationVar(&pc.every, "pull-every", time.Hour, "pull-contacts: fetch this often; 0 fetches once and exits")
	fs.Float64Var(&pc.maxRemove, "pull-max-remove", gateway.DefaultMaxRemoveShare, "pull-contacts: share of the directory (0..1) one pull may remove")
	return pc
}

// pullContacts keeps the directory in step with the CRM's published
// export: a full import whenever it changed, never forced.
func pullContacts(ctx context.Context, c *config, pc *pullConfig, log *slog.Logger) error {
	if err := contactpull.CheckURL(pc.url); err != nil {
		return fmt.Errorf("-pull-url: %w", err)
	}
	db, err := openDB(ctx, c)
	if err != nil {
		return err
	}
	defer db.Close()
	p, err := contactpull.New(contactpull.Config{URL: pc.url, Format: pc.format, Interval: pc.every, BearerToken: pc.token,
		Region: c.region, MaxRemoveShare: pc.maxRemove, Store: db, Logger: log})
	if err != nil {
		return err
	}
	if pc.every > 0 {
		p.Run(ctx)
		return nil
	}
	rep, changed, err := p.Pull(ctx)
	if err != nil {
		return err
	}
	if !changed {
		fmt.Println("export unchanged")
		return nil
	}
	fmt.Printf("added %d, updated %d, unchanged %d, removed %d, rejected %d\n", rep.Added, rep.Updated, rep.Unchanged, rep.Removed, rep.Rejected)
	return nil
}

// apply makes serve pull the export itself when -pull-url is given, so
// that its counters are in the gateway's /metrics.
func (pc *pullConfig) apply(cfg *app.Config) error {
	if pc.url == "" {
		return nil
	}
	if err := contactpull.CheckURL(pc.url); err != nil {
		return fmt.Errorf("-pull-url: %w", err)
	}
	if pc.every <= 0 {
		return errors.New("-pull-every must be positive when serve pulls the directory")
	}
	cfg.ContactPull = &contactpull.Config{URL: pc.url, Format: pc.format, Interval: pc.every, BearerToken: pc.token, MaxRemoveShare: pc.maxRemove}
	return nil
}
