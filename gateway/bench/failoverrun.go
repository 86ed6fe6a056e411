package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"syscall"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/csta"
)

// panelState is the panel's word for a connection state of the switch.
func panelState(s string) string {
	switch s {
	case csta.StateAlerting:
		return "ringing"
	case csta.StateHold:
		return "held"
	case csta.StateInitiated:
		return "dialing"
	}
	return s
}

// truth is the switch's calls at each agent device: device → call → state.
func (r *pairRig) truth() map[string]map[string]string {
	agents := map[string]bool{}
	for _, a := range r.agents {
		agents[a.ext] = true
	}
	out := map[string]map[string]string{}
	for _, c := range r.sim.Calls() {
		for _, cn := range c.Connections {
			if !agents[cn.Device] {
				continue
			}
			if out[cn.Device] == nil {
				out[cn.Device] = map[string]string{}
			}
			out[cn.Device][c.CallID] = panelState(cn.State)
		}
	}
	return out
}

// failover runs one: calls placed, the active signalled, the gap worked
// on the phones, the take-over measured and the panels and the call log
// checked against the switch.
func (r *pairRig) failover(ctx context.Context, sig syscall.Signal) (FailoverResult, error) {
	res := FailoverResult{Kind: map[syscall.Signal]string{syscall.SIGKILL: "sigkill", syscall.SIGTERM: "sigterm"}[sig], Calls: map[string]int{}}
	if err := r.placeCalls(ctx); err != nil {
		return res, err
	}
	time.Sleep(time.Second) // the call log's batches written
	before := r.truth()
	for _, calls := range before {
		for _, st := range calls {
			res.Calls[st]++
		}
	}
	active, standby := r.active()
	// A standby that runs for a while watches every logged-in agent's
	// phone; one restarted a moment ago (the last round's active) is not
	// there yet. The round starts when it is, as in a pair in service.
	warm, err := standby.awaitWatching(ctx, len(r.agents), time.Minute)
	if err != nil {
		return res, err
	}
	r.cfg.say("%s: %s the active %s with %v; the standby %s watches %d phones", res.Kind, sig, active.name, res.Calls, standby.name, warm)
	t0 := time.Now()
	signalled := make(chan struct{})
	go func() {
		active.signal(sig)
		close(signalled)
	}()
	res.ChangedInGap = r.workTheGap()
	if err := standby.awaitActive(ctx, 30*time.Second); err != nil {
		return res, err
	}
	res.TakeOver = time.Since(t0)
	r.awaitAgents(t0, &res)
	time.Sleep(2 * time.Second) // far ends restored from the call log
	r.compare(&res)
	<-signalled
	r.hangUpAll()
	time.Sleep(2 * time.Second)
	r.checkRows(ctx, before, &res)
	// The old active comes back as the standby of the next round.
	return res, active.start(ctx)
}

// placeCalls gives three agents in four a call: ringing, connected or
// held; it waits until every panel shows it.
func (r *pairRig) placeCalls(ctx context.Context) error {
	want := map[string]string{}
	for i, a := range r.agents {
		kind := i % 4
		if kind == 0 {
			continue
		}
		res, err := r.sim.StartInbound(fmt.Sprintf("+3572200%04d", i), a.ext)
		if err != nil {
			return err
		}
		want[res.CallID] = "ringing"
		if kind >= 2 {
			r.sim.Answer(res.CallID, a.ext)
			want[res.CallID] = "connected"
		}
		if kind == 3 {
			r.sim.Hold(res.CallID, a.ext)
			want[res.CallID] = "held"
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		missing := 0
		for _, a := range r.agents {
			shown, _, _ := a.view()
			for id, st := range shown {
				if want[id] == st {
					missing--
				}
			}
		}
		if missing += len(want); missing == 0 {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%d calls never showed in their panel in their state", missing)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// workTheGap changes calls on the phones while no gateway is active: a
// ringing call in two is answered, a connected one in two hung up.
func (r *pairRig) workTheGap() int {
	n := 0
	for i, a := range r.agents {
		for id, st := range r.truth()[a.ext] {
			switch {
			case st == "ringing" && i%8 == 1:
				r.sim.Answer(id, a.ext)
				n++
			case st == "connected" && i%8 == 2:
				r.sim.Hangup(id, a.ext)
				n++
			}
		}
	}
	return n
}

// awaitAgents waits until every panel has a snapshot from after t0.
func (r *pairRig) awaitAgents(t0 time.Time, res *FailoverResult) {
	deadline := time.Now().Add(30 * time.Second)
	var back []time.Duration
	for time.Now().Before(deadline) {
		back = back[:0]
		relogins := 0
		for _, a := range r.agents {
			_, at, re := a.view()
			relogins += re
			if at.After(t0) {
				back = append(back, at.Sub(t0))
			}
		}
		res.Relogins = relogins
		if len(back) == len(r.agents) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	res.AgentsBack = len(back)
	if len(back) > 0 {
		slices.Sort(back)
		res.BackMedian, res.BackP95, res.BackMax = back[len(back)/2], back[len(back)*95/100], back[len(back)-1]
	}
}

// compare checks every panel against the switch.
func (r *pairRig) compare(res *FailoverResult) {
	now := r.truth()
	for _, a := range r.agents {
		shown, _, _ := a.view()
		for id, st := range now[a.ext] {
			switch got, ok := shown[id]; {
			case !ok:
				res.CallsLost++
				res.Notes = append(res.Notes, fmt.Sprintf("%s: call %s (%s) not shown", a.user, id, st))
			case got != st:
				res.WrongState++
				res.Notes = append(res.Notes, fmt.Sprintf("%s: call %s shown %s, switch %s", a.user, id, got, st))
			}
		}
		for id, got := range shown {
			if _, ok := now[a.ext][id]; !ok {
				res.WrongState++
				res.Notes = append(res.Notes, fmt.Sprintf("%s: call %s shown %s, ended on the switch", a.user, id, got))
			}
		}
	}
}

func (r *pairRig) hangUpAll() {
	for _, c := range r.sim.Calls() {
		for _, cn := range c.Connections {
			r.sim.Hangup(c.CallID, cn.Device)
			break
		}
	}
}

// checkRows looks up, for every call at t0, its row in the call log,
// giving the writers (the new active's, a restarted gateway's spool) up
// to 15 s to catch up.
func (r *pairRig) checkRows(ctx context.Context, before map[string]map[string]string, res *FailoverResult) {
	deadline := time.Now().Add(15 * time.Second)
	for {
		lost, open, notes := r.rowsMissing(ctx, before)
		if lost+open == 0 || time.Now().After(deadline) {
			res.RowsLost, res.RowsOpen, res.Notes = lost, open, append(res.Notes, notes...)
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	for _, calls := range before {
		res.RowsChecked += len(calls)
	}
}

// rowsMissing counts the calls with no row, and with a row left open.
func (r *pairRig) rowsMissing(ctx context.Context, before map[string]map[string]string) (lost, open int, notes []string) {
	for dev, calls := range before {
		for id := range calls {
			row, err := r.db.LoggedCall(ctx, id, dev)
			switch {
			case errors.Is(err, gateway.ErrNotFound):
				lost++
			case err != nil:
				notes = append(notes, "call log: "+err.Error())
			case row.Ended.IsZero():
				open++
			}
		}
	}
	return lost, open, notes
}
