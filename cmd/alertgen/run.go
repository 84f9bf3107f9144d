package main

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/common/model"

	"opsbot/configs"
	"opsbot/monitor"
)

// Payload formats.
const (
	formatAlertmanager = "alertmanager"
	formatGeneric      = "generic"
)

// Hard bounds, whatever the flags say.
const (
	maxAlerts   = 1_000_000
	maxDuration = time.Hour
)

type config struct {
	url, token, format                           string
	n, fingerprints, systems, batch, concurrency int
	duration, timeout, grace                     time.Duration
	resolveShare                                 float64
	seed                                         uint64
	allowRemote                                  bool
}

func (c *config) check() error {
	switch {
	case c.n < 1 || c.n > maxAlerts:
		return fmt.Errorf("-n %d must be between 1 and %d", c.n, maxAlerts)
	case c.duration < 0 || c.duration > maxDuration:
		return fmt.Errorf("-duration %s must be between 0 and %s", c.duration, maxDuration)
	case c.fingerprints < 1:
		return errors.New("-fingerprints must be at least 1")
	case c.systems < 1 || c.systems > c.fingerprints:
		return errors.New("-systems must be between 1 and -fingerprints")
	case c.batch < 1 || c.batch > 1000:
		return errors.New("-batch must be between 1 and 1000")
	case c.concurrency < 1 || c.concurrency > 256:
		return errors.New("-concurrency must be between 1 and 256")
	case c.resolveShare < 0 || c.resolveShare > 1:
		return errors.New("-resolve must be between 0 and 1")
	case c.timeout <= 0 || c.grace < 0:
		return errors.New("-timeout must be positive and -grace not negative")
	case c.format != formatAlertmanager && c.format != formatGeneric:
		return fmt.Errorf("-format %q must be alertmanager or generic", c.format)
	}
	if c.url != "" {
		if err := checkTarget(c.url, c.allowRemote); err != nil {
			return err
		}
		if c.token == "" {
			return errors.New("-token (or OPSBOT_WEBHOOK_TOKEN) is required with -url")
		}
	}
	return nil
}

// checkTarget refuses a URL off this machine unless allowRemote: a load
// run against a production opsbot would page people.
func checkTarget(raw string, allowRemote bool) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-url %q must be an http(s) URL", raw)
	}
	if allowRemote {
		return nil
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-url host %q is not loopback; add -allow-remote to load another machine", host)
}

// fingerprint is one distinct alert and whether it is firing now.
type fingerprint struct {
	labels   map[string]string
	key      string
	system   string
	firing   bool
	startsAt time.Time
}

// plan is the alert sequence: which fingerprint each alert is, and what.
type plan struct {
	fps []*fingerprint
	rng *rand.Rand
	p   float64
}

func newPlan(c config, systems []string) *plan {
	severities := []string{"critical", "warning", "warning", "info"}
	pl := &plan{rng: rand.New(rand.NewPCG(c.seed, c.seed^0x9e3779b97f4a7c15)), p: c.resolveShare}
	for i := range c.fingerprints {
		sys := systems[i%len(systems)]
		labels := map[string]string{
			"alertname": fmt.Sprintf("AlertgenCheck%03d", i/len(systems)),
			"system":    sys,
			"severity":  severities[i%len(severities)],
			"instance":  fmt.Sprintf("10.20.%d.%d:9100", i/250, i%250),
			"job":       "alertgen",
		}
		ls := model.LabelSet{}
		for k, v := range labels {
			ls[model.LabelName(k)] = model.LabelValue(v)
		}
		pl.fps = append(pl.fps, &fingerprint{labels: labels, key: ls.Fingerprint().String(), system: sys})
	}
	return pl
}

// kinds of alerts sent
const (
	kindNew = iota
	kindRepeat
	kindResolved
)

type planned struct {
	fp       *fingerprint
	kind     int
	startsAt time.Time
	endsAt   time.Time
}

