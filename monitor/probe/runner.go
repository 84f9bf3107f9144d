package probe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"opsbot/configs"
	"opsbot/monitor"
)

// Ticker is the part of time.Ticker the runner uses, so tests can tick by hand.
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

type realTicker struct{ t *time.Ticker }

func (r realTicker) C() <-chan time.Time { return r.t.C }
func (r realTicker) Stop()               { r.t.Stop() }

// NewRealTicker is the default RunnerConfig.NewTicker.
func NewRealTicker(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }

// sinkTimeout bounds one Sink call of a probe.
const sinkTimeout = 10 * time.Second

// RunnerConfig wires the probe runner.
type RunnerConfig struct {
	Probes []Probe
	// Sink receives the probes' alerts, from one goroutine per probe, so it
	// must be safe for concurrent use; required.
	Sink monitor.Sink
	// Mute reports whether a system is in maintenance; a muted system's
	// probes are still checked and exported, but do not fire. Nil mutes
	// nothing.
	Mute func(system string) bool
	// Now stamps the alerts' StartsAt and EndsAt; default time.Now.
	Now func() time.Time
	// NewTicker makes each probe's interval ticker; default NewRealTicker.
	NewTicker func(time.Duration) Ticker
	// Metrics exports opsbot_probe_up and opsbot_probe_duration_seconds;
	// nil records nothing.
	Metrics *Metrics
	// AlertMetrics, when set, counts the alerts the probes hand to the
	// sink in opsbot_alerts_received_total, beside the webhooks'.
	AlertMetrics *monitor.Metrics
	Log          *slog.Logger
}

// Runner checks every probe at its interval and reports outages to the sink.
type Runner struct {
	cfg    RunnerConfig
	probes []*probeRun
	// stepped, when set (by tests), hears each finished check.
	stepped chan<- string
}

type probeRun struct {
	p       Probe
	checker checker
	st      state
}

// NewRunner prepares the checks (it opens no connection yet).
func NewRunner(cfg RunnerConfig) (*Runner, error) {
	if cfg.Sink == nil {
		return nil, errors.New("probe: runner needs a sink")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewTicker == nil {
		cfg.NewTicker = NewRealTicker
	}
	if cfg.Mute == nil {
		cfg.Mute = func(string) bool { return false }
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	r := &Runner{cfg: cfg}
	def := Settings{Interval: configs.Duration(DefaultInterval), Timeout: configs.Duration(DefaultTimeout), Failures: DefaultFailures, Severity: DefaultSeverity}
	for _, p := range cfg.Probes {
		// Probes built in code rather than by Parse get the same defaults and checks.
		p.Settings = p.Settings.withDefaults(def)
		if err := p.check(); err != nil {
			r.Close()
			return nil, fmt.Errorf("probe %s: %w", p.Name, err)
		}
		c, err := newChecker(p)
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("probe %s: %w", p.Name, err)
		}
		r.probes = append(r.probes, &probeRun{p: p, checker: c})
	}
	return r, nil
}

// Run checks each probe at once and then at every tick of its interval,
// until ctx ends; it returns after the checks under way have finished (at
// once when there are no probes).
func (r *Runner) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, pr := range r.probes {
		wg.Go(func() { r.loop(ctx, pr) })
	}
	wg.Wait()
	return nil
}

// Close releases the probes' database handles.
func (r *Runner) Close() error {
	var errs []error
	for _, pr := range r.probes {
		errs = append(errs, pr.checker.close())
	}
	return errors.Join(errs...)
}

func (r *Runner) loop(ctx context.Context, pr *probeRun) {
	t := r.cfg.NewTicker(pr.p.Interval.D())
	defer t.Stop()
	r.stepAndTell(ctx, pr)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			if ctx.Err() != nil {
				return
			}
			r.stepAndTell(ctx, pr)
		}
	}
}

func (r *Runner) stepAndTell(ctx context.Context, pr *probeRun) {
	r.step(ctx, pr)
	if r.stepped != nil {
		r.stepped <- pr.p.Name
	}
}

