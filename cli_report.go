package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"opsbot/models"
	"opsbot/reports"
)

// cmdReport writes a monthly or annual service report: XLSX with --out,
// the figures as JSON with --json, the chat summary otherwise.
func cmdReport(ctx context.Context, e env, args []string) error {
	const help = "用法：opsbot report monthly --month 2026-11 [--out 月报.xlsx] [--json]\n      opsbot report annual --year 2026 [--out 年报.xlsx] [--json]"
	if len(args) == 0 || (args[0] != "monthly" && args[0] != "annual") {
		return usageError{help}
	}
	kind := reports.Kind(args[0])
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	month := fs.String("month", "", "YYYY-MM (monthly; default last month)")
	year := fs.Int("year", 0, "YYYY (annual; default this year)")
	out := fs.String("out", "", "write the XLSX to this file")
	asJSON := fs.Bool("json", false, "print the figures as JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{help}
	}
	// A report allocates a few gigabytes over its run while it keeps
	// little (a year's: 60 MB live); the collector's default pace spent a
	// fifth of the ticket sheet's time, on the one goroutine that writes
	// it. This command does nothing else, so it lets the heap grow to a
	// bound instead: a year's report 10.8 -> 8.4 s, peak RSS 182 -> 228 MB.
	// GOGC or GOMEMLIMIT in the environment still decide.
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(400)
		debug.SetMemoryLimit(200 << 20)
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	sla, err := models.LoadSLA(cfg.SLA, cfg.Location())
	if err != nil {
		return err
	}
	store, err := openStore(ctx, cfg, newLogger(e.stderr, "warn"), sla)
	if err != nil {
		return err
	}
	defer store.Close()
	// Read only: a report names systems from the catalog file and writes
	// nothing (serve keeps the database's copy in step).
	systems, departments, err := readCatalog(cfg)
	if err != nil {
		return err
	}
	cat := models.NewCatalog(systems, departments)
	now := time.Now().In(cfg.Location())
	p := models.YearPeriod(now.Year(), cfg.Location())
	if kind == reports.Annual {
		if *year != 0 {
			p = models.YearPeriod(*year, cfg.Location())
		}
	} else {
		t := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, cfg.Location()).AddDate(0, -1, 0)
		if *month != "" {
			if t, err = time.ParseInLocation("2006-01", *month, cfg.Location()); err != nil {
				return usageError{"--month 写成 2026-11"}
			}
		}
		p = models.MonthPeriod(t.Year(), t.Month(), cfg.Location())
	}
	src := reports.Source{Store: store, Catalog: cat, Config: cfg, Title: cfg.Hospital.Name}
	var r *reports.Report
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		if r, err = src.XLSX(ctx, kind, p, now, f); err != nil {
			f.Close()
			os.Remove(*out) // never leave half a workbook behind
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		if !*asJSON {
			fmt.Fprintf(e.stdout, "已写入 %s\n", *out)
		}
	} else if r, err = src.Build(ctx, kind, p, now); err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(figuresJSON(r.Figures))
	}
	if *out == "" {
		fmt.Fprintln(e.stdout, reports.SummaryText(r))
	}
	return nil
}

// figuresJSON is the figures of docs/kpi.md as JSON: counts, and rates as
// fractions 0-1 (null when there is nothing to divide).
func figuresJSON(f *models.Figures) map[string]any {
	rate := func(r models.Rate) any {
		if v, ok := r.Value(); ok {
			return v
		}
		return nil
	}
	var sat any
	if f.Satisfaction.Rated > 0 {
		sat = f.Satisfaction.Mean
	}
	groups := func(gs []models.Group) []map[string]any {
		out := make([]map[string]any, len(gs))
		for i, g := range gs {
			out[i] = map[string]any{"key": g.Key, "created": g.Created, "resolved": g.Resolved, "on_time": g.OnTime, "breached": g.Breached, "rated": g.Rated}
		}
		return out
	}
	return map[string]any{
		"period":                f.Period.Label,
		"from":                  f.Period.From.Format(time.DateOnly),
		"to":                    f.Period.To.Format(time.DateOnly),
		"created":               f.Created,
		"cancelled":             f.Cancelled,
		"open":                  f.Open,
		"resolved":              f.Resolved,
		"breached":              f.BreachedTotal,
		"resolution_rate":       rate(f.ResolutionRate),
		"on_time_rate":          rate(f.OnTimeRate),
		"response_on_time_rate": rate(f.ResponseOnTimeRate),
		"onsite_on_time_rate":   rate(f.OnsiteOnTimeRate),
		"satisfaction":          sat,
		"rated":                 f.Satisfaction.Rated,
		"asked":                 f.Satisfaction.Asked,
		"low_ratings":           f.Satisfaction.Low,
		"avg_response_seconds":  int64(f.AvgResponse.Seconds()),
		"targets": map[string]any{
			"resolution_rate": f.ResolutionRate.Target, "on_time_rate": f.OnTimeRate.Target,
			"response_on_time_rate": f.ResponseOnTimeRate.Target, "satisfaction": f.Satisfaction.Target,
		},
		"by_system":   groups(f.BySystem),
		"by_engineer": groups(f.ByEngineer),
		"by_priority": groups(f.ByPriority),
		"by_kind":     groups(f.ByKind),
	}
}
