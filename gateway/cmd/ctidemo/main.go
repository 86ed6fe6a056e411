// Command ctidemo runs the whole CRM CTI system on loopback for a person to
// try: a private PostgreSQL and OpenLDAP, the simulated PBX, the gateway and
// a demo CRM page. It prints one line per service, the demo credentials and
// how to load the extension, then "ready"; Ctrl-C stops everything and
// removes every temp dir. It only wires; each part lives in its package.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"crmcti/gateway/app"
	"crmcti/gateway/core"
	"crmcti/gateway/csta"
	"crmcti/gateway/democrm"
	"crmcti/gateway/devstack"
	"crmcti/gateway/ldap"
	"crmcti/gateway/pbxsim"
)

// extensionID is the ID the manifest key pins; the gateway accepts its
// origin.
const extensionID = "amkhmoonbbfpbpgpaciafkkodeiodbkg"

type config struct {
	gatewayAddr, crmAddr, pbxCSTA, pbxControl string
	extensionDir                              string
	browser                                   bool
	ha                                        bool   // two gateways, active and standby (ha.go)
	standbyAddr                               string // the second gateway's address
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func main() {
	var c config
	flag.StringVar(&c.gatewayAddr, "gateway-addr", envOr("CTI_DEMO_GATEWAY_ADDR", "127.0.0.1:7080"), "gateway HTTP/WebSocket address (env CTI_DEMO_GATEWAY_ADDR)")
	flag.StringVar(&c.crmAddr, "crm-addr", envOr("CTI_DEMO_CRM_ADDR", "127.0.0.1:7081"), "demo CRM page address (env CTI_DEMO_CRM_ADDR)")
	flag.StringVar(&c.pbxCSTA, "pbx-csta-addr", envOr("CTI_DEMO_PBX_CSTA_ADDR", "127.0.0.1:7001"), "PBX simulator CSTA address (env CTI_DEMO_PBX_CSTA_ADDR)")
	flag.StringVar(&c.pbxControl, "pbx-control-addr", envOr("CTI_DEMO_PBX_CONTROL_ADDR", "127.0.0.1:7002"), "PBX simulator control API address (env CTI_DEMO_PBX_CONTROL_ADDR)")
	flag.StringVar(&c.extensionDir, "extension-dir", envOr("CTI_DEMO_EXTENSION_DIR", "."), "unpacked extension (the directory holding manifest.json)")
	flag.BoolVar(&c.browser, "browser", os.Getenv("BROWSER") == "1", "also start Chromium with the extension loaded on the CRM page (env BROWSER=1)")
	flag.BoolVar(&c.ha, "ha", os.Getenv("HA") == "1", "run two gateways on the one database, active and standby; SIGUSR1 hands over (env HA=1)")
	flag.StringVar(&c.standbyAddr, "gateway2-addr", envOr("CTI_DEMO_GATEWAY2_ADDR", "127.0.0.1:7083"), "with -ha: the second gateway's address (env CTI_DEMO_GATEWAY2_ADDR)")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c, log); err != nil {
		fmt.Fprintln(os.Stderr, "ctidemo:", err)
		os.Exit(1)
	}
}

// stack collects what must be stopped, in reverse order of start.
type stack []func()

func (s *stack) push(f func()) { *s = append(*s, f) }
func (s stack) stopAll() {
	for i := len(s) - 1; i >= 0; i-- {
		s[i]()
	}
}

