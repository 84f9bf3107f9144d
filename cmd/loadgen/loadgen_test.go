package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"opsbot/bot/wecomtest"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// needServices skips when Postgres or Redis is not there, except in CI,
// where a missing service must not turn the test green.
func needServices(t *testing.T, pg, rd string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	fail := t.Skipf
	if os.Getenv("CI") == "true" {
		fail = t.Fatalf
	}
	conn, err := pgx.Connect(ctx, pg)
	if err != nil {
		fail("postgres %s unreachable: %v", pg, err)
		return
	}
	conn.Close(ctx)
	opt, err := redis.ParseURL(rd)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	if err := c.Ping(ctx).Err(); err != nil {
		fail("redis %s unreachable: %v", rd, err)
	}
}

// TestShortRun builds opsbot, sends 200 reports with WeCom's retries and
// checks the promise the load figures rest on: every callback answered 200,
// exactly one ticket and one reply per report.
func TestShortRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts opsbot")
	}
	pg := envOr("LOADGEN_PG", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	rd := envOr("LOADGEN_REDIS", "redis://127.0.0.1:6379/14")
	needServices(t, pg, rd)
	root, err := moduleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	// LOADGEN_OPSBOT_SRC tests another tree (a branch checked out elsewhere).
	root = envOr("LOADGEN_OPSBOT_SRC", root)
	var log bytes.Buffer
	cfg := config{
		reports: 200, users: 40, concurrency: 8, maxCopies: 4, seed: 7, timeout: 20 * time.Second,
		token: defaultToken, aesKey: defaultAESKey, corpID: wecomtest.CorpID, agentID: wecomtest.AgentID,
		fakeAddr: "127.0.0.1:0", opsbotSrc: root, staffFile: filepath.Join(root, "configs", "staff.example.yaml"),
		logFile: filepath.Join(t.TempDir(), "opsbot.log"),
		pg:      pg, db: "opsbot_loadtest", redis: rd,
		out: &log,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	o, err := run(ctx, cfg)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	var report bytes.Buffer
	o.print(&report, "TestShortRun")
	t.Log(report.String())

	if o.ticketCount == 0 && o.replies.questions >= o.distinctAccepted && o.distinctAccepted > 0 {
		// Every report was answered with a question: the catalog recognised
		// no system or place (the temporary stub in models/catalog_tmp.go
		// recognises nothing). That is a missing feature, not a load bug.
		msg := "opsbot asked a question instead of opening a ticket for every report: its catalog recognises nothing yet"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if o.sent != o.copiesPlanned() || o.accepted != o.sent {
		t.Errorf("%d callbacks planned, %d sent, %d answered 200 (non-200: %v, errors: %v)", o.copiesPlanned(), o.sent, o.accepted, o.statuses, o.errors)
	}
	if o.distinctAccepted != cfg.reports {
		t.Errorf("%d of %d reports accepted", o.distinctAccepted, cfg.reports)
	}
	for i, n := range o.perReport {
		if n != 1 {
			t.Errorf("report %d (%s) has %d tickets", i, o.reports[i].text, n)
		}
	}
	if o.ticketCount != cfg.reports || o.duplicates != 0 || o.dupTexts != 0 || o.mismatched != 0 {
		t.Errorf("%d tickets for %d reports: %d duplicated, %d texts twice, %d with a wrong text", o.ticketCount, cfg.reports, o.duplicates, o.dupTexts, o.mismatched)
	}
	if o.repliesMatched != o.ticketCount {
		t.Errorf("%d tickets but %d confirmations delivered", o.ticketCount, o.repliesMatched)
	}
}

// TestPlanIsRepeatable: the same seed gives the same run, and every report
// is delivered 1..maxCopies times with each reporter used evenly.
func TestPlanIsRepeatable(t *testing.T) {
	a, people := planReports(1000, 30, 4, 3, 1e17)
	b, _ := planReports(1000, 30, 4, 3, 1e17)
	perUser := map[string]int{}
	copies := map[int]int{}
	for i := range a {
		if a[i].text != b[i].text || a[i].user != b[i].user || a[i].copies() != b[i].copies() {
			t.Fatalf("report %d differs between two plans with one seed", i)
		}
		if c := a[i].copies(); c < 1 || c > 4 {
			t.Errorf("report %d has %d copies", i, c)
		}
		copies[a[i].copies()]++
		perUser[a[i].user]++
	}
	if len(copies) != 4 {
		t.Errorf("copy counts used: %v, want 1 to 4", copies)
	}
	if len(perUser) != len(people) {
		t.Errorf("%d of %d reporters used", len(perUser), len(people))
	}
	for u, n := range perUser {
		if n < 1000/30 || n > 1000/30+1 {
			t.Errorf("%s sent %d reports, want about %d", u, n, 1000/30)
		}
	}
}
