// Command ctibench is the load and latency benchmark (make bench): see
// package bench. It prints a markdown table, and writes it and a JSON
// report where asked.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"crmcti/gateway/bench"
)

func main() {
	var c bench.Config
	flag.IntVar(&c.Agents, "agents", 1000, "simulated agents (each logged in with its own extension)")
	flag.Float64Var(&c.Rate, "rate", 100, "inbound calls per second")
	flag.DurationVar(&c.Duration, "duration", 30*time.Second, "how long calls are started")
	flag.DurationVar(&c.Talk, "talk", 3*time.Second, "answer to hang-up time of each call")
	flag.IntVar(&c.Contacts, "contacts", 1_000_000, "customers in the directory (two numbers each)")
	flag.IntVar(&c.Lookups, "lookups", 5000, "caller lookups measured")
	flag.IntVar(&c.Runs, "runs", 3, "times the load phase runs (each figure: median and worst run; targets judged on the worst)")
	flag.IntVar(&c.StormWidth, "storm-at-once", 0, "agents logging in at once in the login storm (0: all)")
	flag.StringVar(&c.ProfileDir, "profile-dir", "test-output", "where the gateway's CPU, allocation and idle heap profiles go (empty: none)")
	flag.StringVar(&c.GatewayBin, "gateway", "bin/ctigateway", "the ctigateway binary to run")
	flag.StringVar(&c.WasmPath, "wasm", "extension/core.wasm", "core.wasm, for its size")
	flag.StringVar(&c.ExtensionDir, "extension", ".", "the unpacked extension, for its start-up in headless Chromium (empty: skip)")
	quick := flag.Bool("quick", false, "a small run that checks the pipeline works (not the speed)")
	relayFor := flag.String("relay-for", "", "internal: serve the floor relay for this PBX address")
	relayAgents := flag.Int("relay-agents", 0, "internal: how many agents the relay serves")
	faults := flag.Bool("faults", false, "run the fault suite under load instead of the benchmark (see RELIABILITY.md)")
	hold := flag.Duration("fault-hold", 10*time.Second, "with -faults: how long each fault lasts")
	pgDown := flag.Duration("postgres-down", 60*time.Second, "with -faults: how long PostgreSQL stays stopped")
	idle := flag.Int("idle-sockets", 2000, "with -faults: idle unauthenticated sockets opened")
	flood := flag.Int("flood-logins", 400, "with -faults: wrong-password logins of the login flood")
	only := flag.String("only", "", "with -faults: comma-separated fault names to run (default all)")
	failover := flag.Bool("failover", false, "run the failover benchmark (two gateways, the active killed) instead; see FAILOVER.md")
	lease := flag.Duration("lease", 2*time.Second, "with -failover: the gateways' -lease")
	md := flag.String("markdown", "", "also write the markdown report to this file")
	js := flag.String("json", "", "also write the JSON report to this file")
	selfProfile := flag.String("cpuprofile", "", "write ctibench's own CPU profile (its simulated browsers and PBX) to this file")
	flag.Parse()
	defer profileSelf(*selfProfile)()
	if *quick {
		c.Agents, c.Rate, c.Duration, c.Talk, c.Contacts, c.Lookups, c.Runs = 20, 10, 3*time.Second, 600*time.Millisecond, 2000, 200, 1
	}
	c.Progress = os.Stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *relayFor != "" {
		if err := bench.ServeRelay(ctx, *relayFor, *relayAgents, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "ctibench relay:", err)
			os.Exit(1)
		}
		return
	}
	if *failover {
		os.Exit(runFailover(ctx, bench.FailoverConfig{Agents: c.Agents, Lease: *lease, GatewayBin: c.GatewayBin, Progress: os.Stderr}, *md))
	}
	if *faults {
		fc := bench.FaultConfig{Agents: c.Agents, Rate: c.Rate, Talk: c.Talk, Hold: *hold, PostgresFor: *pgDown,
			IdleSockets: *idle, Logins: *flood, GatewayBin: c.GatewayBin, Progress: os.Stderr}
		if *only != "" {
			fc.Only = strings.Split(*only, ",")
		}
		os.Exit(runFaults(ctx, fc, *md, *js))
	}
	if self, err := os.Executable(); err == nil {
		c.RelayBin = self
	}
	rep, err := bench.Run(ctx, c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ctibench:", err)
		os.Exit(1)
	}
	rep.Machine = bench.Machine()
	rep.Command = "ctibench " + strings.Join(os.Args[1:], " ")
	out := rep.Markdown()
	fmt.Print(out)
	if *md != "" {
		doc := "# Benchmarks\n\nThe latest figures of `make bench` (gateway/cmd/ctibench). Speed is measured here, never asserted in tests.\n\n" + out + keptNotes(*md)
		if err := os.WriteFile(*md, []byte(doc), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if *js != "" {
		if err := os.WriteFile(*js, rep.JSON(), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

// runFaults runs the fault suite, prints and writes its report, and
// returns the exit status: 1 when any fault lost something or never
// recovered.
func runFaults(ctx context.Context, fc bench.FaultConfig, md, js string) int {
	rep, err := bench.RunFaults(ctx, fc)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ctibench -faults:", err)
		return 1
	}
	rep.Machine = bench.Machine()
	rep.Command = "ctibench " + strings.Join(os.Args[1:], " ")
	out := rep.Markdown()
	fmt.Print(out)
	if md != "" {
		if err := os.WriteFile(md, []byte(reliabilityDoc(out)), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	if js != "" {
		if err := os.WriteFile(js, rep.JSON(), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	if failed := rep.Failed(); len(failed) > 0 {
		fmt.Fprintln(os.Stderr, "ctibench -faults: lost something or never recovered:", strings.Join(failed, ", "))
		return 1
	}
	return 0
}

// keepMarker divides the figures a run writes from the notes people wrote
// under them (before and after, where the time goes), which a run keeps.
const keepMarker = "<!-- ctibench keeps everything below this line when it rewrites the figures above -->"

// keptNotes is the marker and what follows it in the existing file at
// path, or just the marker.
func keptNotes(path string) string {
	b, _ := os.ReadFile(path)
	if i := strings.Index(string(b), keepMarker); i >= 0 {
		return "\n" + string(b[i:])
	}
	return "\n" + keepMarker + "\n"
}

// profileSelf starts ctibench's own CPU profile into path (none for "")
// and returns what stops it: the bench's simulated browsers and PBX share
// the cores with what they measure, and their cost is evidence too.
func profileSelf(path string) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ctibench:", err)
		os.Exit(2)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "ctibench:", err)
		os.Exit(2)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}
