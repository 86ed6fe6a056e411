package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// FaultResult is what one fault did to the system, measured against the
// switch's truth.
type FaultResult struct {
	Name   string `json:"name"`
	How    string `json:"how"`
	NotRun string `json:"notRun,omitempty"` // why the fault could not be injected
	Calls  int    `json:"calls"`            // calls the switch made during the fault's run
	// Detect is from injection to the first sign the gateway noticed
	// (readiness, a link-down event, sockets closed, a refusal); -1:
	// never.
	Detect     time.Duration `json:"detectNs"`
	DetectedBy string        `json:"detectedBy,omitempty"`
	// Recover is from the end of the fault until the gateway is ready
	// and a new call rings in an agent's panel; -1: never.
	Recover    time.Duration `json:"recoverNs"`
	CallsLost  int           `json:"callsLost"`  // calls the panel never showed
	EventsLost int           `json:"eventsLost"` // calls the switch ended that the panel still shows live after resync
	RowsLost   int           `json:"rowsLost"`   // calls with no ended row in the call log
	RSSBefore  int64         `json:"rssBeforeBytes"`
	RSSPeak    int64         `json:"rssPeakBytes"`
	Notes      []string      `json:"notes,omitempty"`
}

// Lost is the sum of the losses.
func (f FaultResult) Lost() int { return f.CallsLost + f.EventsLost + f.RowsLost }

// Failed reports whether the fault lost anything or never recovered.
func (f FaultResult) Failed() bool { return f.NotRun == "" && (f.Lost() > 0 || f.Recover < 0) }

// fault is one way the world goes wrong. inject starts it; the returned
// end (nil: nothing to undo) ends it after the configured hold.
type fault struct {
	name, how string
	hold      func(FaultConfig) time.Duration
	inject    func(ctx context.Context, r *rig, res *FaultResult) (end func() error, err error)
}

// FaultReport is a run of the fault suite.
type FaultReport struct {
	Started  time.Time     `json:"started"`
	Finished time.Time     `json:"finished"`
	Machine  string        `json:"machine"`
	Command  string        `json:"command"`
	Config   FaultConfig   `json:"-"`
	Results  []FaultResult `json:"results"`
}

// Failed lists the faults that lost something or never recovered.
func (r *FaultReport) Failed() []string {
	var out []string
	for _, f := range r.Results {
		if f.Failed() {
			out = append(out, f.Name)
		}
	}
	return out
}

// RunFaults runs the fault suite: one system, each fault in turn under
// load.
func RunFaults(ctx context.Context, cfg FaultConfig) (*FaultReport, error) {
	cfg.defaults()
	rep := &FaultReport{Started: time.Now(), Config: cfg}
	r, err := startRig(ctx, cfg)
	defer r.close()
	if err != nil {
		return nil, err
	}
	for _, f := range faults {
		if len(cfg.Only) > 0 && !slices.Contains(cfg.Only, f.name) {
			continue
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		cfg.say("%s: %s", f.name, f.how)
		res := r.runFault(ctx, f)
		cfg.say("%s: %s", f.name, res.line())
		rep.Results = append(rep.Results, res)
	}
	rep.Finished = time.Now()
	return rep, nil
}

// runFault runs the load, injects the fault, waits for recovery, lets
// every call end on the switch, and counts what was lost.
func (r *rig) runFault(ctx context.Context, f fault) FaultResult {
	res := FaultResult{Name: f.name, How: f.how, Detect: -1, Recover: -1}
	r.mu.Lock()
	r.calls, r.signals, r.loading = map[string]*trueCall{}, nil, true
	r.mu.Unlock()
	res.RSSBefore, _ = procRSS(r.gateway().pid)
	time.Sleep(time.Second)
	mon := r.monitor()
	t0 := time.Now()
	end, err := f.inject(ctx, r, &res)
	if err != nil {
		mon.stop()
		res.NotRun = err.Error()
		r.drain()
		return res
	}
	sleepCtx(ctx, f.hold(r.cfg))
	var endErr error
	if end != nil {
		if endErr = end(); endErr != nil {
			res.Notes = append(res.Notes, "ending the fault: "+endErr.Error())
		}
	}
	t1 := time.Now()
	if res.Recover = r.awaitRecovery(ctx, t1); endErr != nil {
		res.Recover = -1 // what ending the fault needed did not come back
	}
	time.Sleep(time.Second)
	res.RSSPeak = mon.stop()
	var how string
	if res.Detect, how = r.detection(t0, mon); how != "" {
		res.DetectedBy = how
	}
	r.drain()
	r.tally(ctx, &res)
	return res
}

// awaitRecovery waits until the gateway is ready and a call started
// after t1 rings in its agent's panel; -1 if that takes over 30 s.
func (r *rig) awaitRecovery(ctx context.Context, t1 time.Time) time.Duration {
	limit := t1.Add(30 * time.Second)
	var readySince time.Time
	for time.Now().Before(limit) && ctx.Err() == nil {
		checked := time.Now()
		switch {
		case !r.readyNow():
			readySince = time.Time{}
		case readySince.IsZero():
			readySince = checked
		}
		if at, ok := r.firstShownAfter(t1); ok && !readySince.IsZero() {
			return max(at.Sub(t1), readySince.Sub(t1))
		}
		time.Sleep(50 * time.Millisecond)
	}
	return -1
}

func (r *rig) firstShownAfter(t1 time.Time) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var first time.Time
	for _, c := range r.calls {
		if c.started.Before(t1) {
			continue
		}
		c.agent.mu.Lock()
		at, ok := c.agent.firstRun[c.id]
		c.agent.mu.Unlock()
		if ok && (first.IsZero() || at.Before(first)) {
			first = at
		}
	}
	return first, !first.IsZero()
}