// step runs one check and tells the sink when the outage state changes.
func (r *Runner) step(ctx context.Context, pr *probeRun) {
	p := pr.p
	// A check under way finishes even when Run is stopped (it is bounded by
	// the timeout), so a shutdown is never mistaken for the system failing.
	ctx = context.WithoutCancel(ctx)
	cctx, cancel := context.WithTimeout(ctx, p.Timeout.D())
	start := time.Now() // measurement only
	err := pr.checker.check(cctx)
	took := time.Since(start)
	cancel()
	r.cfg.Metrics.observe(p, err == nil, took)
	now := r.cfg.Now()
	next, ev := decide(pr.st, err == nil, now, p.Failures, r.cfg.Mute(p.System))
	pr.st = next
	if err != nil {
		pr.st.lastErr = err.Error()
		r.cfg.Log.Debug("probe failed", "probe", p.Name, "system", p.System, "failures", next.fails, "err", err)
	}
	if ev == eventNone {
		return
	}
	alert := r.alert(pr, ev, now)
	sctx, scancel := context.WithTimeout(ctx, sinkTimeout)
	serr := r.cfg.Sink.Alerts(sctx, []monitor.Alert{alert})
	scancel()
	if serr != nil {
		// The state stays as it was, so the next check sends it again.
		r.cfg.Log.Error("probe alert not delivered", "probe", p.Name, "system", p.System, "status", alert.Status, "err", serr)
		return
	}
	r.cfg.AlertMetrics.Received([]monitor.Alert{alert})
	pr.st.firing = ev == eventFire
	if ev == eventResolve {
		pr.st.since = time.Time{}
	}
	r.cfg.Log.Info("probe alert", "probe", p.Name, "system", p.System, "status", alert.Status)
}

func (r *Runner) alert(pr *probeRun, ev event, now time.Time) monitor.Alert {
	p := pr.p
	a := monitor.Alert{
		Key:      p.Key(),
		System:   p.System,
		Severity: p.Severity,
		StartsAt: pr.st.since,
		Labels:   map[string]string{"probe": p.Name, "kind": p.Kind()},
		Source:   monitor.SourceProbe,
	}
	if p.HTTP != nil {
		if u, err := url.Parse(p.HTTP.URL); err == nil {
			a.URL = u.Redacted()
		}
	}
	switch ev {
	case eventFire:
		a.Status = monitor.StatusFiring
		a.Summary = fmt.Sprintf("%s 探测 %s 连续 %d 次失败", p.System, p.Name, pr.st.fails)
		a.Details = "最近一次失败：" + pr.st.lastErr
	case eventResolve:
		a.Status = monitor.StatusResolved
		a.Summary = fmt.Sprintf("%s 探测 %s 已恢复", p.System, p.Name)
		a.EndsAt = now
	}
	return a
}

// state is what a probe remembers between checks.
type state struct {
	fails   int       // failed checks in a row
	since   time.Time // first failure of the current outage
	firing  bool      // the sink holds this probe as firing
	lastErr string
}

type event int

const (
	eventNone event = iota
	eventFire
	eventResolve
)

// decide is the whole outage rule: the threshold-th failure in a row fires
// once (unless muted; a later failure fires once the mute ends), and the
// first success after a firing resolves. The caller sets firing only after
// the sink took the alert, so an undelivered one is sent again next check.
func decide(s state, ok bool, now time.Time, threshold int, muted bool) (state, event) {
	if ok {
		s.fails = 0
		s.lastErr = ""
		if s.firing {
			return s, eventResolve
		}
		s.since = time.Time{}
		return s, eventNone
	}
	s.fails++
	if s.fails == 1 {
		s.since = now
	}
	if !s.firing && !muted && s.fails >= threshold {
		return s, eventFire
	}
	return s, eventNone
}

// Metrics exports the probes' state; a nil *Metrics records nothing.
type Metrics struct {
	up       *prometheus.GaugeVec
	duration *prometheus.HistogramVec
}

// NewMetrics creates the probe collectors and registers them with reg; a
// nil reg leaves them unregistered.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "opsbot_probe_up",
			Help: "1 when the probe's last check passed, 0 when it failed.",
		}, []string{"probe", "system"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "opsbot_probe_duration_seconds",
			Help:    "Time one probe check took, passed or failed.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"probe", "system"}),
	}
	if reg != nil {
		reg.MustRegister(m.up, m.duration)
	}
	return m
}

func (m *Metrics) observe(p Probe, ok bool, took time.Duration) {
	if m == nil {
		return
	}
	v := 0.0
	if ok {
		v = 1
	}
	m.up.WithLabelValues(p.Name, p.System).Set(v)
	m.duration.WithLabelValues(p.Name, p.System).Observe(took.Seconds())
}
