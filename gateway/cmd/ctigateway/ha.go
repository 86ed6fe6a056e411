package main

import (
	"flag"
	"fmt"
	"time"

	"crmcti/gateway/app"
)

// haConfig is the high-availability flags (issue 14; README "High
// availability").
type haConfig struct {
	lease time.Duration
	node  string
}

func haFlags(fs *flag.FlagSet) *haConfig {
	h := &haConfig{}
	fs.DurationVar(&h.lease, "lease", 2*time.Second, "leadership lease: any number of gateways share the database, one active, the others standby, and a standby takes over this long after the active died (0: a single gateway, a second refuses to start)")
	fs.StringVar(&h.node, "node", "", "this gateway's name in logs, metrics and /readyz, unique among those sharing the database (default host:port)")
	return h
}

// apply sets the flags' values on the gateway's configuration.
func (h *haConfig) apply(c *app.Config) error {
	if h.lease < 0 || (h.lease > 0 && h.lease < 200*time.Millisecond) {
		return fmt.Errorf("-lease %s: 0 (single gateway) or at least 200ms", h.lease)
	}
	c.Lease, c.Node = h.lease, h.node
	return nil
}
