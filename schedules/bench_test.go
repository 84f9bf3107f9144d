package schedules

import (
	"context"
	"fmt"
	"testing"
	"time"

	"opsbot/kv"
	"opsbot/models"
	"opsbot/models/modelstest"
)

// BenchmarkSweep measures one SLA sweep with 100 tickets due, among 10k
// and 1M stored tickets (a tenth of them open). The sweep reads only due
// tickets (the partial index on next_check_at), so both should cost alike.
//
//	go test -run '^$' -bench BenchmarkSweep -benchtime 20x ./schedules/
func BenchmarkSweep(b *testing.B) {
	for _, stored := range []int{10_000, 1_000_000} {
		b.Run(fmt.Sprintf("stored=%d", stored), func(b *testing.B) { benchSweep(b, stored, stored/10, 100) })
	}
}

func benchSweep(b *testing.B, stored, open, due int) {
	ctx := context.Background()
	// Monday 2026-12-07 10:00; the due tickets were created Wednesday 09:00
	// with high priority, so all three resolution levels have fallen due.
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, modelstest.Shanghai)
	c := modelstest.NewClock(now)
	s := modelstest.Postgres(b, options(c))
	cat := catalog(b)
	seedRoster(b, s, cat)
	created := time.Date(2026, 12, 2, 9, 0, 0, 0, modelstest.Shanghai).UTC()
	future := now.AddDate(0, 1, 0).UTC()
	start := time.Now()
	err := s.Exec(ctx, `
INSERT INTO tickets (kind, system_code, priority, status, title, reporter_id, assignee_id, source,
  created_at, updated_at, due_response, due_resolution, next_check_at, claimed_at)
SELECT 'fault', 'OPB', 'high',
  CASE WHEN g <= ? THEN 'claimed' ELSE 'closed' END,
  'bench ' || g, 'nurse' || (g % 500), CASE WHEN g <= ? THEN 'lisi' ELSE '' END, 'import',
  ?, ?, ?, ?, CASE WHEN g <= ? THEN ?::timestamptz ELSE NULL END, ?
FROM generate_series(1, ?) AS g`,
		open, open, created, created, created.Add(time.Hour), created.Add(24*time.Hour), open, future, created.Add(10*time.Minute), stored)
	if err != nil {
		b.Fatal(err)
	}
	// A production table is vacuumed by autovacuum; do it now so that it
	// does not run in the middle of the measurement.
	s.Exec(ctx, "VACUUM ANALYZE tickets")
	b.Logf("stored %d tickets (%d open) in %v", stored, open, time.Since(start).Round(time.Millisecond))
	j := newJobs(b, s, kv.NewMemory(c.Now), cat, "bench")
	arm := func() {
		if err := s.Exec(ctx, "DELETE FROM reminders"); err != nil {
			b.Fatal(err)
		}
		if err := s.Exec(ctx, "UPDATE tickets SET next_check_at = ?, remind_resolution = 0 WHERE id <= ?", now.Add(-time.Minute).UTC(), due); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		arm()
		b.StartTimer()
		if err := j.Sweep(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	var n int64
	s.Raw(ctx, &n, "SELECT COUNT(*) FROM reminders")
	if n != int64(3*due) {
		b.Fatalf("the sweep sent %d reminders, want %d", n, 3*due)
	}
	b.ReportMetric(float64(due), "due/op")
	_ = models.ClockResolution
}