// drain stops new calls, lets the calls in progress end (callers give
// up after their patience) and waits for the switch to be idle.
func (r *rig) drain() {
	r.mu.Lock()
	r.loading = false
	r.mu.Unlock()
	limit := time.Now().Add(r.cfg.patience() + 5*time.Second)
	for time.Now().Before(limit) {
		r.mu.Lock()
		n := len(r.busy)
		r.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.hangUpAll()
	time.Sleep(500 * time.Millisecond)
}

// tally compares the panels and the call log with the calls the switch
// made. The panels get a few seconds to settle (events in flight, a
// resync), the call log longer (buffered steps after an outage).
func (r *rig) tally(ctx context.Context, res *FaultResult) {
	r.mu.Lock()
	calls := make([]*trueCall, 0, len(r.calls))
	for _, c := range r.calls {
		calls = append(calls, c)
	}
	r.mu.Unlock()
	res.Calls = len(calls)
	var stuck []*trueCall
	for limit := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		res.CallsLost, stuck = 0, nil
		for _, c := range calls {
			shown, state := c.agent.shown(c.id)
			switch {
			case !shown:
				res.CallsLost++
			case state != "ended":
				stuck = append(stuck, c)
			}
		}
		if len(stuck) == 0 || time.Now().After(limit) {
			break
		}
	}
	res.EventsLost = len(stuck)
	for _, c := range stuck[:min(len(stuck), 3)] {
		_, state := c.agent.shown(c.id)
		res.Notes = append(res.Notes, fmt.Sprintf("call %s on %s ended on the switch, panel still shows %s", c.id, c.agent.ext, state))
	}
	res.RowsLost = r.rowsLost(ctx, calls, res)
}

func (r *rig) rowsLost(ctx context.Context, calls []*trueCall, res *FaultResult) int {
	ids := make([]string, len(calls))
	for i, c := range calls {
		ids[i] = c.id
	}
	lost := len(ids)
	for limit := time.Now().Add(10 * time.Second); ctx.Err() == nil; time.Sleep(250 * time.Millisecond) {
		logged, err := r.loggedCalls(ctx, ids)
		if err == nil {
			lost = len(ids) - len(logged)
		}
		if lost == 0 || time.Now().After(limit) {
			if err != nil {
				res.Notes = append(res.Notes, "call log query: "+err.Error())
			}
			break
		}
	}
	return lost
}

// monitor samples the gateway's readiness and RSS until stopped.
type monitor struct {
	stopc    chan struct{}
	done     chan struct{}
	mu       sync.Mutex
	notReady []sign
	peak     int64
}

