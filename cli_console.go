package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"opsbot/console"
	"opsbot/models"
	"opsbot/reports"
)

const consoleUsage = "用法：opsbot console link --user USERID（打印一次性登录链接，15 分钟内有效）"

// cmdConsole serves `opsbot console link --user USERID`: a one-time login
// URL for bootstrap (before WeCom login is set up) and for tests.
func cmdConsole(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || args[0] != "link" {
		return usageError{consoleUsage}
	}
	fs := flag.NewFlagSet("console link", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	user := fs.String("user", "", "企业微信账号 (userid)")
	if err := fs.Parse(args[1:]); err != nil || strings.TrimSpace(*user) == "" || fs.NArg() > 0 {
		return usageError{consoleUsage}
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	store, _, err := openReadStore(ctx, e)
	if err != nil {
		return err
	}
	defer store.Close()
	var role models.Role
	if err := store.View(ctx, func(tx *models.Tx) error {
		a, err := tx.ActorFor(strings.TrimSpace(*user), "")
		role = a.Role
		return err
	}); err != nil {
		return err
	}
	link, expires, err := console.CreateLoginLink(ctx, store, cfg.Console.BaseURL, strings.TrimSpace(*user))
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, link)
	fmt.Fprintf(e.stderr, "%s（%s）的一次性登录链接，%s 前有效，只能使用一次。\n", *user, role.Label(), expires.In(cfg.Location()).Format("2006-01-02 15:04"))
	return nil
}

// consoleHandler builds the web console for the public listener.
func (s *server) consoleHandler() (http.Handler, error) {
	oncall, err := s.loadOnCall()
	if err != nil {
		return nil, err
	}
	d := console.Deps{Store: s.store, Handlers: s.handlers, Catalog: s.catalog, Config: s.cfg, OnCall: oncall, Log: s.log,
		Reports: consoleReports{src: reports.Source{Store: s.store, Catalog: s.catalog, Config: s.cfg, Title: s.cfg.Hospital.Name}, now: s.now},
		Monitor: consoleMonitor{s}}
	if s.wecom != nil {
		d.WeCom = s.wecom
	}
	c, err := console.New(d)
	if err != nil {
		return nil, err
	}
	return c.Handler(), nil
}

// consoleReports builds the console's report downloads with the same
// reports.Source as the CLI and the monthly job.
type consoleReports struct {
	src reports.Source
	now func() time.Time
}

func (r consoleReports) XLSX(ctx context.Context, kind reports.Kind, p models.Period, w io.Writer) error {
	_, err := r.src.XLSX(ctx, kind, p, r.now(), w)
	return err
}

// Confirmations gives the hospital's answers to a report without building it.
func (r consoleReports) Confirmations(ctx context.Context, kind reports.Kind, period string) ([]reports.Approval, error) {
	var out []reports.Approval
	err := r.src.Store.View(ctx, func(tx *models.Tx) error {
		cs, err := tx.Confirmations(string(kind), period)
		out = reports.ApprovalsOf(cs)
		return err
	})
	return out, err
}

// consoleMonitor feeds the monitoring wall from the alert and inspection
// records (probe results reach the wall as the alerts they fire).
type consoleMonitor struct{ s *server }

func (m consoleMonitor) Firing(ctx context.Context) ([]console.Alert, error) {
	var out []console.Alert
	err := m.s.store.View(ctx, func(tx *models.Tx) error {
		fs, err := tx.FiringAlerts(100)
		for _, f := range fs {
			out = append(out, console.Alert{Name: f.Key, System: m.s.catalog.Name(f.Ticket.System), Severity: f.Ticket.Priority.Label(), Summary: f.Ticket.Title, Since: f.Since})
		}
		return err
	})
	return out, err
}

func (m consoleMonitor) Probes(ctx context.Context) ([]console.Probe, error) { return nil, nil }

func (m consoleMonitor) Inspections(ctx context.Context, day time.Time) ([]console.Inspection, error) {
	var out []console.Inspection
	loc := m.s.sla.Clock().Location()
	from := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc)
	err := m.s.store.View(ctx, func(tx *models.Tx) error {
		r, err := tx.Inspections(from, from.AddDate(0, 0, 1))
		if err != nil {
			return err
		}
		team, err := tx.Team()
		if err != nil {
			return err
		}
		for _, in := range r.Inspections {
			status := "未开始"
			switch {
			case in.DoneAt != nil:
				status = "已完成"
			case !in.PlannedAt.After(m.s.now()):
				status = "进行中"
			}
			n := 0
			for _, a := range r.Anomalies {
				if a.InspectionID == in.ID {
					n++
				}
			}
			findings := "正常"
			if n > 0 {
				findings = fmt.Sprintf("异常 %d 项", n)
			} else if in.DoneAt == nil {
				findings = "—"
			}
			name := in.EngineerID
			if s, ok := team.Member(in.EngineerID); ok {
				name = s.Name
			}
			out = append(out, console.Inspection{Shift: in.Name, Engineer: name, Status: status, Findings: findings, Done: in.DoneAt})
		}
		return nil
	})
	return out, err
}
