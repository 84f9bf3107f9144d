package handlers

import (
	"fmt"
	"strings"

	"opsbot/bot"
	"opsbot/models"
)

// report starts a report from "报修 <text>": the text is taken as a fault
// even when it names no system, and missing pieces are asked for.
func (h *Handlers) report(c *bot.Context) error {
	text := strings.TrimSpace(c.Args)
	if text == "" {
		return models.Errorf(models.EInvalid, "请说明哪个系统、什么问题、在哪里，例如：报修 门诊收费 3号窗口打印不了发票")
	}
	in, _ := h.recognise(text)
	return h.tx(c, func(tx *models.Tx) error {
		// A new report replaces one left half-done, keeping its attachments.
		if prev, err := h.loadIntake(tx, c); err != nil {
			return err
		} else if prev != nil {
			in.Files = prev.Files
		}
		if err := tx.EndConversation(c.User()); err != nil {
			return err
		}
		return h.startReport(tx, c, in)
	})
}

// openTicket opens the ticket, answers the reporter and tells the ops
// group of urgent ones, in the message's transaction.
//
// files are attachments sent during the intake; they join the ticket.
func (h *Handlers) openTicket(tx *models.Tx, c *bot.Context, in models.NewTicket, files ...int64) error {
	a := actor(c)
	in.ReporterID, in.ReporterName = a.UserID, a.Name
	if in.Department == "" {
		in.Department = department(c)
	}
	in.Source, in.SourceKey = h.source, c.Msg.Key
	t, created, err := tx.CreateTicket(in, a)
	if err != nil {
		return err
	}
	if err := tx.AttachFiles(files, t.ID); err != nil {
		return err
	}
	c.Reply(h.createdReply(t))
	setGroupLine(c, fmt.Sprintf("已登记工单 #%d，详情已私信", t.ID))
	if len(files) > 0 {
		c.Replyf("已附上 %d 个附件。", len(files))
	}
	if !created {
		return nil
	}
	if err := h.recordsOnOpen(tx, c, t); err != nil {
		return err
	}
	return h.dispatch(tx, c, t)
}

func (h *Handlers) createdReply(t *models.Ticket) string {
	var b strings.Builder
	fmt.Fprintf(&b, "已登记工单 #%d", t.ID)
	var parts []string
	if sys := h.systemName(t.System); sys != "" {
		parts = append(parts, sys)
	}
	parts = append(parts, "优先级"+t.Priority.Label())
	fmt.Fprintf(&b, "（%s）。", strings.Join(parts, "，"))
	fmt.Fprintf(&b, "工程师接单后会通知您，发“进度 %d”可随时查看。", t.ID)
	return b.String()
}

func (h *Handlers) opsAlert(t *models.Ticket) string {
	var b strings.Builder
	fmt.Fprintf(&b, "【%s优先级】新工单 #%d：", t.Priority.Label(), t.ID)
	if sys := h.systemName(t.System); sys != "" {
		b.WriteString(sys + "｜")
	}
	b.WriteString(t.Title)
	if t.Location != "" || t.Department != "" {
		fmt.Fprintf(&b, "，位置：%s", strings.TrimSpace(t.Department+" "+t.Location))
	}
	fmt.Fprintf(&b, "。请尽快“接单 %d”。", t.ID)
	return b.String()
}

// myTickets lists the caller's tickets still open or awaiting confirmation;
// for staff also the ones assigned to them.
func (h *Handlers) myTickets(c *bot.Context) error {
	return h.tx(c, func(tx *models.Tx) error {
		now := tx.Now()
		team, err := tx.Team()
		if err != nil {
			return err
		}
		statuses := append(append([]models.Status{}, models.OpenStatuses...), models.StatusResolved)
		mine, err := tx.Tickets(models.TicketFilter{ReporterID: c.User(), Statuses: statuses, Limit: 20})
		if err != nil {
			return err
		}
		var lines []string
		for _, t := range mine {
			lines = append(lines, h.ticketLine(team, t, now))
		}
		if a := actor(c); a.IsStaff() {
			assigned, err := tx.Tickets(models.TicketFilter{AssigneeID: c.User(), Statuses: models.OpenStatuses, ByDue: true, Limit: 20})
			if err != nil {
				return err
			}
			if len(assigned) > 0 {
				lines = append(lines, "我负责的：")
				for _, t := range assigned {
					lines = append(lines, h.ticketLine(team, t, now))
				}
			}
		}
		if len(lines) == 0 {
			c.Reply("您目前没有未完成的工单。有故障请发“报修 系统 问题 位置”。")
			return nil
		}
		c.Reply("您的工单：\n" + strings.Join(lines, "\n") + "\n发“进度 单号”看详情。")
		return nil
	})
}

