package bench

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"crmcti/gateway/backoff"
	"crmcti/gateway/gatewaytest/wireclient"
	"crmcti/gateway/wire"
)

// failAgent is an extension with a list of gateways, as the contract of
// issue 14 has it: when its gateway goes away or says standby it moves
// to the next one at once and resumes its session with its token.
type failAgent struct {
	user, ext string
	urls      []string

	mu       sync.Mutex
	token    string
	next     int               // index of the URL to try first
	calls    map[string]string // live calls shown: ID → state
	backAt   time.Time         // when the panel last came back: a snapshot with the switch link up, or the link up after it
	linkUp   bool
	relogins int
	cl       *wireclient.Client
}

// login logs in on the first gateway of the list.
func (a *failAgent) login(ctx context.Context) error {
	dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	cl, err := wireclient.Dial(dctx, a.urls[0])
	if err != nil {
		return err
	}
	sess, snap, err := cl.Login(dctx, a.user, "bench", 20*time.Second)
	if err != nil {
		cl.Close()
		return err
	}
	a.mu.Lock()
	a.token = sess.Token
	a.mu.Unlock()
	a.serve(cl, snap)
	return nil
}

// run reconnects whenever the connection ends, until ctx ends: each URL
// of the list in turn without delay, then the extension's backoff (1 s
// doubling to 30 s, jittered) between whole rounds.
func (a *failAgent) run(ctx context.Context) {
	for ctx.Err() == nil {
		a.mu.Lock()
		cl := a.cl
		a.mu.Unlock()
		select {
		case <-ctx.Done():
			cl.Close()
			return
		case <-cl.Done():
		}
		delay := backoff.New(time.Second, 30*time.Second)
		for ctx.Err() == nil {
			ok, standby := a.reconnect(ctx)
			if ok {
				break
			}
			wait := delay.Next()
			if standby {
				wait = standbyRetry + rand.N(standbyRetry)
			}
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
	}
}

// standbyRetry is the wait (plus up to as much again at random) after a
// round in which a gateway answered standby: it is alive and one of the
// list takes over within a lease, so the doubling backoff (meant for
// gateways that are down) would only delay the agent. Shorter, and a
// thousand agents knocking on the standby slow the take-over itself (the
// extension side is advised the same: ha-contract.md).
const standbyRetry = 500 * time.Millisecond

// reconnect tries every URL once, starting after the one that ended; it
// reports whether one took the session, and whether one said standby.
func (a *failAgent) reconnect(ctx context.Context) (ok, standby bool) {
	a.mu.Lock()
	a.next++
	start := a.next
	a.mu.Unlock()
	for i := range a.urls {
		idx := (start + i) % len(a.urls)
		err := a.resume(ctx, a.urls[idx])
		if err == nil {
			a.mu.Lock()
			a.next = idx
			a.mu.Unlock()
			return true, false
		}
		standby = standby || errors.Is(err, errStandby)
	}
	return false, standby
}

// errStandby is a gateway that said bye (standby, shutting down).
var errStandby = errors.New("gateway said bye")

// resume continues the session on url; a session the gateway does not
// know any more costs a new login (counted: the goal is none).
func (a *failAgent) resume(ctx context.Context, url string) error {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cl, err := wireclient.Dial(dctx, url)
	if err != nil {
		return err
	}
	a.mu.Lock()
	token := a.token
	a.mu.Unlock()
	id, err := cl.Send(dctx, wire.TResume, wire.Resume{Token: token})
	if err == nil {
		var werr *wire.Error
		if _, werr, err = cl.Reply(id, 10*time.Second); werr != nil {
			err = a.relogin(dctx, cl, werr)
			if err == nil {
				return nil
			}
		}
	}
	if err != nil {
		cl.Close()
		return errors.Join(errStandby, err)
	}
	e, err := cl.Next(wire.TSnapshot, 10*time.Second)
	var snap wire.Snapshot
	if err == nil {
		err = json.Unmarshal(e.Data, &snap)
	}
	if err != nil {
		cl.Close()
		return err
	}
	a.serve(cl, snap)
	return nil
}

// relogin logs in again when the session was refused as ended.
func (a *failAgent) relogin(ctx context.Context, cl *wireclient.Client, werr *wire.Error) error {
	if werr.Code != "session_expired" {
		return errors.New(werr.Code)
	}
	sess, snap, err := cl.Login(ctx, a.user, "bench", 10*time.Second)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.token = sess.Token
	a.relogins++
	a.mu.Unlock()
	a.serve(cl, snap)
	return nil
}

// serve takes the snapshot as the panel's truth and follows the events.
func (a *failAgent) serve(cl *wireclient.Client, snap wire.Snapshot) {
	a.mu.Lock()
	a.cl, a.linkUp = cl, snap.PBX == "up"
	if a.linkUp {
		a.backAt = time.Now()
	}
	a.calls = map[string]string{}
	for _, c := range snap.Calls {
		a.calls[c.ID] = c.State
	}
	a.mu.Unlock()
	cl.Watch(a.onFrame)
	// Frames read between the snapshot and Watch wait in the client: the
	// calls' events, and the link coming up (the gateway tells each agent
	// as soon as her phone is resynchronised, often right after her
	// snapshot).
	for _, typ := range []string{wire.TCallEvent, wire.TLink} {
		for {
			e, err := cl.Next(typ, 20*time.Millisecond)
			if err != nil {
				break
			}
			a.onFrame(e, time.Now())
		}
	}
}

func (a *failAgent) onFrame(env wire.Envelope, at time.Time) {
	if env.Type == wire.TLink {
		var l wire.Link
		if wire.DecodeData(env, &l) == nil {
			a.mu.Lock()
			if up := l.PBX == "up"; up && !a.linkUp {
				a.linkUp, a.backAt = true, at
			} else {
				a.linkUp = up
			}
			a.mu.Unlock()
		}
		return
	}
	if env.Type != wire.TCallEvent {
		return
	}
	var ce wire.CallEvent
	if wire.DecodeData(env, &ce) != nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if ce.Event == "ended" || ce.Call.State == "ended" || ce.Call.State == "failed" {
		delete(a.calls, ce.Call.ID)
		return
	}
	a.calls[ce.Call.ID] = ce.Call.State
}

// view is what the panel shows now and when its snapshot last came.
func (a *failAgent) view() (map[string]string, time.Time, int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]string, len(a.calls))
	for id, st := range a.calls {
		out[id] = st
	}
	return out, a.backAt, a.relogins
}
