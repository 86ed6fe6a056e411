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
	Config           Config    `json:"-"`
	Started          time.Time `json:"started"`
	Finished         time.Time `json:"finished"`
	Machine          string    `json:"machine"`
	Command          string    `json:"command"`
	Login            Summary   `json:"login"`
	Storm            Storm     `json:"loginStorm"`
	Lookup           Summary   `json:"lookup"`
	SeedSeconds      float64   `json:"seedSeconds"`
	GatewayRSSBytes  int64     `json:"gatewayRssBytes"`
	RSSPerAgentBytes float64   `json:"rssPerIdleAgentBytes"`
	IdleGoroutines   int       `json:"idleGoroutines"`
	// IdleHeapInuseBytes and IdleStackInuseBytes are the gateway's
	// runtime.MemStats with every agent idle, after a collection.
	IdleHeapInuseBytes  int64           `json:"idleHeapInuseBytes"`
	IdleStackInuseBytes int64           `json:"idleStackInuseBytes"`
	Runs                []LoadRun       `json:"runs"`
	Profiles            []string        `json:"profiles,omitempty"`
	Wasm                WasmSize        `json:"wasm"`
	Extension           ExtensionTiming `json:"extension"`
	Agents              int             `json:"agents"`
	Rate                float64         `json:"callsPerSecond"`
	Contacts            int             `json:"contacts"`
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
