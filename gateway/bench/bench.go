// Package bench is the load and latency benchmark behind `make bench`: it
// starts a real PostgreSQL and slapd, the simulated PBX and the gateway
// (as its own process, so that its CPU and memory can be read), connects
// simulated agents over the wire protocol, drives inbound calls through
// them, and measures event latency from the moment the PBX writes an event
// to the moment the agent's client has decoded it, against the floor of a
// bare relay of the same events. Speed is measured here, never asserted
// in tests.
package bench

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/csta"
	"crmcti/gateway/devstack"
	"crmcti/gateway/pbxsim"
	"crmcti/gateway/phone"
	"crmcti/gateway/postgres"
)

// Config is one benchmark run.
type Config struct {
	Agents   int           // simulated agents, each with its own extension
	Rate     float64       // inbound calls per second
	Duration time.Duration // how long calls are started
	Talk     time.Duration // ring-to-hangup pace: answer, then hold, retrieve, hang up a third of it apart
	Contacts int           // customers in the directory (two numbers each) for the lookup figures
	Lookups  int           // lookups measured
	// Runs is how many times the load phase runs, through the gateway and
	// through the floor; the report gives each figure's median and worst
	// run, and judges the worst (default 1).
	Runs int
	// ProfileDir, when set, receives the gateway's profiles: CPU and
	// allocations under load, the heap with every agent idle.
	ProfileDir string
	// StormWidth is how many agents log in at once in the login storm
	// (0: all of them).
	StormWidth int
	// GatewayBin is the ctigateway binary, run as its own process.
	GatewayBin string
	// RelayBin, when set, runs the floor's relay as its own process
	// (RelayBin -relay-for ADDR -relay-agents N, printing "relay: URL"):
	// with thousands of agents, relay and clients in one process would
	// need two descriptors per agent. Empty: in-process.
	RelayBin string
	// WasmPath is core.wasm, for the size figures ("" to skip).
	WasmPath string
	// ExtensionDir is the unpacked extension, for the start-up figures in
	// headless Chromium ("" to skip).
	ExtensionDir string
	Logger       *slog.Logger
	Progress     io.Writer
}

// firstExtension numbers the agents' phones.
const firstExtension = 10000

func (c *Config) defaults() {
	if c.Agents <= 0 {
		c.Agents = 100
	}
	if c.Rate <= 0 {
		c.Rate = 10
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Talk <= 0 {
		c.Talk = 3 * time.Second
	}
	if c.Contacts <= 0 {
		c.Contacts = 10_000
	}
	if c.Lookups <= 0 {
		c.Lookups = 2000
	}
	if c.Runs <= 0 {
		c.Runs = 1
	}
	if c.StormWidth <= 0 || c.StormWidth > c.Agents {
		c.StormWidth = c.Agents
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

func (c *Config) say(format string, args ...any) {
	fmt.Fprintf(c.Progress, "ctibench: "+format+"\n", args...)
}

// Run runs the benchmark.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.defaults()
	rep := &Report{Config: cfg, Started: time.Now()}
	env, err := startEnvironment(ctx, &cfg, rep)
	defer env.close()
	if err != nil {
		return nil, err
	}
	if err := cfg.gatewayPhase(ctx, env, rep); err != nil {
		return nil, err
	}
	if err := cfg.floorPhase(ctx, env, rep); err != nil {
		return nil, err
	}
	if cfg.WasmPath != "" {
		rep.Wasm, _ = wasmSize(cfg.WasmPath)
	}
	if cfg.ExtensionDir != "" {
		cfg.say("measuring the extension's start-up in headless Chromium")
		rings, ringErr := rep.Extension.FirstRings, rep.Extension.FirstRingError // measured with the gateway up
		if rep.Extension, err = MeasureExtension(ctx, cfg.ExtensionDir, 5, 10); err != nil {
			return nil, fmt.Errorf("extension timing: %w", err)
		}
		rep.Extension.FirstRings, rep.Extension.FirstRingError = rings, ringErr
		cfg.say("measuring the cold start floor: the smallest Go wasm program in the same browser")
		if floor, err := MeasureColdFloor(ctx, 5); err != nil {
			rep.Extension.FloorError = err.Error()
		} else {
			rep.Extension.Floor = &floor
		}
	}
	rep.Finished = time.Now()
	return rep, nil
}

// environment is what both phases run against: the database seeded, the
// directory, and the switch with the clock of every event it writes.
type environment struct {
	pgURL, ldapURL, pbxAddr string
	pgGroup, ldapGroup      int // process groups, for their CPU time
	sim                     *pbxsim.Sim
	written                 *clock
	closers                 []func()
}

func (e *environment) close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
}

// startEnvironment starts PostgreSQL (seeded, its lookups measured),
// slapd with the agents and the simulated PBX.
func startEnvironment(ctx context.Context, cfg *Config, rep *Report) (*environment, error) {
	env := &environment{written: newClock()}
	cfg.say("starting PostgreSQL and slapd with %d agents", cfg.Agents)
	pg, err := devstack.StartPostgres(ctx)
	if err != nil {
		return env, err
	}
	env.closers = append(env.closers, func() { pg.Close() })
	env.pgURL, env.pgGroup = pg.URL(), pg.ProcessGroup()
	dir, err := devstack.StartLDAP(ctx, devstack.LDAPOptions{LDIF: agentsLDIF(cfg.Agents)})
	if err != nil {
		return env, err
	}
	env.closers = append(env.closers, func() { dir.Close() })
	env.ldapURL, env.ldapGroup = dir.URL(), dir.ProcessGroup()
	if err := seed(ctx, cfg, env.pgURL, rep); err != nil {
		return env, err
	}
	// The switch, with the clock: every event's write time, by call and
	// panel event name.
	p, _ := csta.LookupProfile("openscape")
	env.sim = pbxsim.New(pbxsim.Config{Profile: p, FirstExtension: firstExtension, LastExtension: firstExtension + cfg.Agents - 1,
		OnEventWritten: env.written.stampWritten})
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return env, err
	}
	go env.sim.ServeCSTA(pl)
	env.closers = append(env.closers, func() { env.sim.Close() })
	env.pbxAddr = pl.Addr().String()
	return env, nil
}

