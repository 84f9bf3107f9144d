package schedules

import (
	"context"
	"fmt"
	"strings"

	"opsbot/models"
)

// RemindIncidentReports reminds the supervisors, once, of each major
// incident resolved records.report_due_days working days ago whose
// analysis report was never submitted (tender 4: 重大事件分析报告).
func (j *Jobs) RemindIncidentReports(ctx context.Context) error {
	return j.Store.Update(ctx, func(tx *models.Tx) error {
		due, err := tx.DueIncidentReports(j.Config.Records.ReportDueDays)
		if err != nil || len(due) == 0 {
			return err
		}
		for _, t := range due {
			text := fmt.Sprintf("【事件报告提醒】重大事件 %s 已解决 %d 个工作日，还没有提交分析报告。请补充“根因 %d …”“整改 %d …”，再发“事件报告 %d 提交”。",
				models.Summary(&t, j.Catalog), j.Config.Records.ReportDueDays, t.ID, t.ID, t.ID)
			if err := tx.SendSupervisors(models.Message{Text: text, TicketID: t.ID}, fmt.Sprintf("irpt-remind:%d", t.ID), ""); err != nil {
				return err
			}
			if err := tx.MarkIncidentReminded(t.ID); err != nil {
				return err
			}
		}
		j.Log.Info("incident report reminders", "job", "incident-report-reminders", "count", len(due))
		return nil
	})
}

// NoticeChanges tells the contacts of the departments an approved change
// affects, records.change_notice_before its window starts, once.
func (j *Jobs) NoticeChanges(ctx context.Context) error {
	return j.Store.Update(ctx, func(tx *models.Tx) error {
		due, err := tx.DueChangeNotices(j.Config.Records.ChangeNoticeBefore.D())
		if err != nil {
			return err
		}
		for _, c := range due {
			from, to := c.WindowFrom.In(j.loc), c.WindowTo.In(j.loc)
			text := fmt.Sprintf("【系统变更通知】%s 将于 %s 至 %s 进行变更：%s。期间可能影响使用，请提前安排；如有异常请报修。",
				j.Catalog.Name(c.System), from.Format("1月2日 15:04"), to.Format("1月2日 15:04"), c.What)
			var told, unknown []string
			for _, d := range c.Departments {
				contacts := j.Config.Records.DepartmentContacts[d]
				if len(contacts) == 0 {
					unknown = append(unknown, d)
					continue
				}
				for _, u := range contacts {
					if err := tx.Send(models.Message{To: u, Text: text, Key: fmt.Sprintf("chg-notice:%d:%s", c.ID, u)}); err != nil {
						return err
					}
				}
				told = append(told, d)
			}
			note := "已通知：" + strings.Join(told, "、")
			if len(unknown) > 0 {
				note += "；未配置联系人：" + strings.Join(unknown, "、")
				if err := tx.Send(models.Message{To: c.RequesterID, Key: fmt.Sprintf("chg-notice-missing:%d", c.ID),
					Text: fmt.Sprintf("变更 #%d 影响的科室 %s 没有配置联系人（records.department_contacts），请电话通知。", c.ID, strings.Join(unknown, "、"))}); err != nil {
					return err
				}
			}
			if err := tx.MarkChangeNoticed(c.ID, note); err != nil {
				return err
			}
		}
		return nil
	})
}
