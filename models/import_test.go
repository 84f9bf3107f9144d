package models_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"opsbot/configs"
	"opsbot/models"
	"opsbot/models/modelstest"
)

var (
	importCatalogOnce sync.Once
	importCatalog     *models.Catalog
)

func testCatalog(t *testing.T) *models.Catalog {
	t.Helper()
	importCatalogOnce.Do(func() {
		sys, err := configs.LoadSystems("")
		if err != nil {
			t.Fatal(err)
		}
		importCatalog = models.NewCatalog(models.SystemsFromConfig(sys), nil)
	})
	return importCatalog
}

func parseImport(t *testing.T, csv string) ([]models.ImportRow, []models.ImportError) {
	t.Helper()
	p := &models.ImportParser{Catalog: testCatalog(t), Location: modelstest.Shanghai, Now: kpiNow}
	rows, bad, err := p.ReadImport(strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	return rows, bad
}

const importHeader = "number,kind,system,priority,reporter,assignee,created_at,claimed_at,onsite_at,resolved_at,closed_at,status,rating\n"

func TestImportReportsEveryBadRow(t *testing.T) {
	file := "\ufeff" + importHeader +
		"1,fault,OPB,urgent,n1,,2026-11-02 09:00,,,,,new,\n" + // 2
		"2,fault,HIS,high,n1,,2026-11-02 09:00,,,,,new,\n" + // 3: HIS is a group of systems
		"3,fault,OPB,high,,zhangsan,2026/11/02 9:00,,,,,claimed,\n" + // 4
		"1,fault,OPB,high,n1,,2026-11-02 09:00,,,,,new,\n" + // 5
		"4,fault,OPB,high,n1,zhangsan,2026-11-02 09:00,2026-11-02 08:00,,,,claimed,90\n" + // 6
		"5,fault,OPB,high,n1,zhangsan,2026-11-02 09:00\n" + // 7
		"6,fault,门急诊收费,low,n1,zhangsan,2026-11-02 09:00,,,2026-11-02 10:00,2026-11-02 11:00,closed,10\n" + // 8
		"7,fault,OPB,low,n1,,2026-11-02 09:00,,,2026-11-02 10:00,,resolved,\n" + // 9
		"8,problem,OPB,low,n1,zhangsan,2026-11-02 09:00,,,,2026-12-24 10:00,done,\n" + // 10
		"\n" +
		"9,fault,门急诊收费,low,n1,zhangsan,2026-11-02 09:00,,,2026-11-02 10:00,2026-11-02 11:00,closed,80\n" // 12: good
	rows, bad := parseImport(t, file)
	want := []string{
		`第 2 行：priority "urgent" 不对，应为 high、medium、low 之一`,
		`第 3 行：system "HIS" 不在系统目录中（可填系统代码或名称）`,
		`第 4 行：reporter 不能为空；created_at "2026/11/02 9:00" 不是 YYYY-MM-DD HH:MM[:SS] 格式的时间`,
		`第 5 行：单号 1 与第 2 行重复`,
		`第 6 行：claimed_at 早于 created_at；只有已关闭（closed）的工单才有评价，此行状态为 claimed`,
		`第 7 行：应有 13 列，实际 7 列`,
		`第 8 行：rating "10" 应为 20 到 100 的整数，或留空`,
		`第 9 行：状态为 resolved 时 assignee（负责工程师）不能为空`,
		`第 10 行：kind "problem" 不对，应为 fault、question、request、policy 之一；closed_at 2026-12-24 10:00 晚于现在；status "done" 不对，应为 new、claimed、onsite、paused、resolved、closed、cancelled 之一`,
	}
	var got []string
	for _, b := range bad {
		got = append(got, b.String())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(rows) != 1 || rows[0].Number != 9 || rows[0].Line != 12 || rows[0].System != "OPB" || rows[0].Rating != 80 {
		t.Errorf("good rows %+v", rows)
	}

	_, bad = parseImport(t, "number,kind,system\n1,fault,OPB\n")
	if len(bad) != 1 || bad[0].Line != 1 || !strings.Contains(bad[0].Reason, "表头必须正好是 number,kind,system,priority") {
		t.Errorf("bad header: %v", bad)
	}
}

// importFile is six tickets of November 2026; the deadlines follow the
// default SLA (see kpi_test.go).
const importFile = importHeader +
	// high fault: response due 10:00, on site 11:00, resolution 11-03 09:00; all on time.
	"101,fault,OPB,high,n1,zhangsan,2026-11-02 09:00,2026-11-02 09:20,2026-11-02 10:30,2026-11-02 11:00,2026-11-02 12:00,closed,100\n" +
	// resolved from new (claimed then too) by name; due 11-10 12:00.
	"102,question,门急诊收费,low,n2,lisi,2026-11-03 14:00,,,2026-11-03 14:30,2026-11-03 15:00,closed,\n" +
	// late response (10:30 > 10:00) and late resolution (11-06 10:00 > 11-05 09:00).
	"103,fault,LIS,medium,n3,lisi,2026-11-02 09:00:00,2026-11-02 10:30:00,,2026-11-06 10:00,,resolved,\n" +
	// open and never claimed: at 11-13 10:00 late for response and resolution (11-12 09:00).
	"104,fault,,medium,n4,,2026-11-09 09:00,,,,,new,\n" +
	// paused: the clock is taken to have stopped at the last step (09:30), before 11-13 09:00.
	"105,fault,OPB,low,n5,lisi,2026-11-06 09:00,2026-11-06 09:30,,,,paused,\n" +
	"106,request,LIS,medium,n6,,2026-11-04 09:00,,,,2026-11-04 10:00,cancelled,\n"

func TestImportTickets(t *testing.T) {
	clock := modelstest.NewClock(kpiNow)
	modelstest.Each(t, kpiOptions(clock), func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		rows, bad := parseImport(t, importFile)
		if len(bad) > 0 {
			t.Fatalf("bad rows: %v", bad)
		}
		res, err := s.ImportTickets(ctx, rows)
		if err != nil || res.Imported != 6 || res.Unchanged != 0 || res.NextNumber != 107 {
			t.Fatalf("import: %+v, %v", res, err)
		}

		s.View(ctx, func(tx *models.Tx) error {
			tk, err := tx.Ticket(101)
			if err != nil {
				t.Fatal(err)
			}
			local := func(p *time.Time) string {
				if p == nil {
					return "-"
				}
				return p.In(modelstest.Shanghai).Format("01-02 15:04")
			}
			got := fmt.Sprint(tk.Source, " ", tk.Title, " ", tk.Status, " ", tk.AssigneeID, " ", local(&tk.DueResponse), " ", local(tk.DueOnsite), " ",
				local(&tk.DueResolution), " ", local(tk.PausedAt), " ", local(tk.ClosedAt))
			if want := "import 导入工单 #101 closed zhangsan 11-02 10:00 11-02 11:00 11-03 09:00 11-02 11:00 11-02 12:00"; got != want {
				t.Errorf("#101: %s\nwant %s", got, want)
			}
			tk, _ = tx.Ticket(102)
			if tk.System != "OPB" || local(tk.ClaimedAt) != "11-03 14:30" || local(&tk.DueResolution) != "11-10 12:00" {
				t.Errorf("#102 %+v", tk)
			}
			tk, _ = tx.Ticket(105)
			if local(tk.PausedAt) != "11-06 09:30" {
				t.Errorf("#105 paused at %s", local(tk.PausedAt))
			}
			return nil
		})

		// The imported tickets count in the figures like any other.
		var f *models.Figures
		var open, breached int64
		s.View(ctx, func(tx *models.Tx) error {
			f, err = tx.Figures(models.MonthPeriod(2026, 11, modelstest.Shanghai), kpiTargets, 60)
			if err == nil {
				open, breached, err = tx.OpenCounts()
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var breaches []string
		for _, b := range f.Breaches {
			breaches = append(breaches, fmt.Sprint(b.TicketID, b.Clocks))
		}
		got := fmt.Sprint(f.Created, f.Cancelled, f.Open, f.Resolved, f.OnTimeRate.N, f.ResponseOnTimeRate, f.Satisfaction.Rated, f.Satisfaction.Asked, f.Satisfaction.Mean, breaches, open, breached)
		// 5 created (106 cancelled); open 104, 105; resolved 101-103, on
		// time 101, 102; claimed 101, 102, 103, 105, late 103; rated 101.
		if want := "5 1 2 3 2 {3 4 0.9} 1 1 100 [103 [response resolution] 104 [response resolution]] 2 1"; got != want {
			t.Errorf("figures %s\nwant    %s", got, want)
		}

		// Judge reads imported tickets as the SQL does (a paused one without
		// paused_at, or a resolved one without it, would split them).
		if b, c := judgeAgrees(t, s, clock, []time.Time{nov(2, 9, 30), nov(5, 12, 0), kpiNow}); !b || !c {
			t.Errorf("judged nothing interesting: %v %v", b, c)
		}

		// The same file again changes nothing.
		clock.Set(kpiNow.Add(time.Hour))
		rows, _ = parseImport(t, importFile)
		res, err = s.ImportTickets(ctx, rows)
		if err != nil || res.Imported != 0 || res.Unchanged != 6 || res.NextNumber != 107 {
			t.Fatalf("second import: %+v, %v", res, err)
		}
		var n struct{ Tickets, Events, Ratings int64 }
		s.Raw(ctx, &n, `SELECT (SELECT COUNT(*) FROM tickets) AS tickets, (SELECT COUNT(*) FROM ticket_events) AS events, (SELECT COUNT(*) FROM ratings) AS ratings`)
		if n.Tickets != 6 || n.Events != 0 || n.Ratings != 1 {
			t.Errorf("after two imports: %+v", n)
		}

		// New tickets continue after the highest number.
		var tk *models.Ticket
		err = s.Update(ctx, func(tx *models.Tx) error {
			tk, _, err = tx.CreateTicket(models.NewTicket{Description: "打印机卡纸", ReporterID: "n9", Source: models.SourceChat}, kpiReporter(9))
			return err
		})
		if err != nil || tk.ID != 107 {
			t.Fatalf("next ticket: %+v, %v", tk, err)
		}
	})
}

func TestImportRefusesANumberInUse(t *testing.T) {
	clock := modelstest.NewClock(kpiNow)
	modelstest.Each(t, kpiOptions(clock), func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		err := s.Update(ctx, func(tx *models.Tx) error {
			_, _, err := tx.CreateTicket(models.NewTicket{Description: "打印机卡纸", ReporterID: "n9", Source: models.SourceChat}, kpiReporter(9))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		rows, _ := parseImport(t, importHeader+
			"2,fault,OPB,low,n1,,2026-11-02 09:00,,,,,new,\n"+
			"1,fault,OPB,low,n1,,2026-11-02 09:00,,,,,new,\n")
		res, err := s.ImportTickets(ctx, rows)
		if models.ErrorCode(err) != models.EInvalid || res.Imported != 0 || len(res.Errors) != 1 ||
			res.Errors[0].String() != "第 3 行：单号 1 已被系统中的工单 #1 使用（不是导入的工单）" {
			t.Fatalf("import over a live ticket: %+v, %v", res, err)
		}
		var n int64
		s.Raw(ctx, &n, `SELECT COUNT(*) FROM tickets`)
		if n != 1 {
			t.Fatalf("%d tickets after a refused import", n)
		}

		// Numbers above opsbot's own are fine, and new tickets follow them.
		rows, _ = parseImport(t, importHeader+
			"6,fault,OPB,low,n1,,2026-11-02 09:00,,,,,new,\n"+
			"5,fault,OPB,low,n1,,2026-11-02 09:00,,,,,new,\n")
		if res, err = s.ImportTickets(ctx, rows); err != nil || res.Imported != 2 || res.NextNumber != 7 {
			t.Fatalf("import above a live ticket: %+v, %v", res, err)
		}
		var tk *models.Ticket
		err = s.Update(ctx, func(tx *models.Tx) error {
			tk, _, err = tx.CreateTicket(models.NewTicket{Description: "键盘失灵", ReporterID: "n9", Source: models.SourceChat}, kpiReporter(9))
			return err
		})
		if err != nil || tk.ID != 7 {
			t.Fatalf("next ticket: %+v, %v", tk, err)
		}
	})
}