// seed migrates the database, copies the contacts in and measures the
// lookups.
func seed(ctx context.Context, cfg *Config, url string, rep *Report) error {
	db, err := postgres.Open(ctx, url)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	cfg.say("seeding %d contacts with %d numbers by COPY", cfg.Contacts, 2*cfg.Contacts)
	seedStart := time.Now()
	if err := db.CopyContacts(ctx, cfg.Contacts, benchContact); err != nil {
		return err
	}
	rep.SeedSeconds = time.Since(seedStart).Seconds()
	cfg.say("measuring %d lookups", cfg.Lookups)
	rep.Lookup, err = measureLookups(ctx, db, cfg.Contacts, cfg.Lookups)
	return err
}

// idleSettle is how long the idle gateway is left before its RSS is read.
const idleSettle = 5 * time.Second

// gatewayPhase logs every agent in through the gateway (a storm, then
// one at a time) and drives the calls through it, Runs times and once
// more under the profiler.
func (cfg *Config) gatewayPhase(ctx context.Context, env *environment, rep *Report) error {
	pprofAddr, err := freeAddr()
	if err != nil {
		return err
	}
	gw, err := startGatewayWith(ctx, cfg.GatewayBin, "127.0.0.1:0", os.Stderr, []string{"CTI_PPROF_LISTEN=" + pprofAddr},
		env.pgURL, env.ldapURL, env.pbxAddr)
	if err != nil {
		return err
	}
	defer gw.stop()
	rssIdle0, _ := procRSS(gw.pid)

	cfg.say("logging in %d agents, %d at once", cfg.Agents, cfg.StormWidth)
	cpu0 := stormCPU(env, gw.pid)
	// The storm's first seconds under the profiler: where a login's CPU
	// goes when ten thousand come at once.
	var stormProf []string
	profiled := make(chan struct{})
	go func() {
		defer close(profiled)
		cfg.saveProfile(ctx, pprofAddr, "profile?seconds=8", "gateway-storm-cpu.pb.gz", &stormProf)
	}()
	agents, err := cfg.loginStorm(ctx, gw.url, rep)
	rep.Storm.CPU = stormCPU(env, gw.pid).minus(cpu0, len(agents))
	<-profiled
	rep.Profiles = append(rep.Profiles, stormProf...)
	if err != nil {
		return err
	}
	defer hangUpAll(agents)
	// Idle, as an operator reads it on a gateway whose agents are all
	// logged in: the heap profile forces a collection, and the RSS is read
	// a few seconds later, once the runtime's scavenger has returned what
	// the storm's peak (ten thousand logins in flight) left behind.
	time.Sleep(time.Second)
	cfg.saveProfile(ctx, pprofAddr, "heap?gc=1", "gateway-idle-heap.pb.gz", &rep.Profiles)
	time.Sleep(idleSettle)
	rssIdle1, _ := procRSS(gw.pid)
	rep.GatewayRSSBytes = rssIdle1
	rep.RSSPerAgentBytes = float64(rssIdle1-rssIdle0) / float64(cfg.Agents)
	cfg.saveGoroutines(ctx, pprofAddr, rep)

	// One login at a time, on top of the logged-in crowd: the latency an
	// agent sees when not everybody logs in in the same second.
	var single []time.Duration
	for range min(200, cfg.Agents) {
		a, d, err := dialAgent(ctx, gw.url, fmt.Sprintf("agent%05d", rand.IntN(cfg.Agents)), "bench", "")
		if err != nil {
			return err
		}
		a.hangUp()
		single = append(single, d)
	}
	rep.Login = summarize(single)

	rep.Runs = make([]LoadRun, cfg.Runs)
	for i := range rep.Runs {
		cfg.say("run %d of %d: driving %.0f calls/s for %s through the gateway", i+1, cfg.Runs, cfg.Rate, cfg.Duration)
		env.written.reset()
		if rep.Runs[i].Gateway, err = drive(ctx, *cfg, env.sim, env.written, agents, gatewayActions, gw.pid); err != nil {
			return err
		}
	}
	if err := cfg.profiledRun(ctx, env, agents, gw.pid, pprofAddr, rep); err != nil {
		return err
	}
	// The first ring needs this gateway and its logged-in agents.
	cfg.firstRings(ctx, env, gw.url, agents, rep)
	return nil
}

