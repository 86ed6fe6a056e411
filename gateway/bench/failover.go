package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"crmcti/gateway/csta"
	"crmcti/gateway/devstack"
	"crmcti/gateway/pbxsim"
	"crmcti/gateway/postgres"
)

// FailoverConfig is one run of ctibench -failover (issue 14): two
// gateways on one database, agents on the active one with calls in
// every state, then the active killed (SIGKILL) and, in a second round,
// stopped cleanly (SIGTERM); each time measured against the switch.
type FailoverConfig struct {
	Agents     int           // agents logged in (default 200)
	Lease      time.Duration // the gateways' -lease (default 2s)
	GatewayBin string
	Progress   io.Writer
}

func (c *FailoverConfig) defaults() {
	if c.Agents <= 0 {
		c.Agents = 200
	}
	if c.Lease <= 0 {
		c.Lease = 2 * time.Second
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
}

func (c *FailoverConfig) say(format string, args ...any) {
	fmt.Fprintf(c.Progress, time.Now().Format("15:04:05.000")+" "+format+"\n", args...)
}

// FailoverReport is a run of the failover benchmark.
type FailoverReport struct {
	Started, Finished time.Time
	Agents            int
	Lease             time.Duration
	Results           []FailoverResult
}

// FailoverResult is one failover, measured from the signal to the active
// gateway (t0). The switch is the truth: at t0 it holds one call per
// busy agent, ringing, connected or held; during the gap the phones
// answer some ringing calls and hang up some connected ones.
type FailoverResult struct {
	Kind string // "sigkill" or "sigterm"
	// TakeOver is t0 until the standby's /readyz says active.
	TakeOver time.Duration
	// Back: t0 until each agent's panel has its snapshot from the new
	// active (its session resumed): median, 95th percentile, max.
	BackMedian, BackP95, BackMax time.Duration
	AgentsBack                   int // of Agents, within 30 s
	Relogins                     int // agents whose session did not resume
	// Calls are the switch's calls at t0 (by state); CallsLost those the
	// switch still had after the take-over that a panel did not show;
	// WrongState those a panel showed in another state than the
	// switch's, or still live when the switch had ended them.
	Calls            map[string]int
	CallsLost        int
	WrongState       int
	ChangedInGap     int // calls the phones answered or hung up during the gap
	RowsChecked      int // calls that began before t0: each must have a call-log row...
	RowsLost         int // ...and these have none
	RowsOpen         int // rows without an end although the switch ended the call
	WhollyInGapCalls int // always 0 here: calls wholly inside the gap are invisible to any CTI
	Notes            []string
}

// RunFailover runs the benchmark.
func RunFailover(ctx context.Context, cfg FailoverConfig) (*FailoverReport, error) {
	cfg.defaults()
	rep := &FailoverReport{Started: time.Now(), Agents: cfg.Agents, Lease: cfg.Lease}
	pr, err := startPairRig(ctx, &cfg)
	defer pr.close()
	if err != nil {
		return nil, err
	}
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		res, err := pr.failover(ctx, sig)
		if err != nil {
			return rep, err
		}
		cfg.say("%s", res.Line())
		rep.Results = append(rep.Results, res)
	}
	rep.Finished = time.Now()
	return rep, nil
}

// Line is the result in one line.
func (r FailoverResult) Line() string {
	return fmt.Sprintf("%s: take-over %v, agents back %d (median %v, p95 %v, max %v), re-logins %d, calls %v, lost %d, wrong state %d, changed in gap %d, rows checked %d lost %d open %d",
		r.Kind, r.TakeOver.Round(time.Millisecond), r.AgentsBack, r.BackMedian.Round(time.Millisecond), r.BackP95.Round(time.Millisecond),
		r.BackMax.Round(time.Millisecond), r.Relogins, r.Calls, r.CallsLost, r.WrongState, r.ChangedInGap, r.RowsChecked, r.RowsLost, r.RowsOpen)
}

// pairRig is PostgreSQL, slapd, the switch and two gateways, each
// reaching the switch through its own frame tap.
type pairRig struct {
	cfg     *FailoverConfig
	pg      *devstack.Postgres
	ldap    *devstack.LDAP
	db      *postgres.DB
	sim     *pbxsim.Sim
	nodes   [2]*haNode
	agents  []*failAgent
	cancel  context.CancelFunc
	closers []func()
}

func (r *pairRig) close() {
	if r.cancel != nil {
		r.cancel()
	}
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
}

