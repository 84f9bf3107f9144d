package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func baseConfig() config {
	return config{format: formatAlertmanager, n: 300, duration: 300 * time.Millisecond, fingerprints: 50, systems: 5,
		batch: 3, concurrency: 4, resolveShare: 0.2, seed: 7, timeout: 5 * time.Second, grace: 5 * time.Second}
}

func TestRunAgainstInProcessWebhook(t *testing.T) {
	for _, format := range []string{formatAlertmanager, formatGeneric} {
		c := baseConfig()
		c.format = format
		if err := c.check(); err != nil {
			t.Fatal(err)
		}
		res, err := run(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		if res.failed() || res.okPosts != 100 || res.alerts != 300 || res.selfSink.alerts.Load() != 300 {
			t.Fatalf("%s: %+v; want 100 accepted requests carrying 300 alerts", format, res)
		}
		if res.kinds[kindNew] == 0 || res.kinds[kindRepeat] == 0 || res.kinds[kindResolved] == 0 {
			t.Errorf("%s: kinds %v; want new, repeated and resolved alerts", format, res.kinds)
		}
		var out bytes.Buffer
		res.print(&out)
		if !strings.Contains(out.String(), "p99") || !strings.Contains(out.String(), "2xx 100") {
			t.Errorf("%s: report %q lacks p99 or counts", format, out.String())
		}
	}
}

func TestRefusalsAreCounted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusUnauthorized) }))
	defer srv.Close()
	c := baseConfig()
	c.url, c.token = srv.URL+"/webhooks/alertmanager", "wrong"
	if err := c.check(); err != nil {
		t.Fatal(err)
	}
	res, err := run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if !res.failed() || res.clientErr != 100 || res.okPosts != 0 {
		t.Fatalf("%+v; want 100 refused requests and a failed run", res)
	}
}

func TestBounded(t *testing.T) {
	// A target that never answers in time: the run ends at duration+grace.
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	c := baseConfig()
	c.url, c.token = srv.URL, "t"
	c.duration, c.grace, c.concurrency = 100*time.Millisecond, 200*time.Millisecond, 2
	start := time.Now()
	res, err := run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("run took %s; it must stop at duration+grace", took)
	}
	if res.unsent == 0 || !res.failed() {
		t.Fatalf("%+v; want unsent requests counted", res)
	}
}

func TestTargetMustBeLoopback(t *testing.T) {
	for raw, ok := range map[string]bool{
		"http://127.0.0.1:8080/webhooks/alertmanager":   true,
		"http://localhost:8080/webhooks/alerts":         true,
		"http://[::1]:8080/x":                           true,
		"http://10.1.1.5:8080/webhooks/alertmanager":    false,
		"https://opsbot.hospital.local/webhooks/alerts": false,
		"ftp://127.0.0.1/":                              false,
	} {
		err := checkTarget(raw, false)
		if (err == nil) != ok {
			t.Errorf("%s: error %v, want ok=%v", raw, err, ok)
		}
	}
	if err := checkTarget("http://10.1.1.5:8080/x", true); err != nil {
		t.Errorf("-allow-remote: %v", err)
	}
	c := baseConfig()
	c.n = maxAlerts + 1
	if c.check() == nil {
		t.Error("more than the hard bound of alerts must be refused")
	}
	c = baseConfig()
	c.duration = 2 * time.Hour
	if c.check() == nil {
		t.Error("a duration over the hard bound must be refused")
	}
}