// floorPhase drives the same load through the bare relay, Runs times.
func (cfg *Config) floorPhase(ctx context.Context, env *environment, rep *Report) error {
	devices := make([]string, cfg.Agents)
	for i := range devices {
		devices[i] = fmt.Sprint(firstExtension + i)
	}
	relayURL, stopRelay, err := cfg.startRelay(ctx, env.pbxAddr, devices)
	if err != nil {
		return err
	}
	defer stopRelay()
	floorAgents := make([]*agent, 0, cfg.Agents)
	defer func() { hangUpAll(floorAgents) }()
	for _, d := range devices {
		a, err := relayAgent(ctx, relayURL, d)
		if err != nil {
			return err
		}
		floorAgents = append(floorAgents, a)
	}
	time.Sleep(200 * time.Millisecond)
	for i := range rep.Runs {
		cfg.say("run %d of %d: driving the same load through the bare relay (the floor)", i+1, len(rep.Runs))
		env.written.reset()
		if rep.Runs[i].Floor, err = drive(ctx, *cfg, env.sim, env.written, floorAgents, phoneActions(env.sim), 0); err != nil {
			return err
		}
	}
	return nil
}

// benchContact is customer i: two numbers, mobile and work.
func benchContact(i int) gateway.Contact {
	m := fmt.Sprintf("+3579%07d", i)
	w := fmt.Sprintf("+3572%07d", i)
	pm, pw := phone.Normalize(m, "CY"), phone.Normalize(w, "CY")
	return gateway.Contact{Code: fmt.Sprintf("B%07d", i), FullName: fmt.Sprintf("Customer %d", i), Type: "Individual",
		Phones: []gateway.Phone{{Kind: "mobile", Raw: m, E164: pm.E164, National: pm.National}, {Kind: "work", Raw: w, E164: pw.E164, National: pw.National}}}
}

func measureLookups(ctx context.Context, db *postgres.DB, contacts, n int) (Summary, error) {
	var ds []time.Duration
	for range n {
		i := rand.IntN(contacts)
		num := phone.Normalize(fmt.Sprintf("+3572%07d", i), "CY")
		start := time.Now()
		ms, err := db.LookupNumber(ctx, num.E164, num.National)
		d := time.Since(start)
		if err != nil {
			return Summary{}, err
		}
		if len(ms) != 1 {
			return Summary{}, fmt.Errorf("lookup of customer %d found %d", i, len(ms))
		}
		ds = append(ds, d)
	}
	return summarize(ds), nil
}

