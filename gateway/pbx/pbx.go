// Package pbx is the gateway's switch adapter over CSTA: one link for the
// whole gateway, kept up with reconnects; a monitor per logged-in agent's
// device; a call tracker per device fed by the switch's events; and
// resynchronisation by SnapshotDevice after every reconnect and after a
// stall too short to drop the link, so that calls that ended during an
// outage are cleared and calls that began during it are shown; and an
// audit that compares each device with its snapshot every 30 s.
package pbx

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/backoff"
	"crmcti/gateway/csta"
)

// StatusMode is how Available/Busy is set on the PBX.
type StatusMode string

// Status modes: SetAgentState ready/notReady, or SetDoNotDisturb off/on.
const (
	StatusAgentState   StatusMode = "agent"
	StatusDoNotDisturb StatusMode = "dnd"
)

// Config sets up the adapter.
type Config struct {
	Addr       string
	Profile    csta.Profile
	TLS        *tls.Config
	StatusMode StatusMode
	// Timeout bounds each request to the switch (default 5s).
	Timeout time.Duration
	// MinBackoff and MaxBackoff bound the reconnect delay (1s, 30s).
	MinBackoff, MaxBackoff time.Duration
	Logger                 *slog.Logger
	// OnMessage counts CSTA messages for metrics.
	OnMessage func(dir csta.Direction, name string)
	// OnUnattributed counts events the adapter could not tie to a
	// monitored device or a call it tracks (each is also logged at warn).
	OnUnattributed func(event string)
	// DeviceTemplate maps an agent's extension to the number the switch
	// knows the device by: "{ext}" (the default) is the extension itself,
	// "+3572210{ext}" a full number. See DeviceNumber.
	DeviceTemplate string
	// UserName and Password log in to a switch that wants credentials
	// (Avaya AES); SwitchName is the switch connection's name in AES, for
	// GetDeviceId.
	UserName, Password, SwitchName string
	// SessionCleanupDelay is how long the switch keeps a lost session
	// (Avaya; default 60s): a link back within it resumes the session.
	SessionCleanupDelay time.Duration
	// Trace, when set, receives every frame in and out (csta.Config.Trace).
	Trace func(csta.TraceRecord)
	// Liveness is how long a silent switch keeps the link (default 9s,
	// so that a stalled or half-open switch is declared down within 10s;
	// csta.Config.Liveness); negative turns the check off.
	Liveness time.Duration
	// Audit is how often every monitored device is compared with the
	// switch's snapshot even when nothing looks wrong (default 30s, spread
	// over the devices so that it never bursts; negative turns it off): a
	// switch that drops an event without any other sign is caught within it.
	Audit time.Duration
	// OnResync is told of each resynchronisation a stall asked for
	// (reason "stall") and of each audit that corrected something
	// ("audit"), with the number of calls it corrected (ended or shown):
	// a count that keeps rising means a switch that loses events.
	OnResync func(reason string, corrected int)
	// Fence, when set, is asked before every frame written to the switch
	// and before every dial: once it returns an error (this gateway lost
	// its leadership, gateway/ha), the link is dropped and no frame
	// leaves. A func, so that the adapter needs no database.
	Fence func() error
	// Standby starts the adapter watching (watch.go): a standby gateway's
	// link that monitors and snapshots the logged-in agents' phones, so
	// that it knows every call when it takes over, and carries nothing
	// else; Promote makes it the active link. Fence is not asked while
	// watching: a watching link is held to watching frames instead.
	Standby bool
}

// Adapter is the gateway's PBX.
type Adapter struct {
	cfg  Config
	log  *slog.Logger
	sink gateway.SwitchEvents

	// linkMu orders a device's DeviceSynced before the link's loss
	// (linkLost), so that no agent is told "up" after "down".
	linkMu  sync.Mutex
	mu      sync.Mutex
	conn    *csta.Conn
	up      bool
	devices map[string]*device // monitored (wanted) devices
	byXref  map[string]*device
	// stopped remembers monitors stopped a moment ago (cross-reference →
	// when): events still in flight for them are expected.
	stopped map[string]time.Time
	closed  bool
	// lastSession and lostAt are the ECMA-354 session of the link that
	// was lost, and when, for resuming it.
	lastSession string
	lostAt      time.Time
	health      health
	stop        chan struct{}
	done        chan struct{}
	// resync serialises the resynchronisations a stall asks for; again
	// asks for one more after the one running.
	resync sync.Mutex
	again  atomic.Bool
	// watching is set while the adapter is a standby's (Config.Standby
	// until Promote); fence is the leadership fence after Promote.
	watching atomic.Bool
	fence    atomic.Pointer[func() error]
	// reporting is held from a change to the tracker until the sink has
	// been told of it (events, reconciles): the core must hear of a call's
	// changes in the order the tracker made them, or an end reported
	// before the snapshot's "ringing" would leave the call ringing there.
	reporting sync.Mutex
}

