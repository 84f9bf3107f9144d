// Command seedyear writes a year of made-up ticket history in the format
// of `opsbot import tickets` (docs/import.md), and times the contract's
// figures over what was imported, beside PostgreSQL's own aggregate over
// the same rows.
//
//	go run ./cmd/seedyear --n 500000 --out /tmp/year.csv
//	OPSBOT_DB=postgres://… go run . import tickets /tmp/year.csv
//	OPSBOT_DB=postgres://… go run ./cmd/seedyear --figures
//
// See docs/kpi.md for the figures measured.
package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"opsbot/configs"
	"opsbot/models"

	_ "time/tzdata"
)

func main() {
	n := flag.Int("n", 500000, "number of tickets")
	year := flag.Int("year", 2026, "the year the tickets are created in (up to --until)")
	until := flag.String("until", "", "no time after this instant, YYYY-MM-DD HH:MM (default: now)")
	out := flag.String("out", "", "CSV file to write (default: standard output)")
	seed := flag.Uint64("seed", 1, "random seed; the same seed writes the same file")
	figures := flag.Bool("figures", false, "instead of writing, time the figures of the database in OPSBOT_DB")
	month := flag.Int("month", 11, "with --figures: the month timed")
	runs := flag.Int("runs", 3, "with --figures: runs of each measurement")
	flag.Parse()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		fail(err)
	}
	if *figures {
		if err := timeFigures(context.Background(), os.Getenv("OPSBOT_DB"), *year, time.Month(*month), *runs, loc); err != nil {
			fail(err)
		}
		return
	}
	end := time.Now().In(loc)
	if *until != "" {
		if end, err = time.ParseInLocation("2006-01-02 15:04", *until, loc); err != nil {
			fail(err)
		}
	}
	w := io.Writer(os.Stdout)
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fail(err)
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if err := generate(bw, *n, *year, end, *seed, loc); err != nil {
		fail(err)
	}
	if err := bw.Flush(); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "seedyear:", err)
	os.Exit(1)
}

// pick returns an index of weights at random, in proportion to them.
func pick(r *rand.Rand, weights []float64) int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	x := r.Float64() * total
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

// generate writes n tickets created in year (before end), numbered 1…n in
// creation order.
func generate(w io.Writer, n, year int, end time.Time, seed uint64, loc *time.Location) error {
	sys, err := configs.LoadSystems("")
	if err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(seed, 7))
	from := time.Date(year, 1, 1, 0, 0, 0, 0, loc)
	to := from.AddDate(1, 0, 0)
	if end.Before(to) {
		to = end
	}
	// Leave the last day for the tickets' own steps.
	span := to.Add(-24 * time.Hour).Sub(from)
	if span <= 0 {
		return fmt.Errorf("nothing of %d lies before %s", year, end.Format("2006-01-02"))
	}
	// A few systems carry most of the faults (HIS front office, doctors' and
	// nurses' stations); the weights fall off like 1/rank.
	sysWeights := make([]float64, len(sys))
	for i := range sys {
		sysWeights[i] = 1 / float64(i+1)
	}
	engineers := make([]string, 12)
	for i := range engineers {
		engineers[i] = fmt.Sprintf("eng%02d", i+1)
	}
	created := make([]time.Time, n)
	for i := range created {
		for {
			t := from.Add(time.Duration(r.Int64N(int64(span))))
			// Fewer reports at weekends and at night.
			wd, h := t.Weekday(), t.Hour()
			p := 1.0
			if wd == time.Saturday || wd == time.Sunday {
				p *= 0.35
			}
			if h < 7 || h >= 20 {
				p *= 0.15
			}
			if r.Float64() < p {
				created[i] = t.Truncate(time.Minute)
				break
			}
		}
	}
	// Numbers follow creation, as they would have in the old system.
	sortTimes(created)

	cw := csv.NewWriter(w)
	if err := cw.Write(models.ImportHeader); err != nil {
		return err
	}
	const layout = "2006-01-02 15:04"
	rec := make([]string, len(models.ImportHeader))
	minutes := func(lo, hi float64) time.Duration {
		return time.Duration((lo + r.Float64()*(hi-lo)) * float64(time.Minute))
	}
	for i, c := range created {
		kind := []string{"fault", "question", "request", "policy"}[pick(r, []float64{70, 20, 8, 2})]
		prio := []string{"high", "medium", "low"}[pick(r, []float64{15, 55, 30})]
		s := sys[pick(r, sysWeights)]
		system := s.Code
		if r.IntN(10) == 0 {
			system = s.Name // some old systems wrote names
		}
		status := []string{"closed", "cancelled", "resolved", "claimed", "paused", "new"}[pick(r, []float64{94, 2, 2, 1, 0.5, 0.5})]
		assignee := engineers[r.IntN(len(engineers))]
		var claimed, onsite, resolved, closed time.Time
		// Response: most within the hour, one in ten late.
		if r.IntN(10) == 0 {
			claimed = c.Add(minutes(61, 240))
		} else {
			claimed = c.Add(time.Duration(math.Min(r.ExpFloat64()*12, 59)) * time.Minute)
		}
		if prio == "high" && kind == "fault" && r.IntN(3) > 0 {
			if r.IntN(8) == 0 {
				onsite = c.Add(minutes(121, 300))
			} else {
				onsite = claimed.Add(minutes(5, 60))
			}
			if onsite.Before(claimed) {
				onsite = claimed.Add(minutes(5, 60))
			}
		}
		// Resolution in wall time: mostly well inside the target, some late.
		target := map[string]float64{"high": 24 * 60, "medium": 3 * 24 * 60, "low": 5 * 24 * 60}[prio]
		if r.IntN(12) == 0 {
			resolved = claimed.Add(minutes(target, target*2.5))
		} else {
			resolved = claimed.Add(minutes(10, target*0.6))
		}
		if !onsite.IsZero() && resolved.Before(onsite) {
			resolved = onsite.Add(minutes(5, 90))
		}
		closed = resolved.Add(minutes(10, 72*60))
		rating := ""
		switch status {
		case "closed":
			if r.IntN(10) < 7 {
				rating = strconv.Itoa([]int{100, 80, 60, 40, 20}[pick(r, []float64{60, 28, 8, 3, 1})])
			}
		case "cancelled":
			closed, resolved, onsite = c.Add(minutes(5, 120)), time.Time{}, time.Time{}
			if r.IntN(2) == 0 {
				claimed, assignee = time.Time{}, ""
			} else if claimed.After(closed) {
				claimed = closed
			}
		case "resolved":
			closed = time.Time{}
		case "claimed", "paused":
			resolved, closed = time.Time{}, time.Time{}
		case "new":
			claimed, onsite, resolved, closed, assignee = time.Time{}, time.Time{}, time.Time{}, time.Time{}, ""
		}
		// Near the end the story is cut where "now" is.
		if !closed.IsZero() && closed.After(end) && status == "closed" {
			status, closed, rating = "resolved", time.Time{}, ""
		}
		if !resolved.IsZero() && resolved.After(end) {
			status, resolved, closed = "claimed", time.Time{}, time.Time{}
		}
		if !onsite.IsZero() && onsite.After(end) {
			onsite = time.Time{}
		}
		if !claimed.IsZero() && claimed.After(end) {
			status, claimed, onsite, assignee = "new", time.Time{}, time.Time{}, ""
		}
		if status == "onsite" && onsite.IsZero() {
			status = "claimed"
		}
		f := func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.Format(layout)
		}
		rec[0], rec[1], rec[2], rec[3] = strconv.Itoa(i+1), kind, system, prio
		rec[4], rec[5] = fmt.Sprintf("u%04d", r.IntN(2000)), assignee
		rec[6], rec[7], rec[8], rec[9], rec[10] = f(c), f(claimed), f(onsite), f(resolved), f(closed)
		rec[11], rec[12] = status, rating
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func sortTimes(ts []time.Time) { slices.SortFunc(ts, time.Time.Compare) }

