package monitor_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"opsbot/monitor"
	"opsbot/monitor/alertmanagertest"
)

// TestRealAlertmanager drives the real Alertmanager binary against the
// webhook: a firing alert, its repeat, then its resolution, each reaching
// the sink with the same key.
func TestRealAlertmanager(t *testing.T) {
	sink := newRecorder()
	const token = "am-test-token-3f9c"
	wh, err := monitor.NewWebhooks(monitor.WebhookConfig{
		Token:  token,
		Sink:   sink,
		System: monitor.SystemRule{Labels: []string{"system", "job"}, Values: map[string]string{"his-exporter": "HIS"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	wh.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	am := alertmanagertest.Start(t, alertmanagertest.Config{
		WebhookURL:     srv.URL + monitor.PathAlertmanager,
		Token:          token,
		RepeatInterval: 2 * time.Second,
	})

	labels := map[string]string{"alertname": "HISDown", "job": "his-exporter", "severity": "critical", "instance": "10.0.0.5:9100"}
	wantKey := model.LabelSet{"alertname": "HISDown", "job": "his-exporter", "severity": "critical", "instance": "10.0.0.5:9100"}.Fingerprint().String()
	startsAt := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	ctx := context.Background()
	if err := am.Post(ctx, alertmanagertest.Alert{
		Labels:       labels,
		Annotations:  map[string]string{"summary": "HIS 接口无响应", "description": "连续 3 次探测失败"},
		StartsAt:     startsAt,
		GeneratorURL: "http://prometheus.local/graph",
	}); err != nil {
		t.Fatal(err)
	}

	got := sink.waitFor(t, 10*time.Second, "the first firing notification", func(a []monitor.Alert) bool { return len(a) >= 1 })
	first := got[0]
	if first.Status != monitor.StatusFiring || first.Key != wantKey || first.System != "HIS" || first.Severity != "critical" ||
		first.Summary != "HIS 接口无响应" || first.Details != "连续 3 次探测失败" || first.Source != monitor.SourceAlertmanager ||
		!first.StartsAt.Equal(startsAt) || first.URL != "http://prometheus.local/graph" {
		t.Fatalf("first notification = %+v, want firing HIS/critical with key %s", first, wantKey)
	}
	if len(got) != 1 {
		t.Fatalf("sink got %d alerts before the repeat interval, want 1: %+v", len(got), got)
	}

	got = sink.waitFor(t, 10*time.Second, "the repeat notification", func(a []monitor.Alert) bool { return len(a) >= 2 })
	if rep := got[1]; rep.Status != monitor.StatusFiring || rep.Key != wantKey {
		t.Fatalf("repeat = %+v, want firing with key %s", rep, wantKey)
	}

	endsAt := time.Now().Add(-time.Second).UTC().Truncate(time.Second)
	if err := am.Post(ctx, alertmanagertest.Alert{Labels: labels, StartsAt: startsAt, EndsAt: endsAt}); err != nil {
		t.Fatal(err)
	}
	got = sink.waitFor(t, 10*time.Second, "the resolved notification", func(a []monitor.Alert) bool {
		return len(a) > 0 && a[len(a)-1].Status == monitor.StatusResolved
	})
	res := got[len(got)-1]
	if res.Key != wantKey || res.System != "HIS" || !res.EndsAt.Equal(endsAt) {
		t.Fatalf("resolved = %+v, want key %s, system HIS, ends %s", res, wantKey, endsAt)
	}
	for _, a := range got {
		if a.Key != wantKey {
			t.Fatalf("sink got an alert with another key: %+v", a)
		}
	}
}