// device is one monitored phone. The core names it by the agent's
// extension (ext), which every reported call carries; the switch knows it
// by number (the template applied) and, on Avaya, by the ID GetDeviceId
// assigned (id). Events may use any of these, in any of the forms a switch
// writes; is decides.
type device struct {
	ext    string
	number string
	id     csta.DeviceID // what requests address: the assigned ID, else number
	xref   string        // current monitor, "" while the link is down
	// staleXref is the monitor of the lost link, still valid if the
	// switch resumes the session.
	staleXref string
	// synced is set once the device is monitored on the current link and
	// its calls reconciled: its agent is served before the whole resync
	// ends (gateway.DeviceSync).
	synced bool
	calls  map[string]*gateway.Call
	// ended remembers recently ended calls (ID → when), so that the
	// events a switch sends after a call's end are not taken for unknown.
	ended map[string]time.Time
	// clearing holds the waiters of Clear, woken when the call ends.
	clearing map[string][]chan struct{}
	// seq counts the changes events made; touched is the seq of each
	// call's last one, so that a snapshot does not undo newer events.
	seq     uint64
	touched map[string]uint64
	// snapping serialises the device's snapshots (the start, a stall's
	// resync, the audit): an older snapshot reconciled after a newer one
	// would bring back a call the newer one ended.
	snapping sync.Mutex
}

func newDevice(ext, number string) *device {
	return &device{ext: ext, number: number, id: csta.DeviceID(number), calls: map[string]*gateway.Call{},
		ended: map[string]time.Time{}, clearing: map[string][]chan struct{}{}, touched: map[string]uint64{}}
}

// touch records that an event changed the call. The caller holds the
// adapter's lock.
func (d *device) touch(id string) {
	d.seq++
	d.touched[id] = d.seq
}

// is reports whether an identifier from an event names this device: the
// one place that decides, by csta.SameDevice against each of the device's
// aliases (the agent's extension, the switch's number, the assigned ID).
// A DMCC ID is compared with the assigned DMCC ID only, so that station
// 1001 of another switch on the same AES is not taken for ours.
func (d *device) is(id csta.DeviceID) bool {
	if csta.ParseDevice(id).DMCC != nil && csta.ParseDevice(d.id).DMCC != nil {
		return csta.SameDevice(id, d.id)
	}
	return csta.SameDevice(id, csta.DeviceID(d.ext)) || csta.SameDevice(id, csta.DeviceID(d.number)) ||
		csta.SameDevice(id, d.id)
}

// forget drops an ended call from the tracker, remembers it for a while,
// and wakes any Clear waiting for it. The caller holds the adapter's lock.
func (d *device) forget(id string, now time.Time) {
	delete(d.calls, id)
	for old, at := range d.ended {
		if now.Sub(at) > recentlyEnded {
			delete(d.ended, old)
			delete(d.touched, old)
		}
	}
	d.ended[id] = now
	for _, ch := range d.clearing[id] {
		close(ch)
	}
	delete(d.clearing, id)
}

// DeviceNumber applies a device template to an extension: every "{ext}"
// is replaced by it. An extension that already has the template's fixed
// prefix and suffix (an override that names the full number), or that is
// already a full number (+…) or a URI or DMCC ID, is used as it is.
func DeviceNumber(template, ext string) string {
	if template == "" || !strings.Contains(template, "{ext}") {
		return ext
	}
	prefix, suffix, _ := strings.Cut(template, "{ext}")
	if strings.HasPrefix(ext, "+") || strings.ContainsAny(ext, ":@<") ||
		(prefix+suffix != "" && strings.HasPrefix(ext, prefix) && strings.HasSuffix(ext, suffix) && len(ext) > len(prefix)+len(suffix)) {
		return ext
	}
	return strings.ReplaceAll(template, "{ext}", ext)
}

