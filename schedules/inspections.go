package schedules

import (
	"context"
	"fmt"
	"strings"
	"time"

	"opsbot/models"
)

// InspectionJobs are the routine inspection jobs (one per configured
// time, the reminders and the daily summary) and the alert storm summary.
func (j *Jobs) InspectionJobs() []Job {
	var jobs []Job
	for _, t := range j.Inspections.Times {
		jobs = append(jobs, Job{Name: "inspection:" + t.Name, Spec: t.Spec, Lock: 5 * time.Minute,
			Run: func(ctx context.Context) error { return j.StartInspection(ctx, t.Name) }})
	}
	if len(j.Inspections.Times) > 0 {
		jobs = append(jobs,
			Job{Name: "inspection-reminders", Spec: "@every 1m", Run: j.RemindInspections, Lock: 2 * time.Minute},
			Job{Name: "inspection-summary", Spec: j.Inspections.SummarySpec, Run: j.SummarizeInspections, Lock: 5 * time.Minute})
	}
	return append(jobs, Job{Name: "alert-digest", Spec: "@every 1m", Run: j.SummarizeAlerts, Lock: 2 * time.Minute})
}

// StartInspection plans today's inspection name and sends the on-duty
// engineer (the on-call rota; the supervisors when nobody is on call) the
// checklist. A second run the same day sends nothing.
func (j *Jobs) StartInspection(ctx context.Context, name string) error {
	return j.Store.Update(ctx, func(tx *models.Tx) error {
		now := tx.Now().In(j.loc)
		team, err := tx.Team()
		if err != nil {
			return err
		}
		to := team.Recipients([]string{"oncall"}, &models.Ticket{}, tx.OnCall(j.OnCall, j.loc))
		engineer := ""
		if len(to) > 0 {
			engineer = to[0]
		}
		in, created, err := tx.PlanInspection(now.Format(time.DateOnly)+" "+name, name, engineer, j.Inspections.RemindAfter.D())
		if err != nil || !created {
			return err
		}
		var b strings.Builder
		fmt.Fprintf(&b, "【%s】%s，请逐项检查：", name, now.Format("1月2日 15:04"))
		for _, c := range j.Inspections.Checklists {
			fmt.Fprintf(&b, "\n%s：%s", c.System, strings.Join(c.Items, "；"))
		}
		b.WriteString("\n全部正常请回复“巡检 正常”；发现问题请回复“巡检 异常 项目 说明”（每项一条，会自动生成工单）。")
		for _, id := range to {
			if err := tx.Send(models.Message{To: id, Text: b.String(), Key: fmt.Sprintf("inspection:%d:%s", in.ID, id)}); err != nil {
				return err
			}
		}
		return nil
	})
}

// RemindInspections reminds the engineer of an inspection not done after
// remind_after, then the supervisors after escalate_after.
func (j *Jobs) RemindInspections(ctx context.Context) error {
	return j.Store.Update(ctx, func(tx *models.Tx) error {
		due, err := tx.DueInspectionReminders(j.Inspections.EscalateAfter.D())
		if err != nil {
			return err
		}
		for _, r := range due {
			in := r.Inspection
			var to []string
			var text string
			if r.Level == 1 && in.EngineerID != "" {
				to = []string{in.EngineerID}
				text = fmt.Sprintf("【巡检提醒】%s（%s）还没有登记结果，请尽快完成并回复“巡检 正常”或“巡检 异常 项目 说明”。", in.Name, models.ClockText(in.PlannedAt, j.loc))
			} else {
				sups, err := tx.ListStaff(models.RoleSupervisor)
				if err != nil {
					return err
				}
				for _, s := range sups {
					to = append(to, s.UserID)
				}
				text = fmt.Sprintf("【巡检未完成】%s（%s）已过 %s 仍未登记结果，值班工程师：%s。请跟进。", in.Name, models.ClockText(in.PlannedAt, j.loc),
					models.SpanText(tx.Now().Sub(in.PlannedAt)), orNobody(in.EngineerID))
			}
			for _, id := range to {
				if err := tx.Send(models.Message{To: id, Text: text, Key: fmt.Sprintf("inspection:%d:remind:%d:%s", in.ID, r.Level, id)}); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func orNobody(s string) string {
	if s == "" {
		return "未排班"
	}
	return s
}

// SummarizeInspections posts the day's inspections to the ops group.
func (j *Jobs) SummarizeInspections(ctx context.Context) error {
	return j.Store.Update(ctx, func(tx *models.Tx) error {
		now := tx.Now().In(j.loc)
		day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, j.loc)
		rep, err := tx.Inspections(day, day.AddDate(0, 0, 1))
		if err != nil {
			return err
		}
		var b strings.Builder
		fmt.Fprintf(&b, "【今日巡检汇总】%s：计划 %d 次，完成 %d 次，未完成 %d 次，发现异常 %d 项。", now.Format("1月2日"),
			len(rep.Inspections), rep.Done, len(rep.Inspections)-rep.Done, len(rep.Anomalies))
		for _, in := range rep.Inspections {
			state := "已完成"
			if in.Status != models.InspectionDone {
				state = "未完成"
			}
			fmt.Fprintf(&b, "\n%s %s：%s", in.Name, models.ClockText(in.PlannedAt, j.loc), state)
		}
		for _, a := range rep.Anomalies {
			fmt.Fprintf(&b, "\n异常：%s %s", a.Item, a.Note)
			if a.TicketID != nil {
				fmt.Fprintf(&b, "（工单 #%d）", *a.TicketID)
			}
		}
		return tx.Send(models.Message{To: models.OpsGroup, Text: b.String(), Key: "inspection-summary:" + day.Format(time.DateOnly)})
	})
}

// SummarizeAlerts posts, per system with new alerts since its last
// message, one updated summary to the ops group, at most every
// monitoring.storm.summary_every. WeCom app group chats cannot update a
// card in place, so the "live summary" is a fresh message at that pace.
func (j *Jobs) SummarizeAlerts(ctx context.Context) error {
	return j.Store.Update(ctx, func(tx *models.Tx) error {
		ds, err := tx.DueDigests(j.Config.Monitoring.Storm.SummaryEvery.D())
		if err != nil {
			return err
		}
		for _, d := range ds {
			open, err := tx.OpenAlertTickets(d.System)
			if err != nil {
				return err
			}
			name := d.System
			if j.Catalog != nil {
				name = j.Catalog.Name(d.System)
			}
			if name == "" {
				name = "未标明系统"
			}
			text := fmt.Sprintf("【告警汇总】%s，%s 起：新告警工单 %d 个，重复告警 %d 次，已恢复 %d 个；当前未处理的告警工单 %d 个。发“队列”查看。",
				name, models.ClockText(d.WindowStart, j.loc), d.Opened, d.Repeats, d.Resolved, open)
			if err := tx.Send(models.Message{To: models.OpsGroup, Text: text,
				Key: fmt.Sprintf("alert:digest:%s:%d:%d", d.System, d.WindowStart.Unix(), d.Summaries)}); err != nil {
				return err
			}
		}
		return nil
	})
}
