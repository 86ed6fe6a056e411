package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"crmcti/gateway/csta"
	"crmcti/gateway/devstack"
	"crmcti/gateway/pbxsim"
	"crmcti/gateway/postgres"
)

// FaultConfig is one run of the fault suite (ctibench -faults): the
// load of the benchmark, then each fault injected under it and checked
// against the switch's truth.
type FaultConfig struct {
	Agents      int           // agents logged in and working calls
	Rate        float64       // inbound calls per second
	Talk        time.Duration // answer to hang-up time of each call
	Hold        time.Duration // how long each fault lasts
	PostgresFor time.Duration // how long PostgreSQL stays stopped (default Hold)
	IdleSockets int           // unauthenticated sockets opened by the idle-socket fault
	Logins      int           // wrong-password logins of the login flood
	Only        []string      // fault names to run (empty: all)
	GatewayBin  string
	Progress    io.Writer
}

func (c *FaultConfig) defaults() {
	if c.Agents <= 0 {
		c.Agents = 20
	}
	if c.Rate <= 0 {
		c.Rate = 5
	}
	if c.Talk <= 0 {
		c.Talk = 900 * time.Millisecond
	}
	if c.Hold <= 0 {
		c.Hold = 3 * time.Second
	}
	if c.PostgresFor <= 0 {
		c.PostgresFor = c.Hold
	}
	if c.IdleSockets <= 0 {
		c.IdleSockets = 100
	}
	if c.Logins <= 0 {
		c.Logins = 50
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
}

func (c *FaultConfig) say(format string, args ...any) {
	fmt.Fprintf(c.Progress, "ctibench faults: "+format+"\n", args...)
}

// patience is how long a caller lets an unanswered or stuck call go on
// before hanging up: longer than any fault lasts plus the detection the
// design asks for (10 s), so that a gateway that recovers as it should
// still sees every call.
func (c *FaultConfig) patience() time.Duration {
	return max(c.Hold, c.PostgresFor) + 12*time.Second
}

// Spare directory accounts beyond the working agents: the poison row's
// sender, the login flood's victim, and an account nobody touches that
// proves logins work again.
const (
	spareAgents = 3
	sparePoison = 0
	spareVictim = 1
	spareProbe  = 2
)

// rig is the system under test and the switch's truth.
type rig struct {
	cfg     FaultConfig
	pg      *devstack.Postgres
	ldap    *devstack.LDAP
	slapd   *restarted // slapd as restarted by the suite, once stopped
	sim     *pbxsim.Sim
	pbxAddr string
	gwAddr  string // the gateway's fixed listen address, kept across restarts
	gwLog   *os.File
	gw      *gatewayProc // guarded by mu
	net     *cutter
	agents  []*panelAgent
	cancel  context.CancelFunc
	closers []func()

	mu      sync.Mutex
	calls   map[string]*trueCall // this fault's calls, by switch call id
	busy    map[*panelAgent]string
	loading bool
	signals []sign // signs the gateway noticed a fault
}

// sign is a moment the fault was noticed, and how.
type sign struct {
	at   time.Time
	what string
}

// trueCall is a call the switch made.
type trueCall struct {
	id, from string
	agent    *panelAgent
	started  time.Time
	ended    bool
}

func (r *rig) close() {
	if r.cancel != nil {
		r.cancel()
	}
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
}

func (r *rig) userName(i int) string { return fmt.Sprintf("agent%05d", i) }

// startRig starts PostgreSQL, slapd, the switch, the gateway on a fixed
// port, the agents' network and the agents, all logged in.
func startRig(ctx context.Context, cfg FaultConfig) (*rig, error) {
	r := &rig{cfg: cfg, calls: map[string]*trueCall{}, busy: map[*panelAgent]string{}}
	if err := r.startBackends(ctx); err != nil {
		return r, err
	}
	if err := r.startSwitch(); err != nil {
		return r, err
	}
	port, err := freeLoopbackPort()
	if err != nil {
		return r, err
	}
	r.gwAddr = fmt.Sprintf("127.0.0.1:%d", port)
	if r.gwLog, err = os.CreateTemp("", "ctibench-faults-gateway-*.log"); err != nil {
		return r, err
	}
	r.closers = append(r.closers, func() { r.gwLog.Close() })
	r.cfg.say("gateway log: %s", r.gwLog.Name())
	if err := r.startGateway(ctx); err != nil {
		return r, err
	}
	r.closers = append(r.closers, func() { r.gateway().stop() })
	if r.net, err = startCutter(r.gwAddr); err != nil {
		return r, err
	}
	r.closers = append(r.closers, r.net.close)
	return r, r.startAgents(ctx)
}

func (r *rig) startBackends(ctx context.Context) error {
	r.cfg.say("starting PostgreSQL and slapd with %d agents", r.cfg.Agents)
	var err error
	if r.pg, err = devstack.StartPostgres(ctx); err != nil {
		return err
	}
	r.closers = append(r.closers, func() { r.pg.Close() })
	if r.ldap, err = devstack.StartLDAP(ctx, devstack.LDAPOptions{LDIF: agentsLDIF(r.cfg.Agents + spareAgents)}); err != nil {
		return err
	}
	r.closers = append(r.closers, func() { r.ldap.Close() })
	r.closers = append(r.closers, func() { r.slapd.stop() })
	db, err := postgres.Open(ctx, r.pg.URL())
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	return db.CopyContacts(ctx, 1000, benchContact)
}

func (r *rig) startSwitch() error {
	p, _ := csta.LookupProfile("openscape")
	r.sim = pbxsim.New(pbxsim.Config{Profile: p, FirstExtension: firstExtension,
		LastExtension: firstExtension + r.cfg.Agents + spareAgents - 1})
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go r.sim.ServeCSTA(pl)
	r.closers = append(r.closers, func() { r.sim.Close() })
	r.pbxAddr = pl.Addr().String()
	return nil
}

func (r *rig) startGateway(ctx context.Context) error {
	gw, err := startGateway(ctx, r.cfg.GatewayBin, r.gwAddr, r.gwLog, r.pg.URL(), r.ldap.URL(), r.pbxAddr)
	if err != nil {
		return fmt.Errorf("%w (log: %s)", err, r.gwLog.Name())
	}
	r.mu.Lock()
	r.gw = gw
	r.mu.Unlock()
	return nil
}

// gateway is the gateway process now running (a restart replaces it).
func (r *rig) gateway() *gatewayProc {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.gw
}

// startAgents logs every agent in through the agents' network and keeps
// them logged in, and starts the switch watcher.
func (r *rig) startAgents(ctx context.Context) error {
	r.cfg.say("logging in %d agents", r.cfg.Agents)
	actx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	url := "ws://" + r.net.addr() + "/ws"
	for i := range r.cfg.Agents {
		a := newPanelAgent(r.userName(i), fmt.Sprint(firstExtension+i), url, r.cfg.Talk, r.signal)
		r.agents = append(r.agents, a)
		first := make(chan error, 1)
		go a.run(actx, first)
		if err := <-first; err != nil {
			return fmt.Errorf("agent %s: %w", a.user, err)
		}
	}
	go r.watchSwitch(actx)
	go r.load(actx)
	return ctx.Err()
}

// signal records a sign that the gateway (or the agents' side) noticed
// something wrong.
func (r *rig) signal(at time.Time, what string) {
	r.mu.Lock()
	r.signals = append(r.signals, sign{at, what})
	r.mu.Unlock()
}

// watchSwitch frees agents whose call the switch has ended: the switch
// is the truth of which calls exist.
func (r *rig) watchSwitch(ctx context.Context) {
	for ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
		live := map[string]bool{}
		for _, c := range r.sim.Calls() {
			live[c.CallID] = true
		}
		r.mu.Lock()
		for a, id := range r.busy {
			if !live[id] {
				delete(r.busy, a)
				if c := r.calls[id]; c != nil {
					c.ended = true
				}
			}
		}
		r.mu.Unlock()
	}
}

