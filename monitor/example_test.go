package monitor_test

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"github.com/prometheus/client_golang/prometheus"

	"opsbot/monitor"
	"opsbot/monitor/probe"
)

// Example wires both webhooks and the probes to one sink, as serve would.
func Example() {
	reg := prometheus.NewRegistry()
	alertMetrics := monitor.NewMetrics(reg)
	sink := monitor.SinkFunc(func(ctx context.Context, alerts []monitor.Alert) error {
		// store the alerts, open or update tickets …
		return nil
	})

	wh, err := monitor.NewWebhooks(monitor.WebhookConfig{
		Token:   os.Getenv("OPSBOT_WEBHOOK_TOKEN"),
		Sink:    sink,
		System:  monitor.SystemRule{Labels: []string{"system", "job"}, Values: map[string]string{"his-exporter": "门急诊挂号"}},
		Metrics: alertMetrics,
		Log:     slog.Default(),
	})
	if err != nil {
		return // no token configured: leave the webhooks off
	}
	mux := http.NewServeMux()
	wh.Register(mux) // POST /webhooks/alertmanager, POST /webhooks/alerts

	probes, err := probe.Load("configs/probes.yaml")
	if err != nil {
		return
	}
	runner, err := probe.NewRunner(probe.RunnerConfig{
		Probes:       probes,
		Sink:         sink,
		Mute:         func(system string) bool { return false }, // maintenance windows
		Metrics:      probe.NewMetrics(reg),
		AlertMetrics: alertMetrics,
		Log:          slog.Default(),
	})
	if err != nil {
		return
	}
	defer runner.Close()
	go runner.Run(context.Background())
}
