package handlers

import (
	"fmt"
	"strings"

	"opsbot/bot"
	"opsbot/models"
)

// inspection records the result of the current routine inspection (巡检):
// “巡检 正常”, or “巡检 异常 <项目> <说明>”, which opens a ticket per anomaly.
func (h *Handlers) inspection(c *bot.Context) error {
	word, rest, _ := strings.Cut(strings.TrimSpace(c.Args), " ")
	return h.tx(c, func(tx *models.Tx) error {
		a := actor(c)
		in, err := tx.CurrentInspection()
		if err != nil {
			return err
		}
		switch word {
		case "正常", "完成", "ok", "OK":
			if err := tx.CompleteInspection(in, a); err != nil {
				return err
			}
			c.Replyf("已记录%s结果：正常。辛苦了！", in.Name)
			return nil
		case "异常":
			item, note, _ := strings.Cut(strings.TrimSpace(rest), " ")
			t, err := tx.RecordAnomaly(in, item, note, models.NewTicket{Kind: models.KindFault, System: h.inspectionSystem(item), SourceKey: c.Msg.Key}, a)
			if err != nil {
				return err
			}
			c.Replyf("已记录%s异常：%s，已生成工单 #%d。还有其他异常请继续发“巡检 异常 项目 说明”。", in.Name, item, t.ID)
			return notifyOps(tx, c, t.ID, fmt.Sprintf("【巡检异常】%s：%s %s，工单 #%d（%s）。", in.Name, item, note, t.ID, a.DisplayName()))
		case "":
			state := "待完成"
			if in.Status == models.InspectionDone {
				state = "已完成"
			}
			c.Replyf("%s（%s）%s。完成后请发“巡检 正常”，发现问题请发“巡检 异常 项目 说明”。", in.Name, models.ClockText(in.PlannedAt, h.loc()), state)
			return nil
		}
		return models.Errorf(models.EInvalid, "请发“巡检 正常”或“巡检 异常 项目 说明”，例如：巡检 异常 数据库备份 昨晚备份失败")
	})
}

// inspectionSystem finds the system an anomaly's item names, if any.
func (h *Handlers) inspectionSystem(item string) string {
	if r := h.catalog.Recognize(item); r.System != nil {
		return r.System.Code
	}
	return ""
}
