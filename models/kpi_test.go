package models_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"opsbot/configs"
	"opsbot/models"
	"opsbot/models/modelstest"
)

// The KPI dataset: fourteen tickets worked through the real domain API in
// November 2026 (Shanghai), with the store's clock set by hand before each
// step, plus ratings rows written directly. The default SLA applies:
// response 1 h and on-site 2 h on the wall clock; resolution in business
// hours 08-12, 14-18 (8 h a day), high 1, medium 3, low 5 working days;
// on-site is owed by high faults only. November 2026 has no holiday:
// Sun 1, Mon 2 … Fri 6, Mon 9 … Fri 13.
//
// #  kind/prio      system dept  created       what happens                                  due resp / onsite / resolution
// 1  fault high     HIS  急诊科  Mon 2 09:00   claim 09:20 zhangsan, arrive 10:30, resolve    10:00 / 11:00 / Tue 3 09:00
//                                              11:00, closed confirmed 12:00; rated 100
// 2  fault medium   LIS  检验科  Mon 2 09:00   claim 10:30 lisi (late), 超时原因 电话占线,    10:00 / - / Thu 5 09:00
//                                              pause Tue 3 09:00, resolve from the pause
//                                              Mon 9 10:00 (clock stopped Tue 3 09:00),
//                                              auto-closed Thu 12; survey expired unrated
// 3  fault high     HIS  门诊    Tue 3 09:00   claim 09:10 zhangsan, no visit, resolve       10:00 / 11:00 / Wed 4 09:00
//                                              Wed 4 10:00 (late; on-site clock stopped by
//                                              the resolution, late too), closed; rated 40
// 4  question low   OPB  门诊    Tue 3 14:00   resolved from new by lisi 14:30 (claimed      15:00 / - / Tue 10 12:00
//                                              then too), closed; rated 80
// 5  fault medium   LIS  检验科  Wed 4 09:00   claim 09:30 zhangsan, cancelled by the        (cancelled: excluded)
//                                              reporter 10:00
// 6  request medium LIS  检验科  Wed 4 09:00   claim 09:05 lisi, resolve 11:00, reopened     10:00 / - / Mon 9 09:00, after
//                                              Thu 5 09:00 (6 business hours resolved:       the reopen Mon 9 17:00
//                                              Wed 11-12, 14-18, Thu 08-09), resolve
//                                              Tue 10 10:00 (late), 超时原因 需求变更;
//                                              still resolved, not asked
// 7  fault high     HIS  急诊科  Thu 5 09:00   parent: claim 09:40 zhangsan, arrive 10:00,   10:00 / 11:00 / Fri 6 09:00
//                                              resolve 10:30, auto-closed Mon 9; rated 100
// 8  fault high     HIS  住院部  Thu 5 09:15   merged into #7 at 09:30, resolved with it     10:15 / 11:15 / Fri 6 09:15
//                                              10:30 (so claimed 10:30 by zhangsan: late
//                                              response; on-site stopped 10:30: on time),
//                                              auto-closed Mon 9; rated 60 (low)
// 9  fault low      OPB  门诊    Fri 6 09:00   claim 09:30 lisi, pause 10:00, still paused   10:00 / - / Fri 13 09:00
// 10 fault medium   -    -       Mon 9 09:00   never claimed                                  10:00 / - / Thu 12 09:00
// 11 fault high     LIS  急诊科  Fri 13 07:00  claim 07:30 zhangsan, not on site yet         08:00 / 09:00 / Fri 13 18:00
// 12 question low   OPB  门诊    Sat Oct 31 23:30 (outside the period), never claimed        Nov 1 00:30 / - / Fri 6 18:00
// 13 question low   OPB  门诊    Sun 1 07:00   resolved from new by zhangsan Mon 2 08:30     Sun 1 08:00 / - / Fri 6 18:00
//                                              (late response), closed; asked, not yet rated
// 14 question low   OPB  门诊    Fri Oct 30 09:00 (outside), resolved 10:00 lisi, closed; rated 20
//
// Tickets are created in number order, so ticket N gets id N.