func startPairRig(ctx context.Context, cfg *FailoverConfig) (*pairRig, error) {
	r := &pairRig{cfg: cfg}
	cfg.say("starting PostgreSQL, slapd (%d agents), pbxsim", cfg.Agents)
	var err error
	if r.pg, err = devstack.StartPostgres(ctx); err != nil {
		return r, err
	}
	r.closers = append(r.closers, func() { r.pg.Close() })
	if r.ldap, err = devstack.StartLDAP(ctx, devstack.LDAPOptions{LDIF: agentsLDIF(cfg.Agents)}); err != nil {
		return r, err
	}
	r.closers = append(r.closers, func() { r.ldap.Close() })
	if r.db, err = postgres.Open(ctx, r.pg.URL()); err != nil {
		return r, err
	}
	r.closers = append(r.closers, r.db.Close)
	if _, err := r.db.Migrate(ctx); err != nil {
		return r, err
	}
	p, _ := csta.LookupProfile("openscape")
	r.sim = pbxsim.New(pbxsim.Config{Profile: p, FirstExtension: firstExtension, LastExtension: firstExtension + cfg.Agents - 1})
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return r, err
	}
	go r.sim.ServeCSTA(pl)
	r.closers = append(r.closers, func() { r.sim.Close() })
	return r, r.startNodes(ctx, pl.Addr().String())
}

// startNodes starts gw-1 (it becomes active), then gw-2 (standby), and
// logs every agent in on gw-1.
func (r *pairRig) startNodes(ctx context.Context, pbxAddr string) error {
	dir, err := os.MkdirTemp("", "ctibench-failover-")
	if err != nil {
		return err
	}
	r.closers = append(r.closers, func() { os.RemoveAll(dir) })
	for i := range r.nodes {
		n, err := newHANode(fmt.Sprintf("gw-%d", i+1), dir, pbxAddr, r.cfg.Lease, r.cfg.GatewayBin, r.pg.URL(), r.ldap.URL(), r.cfg.Agents)
		if err != nil {
			return err
		}
		r.nodes[i] = n
		r.closers = append(r.closers, n.close)
		if err := n.start(ctx); err != nil {
			return err
		}
		if i == 0 {
			if err := n.awaitActive(ctx, 20*time.Second); err != nil {
				return err
			}
		}
	}
	r.cfg.say("gateways: %s (active, log %s), %s (standby, log %s); logging in %d agents",
		r.nodes[0].url(), r.nodes[0].log.Name(), r.nodes[1].url(), r.nodes[1].log.Name(), r.cfg.Agents)
	actx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	urls := []string{r.nodes[0].url(), r.nodes[1].url()}
	for i := range r.cfg.Agents {
		a := &failAgent{user: fmt.Sprintf("agent%05d", i), ext: fmt.Sprint(firstExtension + i), urls: urls, calls: map[string]string{}}
		r.agents = append(r.agents, a)
		if err := a.login(actx); err != nil {
			return fmt.Errorf("agent %s: %w", a.user, err)
		}
		go a.run(actx)
	}
	return nil
}

// active is the node now active, and the other.
func (r *pairRig) active() (*haNode, *haNode) {
	if r.nodes[0].isActive() {
		return r.nodes[0], r.nodes[1]
	}
	return r.nodes[1], r.nodes[0]
}

// haNode is one ctigateway serve process of the pair, restartable on the
// same address and spool.
type haNode struct {
	name, addr, spool, bin string
	env                    []string
	log                    *os.File
	tap                    *frameTap

	mu  sync.Mutex
	cmd *exec.Cmd
}

func newHANode(name, dir, pbxAddr string, lease time.Duration, bin, dbURL, ldapURL string, agents int) (*haNode, error) {
	port, err := freeLoopbackPort()
	if err != nil {
		return nil, err
	}
	tap, err := startFrameTap(pbxAddr)
	if err != nil {
		return nil, err
	}
	n := &haNode{name: name, addr: fmt.Sprintf("127.0.0.1:%d", port), spool: filepath.Join(dir, name+"-spool"), bin: bin, tap: tap}
	// The log outlives the run, for a look at what the gateway did.
	if n.log, err = os.CreateTemp("", "ctibench-failover-"+name+"-*.log"); err != nil {
		tap.close()
		return nil, err
	}
	n.env = append(os.Environ(), "CTI_LISTEN="+n.addr, "CTI_PBX_ADDR="+tap.addr(), "CTI_DATABASE_URL="+dbURL, "CTI_LDAP_URL="+ldapURL,
		"CTI_LDAP_BIND_DN="+devstack.DemoBindDN, "CTI_LDAP_BIND_PASSWORD=bench", "CTI_LDAP_USER_BASE="+devstack.DemoPeople,
		"CTI_LDAP_CTI_GROUP="+devstack.DemoCTIGroup, "CTI_LOG_LEVEL=info", "CTI_LEASE="+lease.String(), "CTI_NODE="+name,
		"CTI_SPOOL_DIR="+n.spool,
		// Every agent comes from this one address, as a call centre behind
		// NAT does, and all of them come at once after a failover: the
		// README tells such a deployment to allow as many sockets not yet
		// logged in per address as it has agents.
		fmt.Sprintf("CTI_MAX_UNAUTHENTICATED=%d", max(agents, 20)))
	return n, nil
}

