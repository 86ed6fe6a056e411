package http

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"crmcti/gateway"
)

// Metrics are the gateway's Prometheus metrics. It is the core's Observer
// and counts CSTA messages for the PBX adapter.
type Metrics struct {
	reg      *prometheus.Registry
	commands *prometheus.HistogramVec
	errors   *prometheus.CounterVec
	logins   *prometheus.HistogramVec
	drops    *prometheus.CounterVec
	clients  prometheus.Gauge
	cstaIn   *prometheus.CounterVec
	cstaOut  *prometheus.CounterVec
	// unattributed counts PBX events tied to no monitored phone or
	// tracked call: a switch naming devices in a form we do not know.
	unattributed *prometheus.CounterVec
}

// NewMetrics registers the metrics on a registry of their own.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		reg: reg,
		commands: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "crmcti_command_seconds",
			Help: "Time to carry out an agent's command, by type.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}, []string{"type"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crmcti_command_errors_total",
			Help: "Commands refused or failed, by stable error code."}, []string{"code"}),
		logins: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "crmcti_login_seconds",
			Help: "Login and resume time, by outcome.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 12)}, []string{"outcome"}),
		drops: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crmcti_client_drops_total",
			Help: "Clients disconnected by the gateway, by reason (slow: queue full)."}, []string{"reason"}),
		clients: prometheus.NewGauge(prometheus.GaugeOpts{Name: "crmcti_clients", Help: "Connected WebSocket clients."}),
		cstaIn: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crmcti_csta_messages_in_total",
			Help: "CSTA messages received from the PBX, by type."}, []string{"type"}),
		cstaOut: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crmcti_csta_messages_out_total",
			Help: "CSTA messages sent to the PBX, by type."}, []string{"type"}),
	}
	reg.MustRegister(m.commands, m.errors, m.logins, m.drops, m.clients, m.cstaIn, m.cstaOut)
	m.unattributed = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crmcti_pbx_unattributed_events_total",
		Help: "PBX events the gateway could tie to no monitored phone or tracked call, by event (each is also logged at warn with its frame)."}, []string{"event"})
	reg.MustRegister(m.unattributed)
	return m
}

// Stats are the core's live numbers that metrics export.
type Stats struct {
	Agents, MonitoredDevices int
	// Writers are the background writers by log name ("calls",
	// "audit").
	Writers map[string]WriterStats
	// Versions counts logged-in connections by extension version.
	Versions map[string]int
}

// WriterStats are one background writer's numbers.
type WriterStats struct {
	Pending                                          int
	Written, Dropped, Quarantined, Spooled, Failures uint64
	Stuck                                            bool
}

// writerLogs are the writers exported, with the label they carry.
var writerLogs = []string{"calls", "audit"}

// WatchService exports the core's live numbers (agents, monitored
// devices, the writers' backlog, failures and quarantine), read from
// stats at each scrape.
func (m *Metrics) WatchService(stats func() Stats) {
	gauge := func(name, help string, f func(Stats) float64) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return f(stats()) }))
	}
	gauge("crmcti_agents", "Agents logged in.", func(s Stats) float64 { return float64(s.Agents) })
	gauge("crmcti_monitored_devices", "Devices monitored on the PBX.", func(s Stats) float64 { return float64(s.MonitoredDevices) })
	gauge("crmcti_calllog_pending", "Call-log steps waiting for the database.", func(s Stats) float64 { return float64(s.Writers["calls"].Pending) })
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "crmcti_calllog_dropped_total",
		Help: "Call-log steps dropped because the buffer was full during a database outage."}, func() float64 { return float64(stats().Writers["calls"].Dropped) }))
	for _, log := range writerLogs {
		m.watchWriter(log, func() WriterStats { return stats().Writers[log] })
	}
	m.reg.MustRegister(versionCollector{stats})
}

// versionDesc describes crmcti_extension_versions.
var versionDesc = prometheus.NewDesc("crmcti_extension_versions",
	"Logged-in connections by extension version (unknown: an extension that does not say).", []string{"version"}, nil)

// versionCollector exports the versions in use at each scrape: only
// those with a connection now, so that a version retired leaves the
// metrics.
type versionCollector struct{ stats func() Stats }

func (v versionCollector) Describe(ch chan<- *prometheus.Desc) { ch <- versionDesc }