var (
	kpiZhang = models.Actor{UserID: "zhangsan", Name: "张三", Role: models.RoleEngineer, Level: 2}
	kpiLi    = models.Actor{UserID: "lisi", Name: "李四", Role: models.RoleEngineer, Level: 2}
	kpiBoss  = models.Actor{UserID: "boss", Name: "王主管", Role: models.RoleSupervisor}
)

func kpiReporter(n int) models.Actor {
	return models.Actor{UserID: fmt.Sprintf("r%02d", n), Role: models.RoleReporter}
}

// nov is a local time in November 2026.
func nov(day, h, m int) time.Time { return time.Date(2026, 11, day, h, m, 0, 0, modelstest.Shanghai) }

// kpiNow is the instant the period's figures are judged at: Fri 13 10:00.
var kpiNow = nov(13, 10, 0)

type kpiSteps struct {
	t     *testing.T
	s     *models.Store
	clock *modelstest.Clock
}

// at runs fn in one transaction at the given instant.
func (k kpiSteps) at(when time.Time, what string, fn func(tx *models.Tx) error) {
	k.t.Helper()
	k.clock.Set(when)
	if err := k.s.Update(context.Background(), fn); err != nil {
		k.t.Fatalf("%s at %s: %v", what, when.Format("01-02 15:04"), err)
	}
}

func (k kpiSteps) create(n int, when time.Time, kind models.Kind, pr models.Priority, system, dept string) {
	k.t.Helper()
	k.at(when, fmt.Sprintf("create #%d", n), func(tx *models.Tx) error {
		r := kpiReporter(n)
		tk, _, err := tx.CreateTicket(models.NewTicket{Kind: kind, Priority: pr, System: system, Department: dept,
			Description: fmt.Sprintf("测试工单 %d", n), ReporterID: r.UserID, Source: models.SourceChat}, r)
		if err == nil && tk.ID != int64(n) {
			err = fmt.Errorf("got id %d", tk.ID)
		}
		return err
	})
}