// agentsLDIF is a directory of n CTI agents, agent00000…, extensions from
// firstExtension, password "bench".
func agentsLDIF(n int) string {
	h := sha1.New()
	h.Write([]byte("bench"))
	h.Write([]byte("saltsalt"))
	pw := "{SSHA}" + base64.StdEncoding.EncodeToString(append(h.Sum(nil), []byte("saltsalt")...))
	var b strings.Builder
	base := devstack.DemoSuffix
	fmt.Fprintf(&b, "dn: %s\nobjectClass: dcObject\nobjectClass: organization\no: Bench\ndc: example\n\n", base)
	fmt.Fprintf(&b, "dn: ou=people,%s\nobjectClass: organizationalUnit\nou: people\n\n", base)
	fmt.Fprintf(&b, "dn: ou=groups,%s\nobjectClass: organizationalUnit\nou: groups\n\n", base)
	fmt.Fprintf(&b, "dn: ou=services,%s\nobjectClass: organizationalUnit\nou: services\n\n", base)
	fmt.Fprintf(&b, "dn: %s\nobjectClass: person\ncn: ctigateway\nsn: Gateway\nuserPassword: %s\n\n", devstack.DemoBindDN, pw)
	for i := range n {
		fmt.Fprintf(&b, "dn: uid=agent%05d,%s\nobjectClass: inetOrgPerson\nuid: agent%05d\ncn: Agent %d\nsn: %d\ntelephoneNumber: %d\nuserPassword: %s\n\n",
			i, devstack.DemoPeople, i, i, i, firstExtension+i, pw)
	}
	fmt.Fprintf(&b, "dn: %s\nobjectClass: groupOfNames\ncn: cti-agents\n", devstack.DemoCTIGroup)
	for i := range n {
		fmt.Fprintf(&b, "member: uid=agent%05d,%s\n", i, devstack.DemoPeople)
	}
	return b.String()
}

type gatewayProc struct {
	cmd  *exec.Cmd
	pid  int
	url  string
	once sync.Once
}

// startGateway runs bin serve listening on listen, its log to stderr,
// and waits until /readyz says the PBX link is up.
func startGateway(ctx context.Context, bin, listen string, stderr io.Writer, dbURL, ldapURL, pbxAddr string) (*gatewayProc, error) {
	return startGatewayWith(ctx, bin, listen, stderr, nil, dbURL, ldapURL, pbxAddr)
}

