// Command ctigateway is the CRM CTI gateway. It only wires: configuration
// from flags and environment, then the adapters (ldap, postgres, pbx),
// the core and the HTTP server.
//
//	ctigateway serve                  run the gateway (default)
//	ctigateway migrate                apply database migrations and exit
//	ctigateway import-contacts [-full] FILE   import contacts from a CRM export (CSV or NDJSON)
//	ctigateway token create|revoke NAME, token list   API tokens for the directory push API
//	ctigateway pull-contacts -pull-url URL   fetch the CRM's export on a schedule, apply it as a full import
//	ctigateway conformance [flags]    test a switch's CSTA services with two test devices
//
// Every flag can also be set in the environment as CTI_<FLAG>, with
// dashes as underscores: -pbx-addr is CTI_PBX_ADDR.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
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
	"crmcti/gateway/procs"
)

type config struct {
	listen, tlsCert, tlsKey, origins        string
	pbxAddr, pbxProfile, statusMode         string
	pbxTLS                                  bool
	pbxTemplate, pbxUser, pbxPassword       string
	pbxSwitchName, pbxCA, pbxTrace          string
	ldapURL, bindDN, bindPassword, userBase string
	userAttr, groupDN, extAttr, displayAttr string
	startTLS, ldapInsecure                  bool
	ldapCA                                  string
	dbURL, region                           string
	sessionTTL                              time.Duration
	adaptiveProcs                           bool
	logLevel, pprofListen, extensionDir     string
	rel                                     *relConfig
	ha                                      *haConfig
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
	fs.BoolVar(&c.pbxTLS, "pbx-tls", false, "connect to the PBX over TLS (the certificate is checked against the host of -pbx-addr)")
	s(&c.pbxCA, "pbx-ca", "", "PEM file of the CA that signed the PBX's certificate (implies -pbx-tls; empty: the system's CAs)")
	s(&c.pbxTemplate, "pbx-device-template", "{ext}", "the switch's number for an agent's extension, e.g. '+3572210{ext}' (an override naming the full number is used as is)")
	s(&c.pbxUser, "pbx-user", "", "user name the gateway logs in to the PBX with (Avaya AES)")
	s(&c.pbxPassword, "pbx-password", "", "PBX password (prefer the environment: CTI_PBX_PASSWORD)")
	s(&c.pbxSwitchName, "pbx-switch-name", "", "the switch connection's name in Avaya AES, for GetDeviceId")
	s(&c.pbxTrace, "pbx-trace", "", "append every CSTA frame in and out, timestamped and with passwords redacted, to this file")
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
	s(&c.extensionDir, "extension-dir", "", "serve ctipack's output (make extension) at /extension/: updates.xml, crmcti.crx, updates.json, crmcti.xpi")
	s(&c.pprofListen, "pprof-listen", "", "serve net/http/pprof on this address (loopback only; for profiling)")
	fs.BoolVar(&c.adaptiveProcs, "adaptive-procs", true, "run on one core while the load allows, on more when busy (GOMAXPROCS in the environment turns this off)")
	c.rel = relFlags(fs)
	c.ha = haFlags(fs)
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
	if cmd == "conformance" {
		return runConformance(args, os.Stdin, os.Stdout)
	}
	fs := flag.NewFlagSet("ctigateway "+cmd, flag.ContinueOnError)
	c := flags(fs)
	var ic *importConfig
	var pc *pullConfig
	switch cmd {
	case "import-contacts":
		ic = importFlags(fs)
	case "pull-contacts", "serve":
		pc = pullFlags(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: ctigateway [COMMAND] [flags] [ARGS]\n\ncommands: serve (default), migrate, import-contacts [-full] FILE,\n  token create NAME, token revoke NAME, token list, pull-contacts -pull-url URL, conformance\n\nflags (each also CTI_<FLAG> in the environment; a command's own flags show with COMMAND -h):\n")
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
	if err := checkPBXFlags(c); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch cmd {
	case "serve":
		return serve(ctx, c, pc, log)
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

func serve(ctx context.Context, c *config, pc *pullConfig, log *slog.Logger) error {
	var ldapTLS *tls.Config
	if c.startTLS || strings.HasPrefix(c.ldapURL, "ldaps://") {
		ldapTLS = &tls.Config{InsecureSkipVerify: c.ldapInsecure} //nolint:gosec // opt-in for test directories
	}
	pbxTLS, err := pbxTLSConfig(c)
	if err != nil {
		return err
	}
	var pbxTrace func(csta.TraceRecord)
	if c.pbxTrace != "" {
		f, err := os.OpenFile(c.pbxTrace, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("-pbx-trace: %w", err)
		}
		defer f.Close()
		pbxTrace = csta.TraceWriter(f)
	}
	cfg := app.Config{
		Listen: c.listen, TLSCert: c.tlsCert, TLSKey: c.tlsKey, AllowedOrigins: splitList(c.origins),
		PBXAddr: c.pbxAddr, PBXProfile: c.pbxProfile, PBXTLS: pbxTLS, StatusMode: pbx.StatusMode(c.statusMode),
		PBXDeviceTemplate: c.pbxTemplate, PBXUser: c.pbxUser, PBXPassword: c.pbxPassword, PBXSwitchName: c.pbxSwitchName, PBXTrace: pbxTrace,
		LDAP: ldap.Config{URL: c.ldapURL, StartTLS: c.startTLS, TLS: ldapTLS, CAFile: c.ldapCA, BindDN: c.bindDN, BindPassword: c.bindPassword,
			UserBase: c.userBase, UserAttr: c.userAttr, GroupDN: c.groupDN, ExtensionAttr: c.extAttr, DisplayAttr: c.displayAttr},
		DatabaseURL: c.dbURL, Region: c.region, SessionTTL: c.sessionTTL, PprofListen: c.pprofListen, ExtensionDir: c.extensionDir, Logger: log,
	}
	if err := c.rel.apply(&cfg); err != nil {
		return err
	}
	if err := pc.apply(&cfg); err != nil {
		return err
	}
	if err := c.ha.apply(&cfg); err != nil {
		return err
	}
	if c.adaptiveProcs {
		go procs.Govern(ctx, procs.Config{Logger: log})
	}
	a, err := app.Start(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Printf("gateway: %s\n", a.URL)
	<-ctx.Done()
	return a.Close()
}

// checkPBXFlags refuses a PBX configuration that cannot work, before
// the gateway starts retrying it forever.
func checkPBXFlags(c *config) error {
	p, err := csta.LookupProfile(c.pbxProfile)
	if err != nil {
		return fmt.Errorf("-pbx-profile: %w", err)
	}
	if p.DMCC && (c.pbxUser == "" || c.pbxPassword == "" || c.pbxSwitchName == "") {
		return fmt.Errorf("-pbx-profile %s needs -pbx-user, -pbx-switch-name and the password (CTI_PBX_PASSWORD)", p.Name)
	}
	if strings.Count(c.pbxTemplate, "{ext}") == 0 {
		return fmt.Errorf("-pbx-device-template %q has no {ext}", c.pbxTemplate)
	}
	return nil
}

// pbxTLSConfig is the PBX link's TLS: nil for plain TCP; with -pbx-ca, a
// pool of that CA only. The server name comes from -pbx-addr (csta.Dial).
func pbxTLSConfig(c *config) (*tls.Config, error) {
	if !c.pbxTLS && c.pbxCA == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.pbxCA != "" {
		pem, err := os.ReadFile(c.pbxCA)
		if err != nil {
			return nil, fmt.Errorf("-pbx-ca: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("-pbx-ca: no PEM certificate in %s", c.pbxCA)
		}
	}
	return cfg, nil
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