func (v versionCollector) Collect(ch chan<- prometheus.Metric) {
	for version, n := range v.stats().Versions {
		ch <- prometheus.MustNewConstMetric(versionDesc, prometheus.GaugeValue, float64(n), version)
	}
}

// watchWriter exports one writer's numbers, labelled log="calls" or
// log="audit".
func (m *Metrics) watchWriter(log string, w func() WriterStats) {
	labels := prometheus.Labels{"log": log}
	gauge := func(name, help string, f func(WriterStats) float64) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels}, func() float64 { return f(w()) }))
	}
	counter := func(name, help string, f func(WriterStats) uint64) {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels}, func() float64 { return float64(f(w())) }))
	}
	gauge("crmcti_writer_pending", "Rows waiting for the database, by log.", func(s WriterStats) float64 { return float64(s.Pending) })
	gauge("crmcti_writer_stuck", "1 while a log's writes have failed for over 30s.", func(s WriterStats) float64 {
		if s.Stuck {
			return 1
		}
		return 0
	})
	counter("crmcti_writer_written_total", "Rows written, by log.", func(s WriterStats) uint64 { return s.Written })
	counter("crmcti_writer_failures_total", "Failed writes (retried), by log.", func(s WriterStats) uint64 { return s.Failures })
	counter("crmcti_writer_quarantined_total", "Rows the database refused for their data, set aside in the spool's quarantine, by log.", func(s WriterStats) uint64 { return s.Quarantined })
	counter("crmcti_writer_spooled_total", "Rows unwritten at shutdown, kept in the spool for the next start, by log.", func(s WriterStats) uint64 { return s.Spooled })
	counter("crmcti_writer_dropped_total", "Rows lost (buffer full, or no spool at shutdown), by log.", func(s WriterStats) uint64 { return s.Dropped })
}

// Command implements gateway.Observer.
func (m *Metrics) Command(typ string, code gateway.Code, d time.Duration) {
	m.commands.WithLabelValues(typ).Observe(d.Seconds())
	if code != "ok" {
		m.errors.WithLabelValues(string(code)).Inc()
	}
}

// Login implements gateway.Observer.
func (m *Metrics) Login(code gateway.Code, d time.Duration) {
	m.logins.WithLabelValues(string(code)).Observe(d.Seconds())
	if code != "ok" {
		m.errors.WithLabelValues(string(code)).Inc()
	}
}

// ClientDropped implements gateway.Observer.
func (m *Metrics) ClientDropped(reason string) { m.drops.WithLabelValues(reason).Inc() }

// Clients implements gateway.Observer.
func (m *Metrics) Clients(delta int) { m.clients.Add(float64(delta)) }

// CSTAMessage counts one CSTA message; direction is "in" (from the PBX)
// or "out". The PBX adapter's OnMessage is adapted to it where the
// gateway is assembled, so that this package knows nothing of CSTA.
func (m *Metrics) CSTAMessage(direction, name string) {
	if direction == "in" {
		m.cstaIn.WithLabelValues(name).Inc()
	} else {
		m.cstaOut.WithLabelValues(name).Inc()
	}
}

// Registerer is where other parts of the HTTP side (the directory API)
// register their metrics, so that one /metrics serves them all.
func (m *Metrics) Registerer() prometheus.Registerer { return m.reg }

// UnattributedEvent counts a PBX event the adapter could not attribute
// (pbx.Config.OnUnattributed): on a new switch a rising count is the
// first sign that calls are not reaching the agents' panels.
func (m *Metrics) UnattributedEvent(event string) { m.unattributed.WithLabelValues(event).Inc() }

// WatchLeader exports this gateway's part among the gateways sharing a
// database (gateway/ha): crmcti_leader is 1 on the active, 0 on a
// standby; crmcti_leader_epoch the lease's epoch last seen, which grows at
// every change of active gateway.
func (m *Metrics) WatchLeader(role func() (active bool, epoch int64)) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "crmcti_leader",
		Help: "1 when this gateway is the active one, 0 when it is a standby."}, func() float64 {
		if active, _ := role(); active {
			return 1
		}
		return 0
	}))
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "crmcti_leader_epoch",
		Help: "The leadership lease's epoch as last seen; it grows at every change of active gateway."}, func() float64 {
		_, epoch := role()
		return float64(epoch)
	}))
}
