package bench

import (
	"fmt"
	"sort"
	"strings"
)

// Targets, judged on the worst run (issue 15).
const (
	targetRatio         = 2.0  // gateway p99 / floor p99
	targetP99Ms         = 5.0  // gateway p99
	targetMsgPerSec     = 1000 // CSTA messages/s sustained
	targetCPUPercent    = 20.0 // of one core at targetMsgPerSec
	targetRSSPerAgentKi = 32.0
	targetStormPerSec   = 1000
	targetColdStartMs   = 150
	targetFirstRingMs   = 300
	targetFirstRenderMs = 300
)

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

// spread is a figure over the runs: its median, and its worst run (the
// highest, or the lowest where more is better).
type spread struct{ median, worst float64 }

func spreadOf(xs []float64, higherIsWorse bool) spread {
	if len(xs) == 0 {
		return spread{}
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	w := s[len(s)-1]
	if !higherIsWorse {
		w = s[0]
	}
	return spread{median: median(s), worst: w}
}

func (r *Report) each(f func(LoadRun) float64) []float64 {
	out := make([]float64, len(r.Runs))
	for i, run := range r.Runs {
		out[i] = f(run)
	}
	return out
}

func p99Ratio(run LoadRun) float64 {
	if run.Floor.EventLatency.P99 <= 0 {
		return 0
	}
	return run.Gateway.EventLatency.P99 / run.Floor.EventLatency.P99
}

// Markdown is the report for people: each figure's median and worst run
// against its target, judged on the worst; then every run.
func (r *Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured %s on %s.\n\n", r.Started.UTC().Format("2006-01-02 15:04 MST"), r.Machine)
	fmt.Fprintf(&b, "Command: `%s`\n\n", r.Command)
	fmt.Fprintf(&b, "Load: %d agents logged in, %.0f inbound calls/s for %.0fs (answer, hold, retrieve, hang up), %d customers with %d numbers; "+
		"the load phase ran %d times through the gateway and %d times through the bare relay (the floor). "+
		"Each figure shows the median and the worst run; the verdict is on the worst.\n\n",
		r.Config.Agents, r.Config.Rate, r.Config.Duration.Seconds(), r.Config.Contacts, 2*r.Config.Contacts, len(r.Runs), len(r.Runs))
	b.WriteString("| figure | median | worst run | target | verdict (worst) |\n|---|---|---|---|---|\n")
	row := func(name, med, worst, target, v string) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", name, med, worst, target, v)
	}
	r.loadRows(row)
	r.onceRows(row)
	b.WriteString("\n")
	r.runsTable(&b)
	if len(r.Profiles) > 0 {
		fmt.Fprintf(&b, "\nProfiles of this run (`go tool pprof -top bin/ctigateway FILE`): %s.\n", "`"+strings.Join(r.Profiles, "`, `")+"`")
	}
	return b.String()
}

// loadRows are the figures of the load runs.
func (r *Report) loadRows(row func(name, med, worst, target, v string)) {
	ms2 := func(s spread) (string, string) {
		return fmt.Sprintf("%.2f ms", s.median), fmt.Sprintf("%.2f ms", s.worst)
	}
	p50 := spreadOf(r.each(func(x LoadRun) float64 { return x.Gateway.EventLatency.P50 }), true)
	p99 := spreadOf(r.each(func(x LoadRun) float64 { return x.Gateway.EventLatency.P99 }), true)
	fp99 := spreadOf(r.each(func(x LoadRun) float64 { return x.Floor.EventLatency.P99 }), true)
	rat := spreadOf(r.each(p99Ratio), true)
	m, w := ms2(p50)
	row("event latency p50 (PBX write → agent decoded)", m, w, "", "")
	m, w = ms2(p99)
	row("event latency p99", m, w, fmt.Sprintf("≤ %.0f ms", targetP99Ms), verdict(p99.worst <= targetP99Ms))
	m, w = ms2(fp99)
	row("floor (bare relay) p99", m, w, "", "")
	row("p99 / floor p99 (same run)", fmt.Sprintf("%.2f×", rat.median), fmt.Sprintf("%.2f×", rat.worst), fmt.Sprintf("≤ %.0f×", targetRatio),
		verdict(rat.worst > 0 && rat.worst <= targetRatio))
	lost := spreadOf(r.each(func(x LoadRun) float64 { return float64(x.Gateway.Lost + x.Gateway.OutOfOrder) }), true)
	row("events lost + out of order", fmt.Sprintf("%.0f", lost.median), fmt.Sprintf("%.0f", lost.worst), "0", verdict(lost.worst == 0))
	rate := spreadOf(r.each(func(x LoadRun) float64 { return x.Gateway.CSTAPerSecond }), false)
	row("CSTA messages/s handled", fmt.Sprintf("%.0f", rate.median), fmt.Sprintf("%.0f", rate.worst), fmt.Sprintf("≥ %d sustained", targetMsgPerSec),
		verdict(rate.worst >= targetMsgPerSec))
	cpu := spreadOf(r.each(func(x LoadRun) float64 { return x.Gateway.CPUPercentOfOneCore }), true)
	row("gateway CPU during load", fmt.Sprintf("%.1f%% of one core", cpu.median), fmt.Sprintf("%.1f%% of one core", cpu.worst),
		fmt.Sprintf("≤ %.0f%% of one core at ≥ %d msg/s", targetCPUPercent, targetMsgPerSec), verdict(cpu.worst <= targetCPUPercent && rate.worst >= targetMsgPerSec))
}