// buildKPIDataset writes the dataset above and leaves the clock at kpiNow.
func buildKPIDataset(t *testing.T, s *models.Store, clock *modelstest.Clock) {
	t.Helper()
	k := kpiSteps{t, s, clock}
	F, Q, R := models.KindFault, models.KindQuestion, models.KindRequest
	H, M, L := models.PriorityHigh, models.PriorityMedium, models.PriorityLow
	oct := func(day, h, m int) time.Time { return time.Date(2026, 10, day, h, m, 0, 0, modelstest.Shanghai) }

	k.create(1, nov(2, 9, 0), F, H, "HIS", "急诊科")
	k.create(2, nov(2, 9, 0), F, M, "LIS", "检验科")
	k.create(3, nov(3, 9, 0), F, H, "HIS", "门诊")
	k.create(4, nov(3, 14, 0), Q, L, "OPB", "门诊")
	k.create(5, nov(4, 9, 0), F, M, "LIS", "检验科")
	k.create(6, nov(4, 9, 0), R, M, "LIS", "检验科")
	k.create(7, nov(5, 9, 0), F, H, "HIS", "急诊科")
	k.create(8, nov(5, 9, 15), F, H, "HIS", "住院部")
	k.create(9, nov(6, 9, 0), F, L, "OPB", "门诊")
	k.create(10, nov(9, 9, 0), F, M, "", "")
	k.create(11, nov(13, 7, 0), F, H, "LIS", "急诊科")
	k.create(12, oct(31, 23, 30), Q, L, "OPB", "门诊")
	k.create(13, nov(1, 7, 0), Q, L, "OPB", "门诊")
	k.create(14, oct(30, 9, 0), Q, L, "OPB", "门诊")

	claim := func(id int64, a models.Actor) func(*models.Tx) error {
		return func(tx *models.Tx) error { _, err := tx.Claim(id, a); return err }
	}
	arrive := func(id int64, a models.Actor) func(*models.Tx) error {
		return func(tx *models.Tx) error { _, err := tx.Arrive(id, a); return err }
	}
	resolve := func(id int64, a models.Actor) func(*models.Tx) error {
		return func(tx *models.Tx) error { _, err := tx.Resolve(id, a, "已处理"); return err }
	}
	closeBy := func(id int64) func(*models.Tx) error {
		return func(tx *models.Tx) error { _, err := tx.Close(id, kpiReporter(int(id)), true, ""); return err }
	}
	autoClose := func(id int64) func(*models.Tx) error {
		return func(tx *models.Tx) error { _, err := tx.AutoClose(id); return err }
	}
	reason := func(id int64, a models.Actor, why string) func(*models.Tx) error {
		return func(tx *models.Tx) error { _, err := tx.Record(id, a, models.ActBreachReason, why); return err }
	}
	pause := func(id int64, a models.Actor) func(*models.Tx) error {
		return func(tx *models.Tx) error { _, err := tx.Pause(id, a, "等待厂家"); return err }
	}

	k.at(nov(2, 9, 20), "claim #1", claim(1, kpiZhang))
	k.at(nov(2, 10, 30), "arrive #1", arrive(1, kpiZhang))
	k.at(nov(2, 11, 0), "resolve #1", resolve(1, kpiZhang))
	k.at(nov(2, 12, 0), "close #1", closeBy(1))

	k.at(nov(2, 10, 30), "claim #2", claim(2, kpiLi))
	k.at(nov(2, 10, 40), "reason #2", reason(2, kpiLi, "电话占线"))
	k.at(nov(3, 9, 0), "pause #2", pause(2, kpiLi))
	k.at(nov(9, 10, 0), "resolve #2 from the pause", resolve(2, kpiLi))
	k.at(nov(12, 10, 0), "auto-close #2", autoClose(2))

	k.at(nov(3, 9, 10), "claim #3", claim(3, kpiZhang))
	k.at(nov(4, 10, 0), "resolve #3", resolve(3, kpiZhang))
	k.at(nov(4, 11, 0), "close #3", closeBy(3))

	k.at(nov(3, 14, 30), "resolve #4 from new", resolve(4, kpiLi))
	k.at(nov(3, 15, 0), "close #4", closeBy(4))

	k.at(nov(4, 9, 30), "claim #5", claim(5, kpiZhang))
	k.at(nov(4, 10, 0), "cancel #5", func(tx *models.Tx) error { _, err := tx.Cancel(5, kpiReporter(5), "已自行解决"); return err })

	k.at(nov(4, 9, 5), "claim #6", claim(6, kpiLi))
	k.at(nov(4, 11, 0), "resolve #6", resolve(6, kpiLi))
	k.at(nov(5, 9, 0), "reopen #6", func(tx *models.Tx) error { _, err := tx.Reopen(6, kpiReporter(6), "还是不行"); return err })
	k.at(nov(10, 10, 0), "resolve #6 again", resolve(6, kpiLi))
	k.at(nov(10, 10, 5), "reason #6", reason(6, kpiLi, "需求变更"))

	k.at(nov(5, 9, 30), "merge #8 into #7", func(tx *models.Tx) error { _, _, err := tx.Merge(7, []int64{8}, kpiBoss); return err })
	k.at(nov(5, 9, 40), "claim #7", claim(7, kpiZhang))
	k.at(nov(5, 10, 0), "arrive #7", arrive(7, kpiZhang))
	k.at(nov(5, 10, 30), "resolve #7 and #8", resolve(7, kpiZhang))
	k.at(nov(9, 9, 0), "auto-close #7", autoClose(7))
	k.at(nov(9, 9, 0), "auto-close #8", autoClose(8))

	k.at(nov(6, 9, 30), "claim #9", claim(9, kpiLi))
	k.at(nov(6, 10, 0), "pause #9", pause(9, kpiLi))

	k.at(nov(13, 7, 30), "claim #11", claim(11, kpiZhang))

	k.at(nov(2, 8, 30), "resolve #13 from new", resolve(13, kpiZhang))
	k.at(nov(2, 9, 0), "close #13", closeBy(13))

	k.at(oct(30, 10, 0), "resolve #14", resolve(14, kpiLi))
	k.at(oct(30, 11, 0), "close #14", closeBy(14))

	// Ratings: asked when the ticket closed; score NULL when not (yet) rated.
	for _, r := range []struct {
		id     int64
		status string
		score  any
		asked  time.Time
	}{
		{1, "rated", 100, nov(2, 12, 0)},
		{2, "expired", nil, nov(12, 10, 0)},
		{3, "rated", 40, nov(4, 11, 0)},
		{4, "rated", 80, nov(3, 15, 0)},
		{7, "rated", 100, nov(9, 9, 0)},
		{8, "rated", 60, nov(9, 9, 0)},
		{13, "asked", nil, nov(2, 9, 0)},
		{14, "rated", 20, oct(30, 11, 0)},
	} {
		err := s.Exec(context.Background(), `INSERT INTO ratings (ticket_id, reporter_id, asked_at, status, score) VALUES (?, ?, ?, ?, ?)`,
			r.id, kpiReporter(int(r.id)).UserID, r.asked.UTC(), r.status, r.score)
		if err != nil {
			t.Fatalf("rating #%d: %v", r.id, err)
		}
	}
	clock.Set(kpiNow)
}