// New starts the adapter; it connects in the background and keeps
// reconnecting until Close.
func New(cfg Config, sink gateway.SwitchEvents) *Adapter {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.StatusMode == "" {
		cfg.StatusMode = StatusDoNotDisturb
	}
	if cfg.Liveness == 0 {
		cfg.Liveness = 9 * time.Second
	}
	if cfg.Audit == 0 {
		cfg.Audit = 30 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Adapter{cfg: cfg, log: log, sink: sink, devices: map[string]*device{}, byXref: map[string]*device{}, stopped: map[string]time.Time{},
		stop: make(chan struct{}), done: make(chan struct{})}
	a.watching.Store(cfg.Standby)
	if cfg.Fence != nil {
		a.fence.Store(&cfg.Fence)
	}
	go a.run()
	return a
}

// Close drops the link and stops reconnecting. Safe to call twice.
func (a *Adapter) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		<-a.done
		return nil
	}
	a.closed = true
	close(a.stop)
	c := a.conn
	a.mu.Unlock()
	if c != nil {
		c.Close()
	}
	<-a.done
	return nil
}

// Up reports whether the link is up and resynchronised.
func (a *Adapter) Up() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.up
}

func (a *Adapter) run() {
	defer close(a.done)
	delay := backoff.New(a.cfg.MinBackoff, a.cfg.MaxBackoff)
	for {
		select {
		case <-a.stop:
			return
		default:
		}
		err := a.connectOnce()
		if err == nil {
			delay.Reset()
			continue
		}
		a.mu.Lock()
		a.noteFailed(err)
		a.mu.Unlock()
		// The log names the step (1s, 2s, …); the wait adds jitter to it.
		a.log.Warn("pbx: link down", "addr", a.cfg.Addr, "err", err, "retry", delay.Current().String())
		wait := delay.Next()
		select {
		case <-a.stop:
			return
		case <-time.After(wait):
		}
	}
}

// connectOnce dials, resynchronises every monitored device, then waits for
// the link to end. A nil error means the link was up and then dropped.
func (a *Adapter) connectOnce() error {
	c, err := a.dial()
	if err != nil {
		return err
	}
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		c.Close()
		return nil
	}
	a.conn = c
	devs := make([]*device, 0, len(a.devices))
	for _, d := range a.devices {
		devs = append(devs, d)
	}
	a.mu.Unlock()
	a.log.Info("pbx: link up", "addr", a.cfg.Addr, "devices", len(devs), "session", c.SessionID(), "recovered", c.Recovered())
	failed := a.monitorAll(c, devs)
	a.mu.Lock()
	a.up = true
	a.noteUp()
	a.mu.Unlock()
	a.sink.LinkChanged(true)
	if len(failed) > 0 {
		go a.retryMonitors(c, failed)
	}
	if a.cfg.Audit > 0 {
		go a.audit(c)
	}
	<-c.Done()
	a.linkLost(c)
	return nil
}

// resyncWindow is how many devices are resynchronised at once after a
// reconnect or a take-over: each is a MonitorStart then a SnapshotDevice,
// so the window is the requests in flight at the switch. One by one, a
// thousand phones cost two thousand round trips in a row; a fixed window
// of 32 held a thousand phones to 32 per round trip, far below the
// profile's pacing once the round trip grows under load. The window is a
// quarter second of the profile's pacing (csta.Profile.RequestsPerSecond,
// which alone bounds what the switch gets per second): the requests
// waiting for their turn then never wait long enough to time out, and the
// switch never holds more than that outstanding. At least 32, as before.
func (a *Adapter) resyncWindow() int {
	return max(32, int(a.cfg.Profile.RequestsPerSecond/4))
}

