package reports_test

import (
	"fmt"
	"time"

	"opsbot/models"
	"opsbot/reports"
)

// shanghai is the hospital's time zone without relying on tzdata.
var shanghai = time.FixedZone("CST", 8*3600)

var systemNames = map[string]string{
	"his-outpatient": "门急诊挂号",
	"lis":            "检验信息系统",
	"emr":            "电子病历系统",
	"pacs":           "影像归档系统",
}

var people = map[string]string{"zhangsan": "张三", "lisi": "李四", "wangwu": "王五", "nurse01": "赵护士"}

func at(t time.Time) *time.Time { return &t }

// fixtureFigures are hand-made figures: resolution 192/200 = 96 % (met),
// on time 170/192 ≈ 88.5 % (missed), response 195/198 (met), no on-site
// visit owed, satisfaction 92.5 of 80 rated (met).
func fixtureFigures(p models.Period) *models.Figures {
	return &models.Figures{
		Period: p, At: p.To.Add(9 * time.Hour),
		Created: 200, Cancelled: 3, Open: 8, Resolved: 192, OpenBreached: 2, BreachedTotal: 5,
		ResolutionRate:     models.Rate{N: 192, Of: 200, Target: 0.95},
		OnTimeRate:         models.Rate{N: 170, Of: 192, Target: 0.90},
		ResponseOnTimeRate: models.Rate{N: 195, Of: 198, Target: 0.90},
		OnsiteOnTimeRate:   models.Rate{Target: 0.90},
		Satisfaction:       models.Satisfaction{Mean: 92.5, Rated: 80, Asked: 190, Low: 2, Target: 90},
		AvgResponse:        12 * time.Minute,
		BySystem: []models.Group{
			{Key: "his-outpatient", Created: 60, Resolved: 58, OnTime: 50, Breached: 2, Rated: 20, ScoreSum: 1800},
			{Key: "lis", Created: 50, Resolved: 50, OnTime: 49, Breached: 1, Rated: 30, ScoreSum: 2850},
			{Key: "emr", Created: 40, Resolved: 38, OnTime: 36, Breached: 1, Rated: 10, ScoreSum: 900},
			{Key: "pacs", Created: 30, Resolved: 28, OnTime: 20, Breached: 1, Rated: 20, ScoreSum: 1850},
			{Key: "", Created: 20, Resolved: 18, OnTime: 15},
		},
		ByEngineer: []models.Group{
			{Key: "zhangsan", Created: 120, Resolved: 118, OnTime: 100, Breached: 3, Rated: 50, ScoreSum: 4600},
			{Key: "lisi", Created: 70, Resolved: 70, OnTime: 70, Breached: 2, Rated: 30, ScoreSum: 2800},
			{Key: "", Created: 10},
		},
		ByDepartment: []models.Group{{Key: "检验科", Created: 80, Resolved: 78}, {Key: "", Created: 120, Resolved: 114}},
		ByPriority:   []models.Group{{Key: "high", Created: 20, Resolved: 20}, {Key: "medium", Created: 100, Resolved: 96}, {Key: "low", Created: 80, Resolved: 76}},
		ByKind:       []models.Group{{Key: "fault", Created: 150, Resolved: 145}, {Key: "question", Created: 50, Resolved: 47}},
		Breaches: []models.Breach{
			{TicketID: 17, System: "lis", Priority: models.PriorityHigh, Title: "检验结果无法回传", Assignee: "zhangsan",
				Status: models.StatusClosed, CreatedAt: p.From.Add(50 * time.Hour),
				Clocks: []models.Clock{models.ClockResponse, models.ClockResolution}, Reason: "等待厂商补丁"},
			{TicketID: 42, System: "emr", Priority: models.PriorityMedium, Title: "病历打印空白", Assignee: "lisi",
				Status: models.StatusClaimed, CreatedAt: p.From.Add(100 * time.Hour), Clocks: []models.Clock{models.ClockResolution}},
		},
	}
}

