// Command ctigateway is the CRM CTI gateway. It only wires: configuration
// from flags and environment, then the adapters (ldap, postgres, pbx),
// the core and the HTTP server.
//
//	ctigateway serve                  run the gateway (default)
//	ctigateway migrate                apply database migrations and exit
//	ctigateway import-contacts [-full] FILE   import contacts from a CRM export (CSV or NDJSON)
//	ctigateway token create|revoke NAME, token list   API tokens for the directory push API
//	ctigateway pull-contacts -pull-url URL   fetch the CRM's export on a schedule, apply it as a full import
//
// Every flag can also be set in the environment as CTI_<FLAG>, with
// dashes as underscores: -pbx-addr is CTI_PBX_ADDR.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"crmcti/gateway/app"
	"crmcti/gateway/csta"
	"crmcti/gateway/ldap"
	"crmcti/gateway/pbx"
	"crmcti/gateway/phone"
	"crmcti/gateway/postgres"
)

type config struct {
	listen, tlsCert, tlsKey, origins        string
	pbxAddr, pbxProfile, statusMode         string
	pbxTLS                                  bool
	ldapURL, bindDN, bindPassword, userBase string
	userAttr, groupDN, extAttr, displayAttr string
	startTLS, ldapInsecure                  bool
	ldapCA                                  string
	dbURL, region                           string
	sessionTTL                              time.Duration
	logLevel, pprofListen                   string
}

// defaultExtensionID is the ID the manifest key pins.
const defaultExtensionID = "amkhmoonbbfpbpgpaciafkkodeiodbkg"