// monitorAll monitors and resynchronises devs over c, each as soon as it
// is monitored (startMonitor: its snapshot right after its monitor, its
// agent told at once); it returns those that failed.
func (a *Adapter) monitorAll(c *csta.Conn, devs []*device) []*device {
	var (
		mu     sync.Mutex
		failed []*device
		wg     sync.WaitGroup
	)
	slots := make(chan struct{}, a.resyncWindow())
	for _, d := range devs {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			if err := a.startMonitor(context.Background(), c, d); err != nil {
				a.log.Warn("pbx: re-monitor failed; retrying", "device", d.ext, "err", err)
				mu.Lock()
				failed = append(failed, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return failed
}

// dial opens the link, asking an ECMA-354 switch to resume the previous
// session when it was lost within the switch's cleanup delay.
func (a *Adapter) dial() (*csta.Conn, error) {
	if err := a.linkFence(""); err != nil {
		return nil, fmt.Errorf("pbx: dial: %w", err)
	}
	a.mu.Lock()
	resume := ""
	if a.lastSession != "" && time.Since(a.lostAt) < a.cleanupDelay() {
		resume = a.lastSession
	}
	a.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return csta.Dial(ctx, a.cfg.Addr, csta.Config{Profile: a.cfg.Profile, TLS: a.cfg.TLS, OnEvent: a.onEvent,
		RequestTimeout: a.cfg.Timeout, Logger: a.log, OnMessage: a.cfg.OnMessage, Trace: a.cfg.Trace, Liveness: max(a.cfg.Liveness, 0),
		OnStall:  a.stalled,
		UserName: a.cfg.UserName, Password: a.cfg.Password, SessionCleanupDelay: a.cleanupDelay(), RecoverSession: resume,
		Fence: a.linkFence})
}

func (a *Adapter) cleanupDelay() time.Duration {
	if a.cfg.SessionCleanupDelay > 0 {
		return a.cfg.SessionCleanupDelay
	}
	return 60 * time.Second
}

// linkLost marks every monitor gone, keeping what a resumed session
// would still honour (the cross-references and the switch-assigned IDs).
func (a *Adapter) linkLost(c *csta.Conn) {
	a.linkMu.Lock()
	defer a.linkMu.Unlock()
	a.mu.Lock()
	a.up = false
	a.conn = nil
	a.lastSession, a.lostAt = c.SessionID(), time.Now()
	a.noteLost(c.Err())
	for _, d := range a.devices {
		d.staleXref, d.xref, d.synced = d.xref, "", false
	}
	a.byXref = map[string]*device{}
	closed := a.closed
	a.mu.Unlock()
	if !closed {
		a.log.Warn("pbx: link lost", "err", c.Err())
		a.sink.LinkChanged(false)
	}
}

// retryMonitors keeps monitoring the devices that failed to re-monitor
// after a reconnect, with backoff, until each succeeds, is unmonitored,
// or the link ends (the next link starts over).
func (a *Adapter) retryMonitors(c *csta.Conn, devs []*device) {
	delay := backoff.New(a.cfg.MinBackoff, a.cfg.MaxBackoff)
	for len(devs) > 0 {
		wait := delay.Next()
		select {
		case <-c.Done():
			return
		case <-time.After(wait):
		}
		var still []*device
		for _, d := range devs {
			a.mu.Lock()
			wanted := a.devices[d.ext] == d
			a.mu.Unlock()
			if !wanted {
				continue
			}
			if err := a.startMonitor(context.Background(), c, d); err != nil {
				a.log.Warn("pbx: re-monitor failed; retrying", "device", d.ext, "err", err, "retry", delay.Current().String())
				still = append(still, d)
			}
		}
		devs = still
	}
}

// startMonitor monitors d and reconciles its calls with a snapshot. On a
// resumed session the old monitor still runs; on DMCC a new session
// needs a new device ID first.
func (a *Adapter) startMonitor(ctx context.Context, c *csta.Conn, d *device) error {
	// Each request's answer is awaited for the link's request timeout
	// after it is written (csta.Conn.Do); the whole start, queued behind
	// the switch's pacing included, for at most Timeout unless the caller
	// allows longer (a login's background monitor does: a morning's
	// logins queue for seconds at the switch's rate).
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.cfg.Timeout)
		defer cancel()
	}
	a.mu.Lock()
	xref := ""
	if c.Recovered() {
		xref = d.staleXref
	}
	a.mu.Unlock()
	if xref == "" {
		var err error
		if xref, err = a.monitorStart(ctx, c, d); err != nil {
			return err
		}
	}
	a.mu.Lock()
	d.xref, d.staleXref = xref, ""
	a.byXref[xref] = d
	a.mu.Unlock()
	if err := a.snapshotBusy(ctx, c, d); err != nil {
		return err
	}
	a.synced(c, d)
	return nil
}

// snapshotBusy is snapshot, asked again while the switch says it is over
// its request rate and ctx allows: the monitor is already started, and
// giving up now would leave it on the switch for a retry to duplicate.
func (a *Adapter) snapshotBusy(ctx context.Context, c *csta.Conn, d *device) error {
	retry := backoff.New(200*time.Millisecond, 5*time.Second)
	for {
		err := a.snapshot(ctx, c, d)
		var ce *csta.CSTAErrorCode
		if err == nil || !errors.As(err, &ce) {
			return err
		}
		if cat, _ := ce.Category(); cat != csta.ErrCatPerformance {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-c.Done():
			return err
		case <-time.After(retry.Next()):
		}
	}
}

// synced marks d resynchronised on c and tells the sink, so that its
// agent has her events and commands while other phones still resync.
func (a *Adapter) synced(c *csta.Conn, d *device) {
	a.linkMu.Lock()
	defer a.linkMu.Unlock()
	a.mu.Lock()
	current := a.conn == c && a.devices[d.ext] == d
	if current {
		d.synced = true
	}
	a.mu.Unlock()
	if ds, ok := a.sink.(gateway.DeviceSync); ok && current {
		ds.DeviceSynced(d.ext)
	}
}

// snapshot asks the switch for the device's calls and reconciles the
// tracker with them. The events read before the answer are applied first
// (Settle): the answer overtakes them, and a call they report must not be
// reported again by the reconcile.
func (a *Adapter) snapshot(ctx context.Context, c *csta.Conn, d *device) error {
	_, err := a.snapshotCount(ctx, c, d)
	return err
}

// snapshotCount is snapshot, reporting how many calls it corrected.
func (a *Adapter) snapshotCount(ctx context.Context, c *csta.Conn, d *device) (int, error) {
	d.snapping.Lock()
	defer d.snapping.Unlock()
	a.mu.Lock()
	id, since := d.id, d.seq
	a.mu.Unlock()
	snap, err := csta.Call[*csta.SnapshotDeviceResponse](ctx, c, &csta.SnapshotDevice{SnapshotObject: id})
	if err != nil {
		return 0, err
	}
	// A link that ended meanwhile drops its queued events anyway (the next
	// link resynchronises), and the answer is still the switch's truth.
	_ = c.Settle(ctx)
	return a.reconcile(d, snap.Calls(), since), nil
}

// monitorStart obtains the device's ID on DMCC, then starts its monitor.
func (a *Adapter) monitorStart(ctx context.Context, c *csta.Conn, d *device) (string, error) {
	id := csta.DeviceID(d.number)
	if a.cfg.Profile.DMCC {
		r, err := csta.Call[*csta.GetDeviceIdResponse](ctx, c, &csta.GetDeviceId{SwitchName: a.cfg.SwitchName, Extension: d.number})
		if err != nil {
			return "", err
		}
		id = r.Device
	}
	a.mu.Lock()
	d.id = id
	a.mu.Unlock()
	resp, err := csta.Call[*csta.MonitorStartResponse](ctx, c, &csta.MonitorStart{MonitorObject: csta.MonitorObject{DeviceObject: id}})
	if err != nil {
		a.releaseDeviceID(ctx, c, id)
		return "", err
	}
	return resp.MonitorCrossRefID, nil
}

// releaseDeviceID gives a DMCC device ID back (best effort: the switch
// frees it with the session anyway).
func (a *Adapter) releaseDeviceID(ctx context.Context, c *csta.Conn, id csta.DeviceID) {
	if !a.cfg.Profile.DMCC {
		return
	}
	if _, err := c.Do(ctx, &csta.ReleaseDeviceId{Device: id}); err != nil {
		a.log.Warn("pbx: release device ID", "device", id, "err", err)
	}
}

// reconcile makes the tracker agree with a snapshot: what the switch no
// longer has has ended; what it has that we do not know began while we
// were away (its far end is unknown until the next event names it). A
// call an event touched after the snapshot was asked for (since) is left
// to the events: they are newer than the snapshot.
func (a *Adapter) reconcile(d *device, infos []csta.SnapshotDeviceInfo, since uint64) int {
	a.reporting.Lock()
	defer a.reporting.Unlock()
	var changes []change
	now := time.Now()
	a.mu.Lock()
	seen := map[string]bool{}
	for _, in := range infos {
		id := in.ConnectionIdentifier.CallID
		if id == "" {
			a.log.Warn("pbx: snapshot entry without callID ignored", "device", d.ext)
			continue
		}
		seen[id] = true
		if d.touched[id] > since {
			continue
		}
		if ch, ok := d.resync(id, stateOf(in.LocalCallState.CompoundCallState.LocalConnectionState), now); ok {
			changes = append(changes, ch)
		}
	}
	for id, c := range d.calls {
		if seen[id] || d.touched[id] > since {
			continue
		}
		c.State, c.Ended, c.Cause = gateway.CallEnded, now, "resync"
		changes = append(changes, change{*c, gateway.EvEnded})
		d.forget(id, now)
	}
	a.mu.Unlock()
	for _, ch := range changes {
		a.sink.CallChanged(ch.c, ch.ev)
	}
	return len(changes)
}

// change is a call's new state and the event that reports it.
type change struct {
	c  gateway.Call
	ev gateway.CallEvent
}

// resync sets a call to the state a snapshot shows, tracking it if new;
// it reports the change, if any. The caller holds the adapter's lock.
func (d *device) resync(id string, state gateway.CallState, now time.Time) (change, bool) {
	c, ok := d.calls[id]
	if !ok {
		c = &gateway.Call{ID: id, Device: d.ext, Direction: gateway.Inbound, Started: now}
		if state == gateway.CallDialing {
			c.Direction = gateway.Outbound
		}
		d.calls[id] = c
	}
	if c.State == state {
		return change{}, false
	}
	c.State = state
	ev := gateway.EvRang
	switch state {
	case gateway.CallConnected:
		ev = gateway.EvAnswered
		if c.Answered.IsZero() {
			c.Answered = now
		}
	case gateway.CallHeld:
		ev = gateway.EvHeld
	case gateway.CallDialing:
		ev = gateway.EvDialed
	case gateway.CallFailed:
		ev = gateway.EvFailed
	}
	return change{*c, ev}, true
}

func stateOf(local string) gateway.CallState {
	switch local {
	case csta.StateAlerting:
		return gateway.CallRinging
	case csta.StateConnected:
		return gateway.CallConnected
	case csta.StateHold:
		return gateway.CallHeld
	case csta.StateInitiated:
		return gateway.CallDialing
	case csta.StateFail:
		return gateway.CallFailed
	}
	return gateway.CallEnded
}

// Monitor starts watching an agent's device (first login). While the link
// is down it is remembered and monitored on reconnect.
func (a *Adapter) Monitor(ctx context.Context, dev string) error {
	a.mu.Lock()
	if _, ok := a.devices[dev]; ok {
		a.mu.Unlock()
		return nil
	}
	d := newDevice(dev, DeviceNumber(a.cfg.DeviceTemplate, dev))
	a.devices[dev] = d
	c := a.conn
	a.mu.Unlock()
	if c == nil {
		return nil
	}
	if err := a.startMonitor(ctx, c, d); err != nil {
		a.mu.Lock()
		delete(a.devices, dev)
		xref := d.xref
		if xref != "" {
			// Started, then its snapshot failed: the switch keeps the
			// monitor unless told, and the next attempt would start a
			// second one, whose twin's events nobody claims.
			delete(a.byXref, xref)
			a.stopped[xref] = time.Now()
		}
		a.mu.Unlock()
		if xref != "" {
			go a.stopOrphan(c, xref)
		}
		a.logMonitorFailed(d, err)
		return a.mapErr("monitor", err)
	}
	return nil
}

// stopOrphan stops a monitor the gateway no longer has a device for.
func (a *Adapter) stopOrphan(c *csta.Conn, xref string) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*a.cfg.Timeout)
	defer cancel()
	if _, err := c.Do(ctx, &csta.MonitorStop{MonitorCrossRefID: xref}); err != nil {
		a.log.Debug("pbx: stop a monitor left by a failed start", "xref", xref, "err", err)
	}
}

