// Package pbx is the gateway's switch adapter over CSTA: one link for the
// whole gateway, kept up with reconnects; a monitor per logged-in agent's
// device; a call tracker per device fed by the switch's events; and
// resynchronisation by SnapshotDevice after every reconnect, so that calls
// that ended during an outage are cleared and calls that began during it
// are shown.
package pbx

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"crmcti/gateway"
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
}

// Adapter is the gateway's PBX.
type Adapter struct {
	cfg  Config
	log  *slog.Logger
	sink gateway.SwitchEvents

	mu      sync.Mutex
	conn    *csta.Conn
	up      bool
	devices map[string]*device // monitored (wanted) devices
	byXref  map[string]*device
	closed  bool
	stop    chan struct{}
	done    chan struct{}
}

type device struct {
	id    string
	xref  string // current monitor, "" while the link is down
	calls map[string]*gateway.Call
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
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Adapter{cfg: cfg, log: log, sink: sink, devices: map[string]*device{}, byXref: map[string]*device{},
		stop: make(chan struct{}), done: make(chan struct{})}
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
	backoff := a.cfg.MinBackoff
	for {
		select {
		case <-a.stop:
			return
		default:
		}
		err := a.connectOnce()
		if err == nil {
			backoff = a.cfg.MinBackoff
			continue
		}
		a.log.Warn("pbx: link down", "addr", a.cfg.Addr, "err", err, "retry", backoff)
		select {
		case <-a.stop:
			return
		case <-time.After(backoff + time.Duration(rand.Int64N(int64(backoff)/4+1))):
		}
		backoff = min(backoff*2, a.cfg.MaxBackoff)
	}
}

// connectOnce dials, resynchronises every monitored device, then waits for
// the link to end. A nil error means the link was up and then dropped.
func (a *Adapter) connectOnce() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	c, err := csta.Dial(ctx, a.cfg.Addr, csta.Config{Profile: a.cfg.Profile, TLS: a.cfg.TLS, OnEvent: a.onEvent,
		RequestTimeout: a.cfg.Timeout, Logger: a.log, OnMessage: a.cfg.OnMessage})
	cancel()
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
	a.log.Info("pbx: link up", "addr", a.cfg.Addr, "devices", len(devs))
	for _, d := range devs {
		if err := a.startMonitor(c, d); err != nil {
			a.log.Warn("pbx: re-monitor", "device", d.id, "err", err)
		}
	}
	a.mu.Lock()
	a.up = true
	a.mu.Unlock()
	a.sink.LinkChanged(true)
	<-c.Done()
	a.mu.Lock()
	a.up = false
	a.conn = nil
	for _, d := range a.devices {
		d.xref = ""
	}
	a.byXref = map[string]*device{}
	closed := a.closed
	a.mu.Unlock()
	if !closed {
		a.log.Warn("pbx: link lost", "err", c.Err())
		a.sink.LinkChanged(false)
	}
	return nil
}

// startMonitor monitors d and reconciles its calls with a snapshot.
func (a *Adapter) startMonitor(c *csta.Conn, d *device) error {
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.Timeout)
	defer cancel()
	resp, err := csta.Call[*csta.MonitorStartResponse](ctx, c, &csta.MonitorStart{MonitorObject: csta.MonitorObject{DeviceObject: csta.DeviceID(d.id)}})
	if err != nil {
		return err
	}
	a.mu.Lock()
	d.xref = resp.MonitorCrossRefID
	a.byXref[d.xref] = d
	a.mu.Unlock()
	snap, err := csta.Call[*csta.SnapshotDeviceResponse](ctx, c, &csta.SnapshotDevice{SnapshotObject: csta.DeviceID(d.id)})
	if err != nil {
		return err
	}
	a.reconcile(d, snap.Calls())
	return nil
}

// reconcile makes the tracker agree with a snapshot: what the switch no
// longer has has ended; what it has that we do not know began while we
// were away (its far end is unknown until the next event names it).
func (a *Adapter) reconcile(d *device, infos []csta.SnapshotDeviceInfo) {
	type change struct {
		c  gateway.Call
		ev gateway.CallEvent
	}
	var changes []change
	now := time.Now()
	a.mu.Lock()
	seen := map[string]bool{}
	for _, in := range infos {
		id := in.ConnectionIdentifier.CallID
		seen[id] = true
		state := stateOf(in.LocalCallState.CompoundCallState.LocalConnectionState)
		c, ok := d.calls[id]
		if !ok {
			c = &gateway.Call{ID: id, Device: d.id, Direction: gateway.Inbound, Started: now}
			if state == gateway.CallDialing {
				c.Direction = gateway.Outbound
			}
			d.calls[id] = c
		}
		if c.State == state {
			continue
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
		changes = append(changes, change{*c, ev})
	}
	for id, c := range d.calls {
		if seen[id] {
			continue
		}
		c.State, c.Ended, c.Cause = gateway.CallEnded, now, "resync"
		changes = append(changes, change{*c, gateway.EvEnded})
		delete(d.calls, id)
	}
	a.mu.Unlock()
	for _, ch := range changes {
		a.sink.CallChanged(ch.c, ch.ev)
	}
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
	d := &device{id: dev, calls: map[string]*gateway.Call{}}
	a.devices[dev] = d
	c := a.conn
	a.mu.Unlock()
	if c == nil {
		return nil
	}
	if err := a.startMonitor(c, d); err != nil {
		a.mu.Lock()
		delete(a.devices, dev)
		a.mu.Unlock()
		return a.mapErr("monitor", err)
	}
	return nil
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
	xref, c := d.xref, a.conn
	a.mu.Unlock()
	if c == nil || xref == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	if _, err := c.Do(ctx, &csta.MonitorStop{MonitorCrossRefID: xref}); err != nil {
		return a.mapErr("monitor stop", err)
	}
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
		return nil, gateway.Errorf(gateway.ErrPBXUnavailable, "the telephone system is not reachable; try again shortly")
	}
	return a.conn, nil
}

