package monitor_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"

	"opsbot/monitor"
)

const testToken = "s3cret-token-for-tests"

const amFiring = `{
  "version": "4",
  "groupKey": "{}:{alertname=\"HISDown\"}",
  "truncatedAlerts": 0,
  "status": "firing",
  "receiver": "opsbot",
  "groupLabels": {"alertname": "HISDown"},
  "commonLabels": {"alertname": "HISDown", "system": "HIS"},
  "commonAnnotations": {},
  "externalURL": "http://am.local:9093",
  "somethingNewer": {"x": 1},
  "alerts": [
    {"status": "firing", "labels": {"alertname": "HISDown", "system": "HIS", "severity": "Critical"},
     "annotations": {"summary": "HIS 登录失败", "description": "HTTP 502"},
     "startsAt": "2026-12-01T08:00:00.123Z", "endsAt": "0001-01-01T00:00:00Z",
     "generatorURL": "http://prom.local/graph?g0.expr=up", "fingerprint": "a1b2c3d4e5f60718"},
    {"status": "resolved", "labels": {"alertname": "DiskFull", "job": "lis-exporter"},
     "annotations": {"description": "磁盘已满"},
     "startsAt": "2026-12-01T07:00:00Z", "endsAt": "2026-12-01T07:30:00Z",
     "generatorURL": "", "fingerprint": ""}
  ]
}`

const genericOne = `{"key": "zabbix-4711", "status": "firing", "system": "LIS", "severity": "High", "summary": "LIS 数据库连接数过高", "details": "连接数 480/500", "url": "http://zabbix.local/tr_events.php?eventid=4711"}`

func newWebhooks(t *testing.T, sink monitor.Sink, reg prometheus.Registerer) *monitor.Webhooks {
	t.Helper()
	wh, err := monitor.NewWebhooks(monitor.WebhookConfig{
		Token:   testToken,
		Sink:    sink,
		System:  monitor.SystemRule{Labels: []string{"system", "job"}, Values: map[string]string{"lis-exporter": "LIS"}},
		Metrics: monitor.NewMetrics(reg),
	})
	if err != nil {
		t.Fatal(err)
	}
	return wh
}

func post(t *testing.T, h http.Handler, body, auth string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestAlertmanagerWebhookAccepts(t *testing.T) {
	sink := newRecorder()
	reg := prometheus.NewRegistry()
	wh := newWebhooks(t, sink, reg)
	rec := post(t, wh.Alertmanager(), amFiring, "Bearer "+testToken)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d (%s), want 200", rec.Code, rec.Body)
	}
	got := sink.all()
	if len(got) != 2 || len(sink.batches) != 1 {
		t.Fatalf("sink got %d alerts in %d batches, want 2 in 1", len(got), len(sink.batches))
	}
	a, b := got[0], got[1]
	if a.Key != "a1b2c3d4e5f60718" || a.Status != monitor.StatusFiring || a.System != "HIS" || a.Severity != "critical" ||
		a.Summary != "HIS 登录失败" || a.Details != "HTTP 502" || a.URL != "http://prom.local/graph?g0.expr=up" ||
		a.StartsAt.Format("15:04:05.000") != "08:00:00.123" || !a.EndsAt.IsZero() || a.Labels["alertname"] != "HISDown" {
		t.Errorf("firing alert = %+v", a)
	}
	// No system label: the job label is tried next and mapped; no
	// fingerprint: the label set's own, as Alertmanager computes it.
	if b.System != "LIS" || b.Status != monitor.StatusResolved || b.Key != (model.LabelSet{"alertname": "DiskFull", "job": "lis-exporter"}).Fingerprint().String() ||
		b.Summary != "磁盘已满" || b.Details != "" || b.EndsAt.IsZero() {
		t.Errorf("resolved alert = %+v", b)
	}
	if n := counterValue(t, reg, "opsbot_alerts_received_total", "source", "alertmanager", "status", "firing"); n != 1 {
		t.Errorf("received firing counter = %v, want 1", n)
	}
}