// onceRows are the figures measured once per benchmark (or, for the
// browser, several times within it).
func (r *Report) onceRows(row func(name, med, worst, target, v string)) {
	lat := func(s Summary) string {
		return fmt.Sprintf("p50 %.2f · p95 %.2f · p99 %.2f · max %.2f ms", s.P50, s.P95, s.P99, s.Max)
	}
	row("gateway RSS, all agents idle", fmt.Sprintf("%.1f MiB", float64(r.GatewayRSSBytes)/(1<<20)), "", "", "")
	row("RSS per idle connected agent", fmt.Sprintf("%.1f KiB", r.RSSPerAgentBytes/1024), "", fmt.Sprintf("≤ %.0f KiB", targetRSSPerAgentKi),
		verdict(r.RSSPerAgentBytes <= targetRSSPerAgentKi*1024))
	if r.IdleHeapInuseBytes > 0 {
		n := float64(max(r.Config.Agents, 1)) * 1024
		row("· of which Go heap in use / goroutine stacks, per agent", fmt.Sprintf("%.1f KiB / %.1f KiB", float64(r.IdleHeapInuseBytes)/n, float64(r.IdleStackInuseBytes)/n), "", "", "")
	}
	if r.IdleGoroutines > 0 {
		row("gateway goroutines, all agents idle", fmt.Sprintf("%d (%.2f per agent)", r.IdleGoroutines, float64(r.IdleGoroutines)/float64(max(r.Config.Agents, 1))), "", "", "")
	}
	st := r.Storm
	row(fmt.Sprintf("login storm: %d agents, %d at once", st.Agents, st.AtOnce),
		fmt.Sprintf("%.0f logins/s (%.1f s); %s; refused %d, timed out %d", st.PerSec, st.Seconds, lat(st.Latency), st.Refused, st.TimedOut), "",
		fmt.Sprintf("all at once, ≥ %d/s, none refused or timed out", targetStormPerSec),
		verdict(st.AtOnce == st.Agents && st.PerSec >= targetStormPerSec && st.Refused == 0 && st.TimedOut == 0))
	if st.PhonesSeconds > 0 {
		row("· phones monitored after the storm's logins (the switch's request rate)", fmt.Sprintf("all by %.1f s; per agent %s", st.PhonesSeconds, lat(st.PhoneReady)), "", "", "")
	}
	if c := st.CPU; c.Gateway > 0 {
		row("· CPU per storm login: gateway / directory / database / simulated browsers and PBX", fmt.Sprintf("%.2f / %.2f / %.2f / %.2f ms", c.Gateway, c.Directory, c.Database, c.Bench), "", "", "")
	}
	for _, e := range st.Errors {
		row("· a failed storm login", e, "", "", "")
	}
	row("login, one at a time (LDAP, session; the phone already monitored)", lat(r.Login), "", "p99 ≤ 50 ms", verdict(r.Login.P99 <= 50))
	row(fmt.Sprintf("caller lookup (%d numbers)", 2*r.Config.Contacts), lat(r.Lookup), "", "p99 ≤ 5 ms at 2,000,000", verdict(r.Lookup.P99 <= 5))
	row("directory seeded by COPY", fmt.Sprintf("%.1f s", r.SeedSeconds), "", "seconds", "")
	if r.Wasm.RawBytes > 0 {
		row("core.wasm", fmt.Sprintf("%.2f MB raw, %.2f MB gzipped", float64(r.Wasm.RawBytes)/1e6, float64(r.Wasm.GzipBytes)/1e6), "", "≤ 6 MB raw, ≤ 1.6 MB gzipped",
			verdict(r.Wasm.RawBytes <= 6e6 && r.Wasm.GzipBytes <= 1.6e6))
	}
	r.Extension.rows(row)
}

