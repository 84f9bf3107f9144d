// Command loadgen is the load program of opsbot's WeCom channel: it plays
// WeCom (an in-process fake API, and encrypted callbacks with WeCom's
// retries) against a real `opsbot serve` with Postgres and Redis, and
// measures what the hospital's busiest minute would ask of it: callbacks
// answered, time to 200, tickets and replies, against what pgbench reaches
// on the same database server.
//
//	go run ./cmd/loadgen --reports 20000 --concurrency 32
//
// See docs/load.md for what it measures and the figures.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"opsbot/bot/wecomtest"
)

// Callback settings of the load run's app; the fake accepts any.
const (
	defaultToken  = "opsbotload"
	defaultAESKey = "b3BzYm90LWxvYWQtZ2VuZXJhdG9yLWFlcy1rZXktMzI"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	cfg := config{out: os.Stderr}
	var extraEnv listFlag
	flag.IntVar(&cfg.reports, "reports", 2000, "distinct fault reports to send")
	flag.IntVar(&cfg.users, "users", 1000, "distinct reporters (WeCom userids); keep reports/users ≤ 30 or WeCom's per-person limit holds replies back a minute")
	flag.IntVar(&cfg.concurrency, "concurrency", 32, "parallel HTTP clients (and pgbench clients)")
	flag.Float64Var(&cfg.rate, "rate", 0, "distinct reports per second to offer; 0 sends as fast as the clients go")
	flag.IntVar(&cfg.maxCopies, "max-copies", 4, "each report is delivered 1..max-copies times, like WeCom's retries")
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed of the reports, reporters and retries")
	flag.DurationVar(&cfg.timeout, "timeout", 5*time.Minute, "how long to wait for tickets and replies after sending")
	flag.StringVar(&cfg.target, "target", "", "URL of a running opsbot to load instead of starting one (it must use the same token, AES key and corp id)")
	flag.StringVar(&cfg.token, "token", defaultToken, "callback token")
	flag.StringVar(&cfg.aesKey, "aes-key", defaultAESKey, "callback EncodingAESKey (43 characters)")
	flag.StringVar(&cfg.corpID, "corp-id", wecomtest.CorpID, "corp id (the receiveid of callbacks)")
	flag.IntVar(&cfg.agentID, "agent-id", wecomtest.AgentID, "agent id")
	flag.StringVar(&cfg.fakeAddr, "fake-addr", "127.0.0.1:0", "where the fake WeCom API listens (fix it to point an attached opsbot at it)")
	flag.StringVar(&cfg.opsbotBin, "opsbot-bin", "", "opsbot binary to start; empty builds it from --opsbot-src")
	flag.StringVar(&cfg.opsbotSrc, "opsbot-src", "", "opsbot source tree to build (default: the module around the working directory)")
	flag.Var(&extraEnv, "opsbot-env", "KEY=VALUE added to the started opsbot's environment (repeatable)")
	flag.StringVar(&cfg.staffFile, "staff", "", "roster for the started opsbot (default: configs/staff.example.yaml of the source tree)")
	flag.StringVar(&cfg.logFile, "log", "", "file for the started opsbot's log (default: $TMPDIR/opsbot-load.log)")
	flag.StringVar(&cfg.pg, "pg", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "any database on the Postgres server, to create the load database from")
	flag.StringVar(&cfg.db, "db", "opsbot_load", "load database: dropped and created each run (with --target: the attached opsbot's database, kept)")
	flag.StringVar(&cfg.redis, "redis", "redis://127.0.0.1:6379/13", "Redis database of the started opsbot, flushed each run (not 0)")
	flag.DurationVar(&cfg.pgbenchTime, "pgbench-time", 10*time.Second, "how long pgbench runs after the load; 0 skips it")
	flag.BoolVar(&cfg.pgbenchAutocommit, "pgbench-autocommit", false, "pgbench runs a bare INSERT (autocommit) instead of BEGIN; INSERT; COMMIT")
	flag.DurationVar(&cfg.quietWait, "quiet-wait", 0, "wait up to this long for the machine to be idle (≤ 15% busy) before sending; other jobs skew the figures")
	flag.StringVar(&cfg.pprofURL, "pprof", "", "base URL of opsbot's net/http/pprof, to profile it while loading (e.g. http://127.0.0.1:6060)")
	flag.IntVar(&cfg.pprofSeconds, "pprof-seconds", 10, "length of the CPU profile")
	flag.StringVar(&cfg.pprofOut, "pprof-out", "opsbot-load.pprof", "where the CPU profile is saved")
	flag.Parse()
	cfg.opsbotEnv = extraEnv

	if err := cfg.complete(); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o, err := run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	o.print(os.Stdout, "go run ./cmd/loadgen "+strings.Join(os.Args[1:], " "))
	// Correctness failures fail the run; missed performance targets are
	// figures to read, not errors.
	if !o.exactlyOne() || o.non200() > 0 {
		os.Exit(1)
	}
}

// complete checks the flags and fills the defaults that depend on others.
func (cfg *config) complete() error {
	switch {
	case cfg.reports < 1:
		return fmt.Errorf("--reports must be at least 1")
	case cfg.users < 1:
		return fmt.Errorf("--users must be at least 1")
	case cfg.concurrency < 1:
		return fmt.Errorf("--concurrency must be at least 1")
	case cfg.maxCopies < 1:
		return fmt.Errorf("--max-copies must be at least 1")
	}
	if cfg.target == "" && cfg.opsbotBin == "" && cfg.opsbotSrc == "" {
		wd, _ := os.Getwd()
		root, err := moduleRoot(wd)
		if err != nil {
			return err
		}
		cfg.opsbotSrc = root
	}
	if cfg.target == "" && cfg.staffFile == "" {
		src := cfg.opsbotSrc
		if src == "" {
			wd, _ := os.Getwd()
			var err error
			if src, err = moduleRoot(wd); err != nil {
				return fmt.Errorf("--staff is needed outside the opsbot module: %w", err)
			}
		}
		cfg.staffFile = filepath.Join(src, "configs", "staff.example.yaml")
	}
	if cfg.staffFile != "" {
		abs, err := filepath.Abs(cfg.staffFile)
		if err != nil {
			return err
		}
		cfg.staffFile = abs
	}
	if cfg.reports/cfg.users > 30 {
		fmt.Fprintf(os.Stderr, "loadgen: %d reports from %d users is more than 30 each: opsbot holds replies beyond WeCom's 30 a minute per person back, so delivery will take minutes\n", cfg.reports, cfg.users)
	}
	return nil
}