// logMonitorFailed says, where the admin looks, which device the switch
// would not monitor and as what: the agent only sees pbx_refused, and a
// wrong device mapping (-pbx-device-template, -pbx-switch-name) shows
// first here.
func (a *Adapter) logMonitorFailed(d *device, err error) {
	var ce *csta.CSTAErrorCode
	if !errors.As(err, &ce) {
		// Not the switch's word on the device: a link that failed or
		// an answer that did not come. The caller tries again.
		a.log.Warn("pbx: monitor failed: the switch did not answer", "extension", d.ext, "device", d.number, "err", err)
		return
	}
	if cat, _ := ce.Category(); cat == csta.ErrCatPerformance {
		// Over the switch's rate, at the morning peak: the caller asks
		// again, and says so once for all (core.connectPhone).
		a.log.Debug("pbx: monitor: the switch is busy", "extension", d.ext, "err", err)
		return
	}
	a.log.Warn("pbx: monitor refused; an agent on this device cannot log in (check the device mapping: -pbx-device-template, -pbx-switch-name, the agent's extension)",
		"extension", d.ext, "device", d.number, "template", a.cfg.DeviceTemplate, "err", err)
}

// Unmonitor stops watching a device (last logout).
func (a *Adapter) Unmonitor(ctx context.Context, dev string) error {
	a.mu.Lock()
	d, ok := a.devices[dev]
	if !ok {
		a.mu.Unlock()
		return nil
	}
	delete(a.devices, dev)
	delete(a.byXref, d.xref)
	now := time.Now()
	for x, at := range a.stopped {
		if now.Sub(at) > recentlyEnded {
			delete(a.stopped, x)
		}
	}
	a.stopped[d.xref] = now
	xref, id, c := d.xref, d.id, a.conn
	a.mu.Unlock()
	if c == nil || xref == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	if _, err := c.Do(ctx, &csta.MonitorStop{MonitorCrossRefID: xref}); err != nil {
		return a.mapErr("monitor stop", err)
	}
	a.releaseDeviceID(ctx, c, id)
	return nil
}