// next picks a fingerprint: a quiet one starts firing, a firing one
// repeats or, with chance p, resolves.
func (pl *plan) next(now time.Time) planned {
	fp := pl.fps[pl.rng.IntN(len(pl.fps))]
	switch {
	case !fp.firing:
		fp.firing, fp.startsAt = true, now
		return planned{fp: fp, kind: kindNew, startsAt: now}
	case pl.rng.Float64() < pl.p:
		fp.firing = false
		return planned{fp: fp, kind: kindResolved, startsAt: fp.startsAt, endsAt: now}
	default:
		return planned{fp: fp, kind: kindRepeat, startsAt: fp.startsAt}
	}
}

func body(format string, alerts []planned) []byte {
	if format == formatGeneric {
		out := make([]monitor.GenericAlert, 0, len(alerts))
		for _, a := range alerts {
			g := monitor.GenericAlert{Key: a.fp.key, Status: "firing", System: a.fp.system, Severity: a.fp.labels["severity"],
				Summary: a.fp.labels["alertname"] + " on " + a.fp.labels["instance"], Labels: a.fp.labels}
			st := a.startsAt
			g.StartsAt = &st
			if a.kind == kindResolved {
				g.Status = "resolved"
				end := a.endsAt
				g.EndsAt = &end
			}
			out = append(out, g)
		}
		b, _ := json.Marshal(out)
		return b
	}
	msg := monitor.AlertmanagerMessage{Version: "4", Receiver: "opsbot", Status: "firing", ExternalURL: "http://127.0.0.1:9093",
		GroupKey: "{}:{alertgen}", GroupLabels: map[string]string{}, CommonLabels: map[string]string{"job": "alertgen"}, CommonAnnotations: map[string]string{}}
	for _, a := range alerts {
		am := monitor.AlertmanagerAlert{Status: "firing", Labels: a.fp.labels, StartsAt: a.startsAt, Fingerprint: a.fp.key,
			Annotations:  map[string]string{"summary": a.fp.labels["alertname"] + " on " + a.fp.labels["instance"]},
			GeneratorURL: "http://127.0.0.1:9090/graph"}
		if a.kind == kindResolved {
			am.Status, am.EndsAt = "resolved", a.endsAt
		}
		msg.Alerts = append(msg.Alerts, am)
	}
	b, _ := json.Marshal(msg)
	return b
}

type result struct {
	target, format                string
	alerts, posts                 int
	fingerprints, systems         int
	kinds                         [3]int
	okPosts, clientErr, serverErr int
	netErr, unsent                int
	latencies                     []time.Duration
	elapsed, maxLag               time.Duration
	selfSink                      *countingSink
	firstErr                      string
}

func (r *result) failed() bool { return r.clientErr+r.serverErr+r.netErr+r.unsent > 0 }

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }

func (r *result) print(w io.Writer) {
	slices.Sort(r.latencies)
	fmt.Fprintf(w, "alertgen: %d alerts in %d requests over %.1fs to %s (format %s)\n", r.alerts, r.posts, r.elapsed.Seconds(), r.target, r.format)
	fmt.Fprintf(w, "  alerts:  new firing %d, repeats %d, resolved %d; %d fingerprints on %d systems\n",
		r.kinds[kindNew], r.kinds[kindRepeat], r.kinds[kindResolved], r.fingerprints, r.systems)
	fmt.Fprintf(w, "  answers: 2xx %d, 4xx %d, 5xx %d, network errors %d, not sent in time %d\n", r.okPosts, r.clientErr, r.serverErr, r.netErr, r.unsent)
	fmt.Fprintf(w, "  webhook time: p50 %s  p90 %s  p99 %s  max %s  (schedule lag max %s)\n",
		ms(pct(r.latencies, .50)), ms(pct(r.latencies, .90)), ms(pct(r.latencies, .99)), ms(pct(r.latencies, 1)), ms(r.maxLag))
	if r.selfSink != nil {
		fmt.Fprintf(w, "  in-process sink: %d alerts in %d batches\n", r.selfSink.alerts.Load(), r.selfSink.batches.Load())
	}
	if r.firstErr != "" {
		fmt.Fprintf(w, "  first error: %s\n", r.firstErr)
	}
}