func (a *Adapter) do(ctx context.Context, op string, req csta.Message) (csta.Message, error) {
	c, err := a.link()
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
		return gateway.Wrap(gateway.ErrPBXRefused, fmt.Errorf("pbx: %s: %w", op, err), fmt.Sprintf("the telephone system refused: %s (%s)", val, cat))
	}
	return gateway.Wrap(gateway.ErrPBXUnavailable, fmt.Errorf("pbx: %s: %w", op, err), "the telephone system did not answer; try again")
}

func conn(dev, callID string) csta.ConnectionID {
	return csta.ConnectionID{CallID: callID, DeviceID: csta.DeviceID(dev)}
}

// MakeCall calls number from device and returns the new call's ID.
func (a *Adapter) MakeCall(ctx context.Context, dev, number string) (string, error) {
	m, err := a.do(ctx, "make call", &csta.MakeCall{CallingDevice: csta.DeviceID(dev), CalledDirectoryNumber: csta.DeviceID(number), AutoOriginate: "doNotPrompt"})
	if err != nil {
		return "", err
	}
	r, ok := m.(*csta.MakeCallResponse)
	if !ok {
		return "", gateway.Errorf(gateway.ErrPBXRefused, "unexpected answer %s", m.MessageName())
	}
	return r.CallingDevice.CallID, nil
}

// Answer answers a ringing call at device.
func (a *Adapter) Answer(ctx context.Context, dev, callID string) error {
	_, err := a.do(ctx, "answer", &csta.AnswerCall{CallToBeAnswered: conn(dev, callID)})
	return err
}

// Clear drops device from the call.
func (a *Adapter) Clear(ctx context.Context, dev, callID string) error {
	_, err := a.do(ctx, "clear connection", &csta.ClearConnection{ConnectionToBeCleared: conn(dev, callID)})
	return err
}

// Hold holds the call at device.
func (a *Adapter) Hold(ctx context.Context, dev, callID string) error {
	_, err := a.do(ctx, "hold", &csta.HoldCall{CallToBeHeld: conn(dev, callID)})
	return err
}

// Retrieve takes the held call back.
func (a *Adapter) Retrieve(ctx context.Context, dev, callID string) error {
	_, err := a.do(ctx, "retrieve", &csta.RetrieveCall{CallToBeRetrieved: conn(dev, callID)})
	return err
}

// Transfer hands the call over to another number (blind transfer).
func (a *Adapter) Transfer(ctx context.Context, dev, callID, to string) error {
	_, err := a.do(ctx, "transfer", &csta.SingleStepTransferCall{ActiveCall: conn(dev, callID), TransferredTo: csta.DeviceID(to)})
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
		req = &csta.SetAgentState{Device: csta.DeviceID(dev), RequestedAgentState: state, AgentID: agentID}
	} else {
		req = &csta.SetDoNotDisturb{Device: csta.DeviceID(dev), DoNotDisturbOn: s == gateway.StatusBusy}
	}
	_, err := a.do(ctx, "set status", req)
	return err
}

// Consult holds the call and calls another party (ConsultationCall).
func (a *Adapter) Consult(ctx context.Context, dev, callID, to string) (string, error) {
	m, err := a.do(ctx, "consultation call", &csta.ConsultationCall{ExistingCall: conn(dev, callID), ConsultedDevice: csta.DeviceID(to)})
	if err != nil {
		return "", err
	}
	r, ok := m.(*csta.ConsultationCallResponse)
	if !ok {
		return "", gateway.Errorf(gateway.ErrPBXRefused, "unexpected answer %s", m.MessageName())
	}
	return r.InitiatedCall.CallID, nil
}

// Complete joins the held and the active call: TransferCall, or
// ConferenceCall when conference is set.
func (a *Adapter) Complete(ctx context.Context, dev, heldID, activeID string, conference bool) error {
	if conference {
		_, err := a.do(ctx, "conference", &csta.ConferenceCall{HeldCall: conn(dev, heldID), ActiveCall: conn(dev, activeID)})
		return err
	}
	_, err := a.do(ctx, "transfer call", &csta.TransferCall{HeldCall: conn(dev, heldID), ActiveCall: conn(dev, activeID)})
	return err
}

// SendDigits plays DTMF on the call (GenerateDigits).
func (a *Adapter) SendDigits(ctx context.Context, dev, callID, digits string) error {
	_, err := a.do(ctx, "generate digits", &csta.GenerateDigits{ConnectionToSendDigits: conn(dev, callID), CharactersToSend: digits})
	return err
}
