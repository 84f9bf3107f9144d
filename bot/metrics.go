package bot

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts what the WeCom edge does; a nil *Metrics records nothing.
type Metrics struct {
	callbacks   *prometheus.CounterVec
	refusals    *prometheus.CounterVec
	ackSeconds  *prometheus.HistogramVec
	dedupeFails prometheus.Counter
	apiCodes    *prometheus.CounterVec
	rateLimited *prometheus.CounterVec
}

// Callback results (label result of opsbot_wecom_callbacks_total).
const (
	resultAccepted  = "accepted"
	resultDuplicate = "duplicate"
	resultRefused   = "refused"
	resultFailed    = "failed"   // the inbox could not store it; WeCom will retry
	resultVerified  = "verified" // URL verification answered
)

// Refusal reasons (label reason of opsbot_wecom_callback_refusals_total).
const (
	reasonSignature = "signature"
	reasonReceiveID = "receiveid"
	reasonStale     = "stale_timestamp"
	reasonMalformed = "malformed"
	reasonTooLarge  = "too_large"
	reasonMethod    = "method"
)

// NewMetrics creates the collectors and registers them with reg; a nil reg
// leaves them unregistered, which suits tests.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opsbot_wecom_callbacks_total",
			Help: "WeCom callbacks by result: accepted, duplicate, refused, failed, verified.",
		}, []string{"result"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opsbot_wecom_callback_refusals_total",
			Help: "WeCom callbacks refused, by reason.",
		}, []string{"reason"}),
		// WeCom gives up after 5 s; the interesting range is far below that,
		// where a slow Redis or database shows first.
		ackSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "opsbot_wecom_callback_ack_seconds",
			Help:    "Time from receiving a WeCom callback to answering it with 200.",
			Buckets: []float64{.0005, .001, .002, .003, .005, .0075, .01, .015, .02, .03, .04, .05, .075, .1, .25, .5, 1, 2.5, 5},
		}, []string{"result"}),
		dedupeFails: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "opsbot_wecom_dedupe_store_errors_total",
			Help: "Dedupe key operations that failed; the inbox's unique key dedupes instead.",
		}),
		apiCodes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opsbot_wecom_api_errcodes_total",
			Help: "WeCom API answers by api and errcode (0 is success; http_NNN and network are transport failures).",
		}, []string{"api", "code"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opsbot_wecom_rate_limited_total",
			Help: "Sends held back because they would pass a WeCom limit, by scope.",
		}, []string{"scope"}),
	}
	if reg != nil {
		reg.MustRegister(m.callbacks, m.refusals, m.ackSeconds, m.dedupeFails, m.apiCodes, m.rateLimited)
	}
	return m
}

func (m *Metrics) callback(result string) {
	if m != nil {
		m.callbacks.WithLabelValues(result).Inc()
	}
}

func (m *Metrics) refused(reason string) {
	if m != nil {
		m.callbacks.WithLabelValues(resultRefused).Inc()
		m.refusals.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) acked(result string, d time.Duration) {
	if m != nil {
		m.ackSeconds.WithLabelValues(result).Observe(d.Seconds())
	}
}

func (m *Metrics) dedupeFailed() {
	if m != nil {
		m.dedupeFails.Inc()
	}
}

func (m *Metrics) apiCode(api string, code int) {
	m.apiOutcome(api, strconv.Itoa(code))
}

func (m *Metrics) apiOutcome(api, code string) {
	if m != nil {
		m.apiCodes.WithLabelValues(api, code).Inc()
	}
}

func (m *Metrics) limited(scope string) {
	if m != nil {
		m.rateLimited.WithLabelValues(scope).Inc()
	}
}
