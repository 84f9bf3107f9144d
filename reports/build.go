package reports

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"opsbot/configs"
	"opsbot/models"
)

// Source is what building a report reads: the store, the catalog for
// system names, and the configuration (targets, time zone).
type Source struct {
	Store   *models.Store
	Catalog *models.Catalog
	Config  configs.Config
	// Title heads every report (the hospital and contract).
	Title string
}

// Monthly builds the monthly service report of a month, judged at now.
func (src Source) Monthly(ctx context.Context, year int, month time.Month, now time.Time) (*Report, error) {
	return src.Build(ctx, Monthly, models.MonthPeriod(year, month, src.Config.Location()), now)
}

// Annual builds the annual service report of a year, with each month's
// figures for the trend.
func (src Source) Annual(ctx context.Context, year int, now time.Time) (*Report, error) {
	return src.Build(ctx, Annual, models.YearPeriod(year, src.Config.Location()), now)
}

// Build builds the report of kind over p (a month, or a year), judged at
// now; its ticket rows are read when the report is written.
func (src Source) Build(ctx context.Context, kind Kind, p models.Period, now time.Time) (*Report, error) {
	r, err := src.start(ctx, kind, p, now)
	if err != nil {
		return nil, err
	}
	return r, src.fill(ctx, r, p, now)
}