// Calls returns the live calls the tracker holds for a device.
func (a *Adapter) Calls(dev string) []gateway.Call {
	a.mu.Lock()
	defer a.mu.Unlock()
	d, ok := a.devices[dev]
	if !ok {
		return nil
	}
	out := make([]gateway.Call, 0, len(d.calls))
	for _, c := range d.calls {
		out = append(out, *c)
	}
	return out
}

func (a *Adapter) link() (*csta.Conn, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.conn == nil || !a.up {
		return nil, gateway.Errorf(gateway.CodePBXUnavailable, "the telephone system is not reachable; try again shortly")
	}
	return a.conn, nil
}

// linkFor is the link for commands on dev: up, or dev already
// resynchronised while the others still are (its agent is served).
func (a *Adapter) linkFor(dev string) (*csta.Conn, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if d, ok := a.devices[dev]; ok && d.synced && a.conn != nil {
		return a.conn, nil
	}
	if a.conn == nil || !a.up {
		return nil, gateway.Errorf(gateway.CodePBXUnavailable, "the telephone system is not reachable; try again shortly")
	}
	return a.conn, nil
}

func (a *Adapter) do(ctx context.Context, dev, op string, req csta.Message) (csta.Message, error) {
	if a.watching.Load() {
		return nil, gateway.Errorf(gateway.CodePBXUnavailable, "this gateway is a standby")
	}
	c, err := a.linkFor(dev)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	m, err := c.Do(ctx, req)
	if err != nil {
		return nil, a.mapErr(op, err)
	}
	return m, nil
}

