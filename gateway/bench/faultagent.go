package bench

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"crmcti/gateway/gatewaytest/wireclient"
	"crmcti/gateway/wire"
)

// panelAgent is an agent's browser in the fault suite: it stays logged
// in as the extension would (reconnecting and logging in again whenever
// its socket ends), keeps the panel's view of its calls from events and
// snapshots, and works each call as a person would.
type panelAgent struct {
	user, ext string
	url       string
	talk      time.Duration
	signal    func(time.Time, string) // a sign the gateway noticed a fault

	mu       sync.Mutex
	cl       *wireclient.Client
	online   bool
	epoch    int                  // logins so far
	view     map[string]string    // call -> last state the panel showed ("ended" is final)
	firstRun map[string]time.Time // call -> when the panel first showed it
}

func newPanelAgent(user, ext, url string, talk time.Duration, signal func(time.Time, string)) *panelAgent {
	return &panelAgent{user: user, ext: ext, url: url, talk: talk, signal: signal,
		view: map[string]string{}, firstRun: map[string]time.Time{}}
}

// run keeps the agent logged in until ctx ends; ready is closed after
// the first login (or the first failure to log in).
func (a *panelAgent) run(ctx context.Context, ready chan<- error) {
	var once sync.Once
	report := func(err error) { once.Do(func() { ready <- err }) }
	for ctx.Err() == nil {
		report(a.session(ctx, report))
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// session logs in once and serves the connection until it ends;
// loggedIn is told once the snapshot is in.
func (a *panelAgent) session(ctx context.Context, loggedIn func(error)) error {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cl, err := wireclient.Dial(dctx, a.url)
	if err != nil {
		return err
	}
	_, snap, err := cl.Login(dctx, a.user, "bench", 10*time.Second)
	if err != nil {
		cl.Close()
		return err
	}
	a.mu.Lock()
	a.cl, a.online = cl, true
	a.epoch++
	a.mu.Unlock()
	a.applySnapshot(snap)
	loggedIn(nil)
	cl.Watch(a.onFrame)
	// Frames read between the snapshot and Watch wait in the client.
	for {
		e, err := cl.Next(wire.TCallEvent, 20*time.Millisecond)
		if err != nil {
			break
		}
		a.onFrame(e, time.Now())
	}
	select {
	case <-ctx.Done():
		cl.Close()
	case <-cl.Done():
	}
	<-cl.Done()
	a.mu.Lock()
	a.online = false
	a.mu.Unlock()
	a.signal(time.Now(), "an agent's socket ended")
	return nil
}

// applySnapshot is the resync: calls the panel showed that the gateway
// no longer has have ended; the others take the snapshot's state.
func (a *panelAgent) applySnapshot(snap wire.Snapshot) {
	now := time.Now()
	in := map[string]bool{}
	a.mu.Lock()
	for _, c := range snap.Calls {
		in[c.ID] = true
		a.showLocked(c.ID, c.State, now)
	}
	for id, st := range a.view {
		if !in[id] && st != "ended" {
			a.view[id] = "ended"
		}
	}
	a.mu.Unlock()
	// After a resync the agent picks up where the call is: answer a
	// ringing one, finish a connected or held one.
	resume := map[string]string{"ringing": "rang", "connected": "retrieved", "held": "held"}
	for _, c := range snap.Calls {
		a.react(c.ID, resume[c.State])
	}
}

func (a *panelAgent) showLocked(id, state string, at time.Time) {
	if a.view[id] == "ended" {
		return
	}
	if state == "failed" {
		state = "ended"
	}
	a.view[id] = state
	if _, ok := a.firstRun[id]; !ok {
		a.firstRun[id] = at
	}
}

func (a *panelAgent) onFrame(env wire.Envelope, at time.Time) {
	switch env.Type {
	case wire.TLink:
		var l wire.Link
		if json.Unmarshal(env.Data, &l) == nil && l.PBX == "down" {
			a.signal(at, "link down event at an agent")
		}
	case wire.TCallEvent:
		var ce wire.CallEvent
		if wire.DecodeData(env, &ce) != nil {
			return
		}
		state := ce.Call.State
		if ce.Event == "ended" {
			state = "ended"
		}
		a.mu.Lock()
		a.showLocked(ce.Call.ID, state, at)
		a.mu.Unlock()
		a.react(ce.Call.ID, ce.Event)
	}
}

// react works a call: answer soon after it rings, then hold, retrieve
// and hang up a third of the talk time apart. step is the panel event
// ("rang", "answered", "held", "retrieved").
func (a *panelAgent) react(callID, step string) {
	next := map[string]string{"rang": wire.TAnswer, "answered": wire.THold, "held": wire.TRetrieve, "retrieved": wire.THangup}
	cmd, ok := next[step]
	if !ok {
		return
	}
	delay := a.talk / 3
	if step == "rang" {
		delay = a.talk / 9
	}
	time.AfterFunc(delay, func() { a.send(cmd, wire.CallRef{CallID: callID}) })
}

// send sends a command on the current connection, if any; its answer is
// not awaited (the events tell).
func (a *panelAgent) send(typ string, data any) (string, *wireclient.Client) {
	a.mu.Lock()
	cl, online := a.cl, a.online
	a.mu.Unlock()
	if !online {
		return "", nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	id, err := cl.Send(ctx, typ, data)
	if err != nil {
		return "", nil
	}
	return id, cl
}

// shown reports whether the panel ever showed the call, and its state.
func (a *panelAgent) shown(callID string) (bool, string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.firstRun[callID]
	return ok, a.view[callID]
}

func (a *panelAgent) isOnline() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.online
}
