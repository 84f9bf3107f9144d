package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"sync"

	"opsbot/configs"
	"opsbot/monitor"
	"opsbot/monitor/probe"
)

// mountWebhooks serves the alert webhooks when a token is configured.
func (s *server) mountWebhooks(mux *http.ServeMux) {
	if s.cfg.Webhook.Token == "" {
		s.log.Info("alert webhooks off: no webhook.token (OPSBOT_WEBHOOK_TOKEN)")
		return
	}
	wh, err := monitor.NewWebhooks(monitor.WebhookConfig{
		Token: s.cfg.Webhook.Token, Sink: s.handlers, Metrics: s.alertm, Log: s.log,
		System: monitor.SystemRule{Labels: s.cfg.Monitoring.SystemLabels, Values: s.cfg.Monitoring.SystemValues},
	})
	if err != nil {
		s.log.Error("alert webhooks off", "err", err)
		return
	}
	wh.Register(mux)
}

// startProbes runs the built-in probes (monitoring.probes_file, else
// configs/probes.yaml when present) until ctx ends; none configured is fine.
func (s *server) startProbes(ctx context.Context, wg *sync.WaitGroup) error {
	path := s.cfg.Monitoring.ProbesFile
	if path == "" {
		if _, err := os.Stat("configs/probes.yaml"); err != nil {
			return nil
		}
		path = "configs/probes.yaml"
	}
	probes, err := probe.Load(path)
	if err != nil {
		return err
	}
	runner, err := probe.NewRunner(probe.RunnerConfig{Probes: probes, Sink: s.handlers, Mute: s.handlers.Muted,
		Metrics: probe.NewMetrics(s.reg), AlertMetrics: s.alertm, Log: s.log})
	if err != nil {
		return err
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer runner.Close()
		runner.Run(ctx)
	}()
	return nil
}

// loadInspections gives the jobs the inspection checklists and times.
func (s *server) loadInspections() error {
	path := s.cfg.Monitoring.InspectionsFile
	if path == "" {
		if _, err := os.Stat(configs.DefaultInspectionsFile); err == nil {
			path = configs.DefaultInspectionsFile
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	ins, err := configs.LoadInspections(path)
	if err != nil {
		return err
	}
	s.jobs.Inspections = ins
	return nil
}