// progress shows one ticket with its timeline (进度, 工单).
func (h *Handlers) progress(c *bot.Context) error {
	id, _, err := parseNumber(c.Args, c.Command.Name+" 12")
	if err != nil {
		return err
	}
	return h.tx(c, func(tx *models.Tx) error {
		t, err := h.ticketFor(tx, c, id)
		if err != nil {
			return err
		}
		text, err := h.ticketDetail(tx, t, tx.Now())
		if err != nil {
			return err
		}
		c.Reply(text)
		return nil
	})
}

// supplement adds the reporter's information; a ticket paused while waiting
// resumes, since the wait is usually for exactly this.
func (h *Handlers) supplement(c *bot.Context) error {
	id, text, err := parseNumber(c.Args, "补充 12 重启后还是打印不了")
	if err != nil {
		return err
	}
	if text == "" {
		return models.Errorf(models.EInvalid, "请写上补充内容，例如：补充 %d 重启后还是打印不了", id)
	}
	return h.tx(c, func(tx *models.Tx) error {
		t, resumed, err := tx.Supplement(id, actor(c), text)
		if err != nil {
			return err
		}
		c.Replyf("已补充到工单 #%d，已转告工程师。", id)
		if t.AssigneeID != "" {
			msg := fmt.Sprintf("工单 #%d 报修人补充：%s", id, text)
			if resumed {
				msg += "\n工单已自动恢复，计时继续。"
			}
			return notify(tx, c, t.AssigneeID, id, msg)
		}
		return nil
	})
}

// hurry reminds the engineer, at most once per interval per ticket.
func (h *Handlers) hurry(c *bot.Context) error {
	id, _, err := parseNumber(c.Args, "催办 12")
	if err != nil {
		return err
	}
	return h.tx(c, func(tx *models.Tx) error {
		a := actor(c)
		t, err := h.ticketFor(tx, c, id)
		if err != nil {
			return err
		}
		if !t.Status.Open() {
			return models.Errorf(models.EConflict, "工单 #%d %s，无需催办", id, t.Status.Label())
		}
		last, err := tx.LastEvent(id, models.ActHurry)
		if err != nil {
			return err
		}
		interval := h.cfg.Ticket.HurryInterval.D()
		if last != nil && tx.Now().Sub(last.At) < interval {
			wait := interval - tx.Now().Sub(last.At)
			return models.Errorf(models.EConflict, "工单 #%d 刚催办过，工程师已收到。%s后可再次催办。", id, models.SpanText(wait))
		}
		if _, err := tx.Record(id, a, models.ActHurry, ""); err != nil {
			return err
		}
		if t.AssigneeID == "" {
			c.Replyf("已催办工单 #%d，已通知值班工程师和服务主管尽快接单。", id)
			return h.notifyUnassigned(tx, c, t, fmt.Sprintf("【催办】工单 #%d 报修人在催，尚无人接单：%s。请尽快“接单 %d”。", id, t.Title, id))
		}
		c.Replyf("已催办工单 #%d，已提醒 %s。", id, staffName(tx, t.AssigneeID))
		return notify(tx, c, t.AssigneeID, id, fmt.Sprintf("【催办】工单 #%d 报修人在催：%s。请尽快处理或回复进展。", id, t.Title))
	})
}

