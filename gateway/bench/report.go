package bench

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Summary is a latency distribution.
type Summary struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50Ms"`
	P95 float64 `json:"p95Ms"`
	P99 float64 `json:"p99Ms"`
	Max float64 `json:"maxMs"`
}

func summarize(ds []time.Duration) Summary {
	if len(ds) == 0 {
		return Summary{}
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	q := func(p float64) float64 {
		i := int(p*float64(len(s))+0.5) - 1
		i = min(max(i, 0), len(s)-1)
		return ms(s[i])
	}
	return Summary{N: len(s), P50: q(0.50), P95: q(0.95), P99: q(0.99), Max: ms(s[len(s)-1])}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Phase is one load phase.
type Phase struct {
	CallsStarted        int      `json:"callsStarted"`
	Events              int      `json:"events"`
	Lost                int      `json:"eventsLost"`
	LostExamples        []string `json:"lostExamples,omitempty"`
	OutOfOrder          int      `json:"eventsOutOfOrder"`
	EventLatency        Summary  `json:"eventLatency"`
	CSTAPerSecond       float64  `json:"cstaMessagesPerSecond"`
	CPUPercentOfOneCore float64  `json:"gatewayCpuPercentOfOneCore,omitempty"`
	Seconds             float64  `json:"seconds"`
}

// WasmSize is the extension core's size.
type WasmSize struct {
	RawBytes  int `json:"rawBytes"`
	GzipBytes int `json:"gzipBytes"`
}

// Report is what a benchmark run found.
type Report struct {
	Config           Config          `json:"-"`
	Started          time.Time       `json:"started"`
	Finished         time.Time       `json:"finished"`
	Machine          string          `json:"machine"`
	Command          string          `json:"command"`
	Login            Summary         `json:"login"`
	LoginStorm       Summary         `json:"loginStorm"`
	Lookup           Summary         `json:"lookup"`
	SeedSeconds      float64         `json:"seedSeconds"`
	GatewayRSSBytes  int64           `json:"gatewayRssBytes"`
	RSSPerAgentBytes float64         `json:"rssPerIdleAgentBytes"`
	Gateway          Phase           `json:"gateway"`
	Floor            Phase           `json:"floor"`
	Wasm             WasmSize        `json:"wasm"`
	Extension        ExtensionTiming `json:"extension"`
	Agents           int             `json:"agents"`
	Rate             float64         `json:"callsPerSecond"`
	Contacts         int             `json:"contacts"`
}

func gzipLen(b []byte) int {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	w.Write(b)
	w.Close()
	return buf.Len()
}

// Machine describes where the run happened.
func Machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		fmt.Sscanf(strings.SplitN(string(b), "\n", 2)[0], "MemTotal: %d kB", &kb)
		mem = fmt.Sprintf(", %.0f GiB", float64(kb)/(1<<20))
	}
	return fmt.Sprintf("%d cores (%s)%s, %s/%s, %s", runtime.NumCPU(), model, mem, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

// JSON is the report for tools.
func (r *Report) JSON() []byte {
	r.Agents, r.Rate, r.Contacts = r.Config.Agents, r.Config.Rate, r.Config.Contacts
	b, _ := json.MarshalIndent(r, "", "  ")
	return append(b, '\n')
}

func ratio(a, floor float64) string {
	if floor <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f×", a/floor)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

// Markdown is the report for people, with each figure against its target.
func (r *Report) Markdown() string {
	var b strings.Builder
	g, f := r.Gateway, r.Floor
	fmt.Fprintf(&b, "Measured %s on %s.\n\n", r.Started.UTC().Format("2006-01-02 15:04 MST"), r.Machine)
	fmt.Fprintf(&b, "Command: `%s`\n\n", r.Command)
	fmt.Fprintf(&b, "Load: %d agents logged in, %.0f inbound calls/s for %.0fs (answer, hold, retrieve, hang up), %d customers with %d numbers.\n\n",
		r.Config.Agents, r.Config.Rate, r.Config.Duration.Seconds(), r.Config.Contacts, 2*r.Config.Contacts)
	b.WriteString("| figure | measured | floor (bare relay) | ratio | target | |\n|---|---|---|---|---|---|\n")
	row := func(name, val, floor, rat, target, v string) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", name, val, floor, rat, target, v)
	}
	lat := func(s Summary) string {
		return fmt.Sprintf("p50 %.2f · p95 %.2f · p99 %.2f · max %.2f ms", s.P50, s.P95, s.P99, s.Max)
	}
	ratios := fmt.Sprintf("p50 %s · p95 %s · p99 %s · max %s", ratio(g.EventLatency.P50, f.EventLatency.P50), ratio(g.EventLatency.P95, f.EventLatency.P95),
		ratio(g.EventLatency.P99, f.EventLatency.P99), ratio(g.EventLatency.Max, f.EventLatency.Max))
	row("event latency (PBX write → agent decoded)", lat(g.EventLatency), lat(f.EventLatency), ratios,
		"p99 ≤ 5 ms and ≤ 3× floor", verdict(g.EventLatency.P99 <= 5 && (f.EventLatency.P99 <= 0 || g.EventLatency.P99 <= 3*f.EventLatency.P99)))
	row("calls started / events matched", fmt.Sprintf("%d / %d", g.CallsStarted, g.Events), fmt.Sprintf("%d / %d", f.CallsStarted, f.Events), "", "", "")
	row("events lost / out of order", fmt.Sprintf("%d / %d", g.Lost, g.OutOfOrder), fmt.Sprintf("%d / %d", f.Lost, f.OutOfOrder), "", "0 / 0",
		verdict(g.Lost == 0 && g.OutOfOrder == 0))
	for _, ex := range g.LostExamples {
		row("· incomplete call (gateway)", ex, "", "", "", "")
	}
	row("CSTA messages/s handled", fmt.Sprintf("%.0f", g.CSTAPerSecond), fmt.Sprintf("%.0f", f.CSTAPerSecond), "", "1000 sustained (at full scale)", verdict(g.CSTAPerSecond >= 1000))
	row("gateway CPU during load", fmt.Sprintf("%.1f%% of one core", g.CPUPercentOfOneCore), "", "", "< 50% of one core at 1000 msg/s", verdict(g.CPUPercentOfOneCore < 50))
	row("gateway RSS", fmt.Sprintf("%.1f MiB", float64(r.GatewayRSSBytes)/(1<<20)), "", "", "", "")
	row("RSS per idle connected agent", fmt.Sprintf("%.1f KiB", r.RSSPerAgentBytes/1024), "", "", "≤ 64 KiB", verdict(r.RSSPerAgentBytes <= 64*1024))
	row("login, one at a time (LDAP, session, monitor, snapshot)", lat(r.Login), "", "", "p99 ≤ 50 ms", verdict(r.Login.P99 <= 50))
	row(fmt.Sprintf("login storm: all %d agents, 32 at a time", r.Config.Agents), lat(r.LoginStorm), "", "", "", "")
	row(fmt.Sprintf("caller lookup (%d numbers)", 2*r.Config.Contacts), lat(r.Lookup), "", "", "p99 ≤ 5 ms at 2,000,000", verdict(r.Lookup.P99 <= 5))
	row("directory seeded by COPY", fmt.Sprintf("%.1f s", r.SeedSeconds), "", "", "seconds", "")
	if r.Wasm.RawBytes > 0 {
		row("core.wasm", fmt.Sprintf("%.2f MB raw, %.2f MB gzipped", float64(r.Wasm.RawBytes)/1e6, float64(r.Wasm.GzipBytes)/1e6), "", "", "≤ 6 MB raw, ≤ 1.6 MB gzipped",
			verdict(r.Wasm.RawBytes <= 6e6 && r.Wasm.GzipBytes <= 1.6e6))
	}
	if r.Extension.ColdStartMs > 0 {
		row("service worker cold start until the core runs", fmt.Sprintf("%.0f ms (median of %d)", r.Extension.ColdStartMs, len(r.Extension.ColdStarts)), "", "", "≤ 150 ms",
			verdict(r.Extension.ColdStartMs <= 150))
		row("panel first render after DOMContentLoaded", fmt.Sprintf("%.0f ms (median of %d)", r.Extension.FirstRenderMs, len(r.Extension.FirstRenders)), "", "", "≤ 300 ms",
			verdict(r.Extension.FirstRenderMs <= 300))
	}
	return b.String()
}
