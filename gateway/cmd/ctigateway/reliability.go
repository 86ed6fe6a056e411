package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"crmcti/gateway/app"
	gwhttp "crmcti/gateway/http"
)

// relConfig holds the flags of the gateway's defences: the spool, the
// admin listener, trusted proxies, login limits.
type relConfig struct {
	spoolDir, adminListen, trustedProxies string
	minExtensionVersion                   string
	loginDeadline, heartbeat              time.Duration
	maxUnauthenticated                    int
	heartbeatRate                         float64
}

func relFlags(fs *flag.FlagSet) *relConfig {
	r := &relConfig{}
	fs.StringVar(&r.spoolDir, "spool-dir", defaultSpoolDir(), "directory where call-log and audit rows the database could not take are kept across a restart, with quarantined rows and unrecorded logouts (empty: none)")
	fs.StringVar(&r.adminListen, "admin-listen", "", "serve /metrics and the detailed /readyz on this address instead of -listen (keep it on loopback or a management network); without it, /metrics on -listen answers only requests from this host")
	fs.StringVar(&r.trustedProxies, "trusted-proxies", "", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For gives the client's address (empty: none)")
	fs.DurationVar(&r.loginDeadline, "login-deadline", 10*time.Second, "a connection that has not logged in by then is closed")
	fs.DurationVar(&r.heartbeat, "heartbeat", gwhttp.DefaultHeartbeat, "interval of the heartbeat to each agent's extension, which leaves a silent gateway after two missed (2×interval+2 s): shorter finds a frozen or cut-off gateway sooner, and costs a small write per agent per interval")
	fs.Float64Var(&r.heartbeatRate, "heartbeat-rate", gwhttp.DefaultHeartbeatRate, "most heartbeats a second to all agents together: beyond -heartbeat × this many agents the interval grows with their number (10,000 agents at 500/s: every 20 s, a frozen gateway left after 42 s); raise it to find a frozen gateway sooner at the cost of the gateway's CPU (-1: no cap)")
	fs.IntVar(&r.maxUnauthenticated, "max-unauthenticated", 20, "most connections not yet logged in from one client address")
	fs.StringVar(&r.minExtensionVersion, "min-extension-version", "", "refuse logins from extensions older than this version (e.g. 1.4.0) with update_required; one that reports no version is older (empty: accept all)")
	return r
}

// apply sets the flags' values on the gateway's configuration.
func (r *relConfig) apply(c *app.Config) error {
	proxies, err := gwhttp.ParsePrefixes(r.trustedProxies)
	if err != nil {
		return fmt.Errorf("-trusted-proxies: %w", err)
	}
	c.SpoolDir, c.AdminListen, c.TrustedProxies = r.spoolDir, r.adminListen, proxies
	if r.heartbeat < time.Second {
		return fmt.Errorf("-heartbeat %s: at least 1s", r.heartbeat)
	}
	c.LoginDeadline, c.MaxUnauthenticated, c.Heartbeat = r.loginDeadline, r.maxUnauthenticated, r.heartbeat
	c.HeartbeatRate = r.heartbeatRate
	if c.HeartbeatRate == 0 {
		c.HeartbeatRate = -1 // 0 on the command line: no cap either
	}
	c.MinExtensionVersion = r.minExtensionVersion
	return nil
}

// defaultSpoolDir is where the gateway keeps its spool unless told: the
// state directory systemd gives the service (StateDirectory=, in
// $STATE_DIRECTORY), else the user's state directory
// ($XDG_STATE_HOME or ~/.local/state, then crmcti/spool), else "spool"
// next to the binary. A state directory, not a cache or a temp dir: what
// is in it is data not yet in the database, and must survive a reboot.
func defaultSpoolDir() string {
	if d := os.Getenv("STATE_DIRECTORY"); d != "" {
		return filepath.Join(filepath.SplitList(d)[0], "spool")
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "crmcti", "spool")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "crmcti", "spool")
	}
	if exe, err := os.Executable(); err == nil {
		return filepath.Join(filepath.Dir(exe), "spool")
	}
	return "spool"
}
