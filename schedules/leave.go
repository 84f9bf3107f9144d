package schedules

import (
	"context"
	"fmt"

	"opsbot/models"
)

// HandOverAbsent moves the open tickets of engineers on leave to an
// available engineer who covers the system and is of no lower level, the
// least loaded first (tender 5.3). With nobody suitable, the supervisors are
// asked to decide, once per ticket and leave.
func (j *Jobs) HandOverAbsent(ctx context.Context) error {
	return j.Store.Update(ctx, func(tx *models.Tx) error {
		moves, err := tx.HandOverAbsent()
		if err != nil {
			return err
		}
		for _, m := range moves {
			if err := j.tellHandOver(tx, m); err != nil {
				return err
			}
		}
		return nil
	})
}

func (j *Jobs) tellHandOver(tx *models.Tx, m models.HandOver) error {
	t := m.Ticket
	sum := models.Summary(&t, j.Catalog)
	key := fmt.Sprintf("leave:%d:%s:%d", t.ID, m.From.UserID, m.LeaveStart.Unix())
	send := func(to, text string) error {
		return tx.Send(models.Message{To: to, Text: text, TicketID: t.ID, Key: key + ":" + to})
	}
	if m.To == nil {
		text := fmt.Sprintf("【需指派】%s 请假，%s 没有同级或更高级、负责该系统的工程师可接手。请发“指派 %d 姓名”。", m.From.Name, sum, t.ID)
		return tx.SendSupervisors(models.Message{Text: text, TicketID: t.ID}, key, "")
	}
	to := *m.To
	if err := send(to.UserID, fmt.Sprintf("【新工单】%s 请假，%s 转由您处理。发“工单 %d”看详情。", m.From.Name, sum, t.ID)); err != nil {
		return err
	}
	if err := send(t.ReporterID, fmt.Sprintf("您的工单 #%d 原工程师请假，改由 %s %s 处理。", t.ID, to.Name, to.Phone)); err != nil {
		return err
	}
	return send(m.From.UserID, fmt.Sprintf("您请假期间，工单 #%d 已转给 %s。", t.ID, to.Name))
}
