package app

import (
	"context"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/core"
	"crmcti/gateway/ha"
	gwhttp "crmcti/gateway/http"
	"crmcti/gateway/pbx"
	"crmcti/gateway/postgres"
)

// pair runs this gateway as one of several sharing a database (Config.Lease
// set): the elector decides active or standby (gateway/ha); on becoming
// active the switch link is opened and the logged-in agents taken over; on
// losing the lease the link is already fenced, then closed, and every
// agent told standby.
type pair struct {
	el       *ha.Elector
	sw       *switchHolder
	svc      *core.Service
	db       *postgres.DB
	leases   *postgres.Leases
	newSw    func(fence func() error, standby bool) *pbx.Adapter
	log      *slog.Logger
	cancel   context.CancelFunc
	done     sync.WaitGroup
	released sync.Once

	// watch is the standby's own switch link, watching the phones of the
	// agents logged in on the active (pbx/watch.go), promoted when this
	// gateway takes over; watched are the devices it monitors.
	watchMu sync.Mutex
	watch   *pbx.Adapter
	watched map[string]bool
	stopped bool
	// served is closed once a take-over is done (activate), for the
	// agents held at the door (awaitActive): served then, their sessions
	// are in the cache the take-over filled; stepDown makes a new one.
	servedMu sync.Mutex
	served   chan struct{}
}

// servedCh is the channel closed when this gateway serves as the active.
func (p *pair) servedCh() chan struct{} {
	p.servedMu.Lock()
	defer p.servedMu.Unlock()
	if p.served == nil {
		p.served = make(chan struct{})
	}
	return p.served
}

// startPair makes the first attempt at the lease before it returns, so
// that a lone gateway is active (link opening) when Start returns, then
// keeps the lease or waits for it in the background.
func startPair(ctx context.Context, c Config, node string, db *postgres.DB, svc *core.Service, sw *switchHolder,
	newSw func(fence func() error, standby bool) *pbx.Adapter, log *slog.Logger) (*pair, error) {
	leases, err := postgres.OpenLeases(ctx, c.DatabaseURL)
	if err != nil {
		return nil, err
	}
	p := &pair{el: ha.New(ha.Config{Node: node, Lease: c.Lease, Leases: leases, Logger: log}), sw: sw, svc: svc, db: db,
		leases: leases, newSw: newSw, log: log}
	p.el.Step(ctx)
	if p.el.Role().Active {
		p.activate(ctx, (<-p.el.Changes()).Epoch)
	} else {
		p.startWatch()
	}
	runCtx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.done.Add(3)
	go func() {
		defer p.done.Done()
		p.watchSessions(runCtx)
	}()
	go func() {
		defer p.done.Done()
		p.el.Run(runCtx)
	}()
	go func() {
		defer p.done.Done()
		p.follow(runCtx)
	}()
	log.Info("ha: started", "node", node, "lease", c.Lease.String(), "active", p.el.Role().Active)
	return p, nil
}

// follow acts on each change of role until ctx ends.
func (p *pair) follow(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-p.el.Changes():
			if r.Active {
				p.activate(ctx, r.Epoch)
			} else {
				p.deactivate()
			}
		}
	}
}

// activate makes the standby's watching link the active one (or opens
// one, if there is none) and takes over every logged-in agent.
func (p *pair) activate(ctx context.Context, epoch int64) {
	p.stepDown() // a new epoch after a loss missed in between
	fence := p.el.FenceEpoch(epoch)
	// A watching link that is down (a switch that takes one CTI link
	// only, or an outage) may be waiting out its reconnect backoff: a new
	// link dials at once and resynchronises instead.
	if w := p.takeWatch(); w != nil && w.Up() {
		w.Promote(fence)
		p.sw.set(w)
	} else {
		if w != nil {
			w.Close()
		}
		p.sw.set(p.newSw(fence, false))
	}
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	p.svc.TakeOver(lctx, p.db)
	close(p.servedCh())
}

// deactivate closes the (fenced) link, tells every agent standby, and
// starts watching the switch as a standby.
func (p *pair) deactivate() {
	p.stepDown()
	p.startWatch()
}

// stepDown closes the active link, if any, and tells every agent standby.
func (p *pair) stepDown() {
	p.servedMu.Lock()
	select {
	case <-p.served:
		p.served = nil // closed: the next term gets a new one
	default:
	}
	p.servedMu.Unlock()
	if sw := p.sw.take(); sw != nil {
		sw.Close()
		p.svc.StepDown()
	}
}

// startWatch opens the standby's watching link, unless there is one.
func (p *pair) startWatch() {
	p.watchMu.Lock()
	defer p.watchMu.Unlock()
	if p.watch != nil || p.stopped {
		return
	}
	p.watch, p.watched = p.newSw(nil, true), map[string]bool{}
}

// takeWatch hands the watching link over (to be promoted or closed).
func (p *pair) takeWatch() *pbx.Adapter {
	p.watchMu.Lock()
	defer p.watchMu.Unlock()
	w := p.watch
	p.watch, p.watched = nil, nil
	return w
}