// mapErr turns a link error into the stable codes agents see.
func (a *Adapter) mapErr(op string, err error) error {
	var ce *csta.CSTAErrorCode
	if errors.As(err, &ce) {
		cat, val := ce.Category()
		if cat == csta.ErrCatPerformance {
			// The switch is over its request rate (performanceLimitExceeded):
			// it said nothing about the request itself, which is worth
			// asking again shortly. A login's monitor is (connectPhone).
			return gateway.Wrap(gateway.CodePBXUnavailable, fmt.Errorf("pbx: %s: %w", op, err), "the telephone system is busy; try again")
		}
		return gateway.Wrap(gateway.CodePBXRefused, fmt.Errorf("pbx: %s: %w", op, err), fmt.Sprintf("the telephone system refused: %s (%s)", val, cat))
	}
	return gateway.Wrap(gateway.CodePBXUnavailable, fmt.Errorf("pbx: %s: %w", op, err), "the telephone system did not answer; try again")
}

// target is how requests address the agent's device: by the ID the
// switch assigned or the number it knows, not by the extension.
func (a *Adapter) target(ext string) csta.DeviceID {
	a.mu.Lock()
	defer a.mu.Unlock()
	if d, ok := a.devices[ext]; ok {
		return d.id
	}
	return csta.DeviceID(DeviceNumber(a.cfg.DeviceTemplate, ext))
}

func (a *Adapter) connection(ext, callID string) csta.ConnectionID {
	return csta.ConnectionID{CallID: callID, DeviceID: a.target(ext)}
}

// MakeCall calls number from device and returns the new call's ID.
func (a *Adapter) MakeCall(ctx context.Context, dev, number string) (string, error) {
	m, err := a.do(ctx, dev, "make call", &csta.MakeCall{CallingDevice: a.target(dev), CalledDirectoryNumber: csta.DeviceID(number), AutoOriginate: "doNotPrompt"})
	if err != nil {
		return "", err
	}
	r, ok := m.(*csta.MakeCallResponse)
	if !ok {
		return "", gateway.Errorf(gateway.CodePBXRefused, "unexpected answer %s", m.MessageName())
	}
	return r.CallingDevice.CallID, nil
}