// timeFigures times Tx.Figures for one month and for the year, and the
// database's own aggregate over the same rows, each runs times.
func timeFigures(ctx context.Context, dsn string, year int, month time.Month, runs int, loc *time.Location) error {
	if dsn == "" {
		return fmt.Errorf("set OPSBOT_DB to the database to measure")
	}
	driver := "sqlite"
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		driver = "postgres"
	}
	sla, err := models.LoadSLA(configs.DefaultSLA(), loc)
	if err != nil {
		return err
	}
	s, err := models.Open(ctx, driver, dsn, models.Options{SLA: sla, Reminders: configs.DefaultReminders()})
	if err != nil {
		return err
	}
	defer s.Close()
	targets := configs.Default().Contract
	var total int64
	if err := s.Raw(ctx, &total, `SELECT COUNT(*) FROM tickets`); err != nil {
		return err
	}
	fmt.Printf("%s: %d tickets\n", driver, total)
	for _, p := range []models.Period{models.MonthPeriod(year, month, loc), models.YearPeriod(year, loc)} {
		for i := 0; i < runs; i++ {
			var f *models.Figures
			start := time.Now()
			err := s.View(ctx, func(tx *models.Tx) error {
				var err error
				f, err = tx.Figures(p, targets, 60)
				return err
			})
			if err != nil {
				return err
			}
			took := time.Since(start)
			v, _ := f.OnTimeRate.Value()
			fmt.Printf("Figures %-9s run %d: %7.0f ms  created %d, resolved %d, on time %.1f%%, satisfaction %.1f (%d rated), %d breaches (%d listed)\n",
				p.Label, i+1, ms(took), f.Created, f.Resolved, 100*v, f.Satisfaction.Mean, f.Satisfaction.Rated, f.BreachedTotal, len(f.Breaches))
		}
		// The database's own aggregate: one pass over the same rows with
		// the head figures, no breakdowns and no breach list.
		for i := 0; i < runs; i++ {
			var head struct{ Created, Resolved, OnTime, Claimed, ResponseOnTime int64 }
			start := time.Now()
			err := s.Raw(ctx, &head, `SELECT COUNT(*) AS created,
  COUNT(*) FILTER (WHERE status IN ('resolved','closed')) AS resolved,
  COUNT(*) FILTER (WHERE status IN ('resolved','closed') AND COALESCE(paused_at, resolved_at) <= due_resolution) AS on_time,
  COUNT(claimed_at) AS claimed,
  COUNT(*) FILTER (WHERE claimed_at <= due_response) AS response_on_time
FROM tickets WHERE created_at >= ? AND created_at < ? AND status <> 'cancelled'`, p.From.UTC(), p.To.UTC())
			if err != nil {
				return err
			}
			fmt.Printf("aggregate %-7s run %d: %7.0f ms  created %d, resolved %d, on time %d\n", p.Label, i+1, ms(time.Since(start)), head.Created, head.Resolved, head.OnTime)
		}
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