// startGatewayWith is startGateway with more CTI_* settings in env.
func startGatewayWith(ctx context.Context, bin, listen string, stderr io.Writer, env []string, dbURL, ldapURL, pbxAddr string) (*gatewayProc, error) {
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(append(os.Environ(), env...),
		"CTI_LISTEN="+listen, "CTI_PBX_ADDR="+pbxAddr, "CTI_DATABASE_URL="+dbURL, "CTI_LDAP_URL="+ldapURL,
		"CTI_LDAP_BIND_DN="+devstack.DemoBindDN, "CTI_LDAP_BIND_PASSWORD=bench", "CTI_LDAP_USER_BASE="+devstack.DemoPeople,
		"CTI_LDAP_CTI_GROUP="+devstack.DemoCTIGroup, "CTI_LOG_LEVEL=warn",
		"CTI_LEASE=0") // one gateway: the single-instance lock, no fencing on a database outage (failover.go runs pairs)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	g := &gatewayProc{cmd: cmd, pid: cmd.Process.Pid}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "gateway: "); ok {
			g.url = u
			break
		}
	}
	if g.url == "" {
		g.stop()
		return nil, errors.New("the gateway did not start")
	}
	go io.Copy(io.Discard, out)
	// Wait for the PBX link: /readyz.
	deadline := time.Now().Add(20 * time.Second)
	health := "http://" + strings.TrimSuffix(strings.TrimPrefix(g.url, "ws://"), "/ws") + "/readyz"
	for !ready(health) {
		if time.Now().After(deadline) {
			g.stop()
			return nil, errors.New("the gateway never became ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return g, nil
}

func (g *gatewayProc) stop() {
	g.once.Do(func() {
		g.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { g.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			g.cmd.Process.Kill()
			<-done
		}
	})
}

// actions is how a run answers, holds, retrieves and ends a call: through
// the gateway (the agent's commands) or on the phone (the floor, which has
// no commands).
type actions func(a *agent, callID, step string)

func gatewayActions(a *agent, callID, step string) {
	type ref struct {
		CallID string `json:"callId"`
	}
	_ = a.send(context.Background(), step, ref{CallID: callID})
}

func phoneActions(sim *pbxsim.Sim) actions {
	return func(a *agent, callID, step string) {
		switch step {
		case "answer":
			_ = sim.Answer(callID, a.ext)
		case "hold":
			_ = sim.Hold(callID, a.ext)
		case "retrieve":
			_ = sim.Retrieve(callID, a.ext)
		case "hangup":
			_ = sim.Hangup(callID, a.ext)
		}
	}
}

var sequence = []string{"rang", "answered", "held", "retrieved", "ended"}

// phaseRun is one phase's bookkeeping, shared by the agents' reactions
// and the driver.
type phaseRun struct {
	mu      sync.Mutex
	idle    []*agent
	got     map[string][]string // call -> events in decode order
	seen    map[string]struct{} // calls this phase started
	decoded []callEvent
}

// drive starts calls at the configured rate on idle agents and lets each
// agent work its call; then it pairs every decoded event with its write.
// The agents stay connected for the next run.
func drive(ctx context.Context, cfg Config, sim *pbxsim.Sim, written *clock, agents []*agent, act actions, gwPid int) (Phase, error) {
	p := &phaseRun{idle: append([]*agent(nil), agents...), got: map[string][]string{}, seen: map[string]struct{}{}}
	for _, a := range agents {
		p.react(a, act, cfg.Talk/3)
	}
	cpu0, _ := procCPU(gwPid)
	in0, out0 := sim.Frames()
	start := time.Now()
	started, err := p.startCalls(ctx, cfg, sim)
	if err != nil {
		return Phase{}, err
	}
	loadWall := time.Since(start)
	cpu1, _ := procCPU(gwPid)
	p.waitIdle(len(agents), cfg.Talk+10*time.Second)
	wall := time.Since(start)
	in1, out1 := sim.Frames()

	run := Phase{CallsStarted: started, Seconds: wall.Seconds()}
	run.CSTAPerSecond = float64((in1-in0)+(out1-out0)) / wall.Seconds()
	if gwPid != 0 {
		run.CPUPercentOfOneCore = 100 * (cpu1 - cpu0) / loadWall.Seconds()
	}
	p.tally(&run, written)
	return run, nil
}

// react makes an agent work each of its calls as a person would: answer
// soon after it rings, then hold, retrieve and hang up step apart.
func (p *phaseRun) react(a *agent, act actions, step time.Duration) {
	next := map[string]string{"rang": "answer", "answered": "hold", "held": "retrieve", "retrieved": "hangup"}
	a.watchCalls(func(ev callEvent) {
		// Record before the driver may have noted the call: its first
		// event can beat StartInbound's return.
		p.mu.Lock()
		p.got[ev.callID] = append(p.got[ev.callID], ev.event)
		p.decoded = append(p.decoded, ev)
		if ev.event == "ended" {
			p.idle = append(p.idle, a)
		}
		p.mu.Unlock()
		if s, ok := next[ev.event]; ok {
			delay := step
			if ev.event == "rang" {
				delay = step / 3
			}
			time.AfterFunc(delay, func() { act(a, ev.callID, s) })
		}
	})
}

// startCalls rings an idle agent at the configured rate for the
// configured time and returns how many calls it started.
func (p *phaseRun) startCalls(ctx context.Context, cfg Config, sim *pbxsim.Sim) (int, error) {
	tick := time.NewTicker(time.Duration(float64(time.Second) / cfg.Rate))
	defer tick.Stop()
	started := 0
	for start := time.Now(); time.Since(start) < cfg.Duration; {
		select {
		case <-ctx.Done():
			return started, ctx.Err()
		case <-tick.C:
		}
		a := p.takeIdle()
		if a == nil {
			continue
		}
		res, err := sim.StartInbound(fmt.Sprintf("+3579%07d", rand.IntN(10_000_000)), a.ext)
		p.mu.Lock()
		if err != nil || res.Outcome != pbxsim.OutcomeAlerting {
			p.idle = append(p.idle, a)
		} else {
			p.seen[res.CallID] = struct{}{}
			started++
		}
		p.mu.Unlock()
	}
	return started, nil
}

func (p *phaseRun) takeIdle() *agent {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) == 0 {
		return nil
	}
	i := rand.IntN(len(p.idle))
	a := p.idle[i]
	p.idle = append(p.idle[:i:i], p.idle[i+1:]...)
	return a
}

// waitIdle lets the calls in progress finish, for at most limit.
func (p *phaseRun) waitIdle(agents int, limit time.Duration) {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		p.mu.Lock()
		done := len(p.idle) == agents
		p.mu.Unlock()
		if done {
			return
		}
	}
}