// watchEvery is how often a standby reads the logged-in agents from the
// session table to watch their phones: an agent who logged in on the
// active less than this before it died has her phone monitored at the
// take-over instead (a round trip or two more for her alone).
const watchEvery = time.Second

// watchParallel bounds the monitors a standby starts at once; the link's
// pacing (csta.Profile.RequestsPerSecond) bounds them per second.
const watchParallel = 16

// watchSessions keeps the watching link monitoring the phones of every
// agent with a live session, until ctx ends.
func (p *pair) watchSessions(ctx context.Context) {
	t := time.NewTicker(watchEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p.watchOnce(ctx)
	}
}

// watchOnce monitors the phones of agents who logged in since the last
// round and stops watching those of agents whose sessions ended.
func (p *pair) watchOnce(ctx context.Context) {
	p.watchMu.Lock()
	w := p.watch
	p.watchMu.Unlock()
	if w == nil || !w.Up() {
		return
	}
	live, err := p.db.LiveSessions(ctx)
	if err != nil {
		p.log.Debug("ha: standby: logged-in agents not read", "err", err)
		return
	}
	want := make(map[string]bool, len(live))
	for _, ls := range live {
		if ls.Agent.Extension != "" {
			want[ls.Agent.Extension] = true
		}
	}
	p.watchMu.Lock()
	if p.watch != w {
		p.watchMu.Unlock()
		return
	}
	var add, drop []string
	for d := range want {
		if !p.watched[d] {
			add = append(add, d)
		}
	}
	for d := range p.watched {
		if !want[d] {
			drop = append(drop, d)
		}
	}
	p.watchMu.Unlock()
	var wg sync.WaitGroup
	slots := make(chan struct{}, watchParallel)
	for _, d := range add {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			if err := w.Monitor(ctx, d); err != nil {
				p.log.Debug("ha: standby: monitor; next round", "device", d, "err", err)
				return
			}
			p.setWatched(w, d, true)
		}()
	}
	wg.Wait()
	for _, d := range drop {
		p.setWatched(w, d, false)
		_ = w.Unmonitor(ctx, d)
	}
	if len(add) > 0 || len(drop) > 0 {
		p.watchMu.Lock()
		watching := len(p.watched)
		p.watchMu.Unlock()
		p.log.Info("ha: standby watching the logged-in agents' phones", "watching", watching, "added", len(add), "dropped", len(drop))
	}
}

func (p *pair) setWatched(w *pbx.Adapter, device string, on bool) {
	p.watchMu.Lock()
	defer p.watchMu.Unlock()
	if p.watch != w {
		return
	}
	if on {
		p.watched[device] = true
	} else {
		delete(p.watched, device)
	}
}

// stop ends the elector and the watching link; the caller then closes
// the active link, if any, and releases.
func (p *pair) stop() {
	p.cancel()
	p.done.Wait()
	p.watchMu.Lock()
	p.stopped = true
	p.watchMu.Unlock()
	if w := p.takeWatch(); w != nil {
		w.Close()
	}
}

// release hands the lease over at once: the link is closed already.
// Safe twice.
func (p *pair) release() { p.released.Do(p.releaseOnce) }

func (p *pair) releaseOnce() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.el.Release(ctx); err != nil {
		p.log.Warn("ha: release lease; the standby takes over when it expires", "err", err)
	}
	p.leases.Close()
}

// httpRole is the role as the HTTP side shows it.
func (p *pair) httpRole() gwhttp.Role {
	r := p.el.Role()
	p.watchMu.Lock()
	watching := len(p.watched)
	p.watchMu.Unlock()
	return gwhttp.Role{Standby: !r.Active, Node: r.Node, Active: r.Leader, Watching: watching}
}

// awaitActive waits, for an agent who came to this standby, until this
// gateway has taken over (true) or the active shows it is alive (false):
// an agent whose gateway just died comes here at once, before the lease
// has run out and before anything says the active is gone, so coming is
// itself the sign. The elector reads the lease every 50 ms meanwhile
// (Poke); a renewal made after the agent arrived proves the active alive
// (it renews four times per lease), and the agent is turned away to it,
// within about a quarter lease. At most a lease and a half.
func (p *pair) awaitActive(ctx context.Context) bool {
	arrived := time.Now()
	lease := p.el.Lease()
	served := p.servedCh()
	p.el.Poke()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	deadline := time.NewTimer(lease + lease/2)
	defer deadline.Stop()
	for {
		select {
		case <-served:
			return true
		case <-ctx.Done():
			return false
		case <-deadline.C:
			return false
		case <-t.C:
		}
		if r := p.el.Role(); !r.Active && r.Leader != "" && r.Seen.Add(-r.LeaderSilent).After(arrived) {
			return false
		}
		p.el.Poke()
	}
}