func kpiOptions(clock *modelstest.Clock) models.Options {
	return models.Options{Now: clock.Now, Reminders: configs.DefaultReminders(), AutoClose: 72 * time.Hour}
}

var kpiTargets = configs.Contract{ResolutionRate: 0.95, OnTimeRate: 0.90, ResponseOnTimeRate: 0.90, OnsiteOnTimeRate: 0.90, Satisfaction: 90}

func TestFiguresOfTheDataset(t *testing.T) {
	clock := modelstest.NewClock(kpiNow)
	modelstest.Each(t, kpiOptions(clock), func(t *testing.T, s *models.Store) {
		buildKPIDataset(t, s, clock)
		ctx := context.Background()

		// The deadlines the table above states, as the SLA clock set them.
		dues := map[int64][3]string{ // response, onsite ("" none), resolution
			1: {"11-02 10:00", "11-02 11:00", "11-03 09:00"}, 2: {"11-02 10:00", "", "11-05 09:00"},
			3: {"11-03 10:00", "11-03 11:00", "11-04 09:00"}, 4: {"11-03 15:00", "", "11-10 12:00"},
			6: {"11-04 10:00", "", "11-09 17:00"}, 7: {"11-05 10:00", "11-05 11:00", "11-06 09:00"},
			8: {"11-05 10:15", "11-05 11:15", "11-06 09:15"}, 9: {"11-06 10:00", "", "11-13 09:00"},
			10: {"11-09 10:00", "", "11-12 09:00"}, 11: {"11-13 08:00", "11-13 09:00", "11-13 18:00"},
			12: {"11-01 00:30", "", "11-06 18:00"}, 13: {"11-01 08:00", "", "11-06 18:00"},
		}
		s.View(ctx, func(tx *models.Tx) error {
			for id, want := range dues {
				tk, err := tx.Ticket(id)
				if err != nil {
					t.Fatal(err)
				}
				f := func(tm time.Time) string { return tm.In(modelstest.Shanghai).Format("01-02 15:04") }
				got := [3]string{f(tk.DueResponse), "", f(tk.DueResolution)}
				if tk.DueOnsite != nil {
					got[1] = f(*tk.DueOnsite)
				}
				if got != want {
					t.Errorf("#%d deadlines %v, want %v", id, got, want)
				}
			}
			return nil
		})

		var f *models.Figures
		var open, openBreached int64
		err := s.View(ctx, func(tx *models.Tx) error {
			var err error
			if f, err = tx.Figures(models.MonthPeriod(2026, 11, modelstest.Shanghai), kpiTargets, 60); err != nil {
				return err
			}
			open, openBreached, err = tx.OpenCounts()
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		// The period's tickets: 1-4, 6-11, 13 (#13 created Sun 1 07:00
		// local, which is Oct 31 in UTC); #5 is cancelled; #12 and #14 were
		// created in October.
		check := func(name string, got, want any) {
			t.Helper()
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s = %v, want %v", name, got, want)
			}
		}
		check("Created", f.Created, 11)
		check("Cancelled", f.Cancelled, 1)
		// Open: #9 paused, #10 new, #11 claimed.
		check("Open", f.Open, 3)
		// Resolved or closed: 1, 2, 3, 4, 6, 7, 8, 13.
		check("Resolved", f.Resolved, 8)
		check("ResolutionRate", f.ResolutionRate, models.Rate{N: 8, Of: 11, Target: 0.95})
		// Clock stopped (COALESCE(paused_at, resolved_at)) by the deadline:
		// #1 11-02 11:00 ≤ 11-03 09:00; #2 11-03 09:00 (the pause) ≤ 11-05
		// 09:00; #4 11-03 14:30 ≤ 11-10 12:00; #7 11-05 10:30 ≤ 11-06 09:00;
		// #8 10:30 ≤ 11-06 09:15; #13 11-02 08:30 ≤ 11-06 18:00. Late: #3
		// 11-04 10:00 > 09:00; #6 11-10 10:00 > 11-09 17:00. 6 of 8.
		check("OnTimeRate", f.OnTimeRate, models.Rate{N: 6, Of: 8, Target: 0.90})
		// Claimed: 1, 2, 3, 4, 6, 7, 8, 9, 11, 13 (10 never). Late: #2 10:30
		// > 10:00, #8 10:30 > 10:15, #13 11-02 08:30 > 11-01 08:00. 7 of 10.
		check("ResponseOnTimeRate", f.ResponseOnTimeRate, models.Rate{N: 7, Of: 10, Target: 0.90})
		// On-site owed: 1, 3, 7, 8, 11; stopped: #1 arrived 10:30 ≤ 11:00,
		// #3 resolved 11-04 10:00 > 11-03 11:00, #7 arrived 10:00 ≤ 11:00,
		// #8 resolved 10:30 ≤ 11:15; #11 not yet. 3 of 4.
		check("OnsiteOnTimeRate", f.OnsiteOnTimeRate, models.Rate{N: 3, Of: 4, Target: 0.90})
		// Report to claim, minutes: 20 + 90 + 10 + 30 + 5 + 40 + 75 + 30 +
		// 30 + 1530 (#13, Sun 07:00 → Mon 08:30) = 1860; ÷ 10 = 186 = 3h06m.
		check("AvgResponse", f.AvgResponse, 3*time.Hour+6*time.Minute)
		// Asked: 1, 2, 3, 4, 7, 8, 13 (#14 is October's). Rated: 100, 40,
		// 80, 100, 60 → 380 ÷ 5 = 76. Low (≤ 60): #3 40, #8 60.
		check("Satisfaction", f.Satisfaction, models.Satisfaction{Mean: 76, Rated: 5, Asked: 7, Low: 2, Target: 90})
		check("ResponseRate", f.Satisfaction.ResponseRate(), models.Rate{N: 5, Of: 7})
		// Missed a deadline at Fri 13 10:00: 2, 3, 6, 8, 10, 11, 13; of the
		// open ones 10 and 11 (#9's clock stopped 11-06 10:00, before 11-13 09:00).
		check("BreachedTotal", f.BreachedTotal, 7)
		check("OpenBreached", f.OpenBreached, 2)
		if f.ResolutionRate.Met() || f.OnTimeRate.Met() || f.Satisfaction.Met() {
			t.Errorf("targets met on a bad month: %+v", f)
		}

		type br struct {
			ID     int64
			Clocks []models.Clock
			Reason string
		}
		var breaches []br
		for _, b := range f.Breaches {
			breaches = append(breaches, br{b.TicketID, b.Clocks, b.Reason})
		}
		resp, onsite, resol := models.ClockResponse, models.ClockOnsite, models.ClockResolution
		check("Breaches", breaches, []br{
			{2, []models.Clock{resp}, "电话占线"},
			{3, []models.Clock{onsite, resol}, ""},
			{6, []models.Clock{resol}, "需求变更"},
			{8, []models.Clock{resp}, ""},
			{10, []models.Clock{resp, resol}, ""},
			{11, []models.Clock{onsite}, ""},
			{13, []models.Clock{resp}, ""},
		})
		if b := f.Breaches[0]; b.System != "LIS" || b.Assignee != "lisi" || b.Priority != models.PriorityMedium || b.Status != models.StatusClosed || !b.CreatedAt.Equal(nov(2, 9, 0)) {
			t.Errorf("breach #2 %+v", b)
		}

		// Groups: key, created, resolved, on time, breached, rated, score sum.
		g := func(key string, c, r, o, b, n, sum int64) models.Group {
			return models.Group{Key: key, Created: c, Resolved: r, OnTime: o, Breached: b, Rated: n, ScoreSum: sum}
		}
		// HIS 1,3,7,8; LIS 2,6,11; OPB 4,9,13; none 10.
		check("BySystem", f.BySystem, []models.Group{
			g("HIS", 4, 4, 3, 2, 4, 300), g("LIS", 3, 2, 1, 3, 0, 0), g("OPB", 3, 2, 2, 1, 1, 80), g("", 1, 0, 0, 1, 0, 0)})
		// zhangsan 1,3,7,8 (claimed by the parent's resolution),11,13; lisi 2,4,6,9.
		check("ByEngineer", f.ByEngineer, []models.Group{
			g("zhangsan", 6, 5, 4, 4, 4, 300), g("lisi", 4, 3, 2, 2, 1, 80), g("", 1, 0, 0, 1, 0, 0)})
		// high 1,3,7,8,11; low 4,9,13; medium 2,6,10 (ties by key).
		check("ByPriority", f.ByPriority, []models.Group{
			g("high", 5, 4, 3, 3, 4, 300), g("low", 3, 2, 2, 1, 1, 80), g("medium", 3, 2, 1, 3, 0, 0)})
		// fault 1,2,3,7,8,9,10,11; question 4,13; request 6.
		check("ByKind", f.ByKind, []models.Group{
			g("fault", 8, 5, 4, 5, 4, 300), g("question", 2, 2, 2, 1, 1, 80), g("request", 1, 1, 0, 1, 0, 0)})
		// 门诊 3,4,9,13; 急诊科 1,7,11; 检验科 2,6; "" 10; 住院部 8.
		check("ByDepartment", f.ByDepartment, []models.Group{
			g("门诊", 4, 3, 2, 2, 2, 120), g("急诊科", 3, 2, 2, 1, 2, 200), g("检验科", 2, 2, 1, 2, 0, 0),
			g("", 1, 0, 0, 1, 0, 0), g("住院部", 1, 1, 1, 1, 1, 60)})
		if m := f.BySystem[0].Mean(); m != 75 {
			t.Errorf("HIS mean %v, want 300/4 = 75", m)
		}

		// OpenCounts looks at every open ticket, whatever its period: 9, 10,
		// 11 and October's 12 (never claimed, response due 11-01 00:30).
		check("OpenCounts", [2]int64{open, openBreached}, [2]int64{4, 3})

		// The year holds October's two as well: #12 (open, breached) and
		// #14 (resolved on time, rated 20).
		var y *models.Figures
		s.View(ctx, func(tx *models.Tx) error {
			y, err = tx.Figures(models.YearPeriod(2026, modelstest.Shanghai), kpiTargets, 60)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		check("year", []any{y.Created, y.Open, y.Resolved, y.OnTimeRate, y.BreachedTotal, y.Satisfaction},
			[]any{13, 4, 9, models.Rate{N: 7, Of: 9, Target: 0.9}, 8, models.Satisfaction{Mean: 400.0 / 6, Rated: 6, Asked: 8, Low: 3, Target: 90}})

		// Months (the annual trend, one query grouped by month) gives each
		// month the head figures Figures gives it alone: October's 2 and
		// November's 11, the other months empty.
		var months []*models.Figures
		monthly := map[time.Month]*models.Figures{}
		s.View(ctx, func(tx *models.Tx) error {
			if months, err = tx.Months(models.YearPeriod(2026, modelstest.Shanghai), kpiTargets, 60, modelstest.Shanghai); err != nil {
				return err
			}
			for _, m := range []time.Month{time.October, time.November, time.December} {
				if monthly[m], err = tx.Figures(models.MonthPeriod(2026, m, modelstest.Shanghai), kpiTargets, 60); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(months) != 12 {
			t.Fatalf("Months gave %d months, want 12", len(months))
		}
		head := func(f *models.Figures) []any {
			return []any{f.Period.Label, f.Created, f.Cancelled, f.Open, f.Resolved, f.OpenBreached, f.BreachedTotal, f.ResolutionRate, f.OnTimeRate,
				f.ResponseOnTimeRate, f.OnsiteOnTimeRate, f.Satisfaction, f.AvgResponse}
		}
		for i, m := range months {
			if want := monthly[time.Month(i+1)]; want != nil {
				check("Months "+m.Period.Label, head(m), head(want))
			} else if m.Created != 0 || m.Cancelled != 0 {
				t.Errorf("Months %s: %d tickets, %d cancelled; want none", m.Period.Label, m.Created, m.Cancelled)
			}
		}
		if months[10].Created != 11 || months[9].Created != 2 {
			t.Errorf("Months: October %d, November %d tickets; want 2 and 11", months[9].Created, months[10].Created)
		}
	})
}

// TestJudgeAgreesWithSQL keeps the Go rule (Judge) and the SQL rule
// (Figures' breaches, OpenCounts) from drifting: for every ticket of the
// dataset at several instants, both say the same.
func TestJudgeAgreesWithSQL(t *testing.T) {
	clock := modelstest.NewClock(kpiNow)
	modelstest.Each(t, kpiOptions(clock), func(t *testing.T, s *models.Store) {
		buildKPIDataset(t, s, clock)
		instants := []time.Time{
			nov(1, 7, 30), nov(2, 9, 59), nov(2, 10, 0), nov(2, 10, 1), nov(3, 9, 0), nov(4, 12, 0),
			nov(5, 10, 20), nov(9, 17, 1), nov(12, 9, 0), nov(13, 8, 59), nov(13, 9, 1), kpiNow, nov(30, 18, 0),
		}
		sawBreach, sawClean := judgeAgrees(t, s, clock, instants)
		if !sawBreach || !sawClean {
			t.Fatalf("the instants judged nothing interesting: breach %v, clean %v", sawBreach, sawClean)
		}
	})
}

// judgeAgrees checks, at each instant, that Judge and the SQL rule agree
// on every ticket of the store, and says whether it saw a breach and a
// clean ticket.
func judgeAgrees(t *testing.T, s *models.Store, clock *modelstest.Clock, instants []time.Time) (sawBreach, sawClean bool) {
	t.Helper()
	ctx := context.Background()
	everything := models.Period{From: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}
	for _, now := range instants {
		clock.Set(now)
		err := s.View(ctx, func(tx *models.Tx) error {
			f, err := tx.Figures(everything, kpiTargets, 60)
			if err != nil {
				return err
			}
			open, openBreached, err := tx.OpenCounts()
			if err != nil {
				return err
			}
			sql := map[int64][]models.Clock{}
			for _, b := range f.Breaches {
				sql[b.TicketID] = b.Clocks
			}
			all, err := tx.Tickets(models.TicketFilter{})
			if err != nil {
				return err
			}
			var goOpen, goBreached int64
			for i := range all {
				tk := &all[i]
				j := tx.Judge(tk)
				var clocks []models.Clock
				if j.ResponseBreached {
					clocks = append(clocks, models.ClockResponse)
				}
				if j.OnsiteBreached {
					clocks = append(clocks, models.ClockOnsite)
				}
				if j.ResolutionBreached {
					clocks = append(clocks, models.ClockResolution)
				}
				if _, inSQL := sql[tk.ID]; j.Breached() != inSQL || !slices.Equal(clocks, sql[tk.ID]) {
					t.Errorf("at %s #%d (%s): Judge says %v, SQL says %v", now.Format("01-02 15:04"), tk.ID, tk.Status, clocks, sql[tk.ID])
				}
				if j.Breached() {
					sawBreach = true
				} else {
					sawClean = true
				}
				if tk.Status.Open() {
					goOpen++
					if j.Breached() {
						goBreached++
					}
				}
			}
			if open != goOpen || openBreached != goBreached {
				t.Errorf("at %s OpenCounts %d/%d, Judge %d/%d", now.Format("01-02 15:04"), open, openBreached, goOpen, goBreached)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return sawBreach, sawClean
}

// EachReportRow pages through the period: with pages of 3 tickets it lists
// the same rows, ratings and judgements as with one page, in number order.
func TestEachReportRowPages(t *testing.T) {
	clock := modelstest.NewClock(kpiNow)
	modelstest.Each(t, kpiOptions(clock), func(t *testing.T, s *models.Store) {
		buildKPIDataset(t, s, clock)
		year := models.YearPeriod(2026, modelstest.Shanghai)
		read := func() []models.ReportRow {
			var out []models.ReportRow
			if err := s.EachReportRow(context.Background(), year, kpiNow, func(r *models.ReportRow) error {
				out = append(out, *r)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			return out
		}
		whole := read()
		restore := models.SetReportRowPage(3)
		paged := read()
		restore()
		if len(whole) < 10 {
			t.Fatalf("the dataset gave %d rows", len(whole))
		}
		if !reflect.DeepEqual(paged, whole) {
			t.Errorf("pages of 3 gave %d rows, one page %d, or different ones", len(paged), len(whole))
		}
		rated, breached := 0, 0
		for i, r := range whole {
			if i > 0 && r.ID <= whole[i-1].ID {
				t.Fatalf("rows out of order: #%d after #%d", r.ID, whole[i-1].ID)
			}
			if r.Score > 0 {
				rated++
			}
			if r.ResponseB || r.OnsiteB || r.ResolutionB {
				breached++
			}
		}
		// The year's figures: 6 rated, 8 breached among the tickets not
		// cancelled (the list holds the cancelled ones too).
		if rated != 6 || breached < 8 {
			t.Errorf("rows: %d rated, %d breached; want 6 and at least 8", rated, breached)
		}
		stop := errors.New("enough")
		n := 0
		err := s.EachReportRow(context.Background(), year, kpiNow, func(*models.ReportRow) error {
			if n++; n == 2 {
				return stop
			}
			return nil
		})
		if err != stop || n != 2 {
			t.Errorf("a callback's error: got %v after %d rows, want it unchanged after 2", err, n)
		}
	})
}