// tally counts, for the calls the phase started, the events lost or out
// of order, and pairs each decoded event with its write for the latency.
func (p *phaseRun) tally(run *Phase, written *clock) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for callID := range p.seen {
		evs := p.got[callID]
		pos := 0
		for _, e := range evs {
			k := indexOf(sequence, e)
			if k < 0 {
				continue
			}
			if k < pos {
				run.OutOfOrder++
			}
			pos = max(pos, k)
		}
		missing := 0
		for _, want := range sequence {
			if indexOf(evs, want) < 0 {
				missing++
			}
		}
		run.Lost += missing
		if missing > 0 && len(run.LostExamples) < 5 {
			run.LostExamples = append(run.LostExamples, fmt.Sprintf("%s: got %v", callID, evs))
		}
	}
	var lat []time.Duration
	for _, ev := range p.decoded {
		if _, ours := p.seen[ev.callID]; !ours || indexOf(sequence, ev.event) < 0 {
			continue
		}
		if w, ok := written.get(ev.callID, ev.event); ok {
			lat = append(lat, ev.at.Sub(w))
		}
	}
	run.EventLatency = summarize(lat)
	run.Events = len(lat)
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// clock records when each event was written, by call and panel event.
type clock struct {
	mu sync.Mutex
	at map[string]time.Time
}

func newClock() *clock { return &clock{at: map[string]time.Time{}} }

func (c *clock) reset() {
	c.mu.Lock()
	c.at = map[string]time.Time{}
	c.mu.Unlock()
}

func (c *clock) stampWritten(ev csta.Event, at time.Time) {
	name, callID, ok := writtenKey(ev)
	if !ok {
		return
	}
	c.mu.Lock()
	k := callID + "/" + name
	if _, dup := c.at[k]; !dup {
		c.at[k] = at
	}
	c.mu.Unlock()
}

func (c *clock) get(callID, name string) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.at[callID+"/"+name]
	return t, ok
}

// writtenKey pairs a written event with what the agent decodes. Calls in
// the benchmark come from outside to one extension, so the extension is
// the only party whose events the agent sees.
func writtenKey(ev csta.Event) (name, callID string, ok bool) {
	if e, isClear := ev.(*csta.ConnectionClearedEvent); isClear {
		if strings.HasPrefix(string(e.DroppedConnection.DeviceID), "N<") {
			return "", "", false // the far end leaving
		}
	}
	return eventOf(ev, "")
}

func wasmSize(path string) (WasmSize, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return WasmSize{}, err
	}
	return WasmSize{RawBytes: len(b), GzipBytes: gzipLen(b)}, nil
}

func ready(url string) bool {
	res, err := http.Get(url)
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// startRelay runs the floor's relay, in-process or as RelayBin.
func (c *Config) startRelay(ctx context.Context, pbxAddr string, devices []string) (string, func(), error) {
	if c.RelayBin == "" {
		r, err := startRelay(ctx, pbxAddr, devices)
		if err != nil {
			return "", nil, err
		}
		return r.url, r.close, nil
	}
	cmd := exec.Command(c.RelayBin, "-relay-for", pbxAddr, "-relay-agents", fmt.Sprint(len(devices)))
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "relay: "); ok {
			go io.Copy(io.Discard, out)
			return u, stop, nil
		}
	}
	stop()
	return "", nil, errors.New("the relay did not start")
}

// ServeRelay runs the floor's relay for n agents' devices until ctx ends,
// printing "relay: URL" when ready (the RelayBin side).
func ServeRelay(ctx context.Context, pbxAddr string, n int, out io.Writer) error {
	devices := make([]string, n)
	for i := range devices {
		devices[i] = fmt.Sprint(firstExtension + i)
	}
	r, err := startRelay(ctx, pbxAddr, devices)
	if err != nil {
		return err
	}
	defer r.close()
	fmt.Fprintf(out, "relay: %s\n", r.url)
	<-ctx.Done()
	return nil
}