// metricsRole is the role as the metrics show it.
func (p *pair) metricsRole() (bool, int64) {
	r := p.el.Role()
	return r.Active, r.Epoch
}

// wireRole makes the HTTP side and the metrics show the pair's role
// (Config.Lease set); *pp is set before the listener serves.
func wireRole(c Config, hcfg *gwhttp.Config, m *gwhttp.Metrics, pp **pair) {
	if c.Lease == 0 {
		return
	}
	hcfg.Role = func() gwhttp.Role { return (*pp).httpRole() }
	hcfg.AwaitActive = func(ctx context.Context) bool { return (*pp).awaitActive(ctx) }
	m.WatchLeader(func() (bool, int64) { return (*pp).metricsRole() })
}

// nodeName is Config.Node, or by default the host and listening port.
func nodeName(c Config, addr string) string {
	if c.Node != "" {
		return c.Node
	}
	host, _ := os.Hostname()
	_, port, _ := net.SplitHostPort(addr)
	return host + ":" + port
}

// switchHolder is the core's switch: the adapter while this gateway is
// active, none on a standby (every command then fails pbx_unavailable;
// a standby serves no agent anyway).
type switchHolder struct {
	mu sync.RWMutex
	sw *pbx.Adapter
}

func (h *switchHolder) set(sw *pbx.Adapter) {
	h.mu.Lock()
	h.sw = sw
	h.mu.Unlock()
}

func (h *switchHolder) take() *pbx.Adapter {
	h.mu.Lock()
	defer h.mu.Unlock()
	sw := h.sw
	h.sw = nil
	return sw
}

// Close closes the adapter held. Safe twice.
func (h *switchHolder) Close() error {
	if sw := h.take(); sw != nil {
		return sw.Close()
	}
	return nil
}

func (h *switchHolder) get() (*pbx.Adapter, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.sw == nil {
		return nil, gateway.Errorf(gateway.CodePBXUnavailable, "this gateway is a standby")
	}
	return h.sw, nil
}

func (h *switchHolder) Monitor(ctx context.Context, device string) error {
	sw, err := h.get()
	if err != nil {
		return err
	}
	return sw.Monitor(ctx, device)
}

func (h *switchHolder) Unmonitor(ctx context.Context, device string) error {
	sw, err := h.get()
	if err != nil {
		return nil // nothing is monitored on a standby
	}
	return sw.Unmonitor(ctx, device)
}

func (h *switchHolder) Calls(device string) []gateway.Call {
	sw, err := h.get()
	if err != nil {
		return nil
	}
	return sw.Calls(device)
}

func (h *switchHolder) EndedAt(device, callID string) (time.Time, bool) {
	sw, err := h.get()
	if err != nil {
		return time.Time{}, false
	}
	return sw.EndedAt(device, callID)
}

func (h *switchHolder) Up() bool {
	sw, err := h.get()
	return err == nil && sw.Up()
}

func (h *switchHolder) MakeCall(ctx context.Context, device, number string) (string, error) {
	sw, err := h.get()
	if err != nil {
		return "", err
	}
	return sw.MakeCall(ctx, device, number)
}

func (h *switchHolder) Answer(ctx context.Context, device, callID string) error {
	sw, err := h.get()
	if err != nil {
		return err
	}
	return sw.Answer(ctx, device, callID)
}

func (h *switchHolder) Clear(ctx context.Context, device, callID string) error {
	sw, err := h.get()
	if err != nil {
		return err
	}
	return sw.Clear(ctx, device, callID)
}

func (h *switchHolder) Hold(ctx context.Context, device, callID string) error {
	sw, err := h.get()
	if err != nil {
		return err
	}
	return sw.Hold(ctx, device, callID)
}

func (h *switchHolder) Retrieve(ctx context.Context, device, callID string) error {
	sw, err := h.get()
	if err != nil {
		return err
	}
	return sw.Retrieve(ctx, device, callID)
}

func (h *switchHolder) Transfer(ctx context.Context, device, callID, to string) error {
	sw, err := h.get()
	if err != nil {
		return err
	}
	return sw.Transfer(ctx, device, callID, to)
}

func (h *switchHolder) SendDigits(ctx context.Context, device, callID, digits string) error {
	sw, err := h.get()
	if err != nil {
		return err
	}
	return sw.SendDigits(ctx, device, callID, digits)
}

func (h *switchHolder) Consult(ctx context.Context, device, callID, to string) (string, error) {
	sw, err := h.get()
	if err != nil {
		return "", err
	}
	return sw.Consult(ctx, device, callID, to)
}

func (h *switchHolder) Complete(ctx context.Context, device, heldID, activeID string, conference bool) error {
	sw, err := h.get()
	if err != nil {
		return err
	}
	return sw.Complete(ctx, device, heldID, activeID, conference)
}

func (h *switchHolder) SetStatus(ctx context.Context, device, agentID string, s gateway.Status) error {
	sw, err := h.get()
	if err != nil {
		return err
	}
	return sw.SetStatus(ctx, device, agentID, s)
}