// runsTable lists every run.
func (r *Report) runsTable(b *strings.Builder) {
	b.WriteString("| run | gateway event latency p50 / p95 / p99 / max | floor p50 / p99 | p99 ratio | CSTA msg/s | gateway CPU | calls / events | lost / out of order |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for i, run := range r.Runs {
		g, f := run.Gateway, run.Floor
		fmt.Fprintf(b, "| %d | %.2f / %.2f / %.2f / %.2f ms | %.2f / %.2f ms | %.2f× | %.0f | %.1f%% | %d / %d | %d / %d |\n", i+1,
			g.EventLatency.P50, g.EventLatency.P95, g.EventLatency.P99, g.EventLatency.Max, f.EventLatency.P50, f.EventLatency.P99, p99Ratio(run),
			g.CSTAPerSecond, g.CPUPercentOfOneCore, g.CallsStarted, g.Events, g.Lost, g.OutOfOrder)
		for _, ex := range g.LostExamples {
			fmt.Fprintf(b, "| %d | incomplete call: %s | | | | | | |\n", i+1, ex)
		}
	}
}

// rows are the extension's start-up figures: the median and the worst of
// the browser starts and page loads, judged on the worst.
func (t ExtensionTiming) rows(row func(name, med, worst, target, v string)) {
	if len(t.ColdStarts) == 0 {
		return
	}
	cold := spreadOf(t.ColdStarts, true)
	row(fmt.Sprintf("service worker cold start until the core runs (%d browser starts)", len(t.ColdStarts)), fmt.Sprintf("%.0f ms", cold.median),
		fmt.Sprintf("%.0f ms", cold.worst), fmt.Sprintf("≤ %d ms", targetColdStartMs), verdict(cold.worst <= targetColdStartMs))
	if len(t.Phases) > 0 {
		row("· of which fetch + compile / instantiate / Go start-up / settings and core start (median)", t.phasesText(), "", "", "")
	}
	switch {
	case t.Floor != nil && len(t.Floor.Starts) > 0:
		floor := spreadOf(t.Floor.Starts, true)
		row(fmt.Sprintf("· floor: the smallest Go wasm program (%.2f MB), same browser (%d starts)", float64(t.Floor.WasmBytes)/1e6, len(t.Floor.Starts)),
			fmt.Sprintf("%.0f ms", floor.median), fmt.Sprintf("%.0f ms", floor.worst), "", "")
	case t.FloorError != "":
		row("· floor: the smallest Go wasm program", "not measured: "+t.FloorError, "", "", "")
	}
	if len(t.FirstRings) > 0 {
		ring := spreadOf(t.FirstRings, true)
		row(fmt.Sprintf("first ring after a cold start, event → panel (%d)", len(t.FirstRings)), fmt.Sprintf("%.0f ms", ring.median),
			fmt.Sprintf("%.0f ms", ring.worst), fmt.Sprintf("≤ %d ms", targetFirstRingMs), verdict(ring.worst <= targetFirstRingMs))
	}
	render := spreadOf(t.FirstRenders, true)
	row(fmt.Sprintf("panel first render after DOMContentLoaded (%d page loads)", len(t.FirstRenders)), fmt.Sprintf("%.0f ms", render.median),
		fmt.Sprintf("%.0f ms", render.worst), fmt.Sprintf("≤ %d ms", targetFirstRenderMs), verdict(render.worst <= targetFirstRenderMs))
}

// phasesText is the cold start's median phases.
func (t ExtensionTiming) phasesText() string {
	var compile, inst, gostart, settings []float64
	for _, p := range t.Phases {
		compile, inst, gostart = append(compile, p.CompileMs), append(inst, p.InstantiateMs), append(gostart, p.GoStartMs)
		settings = append(settings, p.SettingsMs)
	}
	return fmt.Sprintf("%.0f / %.0f / %.0f / %.0f ms", median(compile), median(inst), median(gostart), median(settings))
}