// XLSX builds the report of kind over p and writes it to w as XLSX. The
// ticket sheet streams from the database while the figures are computed
// beside it on another connection: the sheet is Go's work and the figures
// mostly the database's, and a year's report took their sum before.
func (src Source) XLSX(ctx context.Context, kind Kind, p models.Period, now time.Time, w io.Writer) (*Report, error) {
	r, err := src.start(ctx, kind, p, now)
	if err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- src.fill(ctx, r, p, now) }()
	waited := false
	err = writeXLSX(w, r, func() error {
		waited = true
		return <-done
	})
	if !waited {
		<-done // the ticket sheet failed: let the figures finish before returning
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// start is the part of a report the ticket sheet needs: names, the time
// zone and the ticket stream.
func (src Source) start(ctx context.Context, kind Kind, p models.Period, now time.Time) (*Report, error) {
	r := &Report{Kind: kind, Title: src.Title, Location: src.Config.Location(), SystemName: src.Catalog.Name}
	var team *models.Team
	if err := src.Store.View(ctx, func(tx *models.Tx) (err error) {
		team, err = tx.Team()
		return err
	}); err != nil {
		return nil, fmt.Errorf("reports: %s %s: %w", kind, PeriodKey(kind, p), err)
	}
	r.PersonName = func(id string) string {
		if s, ok := team.Member(id); ok {
			return s.Name
		}
		return id
	}
	r.Tickets = func(yield func(TicketRow) error) error {
		return src.Store.EachReportRow(ctx, p, now, func(row *models.ReportRow) error {
			return yield(ticketRow(row))
		})
	}
	return r, nil
}

// fill computes everything else: the figures, the low ratings, the
// service records, the hospital's confirmations and the trend.
func (src Source) fill(ctx context.Context, r *Report, p models.Period, now time.Time) error {
	key, loc := PeriodKey(r.Kind, p), src.Config.Location()
	err := src.Store.View(ctx, func(tx *models.Tx) error {
		if err := tx.InOneProcess(); err != nil {
			return err
		}
		var err error
		if r.Figures, err = tx.Figures(p, src.Config.Contract, src.Config.Rating.AlertAtOrBelow); err != nil {
			return err
		}
		low, err := tx.LowRatings(p, src.Config.Rating.AlertAtOrBelow)
		if err != nil {
			return err
		}
		for _, l := range low {
			lr := LowRating{Ticket: l.TicketID, System: l.System, Reporter: orID(l.ReporterName, l.ReporterID), Score: *l.Score, Comment: l.Comment,
				FollowUp: l.Followup, FollowUpBy: l.FollowupBy, FollowUpAt: l.FollowupAt}
			if l.RatedAt != nil {
				lr.RatedAt = *l.RatedAt
			}
			r.LowRatings = append(r.LowRatings, lr)
		}
		if r.Records, err = recordsOf(tx, p, src.Catalog, loc); err != nil {
			return err
		}
		cs, err := tx.Confirmations(string(r.Kind), key)
		if err != nil {
			return err
		}
		r.Approvals = ApprovalsOf(cs)
		if r.Kind != Annual {
			r.Daily, err = tx.DailyCounts(p, loc)
			return err
		}
		months, err := tx.Months(p, src.Config.Contract, src.Config.Rating.AlertAtOrBelow, loc)
		if err != nil {
			return err
		}
		for _, m := range months {
			if !m.Period.From.Before(now) {
				m = nil // not begun: a blank in the trend
			}
			r.Months = append(r.Months, m)
		}
		year := p.From.In(loc).Year()
		r.Survey, err = SurveyOf(tx, year, src.Config.Contract.Satisfaction)
		return err
	})
	if err != nil {
		return fmt.Errorf("reports: %s %s: %w", r.Kind, key, err)
	}
	return nil
}

// PeriodKey names a report's period: "2026-11" for a month, "2026" for a
// year; confirmations are kept under it.
func PeriodKey(k Kind, p models.Period) string {
	if k == Annual {
		return p.From.Format("2006")
	}
	return p.From.Format("2006-01")
}

func orID(name, id string) string {
	if name != "" {
		return name
	}
	return id
}

func ticketRow(t *models.ReportRow) TicketRow {
	return TicketRow{
		Number: t.ID, Kind: t.Kind, System: t.System, Priority: t.Priority, Status: t.Status,
		Title: t.Title, Department: t.Department, Reporter: t.ReporterID, ReporterName: t.ReporterName, Assignee: t.AssigneeID, Major: t.Major,
		CreatedAt: t.CreatedAt, ClaimedAt: t.ClaimedAt, OnsiteAt: t.OnsiteAt, ResolvedAt: t.ResolvedAt, ClosedAt: t.ClosedAt,
		DueResponse: t.DueResponse, DueOnsite: t.DueOnsite, DueResolution: t.DueResolution,
		ResponseBreached: t.ResponseB, OnsiteBreached: t.OnsiteB, ResolutionBreached: t.ResolutionB,
		BreachReason: t.BreachReason, Rating: t.Score, RatingComment: t.RatingComment,
	}
}

// SurveyOf is the yearly survey's results for the annual report; nil when
// no survey ran that year.
func SurveyOf(tx *models.Tx, year int, target float64) (*Survey, error) {
	res, err := tx.SurveyResults(year)
	if err != nil || res == nil {
		return nil, err
	}
	s := &Survey{Year: year, Overall: models.Satisfaction{Mean: res.Mean, Rated: res.Answered, Asked: res.Asked, Target: target}}
	for _, q := range res.Questions {
		s.Questions = append(s.Questions, SurveyQuestion{Text: q.Text, Mean: q.Mean, Answers: q.Answers})
	}
	for _, c := range res.Comments {
		s.Comments = append(s.Comments, SurveyComment{By: c.By, Text: c.Text})
	}
	return s, nil
}

// ConfirmCard asks a hospital approver to confirm a delivered report with
// 确认 / 有意见; a click comes back as report:ok|object:<kind>:<period>.
func ConfirmCard(kind Kind, period, summary string) *models.Card {
	key := string(kind) + ":" + period
	return &models.Card{
		TaskID:  "report-" + string(kind) + "-" + period,
		Title:   fmt.Sprintf("【%s %s】请确认", kind.Label(), period),
		Desc:    summary,
		Buttons: []models.CardButton{{Key: "report:ok:" + key, Text: "确认", Style: 1}, {Key: "report:object:" + key, Text: "有意见", Style: 2}},
	}
}

// recordsOf lists the period's service records for the 服务记录 sheet:
// major-incident reports and the hospital's answers, changes with the
// incidents linked to them, open problems with their tickets, and the
// routine inspections (tender 4, 4.5.4).
func recordsOf(tx *models.Tx, p models.Period, cat *models.Catalog, loc *time.Location) ([]RecordTable, error) {
	when := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.In(loc).Format("2006-01-02 15:04")
	}
	var out []RecordTable
	incidents, err := tx.IncidentReportsIn(p.From, p.To)
	if err != nil {
		return nil, err
	}
	it := RecordTable{Title: "重大事件分析报告", Header: []string{"工单号", "系统", "事件", "发生时间", "解决时间", "并入报修", "报告状态", "医院意见"}, Empty: "本期无重大事件"}
	for _, in := range incidents {
		opinion := in.Comment
		if in.DecidedBy != "" {
			opinion = strings.TrimSpace(in.DecidedBy + " " + when(in.DecidedAt) + " " + in.Comment)
		}
		it.Rows = append(it.Rows, []string{fmt.Sprint(in.TicketID), cat.Name(in.System), in.Title, when(&in.CreatedAt), when(in.ResolvedAt), fmt.Sprint(in.Merged), in.Status, opinion})
	}
	out = append(out, it)

	changes, err := tx.ChangesIn(p.From, p.To)
	if err != nil {
		return nil, err
	}
	ct := RecordTable{Title: "变更", Header: []string{"变更号", "系统", "内容", "窗口开始", "窗口结束", "风险", "状态", "关联的报修"}, Empty: "本期无变更"}
	for _, c := range changes {
		var linked []string
		for _, id := range c.Linked {
			linked = append(linked, fmt.Sprintf("#%d", id))
		}
		ch := c.Change
		ct.Rows = append(ct.Rows, []string{fmt.Sprint(ch.ID), cat.Name(ch.System), ch.What, when(&ch.WindowFrom), when(&ch.WindowTo), ch.Risk, ch.Status.Label(), strings.Join(linked, "、")})
	}
	out = append(out, ct)

	problems, err := tx.OpenProblems()
	if err != nil {
		return nil, err
	}
	pt := RecordTable{Title: "未关闭的问题（问题根治）", Header: []string{"问题", "系统", "标题", "提出时间", "根因", "关联工单"}, Empty: "没有未关闭的问题"}
	for _, pr := range problems {
		var ids []string
		for _, t := range pr.Tickets {
			ids = append(ids, fmt.Sprintf("#%d", t.ID))
		}
		pt.Rows = append(pt.Rows, []string{fmt.Sprintf("P%d", pr.Problem.ID), cat.Name(pr.Problem.System), pr.Problem.Title, when(&pr.Problem.CreatedAt), pr.Problem.RootCause, strings.Join(ids, "、")})
	}
	out = append(out, pt)

	ins, err := tx.Inspections(p.From, p.To)
	if err != nil {
		return nil, err
	}
	nt := RecordTable{Title: fmt.Sprintf("日常巡检：完成 %d 次，漏检 %d 次，进行中 %d 次，异常 %d 项", ins.Done, ins.Missed, ins.Pending, len(ins.Anomalies)),
		Header: []string{"巡检", "计划时间", "完成时间", "工程师", "异常"}, Empty: "本期没有巡检记录"}
	for _, in := range ins.Inspections {
		var items []string
		for _, a := range ins.Anomalies {
			if a.InspectionID == in.ID {
				items = append(items, a.Item+"："+a.Note)
			}
		}
		nt.Rows = append(nt.Rows, []string{in.Slot, when(&in.PlannedAt), when(in.DoneAt), in.EngineerID, strings.Join(items, "；")})
	}
	out = append(out, nt)
	return out, nil
}

// ApprovalsOf turns the stored confirmations of a report into its approvals.
func ApprovalsOf(cs []models.Confirmation) []Approval {
	out := make([]Approval, 0, len(cs))
	for _, c := range cs {
		out = append(out, Approval{Approver: c.ApproverID, SentAt: c.SentAt, Answer: Answer(c.Answer), Comment: c.Comment, AnsweredAt: c.AnsweredAt})
	}
	return out
}
