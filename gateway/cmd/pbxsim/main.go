// Command pbxsim runs the simulated PBX: CSTA XML over TCP for
// applications, and an HTTP JSON control API for the outside world
// (callers, far ends, phones, faults). See package pbxsim.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"crmcti/gateway/pbxsim"
)

func main() {
	var (
		cstaAddr    = flag.String("csta", "127.0.0.1:7001", "CSTA listen address")
		controlAddr = flag.String("control", "127.0.0.1:7002", "control API listen address")
		profile     = flag.String("profile", pbxsim.VendorDefault, fmt.Sprintf("the switch to play %v (see the README)", pbxsim.Vendors()))
		template    = flag.String("device-template", "3572210{ext}", "openscape: the full number a device is known by, {ext} standing for the extension")
		user        = flag.String("user", "cti", "avaya: the DMCC user StartApplicationSession must name")
		password    = flag.String("password", "", "avaya: the DMCC user's password (default $PBXSIM_PASSWORD, else cti-password)")
		switchName  = flag.String("switch-name", "CM1", "avaya: the switch name GetDeviceId must give, and in every device ID")
		switchIP    = flag.String("switch-ip", "10.0.0.1", "avaya: the switch address in every device ID")
		faults      = flag.String("fault", "", fmt.Sprintf("comma-separated misbehaviours from the start: %s, %s, %s",
			pbxsim.FaultNoClearResponse, pbxsim.FaultNoCallID, pbxsim.FaultAnswerAny))
		first      = flag.Int("first", 1000, "first extension")
		last       = flag.Int("last", 1099, "last extension")
		autoAnswer = flag.Duration("auto-answer", 2*time.Second, "external parties answer outbound calls after this (0: only through the control API)")
		divertTo   = flag.String("divert-to", "", "device that takes calls an unavailable device refuses (empty: such calls fail)")
		heartbeat  = flag.Duration("heartbeat", 30*time.Second, "SystemStatus interval on OpenScape links")
		loadRate   = flag.Float64("load-rate", 0, "load mode: inbound calls per second across the extensions (0: off)")
		loadRing   = flag.Duration("load-ring", 2*time.Second, "load mode: mean ring time before the agent's phone answers")
		loadTalk   = flag.Duration("load-talk", 30*time.Second, "load mode: mean talk time (a third of it on hold)")
		verbose    = flag.Bool("v", false, "log every link and fault")
	)
	flag.Parse()
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if *password == "" {
		*password = cmp.Or(os.Getenv("PBXSIM_PASSWORD"), "cti-password")
	}
	cfg := pbxsim.Config{FirstExtension: *first, LastExtension: *last, Vendor: *profile,
		DeviceTemplate: *template, User: *user, Password: *password, SwitchName: *switchName, SwitchIP: *switchIP,
		AutoAnswer: *autoAnswer, DivertTo: *divertTo, Heartbeat: *heartbeat, Logger: log}
	if *faults != "" {
		cfg.Faults = strings.Split(*faults, ",")
	}
	if err := cfg.Check(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	sim := pbxsim.New(cfg)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, sim, *cstaAddr, *controlAddr, *loadRate, *loadRing, *loadTalk, log); err != nil {
		fmt.Fprintln(os.Stderr, "pbxsim:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, sim *pbxsim.Sim, cstaAddr, controlAddr string, rate float64, ring, talk time.Duration, log *slog.Logger) error {
	defer sim.Close()
	cl, err := net.Listen("tcp", cstaAddr)
	if err != nil {
		return err
	}
	hl, err := net.Listen("tcp", controlAddr)
	if err != nil {
		cl.Close()
		return err
	}
	srv := &http.Server{Handler: sim.ControlHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(hl); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("control API", "err", err)
		}
	}()
	go func() {
		if err := sim.ServeCSTA(cl); err != nil {
			log.Error("csta", "err", err)
		}
	}()
	first, last := sim.Extensions()
	fmt.Printf("pbx-csta: %s\npbx-control: http://%s/\n", cl.Addr(), hl.Addr())
	fmt.Printf("config: extensions=%d-%d %s\n", first, last, sim.Describe())
	if rate > 0 {
		fmt.Printf("load: %.1f calls/s\n", rate)
		go sim.RunLoad(ctx, rate, ring, talk)
	}
	<-ctx.Done()
	cl.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