func (n *haNode) url() string { return "ws://" + n.addr + "/ws" }

// start runs the process and waits until it serves HTTP (active or not).
func (n *haNode) start(ctx context.Context) error {
	cmd := exec.Command(n.bin, "serve")
	cmd.Env, cmd.Stderr = n.env, n.log
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", n.bin, err)
	}
	n.mu.Lock()
	n.cmd = cmd
	n.mu.Unlock()
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "gateway: ") {
			go io.Copy(io.Discard, out)
			return nil
		}
	}
	cmd.Wait()
	return fmt.Errorf("%s did not start (log: %s)", n.name, n.log.Name())
}

// signal sends sig to the process; after SIGKILL or SIGTERM it waits
// for the exit.
func (n *haNode) signal(sig syscall.Signal) {
	n.mu.Lock()
	cmd := n.cmd
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(sig)
	if sig == syscall.SIGKILL || sig == syscall.SIGTERM {
		cmd.Wait()
		n.mu.Lock()
		n.cmd = nil
		n.mu.Unlock()
	}
}

func (n *haNode) close() {
	n.signal(syscall.SIGKILL)
	n.tap.close()
	n.log.Close()
}

// isActive asks /readyz.
func (n *haNode) isActive() bool { return ready("http://" + n.addr + "/readyz") }

// awaitWatching waits until the standby watches want phones (its
// /readyz says how many), at most limit; it returns how many it watches.
func (n *haNode) awaitWatching(ctx context.Context, want int, limit time.Duration) (int, error) {
	deadline := time.Now().Add(limit)
	for {
		watching := 0
		if res, err := http.Get("http://" + n.addr + "/readyz"); err == nil {
			var body map[string]string
			json.NewDecoder(res.Body).Decode(&body)
			res.Body.Close()
			watching, _ = strconv.Atoi(body["watching"])
		}
		if watching >= want {
			return watching, nil
		}
		if time.Now().After(deadline) {
			return watching, fmt.Errorf("failover: the standby %s watches %d phones of %d after %v", n.name, watching, want, limit)
		}
		select {
		case <-ctx.Done():
			return watching, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (n *haNode) awaitActive(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for !n.isActive() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return errors.Join(ctx.Err(), fmt.Errorf("%s never became active (log: %s)", n.name, n.log.Name()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// Markdown is the report as FAILOVER.md shows it.
func (rep *FailoverReport) Markdown(machine, command string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Run %s on %s: `%s`; %d agents, lease %s, two gateways and everything else on this one machine.\n\n",
		rep.Started.UTC().Format("2006-01-02 15:04 MST"), machine, command, rep.Agents, rep.Lease)
	b.WriteString("| failover | calls at t0 | take-over | agents back (median / p95 / max) | re-logins | calls lost | wrong state | changed in the gap | call-log rows checked / lost / left open |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rep.Results {
		fmt.Fprintf(&b, "| %s | %d ringing, %d connected, %d held | %v | %d of %d (%v / %v / %v) | %d | %d | %d | %d | %d / %d / %d |\n",
			r.Kind, r.Calls["ringing"], r.Calls["connected"], r.Calls["held"], r.TakeOver.Round(time.Millisecond),
			r.AgentsBack, rep.Agents, r.BackMedian.Round(time.Millisecond), r.BackP95.Round(time.Millisecond), r.BackMax.Round(time.Millisecond),
			r.Relogins, r.CallsLost, r.WrongState, r.ChangedInGap, r.RowsChecked, r.RowsLost, r.RowsOpen)
	}
	for _, r := range rep.Results {
		for i, n := range r.Notes {
			if i == 10 {
				fmt.Fprintf(&b, "\n- %s: … %d more", r.Kind, len(r.Notes)-10)
				break
			}
			fmt.Fprintf(&b, "\n- %s: %s", r.Kind, n)
		}
	}
	b.WriteString("\n")
	return b.String()
}
