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
	newSw    func(fence func() error) *pbx.Adapter
	log      *slog.Logger
	cancel   context.CancelFunc
	done     sync.WaitGroup
	released sync.Once
}

// startPair makes the first attempt at the lease before it returns, so
// that a lone gateway is active (link opening) when Start returns, then
// keeps the lease or waits for it in the background.
func startPair(ctx context.Context, c Config, node string, db *postgres.DB, svc *core.Service, sw *switchHolder,
	newSw func(fence func() error) *pbx.Adapter, log *slog.Logger) (*pair, error) {
	leases, err := postgres.OpenLeases(ctx, c.DatabaseURL)
	if err != nil {
		return nil, err
	}
	p := &pair{el: ha.New(ha.Config{Node: node, Lease: c.Lease, Leases: leases, Logger: log}), sw: sw, svc: svc, db: db,
		leases: leases, newSw: newSw, log: log}
	p.el.Step(ctx)
	if p.el.Role().Active {
		p.activate(ctx, (<-p.el.Changes()).Epoch)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.done.Add(2)
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

// activate opens the switch link and takes over every logged-in agent.
func (p *pair) activate(ctx context.Context, epoch int64) {
	p.deactivate() // a new epoch after a loss missed in between
	p.sw.set(p.newSw(p.el.FenceEpoch(epoch)))
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	p.svc.TakeOver(lctx, p.db)
}

// deactivate closes the (fenced) link and tells every agent standby.
func (p *pair) deactivate() {
	if sw := p.sw.take(); sw != nil {
		sw.Close()
		p.svc.StepDown()
	}
}

// stop ends the elector; the caller then closes the link and releases.
func (p *pair) stop() {
	p.cancel()
	p.done.Wait()
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
	return gwhttp.Role{Standby: !r.Active, Node: r.Node, Active: r.Leader}
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