func TestAlertmanagerMissingFingerprintIsStable(t *testing.T) {
	body := `{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"X","system":"HIS"}}]}`
	a1, err := monitor.ParseAlertmanager([]byte(body), monitor.SystemRule{})
	if err != nil {
		t.Fatal(err)
	}
	body2 := `{"version":"4","alerts":[{"status":"resolved","labels":{"system":"HIS","alertname":"X"}}]}`
	a2, err := monitor.ParseAlertmanager([]byte(body2), monitor.SystemRule{})
	if err != nil {
		t.Fatal(err)
	}
	if a1[0].Key == "" || a1[0].Key != a2[0].Key {
		t.Fatalf("keys %q and %q: the same labels must give the same key", a1[0].Key, a2[0].Key)
	}
}

func TestGrafanaPayloadAccepted(t *testing.T) {
	body := `{"receiver":"opsbot","status":"firing","orgId":1,"version":"1","title":"[FIRING:1]","alerts":[
	  {"status":"firing","labels":{"alertname":"High memory","system":"EMR"},"annotations":{"summary":"EMR 内存不足"},
	   "startsAt":"2026-12-01T09:51:03+08:00","endsAt":"0001-01-01T00:00:00Z","fingerprint":"c6eadffa33fcdf37",
	   "silenceURL":"http://grafana.local/alerting/silence/new","values":{"B":44.2}}]}`
	got, err := monitor.ParseAlertmanager([]byte(body), monitor.SystemRule{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Key != "c6eadffa33fcdf37" || got[0].System != "EMR" || got[0].Summary != "EMR 内存不足" {
		t.Fatalf("got %+v", got)
	}
}

func TestGenericWebhookAccepts(t *testing.T) {
	sink := newRecorder()
	wh := newWebhooks(t, sink, nil)
	rec := post(t, wh.Generic(), genericOne, "Bearer "+testToken)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d (%s)", rec.Code, rec.Body)
	}
	rec = post(t, wh.Generic(), `[{"key":"k1","status":"firing","system":"HIS"},{"key":"k2","status":"RESOLVED","ends_at":"2026-12-01T10:00:00+08:00"}]`, "bearer "+testToken)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"accepted":2`) {
		t.Fatalf("array: status %d (%s)", rec.Code, rec.Body)
	}
	got := sink.all()
	if len(got) != 3 {
		t.Fatalf("sink got %d alerts, want 3", len(got))
	}
	if a := got[0]; a.Key != "zabbix-4711" || a.Status != monitor.StatusFiring || a.System != "LIS" || a.Severity != "high" ||
		a.Summary != "LIS 数据库连接数过高" || a.Details != "连接数 480/500" || a.Source != monitor.SourceGeneric {
		t.Errorf("object alert = %+v", a)
	}
	if a := got[2]; a.Key != "k2" || a.Status != monitor.StatusResolved || a.EndsAt.IsZero() {
		t.Errorf("resolved alert = %+v", a)
	}
}

func TestContentTypeTolerated(t *testing.T) {
	sink := newRecorder()
	wh := newWebhooks(t, sink, nil)
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(genericOne))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Authorization", "Bearer "+testToken)
	rec := httptest.NewRecorder()
	wh.Generic().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || len(sink.all()) != 1 {
		t.Fatalf("status %d, %d alerts; JSON sent as text/plain must be accepted", rec.Code, len(sink.all()))
	}
}

// TestBadInputReachesNothing: every refusal answers a clear 4xx with a
// reason, and the sink sees no alert at all.
func TestBadInputReachesNothing(t *testing.T) {
	good := map[string]string{"alertmanager": amFiring, "generic": genericOne}
	type tc struct {
		name, webhook, method, body, auth string
		status                            int
		reason                            string
	}
	var cases []tc
	for _, w := range []string{"alertmanager", "generic"} {
		cases = append(cases,
			tc{"no token", w, "POST", good[w], "", 401, monitor.ReasonAuth},
			tc{"wrong token", w, "POST", good[w], "Bearer wrong", 401, monitor.ReasonAuth},
			tc{"token prefix", w, "POST", good[w], "Bearer " + testToken[:10], 401, monitor.ReasonAuth},
			tc{"basic scheme", w, "POST", good[w], "Basic " + testToken, 401, monitor.ReasonAuth},
			tc{"GET", w, "GET", "", "Bearer " + testToken, 405, monitor.ReasonMethod},
			tc{"PUT", w, "PUT", good[w], "Bearer " + testToken, 405, monitor.ReasonMethod},
			tc{"malformed JSON", w, "POST", `{"version": "4", "alerts": [`, "Bearer " + testToken, 400, monitor.ReasonMalformed},
			tc{"not JSON", w, "POST", "status=firing", "Bearer " + testToken, 400, monitor.ReasonMalformed},
			tc{"trailing data", w, "POST", good[w] + good[w], "Bearer " + testToken, 400, monitor.ReasonMalformed},
			tc{"empty body", w, "POST", "", "Bearer " + testToken, 400, monitor.ReasonMalformed},
		)
	}
	cases = append(cases,
		tc{"unknown version", "alertmanager", "POST", strings.Replace(amFiring, `"version": "4"`, `"version": "5"`, 1), "Bearer " + testToken, 400, monitor.ReasonVersion},
		tc{"no version", "alertmanager", "POST", strings.Replace(amFiring, `"version": "4",`, ``, 1), "Bearer " + testToken, 400, monitor.ReasonVersion},
		tc{"version 1 without orgId", "alertmanager", "POST", strings.Replace(amFiring, `"version": "4"`, `"version": "1"`, 1), "Bearer " + testToken, 400, monitor.ReasonVersion},
		tc{"version as number", "alertmanager", "POST", strings.Replace(amFiring, `"version": "4"`, `"version": 4`, 1), "Bearer " + testToken, 400, monitor.ReasonMalformed},
		tc{"bad alert status", "alertmanager", "POST", strings.Replace(amFiring, `"status": "resolved"`, `"status": "pending"`, 1), "Bearer " + testToken, 422, monitor.ReasonInvalid},
		tc{"missing key", "generic", "POST", `{"status":"firing","system":"HIS"}`, "Bearer " + testToken, 422, monitor.ReasonInvalid},
		tc{"bad status", "generic", "POST", `{"key":"k","status":"ok"}`, "Bearer " + testToken, 422, monitor.ReasonInvalid},
		tc{"one bad in array", "generic", "POST", `[{"key":"k1","status":"firing"},{"key":"","status":"firing"}]`, "Bearer " + testToken, 422, monitor.ReasonInvalid},
		tc{"empty array", "generic", "POST", `[]`, "Bearer " + testToken, 422, monitor.ReasonInvalid},
		tc{"key too long", "generic", "POST", `{"key":"` + strings.Repeat("k", 201) + `","status":"firing"}`, "Bearer " + testToken, 422, monitor.ReasonInvalid},
	)
	for _, c := range cases {
		t.Run(c.webhook+"/"+c.name, func(t *testing.T) {
			sink := newRecorder()
			reg := prometheus.NewRegistry()
			wh := newWebhooks(t, sink, reg)
			h := map[string]http.Handler{"alertmanager": wh.Alertmanager(), "generic": wh.Generic()}[c.webhook]
			req := httptest.NewRequest(c.method, "/", strings.NewReader(c.body))
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != c.status {
				t.Fatalf("status %d (%s), want %d", rec.Code, rec.Body, c.status)
			}
			var reply struct{ Error, Detail string }
			if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil || reply.Error != c.reason || reply.Detail == "" {
				t.Fatalf("body %q, want JSON error %q with a detail", rec.Body, c.reason)
			}
			if strings.Contains(rec.Body.String(), testToken) {
				t.Fatalf("reply echoes the token: %s", rec.Body)
			}
			if n := len(sink.all()); n != 0 {
				t.Fatalf("sink got %d alerts from refused input", n)
			}
			if n := counterValue(t, reg, "opsbot_alert_webhook_refusals_total", "webhook", c.webhook, "reason", c.reason); n != 1 {
				t.Fatalf("refusal counter = %v, want 1", n)
			}
		})
	}
}

// countingReader is a 10 MB body that counts how much of it was read.
type countingReader struct{ left, read int }

func (c *countingReader) Read(p []byte) (int, error) {
	if c.left == 0 {
		return 0, io.EOF
	}
	n := min(len(p), c.left)
	for i := range p[:n] {
		p[i] = ' '
	}
	c.left -= n
	c.read += n
	return n, nil
}

func TestHugeBodyRefusedUnread(t *testing.T) {
	const size = 10 << 20
	for _, webhook := range []string{"alertmanager", "generic"} {
		for _, declared := range []bool{true, false} {
			sink := newRecorder()
			wh := newWebhooks(t, sink, nil)
			h := map[string]http.Handler{"alertmanager": wh.Alertmanager(), "generic": wh.Generic()}[webhook]
			body := &countingReader{left: size}
			req := httptest.NewRequest(http.MethodPost, "/", body)
			req.Header.Set("Authorization", "Bearer "+testToken)
			req.ContentLength = -1 // chunked: the length is unknown until read
			if declared {
				req.ContentLength = size
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), monitor.ReasonTooLarge) {
				t.Fatalf("%s declared=%v: status %d (%s), want 413", webhook, declared, rec.Code, rec.Body)
			}
			if declared && body.read != 0 {
				t.Errorf("%s: read %d bytes of a body declared too large, want 0", webhook, body.read)
			}
			if body.read > monitor.DefaultMaxBody+64<<10 {
				t.Errorf("%s declared=%v: read %d bytes, want at most about the 1 MiB limit", webhook, declared, body.read)
			}
			if len(sink.all()) != 0 {
				t.Fatalf("sink got alerts from a refused body")
			}
		}
	}
}

func TestSinkFailureAnswers503(t *testing.T) {
	sink := newRecorder()
	sink.fail = errors.New("database is down")
	wh := newWebhooks(t, sink, nil)
	for name, c := range map[string]struct {
		h    http.Handler
		body string
	}{"alertmanager": {wh.Alertmanager(), amFiring}, "generic": {wh.Generic(), genericOne}} {
		rec := post(t, c.h, c.body, "Bearer "+testToken)
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
			t.Errorf("%s: status %d, Retry-After %q; a sink failure must ask the sender to retry", name, rec.Code, rec.Header().Get("Retry-After"))
		}
		if strings.Contains(rec.Body.String(), "database is down") {
			t.Errorf("%s: reply leaks the internal error: %s", name, rec.Body)
		}
	}
}

func TestNewWebhooksNeedsTokenAndSink(t *testing.T) {
	if _, err := monitor.NewWebhooks(monitor.WebhookConfig{Sink: newRecorder()}); err == nil {
		t.Error("no token: want an error")
	}
	if _, err := monitor.NewWebhooks(monitor.WebhookConfig{Token: "x"}); err == nil {
		t.Error("no sink: want an error")
	}
}

func TestRegisterMountsPaths(t *testing.T) {
	sink := newRecorder()
	mux := http.NewServeMux()
	newWebhooks(t, sink, nil).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for path, body := range map[string]string{monitor.PathAlertmanager: amFiring, monitor.PathGeneric: genericOne} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", path, resp.StatusCode)
		}
	}
	if n := len(sink.all()); n != 3 {
		t.Errorf("sink got %d alerts, want 3", n)
	}
}

// counterValue reads one labelled child of a registered counter vector; 0 when absent.
func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want[lp.GetName()] != lp.GetValue() {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
