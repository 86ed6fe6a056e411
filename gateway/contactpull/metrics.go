package contactpull

import (
	"github.com/prometheus/client_golang/prometheus"

	"crmcti/gateway"
)

type metrics struct {
	pulls   *prometheus.CounterVec
	changes *prometheus.CounterVec
	lastOK  prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) metrics {
	m := metrics{
		pulls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ctigateway_contact_pulls_total",
			Help: "Fetches of the CRM's export, by result: ok (applied or unchanged) or failed."}, []string{"result"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ctigateway_contact_pull_changes_total",
			Help: "Contacts changed by pulls, by change: added, updated, unchanged, removed, rejected."}, []string{"change"}),
		lastOK: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ctigateway_contact_pull_last_success_timestamp_seconds",
			Help: "When a pull last succeeded (Unix time); its age is the directory's."}),
	}
	if reg != nil {
		reg.MustRegister(m.pulls, m.changes, m.lastOK)
	}
	return m
}

func (m metrics) success() {
	m.pulls.WithLabelValues("ok").Inc()
	m.lastOK.SetToCurrentTime()
}

func (m metrics) failure() { m.pulls.WithLabelValues("failed").Inc() }

func (m metrics) count(rep gateway.ImportReport) {
	for k, v := range map[string]int{"added": rep.Added, "updated": rep.Updated, "unchanged": rep.Unchanged,
		"removed": rep.Removed, "rejected": rep.Rejected} {
		m.changes.WithLabelValues(k).Add(float64(v))
	}
}