func flags(fs *flag.FlagSet) *config {
	c := &config{}
	s := func(p *string, name, def, usage string) { fs.StringVar(p, name, def, usage) }
	s(&c.listen, "listen", "127.0.0.1:7080", "HTTP/WebSocket listen address")
	s(&c.tlsCert, "tls-cert", "", "TLS certificate file for the listener (with -tls-key; empty: plain HTTP)")
	s(&c.tlsKey, "tls-key", "", "TLS key file")
	s(&c.origins, "allowed-origins", "chrome-extension://"+defaultExtensionID, "comma-separated Origin patterns browsers may connect from")
	s(&c.pbxAddr, "pbx-addr", "127.0.0.1:7001", "PBX CSTA address host:port")
	s(&c.pbxProfile, "pbx-profile", "openscape", fmt.Sprintf("PBX vendor profile %v", csta.ProfileNames()))
	fs.BoolVar(&c.pbxTLS, "pbx-tls", false, "connect to the PBX over TLS")
	s(&c.statusMode, "status-mode", "dnd", "how Available/Busy is set on the PBX: dnd (do-not-disturb) or agent (ACD agent state)")
	s(&c.ldapURL, "ldap-url", "ldap://127.0.0.1:389", "directory URL (ldap:// or ldaps://)")
	fs.BoolVar(&c.startTLS, "ldap-starttls", false, "upgrade ldap:// with StartTLS")
	s(&c.ldapCA, "ldap-ca", "", "PEM file of the CA(s) that sign the directory's certificate (default: the system's)")
	fs.BoolVar(&c.ldapInsecure, "ldap-insecure-skip-verify", false, "do not verify the directory's certificate (testing only)")
	s(&c.bindDN, "ldap-bind-dn", "", "service account DN that searches for users (empty: anonymous)")
	s(&c.bindPassword, "ldap-bind-password", "", "service account password (prefer the environment: CTI_LDAP_BIND_PASSWORD)")
	s(&c.userBase, "ldap-user-base", "", "base DN of user entries")
	s(&c.userAttr, "ldap-user-attr", "uid", "login name attribute (uid, sAMAccountName)")
	s(&c.groupDN, "ldap-cti-group", "", "DN of the group whose members are CTI enabled")
	s(&c.extAttr, "ldap-extension-attr", "telephoneNumber", "attribute holding the agent's extension (telephoneNumber, ipPhone)")
	s(&c.displayAttr, "ldap-display-attr", "cn", "attribute holding the agent's display name")
	s(&c.dbURL, "database-url", "postgres://postgres@127.0.0.1:5432/crmcti?sslmode=disable", "PostgreSQL URL")
	s(&c.region, "default-region", "CY", "default country (ISO 3166 alpha-2) for numbers without a country code")
	fs.DurationVar(&c.sessionTTL, "session-ttl", 12*time.Hour, "how long a login lasts")
	s(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	s(&c.pprofListen, "pprof-listen", "", "serve net/http/pprof on this address (loopback only; for profiling)")
	return c
}

// envDefaults applies CTI_* environment variables to flags not given on
// the command line.
func envDefaults(fs *flag.FlagSet) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		key := "CTI_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(key); ok && !given[f.Name] && err == nil {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %w", key, e)
			}
		}
	})
	return err
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "ctigateway:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("ctigateway "+cmd, flag.ContinueOnError)
	c := flags(fs)
	var ic *importConfig
	var pc *pullConfig
	switch cmd {
	case "import-contacts":
		ic = importFlags(fs)
	case "pull-contacts":
		pc = pullFlags(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: ctigateway [COMMAND] [flags] [ARGS]\n\ncommands: serve (default), migrate, import-contacts [-full] FILE,\n  token create NAME, token revoke NAME, token list, pull-contacts -pull-url URL\n\nflags (each also CTI_<FLAG> in the environment; a command's own flags show with COMMAND -h):\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := envDefaults(fs); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if !phone.ValidRegion(c.region) {
		return fmt.Errorf("-default-region %q is not a known region", c.region)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch cmd {
	case "serve":
		return serve(ctx, c, log)
	case "migrate":
		return migrate(ctx, c)
	case "import-contacts":
		if fs.NArg() != 1 {
			return errors.New("import-contacts needs one file (CSV or NDJSON; - for standard input), after the flags")
		}
		return importContacts(ctx, c, ic, fs.Arg(0))
	case "token":
		return tokenCommand(ctx, c, fs.Args())
	case "pull-contacts":
		return pullContacts(ctx, c, pc, log)
	}
	fs.Usage()
	return fmt.Errorf("unknown command %q", cmd)
}

func openDB(ctx context.Context, c *config) (*postgres.DB, error) {
	db, err := postgres.Open(ctx, c.dbURL)
	if err != nil {
		return nil, err
	}
	if _, err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func migrate(ctx context.Context, c *config) error {
	db, err := postgres.Open(ctx, c.dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Println("database is up to date")
	}
	for _, a := range applied {
		fmt.Println("applied", a)
	}
	return nil
}

func serve(ctx context.Context, c *config, log *slog.Logger) error {
	var ldapTLS *tls.Config
	if c.startTLS || strings.HasPrefix(c.ldapURL, "ldaps://") {
		ldapTLS = &tls.Config{InsecureSkipVerify: c.ldapInsecure} //nolint:gosec // opt-in for test directories
	}
	var pbxTLS *tls.Config
	if c.pbxTLS {
		pbxTLS = &tls.Config{}
	}
	a, err := app.Start(ctx, app.Config{
		Listen: c.listen, TLSCert: c.tlsCert, TLSKey: c.tlsKey, AllowedOrigins: splitList(c.origins),
		PBXAddr: c.pbxAddr, PBXProfile: c.pbxProfile, PBXTLS: pbxTLS, StatusMode: pbx.StatusMode(c.statusMode),
		LDAP: ldap.Config{URL: c.ldapURL, StartTLS: c.startTLS, TLS: ldapTLS, CAFile: c.ldapCA, BindDN: c.bindDN, BindPassword: c.bindPassword,
			UserBase: c.userBase, UserAttr: c.userAttr, GroupDN: c.groupDN, ExtensionAttr: c.extAttr, DisplayAttr: c.displayAttr},
		DatabaseURL: c.dbURL, Region: c.region, SessionTTL: c.sessionTTL, PprofListen: c.pprofListen, Logger: log,
	})
	if err != nil {
		return err
	}
	fmt.Printf("gateway: %s\n", a.URL)
	<-ctx.Done()
	return a.Close()
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