func run(ctx context.Context, c config, log *slog.Logger) error {
	var running stack
	// A closure, so that it sees what was pushed after this line.
	defer func() { running.stopAll() }()

	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	pg, err := devstack.StartPostgres(startCtx)
	if err != nil {
		return err
	}
	running.push(func() { _ = pg.Close() })
	dir, err := devstack.StartLDAP(startCtx, devstack.LDAPOptions{})
	if err != nil {
		return err
	}
	running.push(func() { _ = dir.Close() })

	customers, err := democrm.ParseCSV(strings.NewReader(devstack.DemoContactsCSV))
	if err != nil {
		return err
	}
	crmURL, err := serve(c.crmAddr, democrm.New(customers), &running, log)
	if err != nil {
		return fmt.Errorf("demo CRM: %w", err)
	}
	pbxCSTA, pbxControl, err := startPBX(c, &running, log)
	if err != nil {
		return err
	}
	gwConfig := app.Config{
		Listen: c.gatewayAddr, PBXAddr: pbxCSTA, PBXProfile: "openscape",
		AllowedOrigins: []string{"chrome-extension://" + extensionID},
		LDAP: ldap.Config{URL: dir.URL(), BindDN: devstack.DemoBindDN, BindPassword: devstack.DemoBindPassword,
			UserBase: devstack.DemoPeople, GroupDN: devstack.DemoCTIGroup},
		DatabaseURL: pg.URL(), Region: "CY", Logger: log,
	}
	if c.ha {
		gwConfig.Lease, gwConfig.Node = 2*time.Second, "gw-a"
	}
	gw, err := app.Start(startCtx, gwConfig)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	running.push(func() { _ = gw.Close() })
	contacts, rejects, err := core.ParseContacts(strings.NewReader(devstack.DemoContactsCSV), "CY")
	if err != nil {
		return err
	}
	if err := gw.DB.UpsertContacts(startCtx, contacts); err != nil {
		return fmt.Errorf("import demo contacts: %w", err)
	}

	fmt.Printf("crm: %s\n", crmURL)
	fmt.Printf("gateway: %s (health http://%s/healthz)\n", gw.URL, gw.Addr)
	if c.ha {
		if err := startPair(ctx, c, gwConfig, gw, &running); err != nil {
			return err
		}
	}
	fmt.Printf("pbx-csta: %s\n", pbxCSTA)
	fmt.Printf("pbx-control: %s\n", pbxControl)
	fmt.Printf("postgres: %s\n", pg.URL())
	fmt.Printf("ldap: %s (base %s)\n", dir.URL(), devstack.DemoSuffix)
	fmt.Printf("contacts: %d demo customers imported (%d rows rejected)\n", len(contacts), len(rejects))
	fmt.Printf("try: curl -X POST %scalls -d '{\"from\":\"+35722123456\",\"to\":\"1001\"}'\n", pbxControl)
	fmt.Printf("credentials: agents alice..henry (extensions 1001-1008), password %q; mallory is not CTI enabled; nigel has no extension\n", devstack.DemoPassword)
	ext, _ := filepath.Abs(c.extensionDir)
	fmt.Printf("extension: open chrome://extensions, enable Developer mode, Load unpacked: %s\n", ext)
	if c.browser {
		if err := startBrowser(ctx, ext, crmURL, &running); err != nil {
			return err
		}
	}
	fmt.Println("ready")
	<-ctx.Done()
	fmt.Println("stopping")
	return nil
}

// startPBX runs the simulated PBX in-process: CSTA for the gateway, the
// control API for the person trying the demo.
func startPBX(c config, running *stack, log *slog.Logger) (cstaAddr, controlURL string, err error) {
	p, _ := csta.LookupProfile("openscape")
	sim := pbxsim.New(pbxsim.Config{Profile: p, AutoAnswer: 2 * time.Second, Logger: log})
	l, err := net.Listen("tcp", c.pbxCSTA)
	if err != nil {
		return "", "", fmt.Errorf("pbx CSTA: %w", err)
	}
	go func() {
		if err := sim.ServeCSTA(l); err != nil {
			log.Error("pbx CSTA", "err", err)
		}
	}()
	running.push(func() { _ = sim.Close() })
	controlURL, err = serve(c.pbxControl, sim.ControlHandler(), running, log)
	if err != nil {
		return "", "", fmt.Errorf("pbx control API: %w", err)
	}
	return l.Addr().String(), controlURL, nil
}

// serve listens first, so that a port already in use is reported at once
// with its address, then serves in the background.
func serve(addr string, h http.Handler, running *stack, log *slog.Logger) (string, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("serve", "addr", addr, "err", err)
		}
	}()
	running.push(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return "http://" + l.Addr().String() + "/", nil
}

// startBrowser opens Chromium (with a display) on the CRM page with the
// unpacked extension, in a throwaway profile.
func startBrowser(ctx context.Context, extDir, url string, running *stack) error {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		return fmt.Errorf("BROWSER=1 needs chromium: apt-get install -y chromium (or make deps)")
	}
	profile, err := os.MkdirTemp("", "crmcti-chromium-")
	if err != nil {
		return err
	}
	args := []string{"--user-data-dir=" + profile, "--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--disable-quic",
		"--disable-extensions-except=" + extDir, "--load-extension=" + extDir, url}
	if os.Geteuid() == 0 {
		args = append([]string{"--no-sandbox"}, args...)
	}
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(profile)
		return fmt.Errorf("start chromium: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	running.push(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		os.RemoveAll(profile)
	})
	fmt.Printf("browser: chromium started with the extension on %s\n", url)
	return nil
}