func monthlyReport(tickets int) *reports.Report {
	p := models.MonthPeriod(2026, time.November, shanghai)
	r := &reports.Report{
		Kind:    reports.Monthly,
		Title:   "县人民医院信息系统运维",
		Figures: fixtureFigures(p),
		Tickets: genTickets(tickets, p.From, p.To.Sub(p.From)),
		LowRatings: []reports.LowRating{
			{Ticket: 21, System: "his-outpatient", Reporter: "nurse01", Score: 40, Comment: "等了两个小时才有人来", RatedAt: p.From.Add(30 * time.Hour),
				FollowUp: "已电话致歉，说明当日故障集中", FollowUpBy: "wangwu", FollowUpAt: at(p.From.Add(32 * time.Hour))},
			{Ticket: 88, System: "pacs", Reporter: "nurse01", Score: 20, Comment: "问题没解决就关单", RatedAt: p.From.Add(300 * time.Hour)},
		},
		Approvals: []reports.Approval{
			{Approver: "lisi", SentAt: p.To.Add(10 * time.Hour), Answer: reports.AnswerConfirmed, AnsweredAt: at(p.To.Add(30 * time.Hour))},
			{Approver: "wangwu", SentAt: p.To.Add(10 * time.Hour)},
		},
		SystemName: func(c string) string { return systemNames[c] },
		PersonName: func(id string) string { return people[id] },
		Location:   shanghai,
	}
	for d := p.From; d.Before(p.To); d = d.AddDate(0, 0, 1) {
		r.Daily = append(r.Daily, models.DayCount{Day: d, Created: int64(5 + d.Day()%4), Resolved: int64(4 + d.Day()%5)})
	}
	return r
}

func annualReport(tickets int) *reports.Report {
	p := models.YearPeriod(2026, shanghai)
	r := monthlyReport(0)
	r.Kind = reports.Annual
	r.Figures = fixtureFigures(p)
	r.Tickets = genTickets(tickets, p.From, p.To.Sub(p.From))
	r.Daily = nil
	for m := time.January; m <= time.December; m++ {
		if m == time.December {
			r.Months = append(r.Months, nil) // not begun yet
			continue
		}
		f := fixtureFigures(models.MonthPeriod(2026, m, shanghai))
		f.Created = int64(150 + int(m)*5)
		r.Months = append(r.Months, f)
	}
	r.Survey = &reports.Survey{
		Year:    2026,
		Overall: models.Satisfaction{Mean: 91.2, Rated: 45, Asked: 60, Target: 90},
		Questions: []reports.SurveyQuestion{
			{Text: "故障响应是否及时", Mean: 90.5, Answers: 45},
			{Text: "工程师服务态度", Mean: 95, Answers: 45},
			{Text: "问题解决效果", Mean: 88.1, Answers: 44},
		},
		Comments: []reports.SurveyComment{{By: "nurse01", Text: "夜间响应希望更快"}, {Text: "总体满意"}},
	}
	return r
}

// genTickets streams n generated tickets spread over span from from,
// without holding them: the shape a database cursor has.
func genTickets(n int, from time.Time, span time.Duration) func(yield func(reports.TicketRow) error) error {
	systems := []string{"his-outpatient", "lis", "emr", "pacs", ""}
	kinds := []models.Kind{models.KindFault, models.KindQuestion, models.KindRequest, models.KindPolicy}
	prios := []models.Priority{models.PriorityHigh, models.PriorityMedium, models.PriorityLow}
	statuses := []models.Status{models.StatusClosed, models.StatusClosed, models.StatusResolved, models.StatusClaimed, models.StatusNew}
	assignees := []string{"zhangsan", "lisi", ""}
	step := span / time.Duration(max(n, 1))
	return func(yield func(reports.TicketRow) error) error {
		for i := range n {
			created := from.Add(time.Duration(i) * step)
			t := reports.TicketRow{
				Number: int64(i + 1), Kind: kinds[i%len(kinds)], System: systems[i%len(systems)],
				Priority: prios[i%len(prios)], Status: statuses[i%len(statuses)],
				Title: fmt.Sprintf("打印机无法打印 %d", i), Department: "门诊部", Reporter: "nurse01",
				Assignee: assignees[i%len(assignees)], Major: i%97 == 0,
				CreatedAt: created, DueResponse: created.Add(time.Hour), DueResolution: created.Add(24 * time.Hour),
			}
			if t.Status != models.StatusNew {
				t.ClaimedAt = at(created.Add(time.Duration(10+i%70) * time.Minute))
				t.ResponseBreached = i%70 >= 50
			}
			if t.Priority == models.PriorityHigh {
				t.DueOnsite = at(created.Add(2 * time.Hour))
				if t.ClaimedAt != nil {
					t.OnsiteAt = at(t.ClaimedAt.Add(30 * time.Minute))
				}
			}
			if t.Status == models.StatusClosed || t.Status == models.StatusResolved {
				t.ResolvedAt = at(created.Add(time.Duration(1+i%30) * time.Hour))
				t.ResolutionBreached = i%30 >= 24
				if t.ResolutionBreached {
					t.BreachReason = "等待厂商"
				}
			}
			if t.Status == models.StatusClosed {
				t.ClosedAt = at(t.ResolvedAt.Add(time.Hour))
				if i%3 == 0 {
					t.Rating = 100 - 20*(i%5)
					t.RatingComment = "谢谢"
				}
			}
			if err := yield(t); err != nil {
				return err
			}
		}
		return nil
	}
}