func (r *rig) monitor() *monitor {
	m := &monitor{stopc: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		for {
			select {
			case <-m.stopc:
				return
			case <-time.After(100 * time.Millisecond):
			}
			ok := r.readyNow()
			rss, _ := procRSS(r.gateway().pid)
			m.mu.Lock()
			if !ok {
				m.notReady = append(m.notReady, sign{time.Now(), "/readyz not 200"})
			}
			m.peak = max(m.peak, rss)
			m.mu.Unlock()
		}
	}()
	return m
}

// stop ends the sampling and returns the peak RSS.
func (m *monitor) stop() int64 {
	select {
	case <-m.stopc:
	default:
		close(m.stopc)
	}
	<-m.done
	return m.peak
}

// detection is the first sign after t0 that something was wrong, and
// what it was.
func (r *rig) detection(t0 time.Time, m *monitor) (time.Duration, string) {
	r.mu.Lock()
	signs := append([]sign(nil), r.signals...)
	r.mu.Unlock()
	m.mu.Lock()
	signs = append(signs, m.notReady...)
	m.mu.Unlock()
	first, what := time.Duration(-1), ""
	for _, s := range signs {
		if d := s.at.Sub(t0); d >= 0 && (first < 0 || d < first) {
			first, what = d, s.what
		}
	}
	return first, what
}

// readyNow asks /readyz; a gateway that does not answer within a second
// is not ready.
func (r *rig) readyNow() bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+r.gwAddr+"/readyz", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer res.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode == http.StatusOK
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func (f FaultResult) line() string {
	if f.NotRun != "" {
		return "not run: " + f.NotRun
	}
	return fmt.Sprintf("%d calls, detect %s, recover %s, lost calls/events/rows %d/%d/%d, RSS %s → %s %s",
		f.Calls, dur(f.Detect), dur(f.Recover), f.CallsLost, f.EventsLost, f.RowsLost,
		mib(f.RSSBefore), mib(f.RSSPeak), strings.Join(f.Notes, "; "))
}

func dur(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// Markdown is the report as RELIABILITY.md's figures.
func (rep *FaultReport) Markdown() string {
	var b strings.Builder
	c := rep.Config
	fmt.Fprintf(&b, "Measured %s on %s.\n\n", rep.Started.UTC().Format("2006-01-02 15:04 UTC"), rep.Machine)
	fmt.Fprintf(&b, "Command: `%s`\n\n", rep.Command)
	fmt.Fprintf(&b, "Load: %d agents logged in over WebSocket, %.0f inbound calls/s (answer, hold, retrieve, hang up over %s); each fault lasts %s (PostgreSQL %s); %d idle sockets; %d wrong-password logins. Total %s.\n\n",
		c.Agents, c.Rate, c.Talk, c.Hold, c.PostgresFor, c.IdleSockets, c.Logins, rep.Finished.Sub(rep.Started).Round(time.Second))
	b.WriteString("| fault | injected as | calls | detect | recover | calls lost | events lost after resync | call-log rows lost | gateway RSS before → peak | |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, f := range rep.Results {
		if f.NotRun != "" {
			fmt.Fprintf(&b, "| %s | %s | | | | | | | | not run: %s |\n", f.Name, f.How, f.NotRun)
			continue
		}
		verdict := "held"
		if f.Failed() {
			verdict = "**FAILED**"
		}
		detect := dur(f.Detect)
		if f.DetectedBy != "" {
			detect += " (" + f.DetectedBy + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %d | %d | %d | %s → %s | %s |\n", f.Name, f.How, f.Calls,
			detect, dur(f.Recover), f.CallsLost, f.EventsLost, f.RowsLost, mib(f.RSSBefore), mib(f.RSSPeak), verdict)
	}
	var notes []string
	for _, f := range rep.Results {
		for _, n := range f.Notes {
			notes = append(notes, fmt.Sprintf("- %s: %s", f.Name, n))
		}
	}
	sort.Strings(notes)
	if len(notes) > 0 {
		b.WriteString("\nNotes from the run:\n\n" + strings.Join(notes, "\n") + "\n")
	}
	return b.String()
}

// JSON is the report for test-output.
func (rep *FaultReport) JSON() []byte {
	b, _ := json.MarshalIndent(rep, "", "  ")
	return b
}
