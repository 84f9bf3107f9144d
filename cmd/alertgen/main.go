// Command alertgen is the load generator of opsbot's alert webhooks: it
// sends N alerts over D seconds from F fingerprints on S systems, with
// repeats and resolutions as Alertmanager would send them, and prints the
// webhook's answer times (p50, p99) and the counts.
//
//	go run ./cmd/alertgen                       # an in-process webhook with a counting sink
//	go run ./cmd/alertgen -url http://127.0.0.1:8080/webhooks/alertmanager -token "$OPSBOT_WEBHOOK_TOKEN"
//
// It is bounded: at most -n alerts, and it stops -grace after -duration
// whatever is left. It sends only to loopback unless -allow-remote is given.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	cfg := config{}
	flag.StringVar(&cfg.url, "url", "", "webhook URL; empty starts an in-process webhook with a counting sink (measures the edge alone)")
	flag.StringVar(&cfg.token, "token", os.Getenv("OPSBOT_WEBHOOK_TOKEN"), "bearer token (default $OPSBOT_WEBHOOK_TOKEN)")
	flag.StringVar(&cfg.format, "format", formatAlertmanager, "payload: alertmanager (version 4) or generic")
	flag.IntVar(&cfg.n, "n", 10000, "alerts to send")
	flag.DurationVar(&cfg.duration, "duration", 60*time.Second, "spread the alerts evenly over this time")
	flag.IntVar(&cfg.fingerprints, "fingerprints", 500, "distinct alerts (fingerprints)")
	flag.IntVar(&cfg.systems, "systems", 20, "systems the fingerprints are spread over (names from the catalog)")
	flag.IntVar(&cfg.batch, "batch", 1, "alerts per webhook request")
	flag.IntVar(&cfg.concurrency, "concurrency", 8, "parallel requests at most")
	flag.Float64Var(&cfg.resolveShare, "resolve", 0.1, "chance that an alert sent for a firing fingerprint is its resolution")
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed of the alert sequence")
	flag.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "one request's limit")
	flag.DurationVar(&cfg.grace, "grace", 30*time.Second, "how long after -duration unsent alerts are given up")
	flag.BoolVar(&cfg.allowRemote, "allow-remote", false, "allow a webhook URL that is not on loopback")
	flag.Parse()

	if err := cfg.check(); err != nil {
		fmt.Fprintln(os.Stderr, "alertgen:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "alertgen:", err)
		os.Exit(1)
	}
	res.print(os.Stdout)
	if res.failed() {
		os.Exit(1)
	}
}