// Answer answers a ringing call at device.
func (a *Adapter) Answer(ctx context.Context, dev, callID string) error {
	_, err := a.do(ctx, dev, "answer", &csta.AnswerCall{CallToBeAnswered: a.connection(dev, callID)})
	return err
}

// Clear drops device from the call. The call's ConnectionCleared event
// settles it as well as the response does: some switches never answer
// ClearConnection, and the agent must not see pbx_unavailable for a call
// that did end.
func (a *Adapter) Clear(ctx context.Context, dev, callID string) error {
	ended := a.watchEnd(dev, callID)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-ended:
			cancel()
		case <-ctx.Done():
		}
	}()
	_, err := a.do(ctx, dev, "clear connection", &csta.ClearConnection{ConnectionToBeCleared: a.connection(dev, callID)})
	select {
	case <-ended:
		return nil
	default:
		return err
	}
}

// watchEnd returns a channel closed when the tracked call ends (never, if
// it is not tracked).
func (a *Adapter) watchEnd(ext, callID string) <-chan struct{} {
	ch := make(chan struct{})
	a.mu.Lock()
	defer a.mu.Unlock()
	if d, ok := a.devices[ext]; ok && d.calls[callID] != nil {
		d.clearing[callID] = append(d.clearing[callID], ch)
	}
	return ch
}

// Hold holds the call at device.
func (a *Adapter) Hold(ctx context.Context, dev, callID string) error {
	_, err := a.do(ctx, dev, "hold", &csta.HoldCall{CallToBeHeld: a.connection(dev, callID)})
	return err
}

// Retrieve takes the held call back.
func (a *Adapter) Retrieve(ctx context.Context, dev, callID string) error {
	_, err := a.do(ctx, dev, "retrieve", &csta.RetrieveCall{CallToBeRetrieved: a.connection(dev, callID)})
	return err
}

// Transfer hands the call over to another number (blind transfer).
func (a *Adapter) Transfer(ctx context.Context, dev, callID, to string) error {
	_, err := a.do(ctx, dev, "transfer", &csta.SingleStepTransferCall{ActiveCall: a.connection(dev, callID), TransferredTo: csta.DeviceID(to)})
	return err
}

// SetStatus sets Available/Busy on the device, by agent state or by
// do-not-disturb as configured.
func (a *Adapter) SetStatus(ctx context.Context, dev, agentID string, s gateway.Status) error {
	var req csta.Message
	if a.cfg.StatusMode == StatusAgentState {
		state := csta.AgentReady
		if s == gateway.StatusBusy {
			state = csta.AgentNotReady
		}
		req = &csta.SetAgentState{Device: a.target(dev), RequestedAgentState: state, AgentID: agentID}
	} else {
		req = &csta.SetDoNotDisturb{Device: a.target(dev), DoNotDisturbOn: s == gateway.StatusBusy}
	}
	_, err := a.do(ctx, dev, "set status", req)
	return err
}

// Consult holds the call and calls another party (ConsultationCall).
func (a *Adapter) Consult(ctx context.Context, dev, callID, to string) (string, error) {
	m, err := a.do(ctx, dev, "consultation call", &csta.ConsultationCall{ExistingCall: a.connection(dev, callID), ConsultedDevice: csta.DeviceID(to)})
	if err != nil {
		return "", err
	}
	r, ok := m.(*csta.ConsultationCallResponse)
	if !ok {
		return "", gateway.Errorf(gateway.CodePBXRefused, "unexpected answer %s", m.MessageName())
	}
	return r.InitiatedCall.CallID, nil
}

// Complete joins the held and the active call: TransferCall, or
// ConferenceCall when conference is set.
func (a *Adapter) Complete(ctx context.Context, dev, heldID, activeID string, conference bool) error {
	if conference {
		_, err := a.do(ctx, dev, "conference", &csta.ConferenceCall{HeldCall: a.connection(dev, heldID), ActiveCall: a.connection(dev, activeID)})
		return err
	}
	_, err := a.do(ctx, dev, "transfer call", &csta.TransferCall{HeldCall: a.connection(dev, heldID), ActiveCall: a.connection(dev, activeID)})
	return err
}

// SendDigits plays DTMF on the call (GenerateDigits).
func (a *Adapter) SendDigits(ctx context.Context, dev, callID, digits string) error {
	_, err := a.do(ctx, dev, "generate digits", &csta.GenerateDigits{ConnectionToSendDigits: a.connection(dev, callID), CharactersToSend: digits})
	return err
}
