package monitor

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts what the alert webhooks do; a nil *Metrics records nothing.
type Metrics struct {
	received *prometheus.CounterVec
	refusals *prometheus.CounterVec
	seconds  *prometheus.HistogramVec
}

// NewMetrics creates the webhook collectors and registers them with reg; a
// nil reg leaves them unregistered, which suits tests.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opsbot_alerts_received_total",
			Help: "Alerts accepted by the webhooks and probes, by source and status.",
		}, []string{"source", "status"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opsbot_alert_webhook_refusals_total",
			Help: "Alert webhook requests refused, by webhook and reason.",
		}, []string{"webhook", "reason"}),
		// Alertmanager's default webhook timeout is far above this range; a
		// slow sink (database, lock) shows as the upper buckets filling.
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "opsbot_alert_webhook_seconds",
			Help:    "Time to answer an alert webhook request, by webhook and HTTP status code.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"webhook", "code"}),
	}
	if reg != nil {
		reg.MustRegister(m.received, m.refusals, m.seconds)
	}
	return m
}

// Received counts alerts handed to the sink; probes use it too.
func (m *Metrics) Received(alerts []Alert) {
	if m == nil {
		return
	}
	for _, a := range alerts {
		m.received.WithLabelValues(string(a.Source), string(a.Status)).Inc()
	}
}

func (m *Metrics) refused(webhook, reason string) {
	if m != nil {
		m.refusals.WithLabelValues(webhook, reason).Inc()
	}
}

func (m *Metrics) observe(webhook, code string, d time.Duration) {
	if m != nil {
		m.seconds.WithLabelValues(webhook, code).Observe(d.Seconds())
	}
}
