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
	CallLogPending           int
	CallLogDropped           uint64
}

// WatchService exports the core's live numbers (agents, monitored
// devices, call-log backlog), read from stats at each scrape.
func (m *Metrics) WatchService(stats func() Stats) {
	gauge := func(name, help string, f func(Stats) float64) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return f(stats()) }))
	}
	gauge("crmcti_agents", "Agents logged in.", func(s Stats) float64 { return float64(s.Agents) })
	gauge("crmcti_monitored_devices", "Devices monitored on the PBX.", func(s Stats) float64 { return float64(s.MonitoredDevices) })
	gauge("crmcti_calllog_pending", "Call-log steps waiting for the database.", func(s Stats) float64 { return float64(s.CallLogPending) })
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "crmcti_calllog_dropped_total",
		Help: "Call-log steps dropped because the buffer was full during a database outage."}, func() float64 { return float64(stats().CallLogDropped) }))
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

// UnattributedEvent counts a PBX event the adapter could not attribute
// (pbx.Config.OnUnattributed): on a new switch a rising count is the
// first sign that calls are not reaching the agents' panels.
func (m *Metrics) UnattributedEvent(event string) { m.unattributed.WithLabelValues(event).Inc() }