// notifyUnassigned tells the supervisors (and the ops group) about a
// ticket nobody has taken yet.
func (h *Handlers) notifyUnassigned(tx *models.Tx, c *bot.Context, t *models.Ticket, text string) error {
	if err := notifySupervisors(tx, c, t.ID, text); err != nil {
		return err
	}
	return notifyOps(tx, c, t.ID, text)
}

// confirm closes a resolved ticket as confirmed by the reporter.
func (h *Handlers) confirm(c *bot.Context) error {
	id, _, err := parseNumber(c.Args, "确认 12")
	if err != nil {
		return err
	}
	return h.tx(c, func(tx *models.Tx) error { return h.doConfirm(tx, c, id) })
}

func (h *Handlers) doConfirm(tx *models.Tx, c *bot.Context, id int64) error {
	t, err := tx.Close(id, actor(c), true, "报修人确认已解决")
	if err != nil {
		return err
	}
	c.Replyf("感谢确认，工单 #%d 已关闭。", id)
	if err := notify(tx, c, t.AssigneeID, id, fmt.Sprintf("工单 #%d 报修人已确认解决，已关闭。", id)); err != nil {
		return err
	}
	return h.askRating(tx, c, t)
}

// notFixed reopens a resolved ticket and tells the engineer.
func (h *Handlers) notFixed(c *bot.Context) error {
	id, text, err := parseNumber(c.Args, "未解决 12 还是打印不了")
	if err != nil {
		return err
	}
	return h.tx(c, func(tx *models.Tx) error { return h.doReopen(tx, c, id, text) })
}

func (h *Handlers) doReopen(tx *models.Tx, c *bot.Context, id int64, text string) error {
	note := "报修人反馈未解决"
	if text != "" {
		note += "：" + text
	}
	t, err := tx.Reopen(id, actor(c), note)
	if err != nil {
		return err
	}
	c.Replyf("工单 #%d 已重新打开，已通知 %s 继续处理。", id, staffName(tx, t.AssigneeID))
	return notify(tx, c, t.AssigneeID, id, fmt.Sprintf("【退回】工单 #%d %s，请继续处理：%s", id, note, t.Title))
}

// confirmCard handles the 已解决 / 未解决 buttons of the confirmation card.
func (h *Handlers) confirmCard(c *bot.Context) error {
	parts := strings.Split(c.Msg.EventKey, ":")
	if len(parts) != 3 {
		return models.Errorf(models.EInvalid, "这个按钮已失效，请发“确认 单号”或“未解决 单号”")
	}
	id, _, err := parseNumber(parts[1], "确认 12")
	if err != nil {
		return err
	}
	return h.tx(c, func(tx *models.Tx) error {
		label := "已确认解决"
		if parts[2] == "yes" {
			err = h.doConfirm(tx, c, id)
		} else {
			label = "已反馈未解决"
			err = h.doReopen(tx, c, id, "")
		}
		if err != nil {
			return err
		}
		if c.Get(cardDoneKey{}) != nil {
			return nil // already turned into the rating card
		}
		return markCard(tx, c, label)
	})
}

// markCard turns the clicked card's buttons into label, so it cannot be
// clicked twice.
func markCard(tx *models.Tx, c *bot.Context, label string) error {
	if c.Msg.ResponseCode == "" {
		return nil
	}
	return tx.Send(models.Message{To: c.User(), CardUpdate: &models.CardUpdate{ResponseCode: c.Msg.ResponseCode, Label: label}, Key: "u:" + c.Msg.Key})
}

// cancel withdraws the reporter's own ticket before it is resolved.
func (h *Handlers) cancel(c *bot.Context) error {
	id, reason, err := parseNumber(c.Args, "撤销 12 已经好了")
	if err != nil {
		return err
	}
	return h.tx(c, func(tx *models.Tx) error {
		t, err := tx.Cancel(id, actor(c), reason)
		if err != nil {
			return err
		}
		c.Replyf("工单 #%d 已撤销。", id)
		return notify(tx, c, t.AssigneeID, id, fmt.Sprintf("工单 #%d 已被报修人撤销，无需再处理。", id))
	})
}