// load rings a free agent at the configured rate while loading is on.
// A caller whose call is not over after patience hangs up.
func (r *rig) load(ctx context.Context) {
	tick := time.NewTicker(time.Duration(float64(time.Second) / r.cfg.Rate))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		r.mu.Lock()
		var free []*panelAgent
		if r.loading {
			for _, a := range r.agents {
				if _, busy := r.busy[a]; !busy {
					free = append(free, a)
				}
			}
		}
		r.mu.Unlock()
		if len(free) == 0 {
			continue
		}
		r.ring(free[rand.IntN(len(free))])
	}
}

func (r *rig) ring(a *panelAgent) {
	from := fmt.Sprintf("+3579%07d", rand.IntN(1000))
	res, err := r.sim.StartInbound(from, a.ext)
	if err != nil || res.Outcome != pbxsim.OutcomeAlerting {
		return
	}
	r.mu.Lock()
	r.busy[a] = res.CallID
	r.calls[res.CallID] = &trueCall{id: res.CallID, from: from, agent: a, started: time.Now()}
	r.mu.Unlock()
	time.AfterFunc(r.cfg.patience(), func() { _ = r.sim.Hangup(res.CallID, from) })
}

// hangUpAll ends every call still on the switch (the callers give up).
func (r *rig) hangUpAll() {
	for _, c := range r.sim.Calls() {
		_ = r.sim.Hangup(c.CallID, c.Calling)
	}
}

// loggedCalls is which of ids the call log holds with their end written.
func (r *rig) loggedCalls(ctx context.Context, ids []string) (map[string]bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, r.pg.URL())
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT DISTINCT pbx_call_id FROM calls WHERE pbx_call_id = ANY($1) AND ended IS NOT NULL`, ids)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// gatewayLogTail is the end of the gateway's log, for a failed fault.
func (r *rig) gatewayLogTail() string {
	b, err := os.ReadFile(r.gwLog.Name())
	if err != nil {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