// countingSink is the in-process target's sink.
type countingSink struct{ alerts, batches atomic.Int64 }

func (s *countingSink) Alerts(_ context.Context, a []monitor.Alert) error {
	s.alerts.Add(int64(len(a)))
	s.batches.Add(1)
	return nil
}

func systemNames(n int) []string {
	var names []string
	if cat, err := configs.LoadCatalog(""); err == nil {
		for _, s := range cat {
			names = append(names, s.Name)
		}
	}
	for i := len(names); i < n; i++ {
		names = append(names, fmt.Sprintf("系统%02d", i+1))
	}
	return names[:n]
}

type job struct {
	body []byte
	due  time.Time
}

func run(ctx context.Context, c config) (*result, error) {
	res := &result{format: c.format, fingerprints: c.fingerprints, systems: c.systems}
	if c.url == "" {
		// In-process target: the real handlers with a sink that only counts.
		tok := make([]byte, 16)
		crand.Read(tok)
		c.token = hex.EncodeToString(tok)
		res.selfSink = &countingSink{}
		wh, err := monitor.NewWebhooks(monitor.WebhookConfig{Token: c.token, Sink: res.selfSink})
		if err != nil {
			return nil, err
		}
		mux := http.NewServeMux()
		wh.Register(mux)
		srv := httptest.NewServer(mux)
		defer srv.Close()
		c.url = srv.URL + monitor.PathAlertmanager
		if c.format == formatGeneric {
			c.url = srv.URL + monitor.PathGeneric
		}
	}
	res.target = c.url

	posts := (c.n + c.batch - 1) / c.batch
	gap := c.duration / time.Duration(posts)
	ctx, cancel := context.WithTimeout(ctx, c.duration+c.grace)
	defer cancel()

	client := &http.Client{Timeout: c.timeout, Transport: &http.Transport{
		Proxy: nil, MaxIdleConnsPerHost: c.concurrency, MaxConnsPerHost: c.concurrency,
	}}
	defer client.CloseIdleConnections()

	jobs := make(chan job, posts)
	var mu sync.Mutex
	var wg sync.WaitGroup
	sentPosts := 0
	for range c.concurrency {
		wg.Go(func() {
			for j := range jobs {
				if ctx.Err() != nil {
					continue // drained below as unsent
				}
				lag := time.Since(j.due)
				code, took, err := send(ctx, client, c.url, c.token, j.body)
				mu.Lock()
				sentPosts++
				res.maxLag = max(res.maxLag, lag)
				switch {
				case err != nil:
					if ctx.Err() != nil {
						res.unsent++
					} else {
						res.netErr++
					}
					if res.firstErr == "" {
						res.firstErr = err.Error()
					}
				case code >= 500:
					res.serverErr++
				case code >= 400:
					res.clientErr++
					if res.firstErr == "" {
						res.firstErr = fmt.Sprintf("HTTP %d", code)
					}
				default:
					res.okPosts++
				}
				if err == nil {
					res.latencies = append(res.latencies, took)
				}
				mu.Unlock()
			}
		})
	}

	pl := newPlan(c, systemNames(c.systems))
	start := time.Now()
	left := c.n
produce:
	for i := range posts {
		due := start.Add(time.Duration(i) * gap)
		if d := time.Until(due); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				break produce
			}
		}
		k := min(c.batch, left)
		batch := make([]planned, 0, k)
		now := time.Now().UTC()
		for range k {
			a := pl.next(now)
			res.kinds[a.kind]++
			batch = append(batch, a)
		}
		left -= k
		res.alerts += k
		res.posts++
		jobs <- job{body: body(c.format, batch), due: due}
	}
	close(jobs)
	wg.Wait()
	res.elapsed = time.Since(start)
	res.unsent += res.posts - sentPosts
	return res, nil
}

func send(ctx context.Context, client *http.Client, target, token string, b []byte) (int, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(b))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(start), nil
}
