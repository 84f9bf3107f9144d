package handlers

import (
	"fmt"
	"strings"

	"opsbot/bot"
	"opsbot/models"
)

// claim takes a ticket and tells the reporter who is coming, with a phone.
func (h *Handlers) claim(c *bot.Context) error {
	id, _, err := parseNumber(c.Args, "接单 12")
	if err != nil {
		return err
	}
	return h.tx(c, func(tx *models.Tx) error { return h.doClaim(tx, c, id) })
}

// doClaim claims ticket id for the caller, by command or by the announce
// card's button: the claimer gets the details and the attachments, the
// reporter who is coming, and the other announce cards are updated.
func (h *Handlers) doClaim(tx *models.Tx, c *bot.Context, id int64) error {
	t, err := tx.Claim(id, actor(c))
	if err != nil {
		// Taken by someone else: say by whom, kindly; the card is marked.
		if late, lerr := h.claimedElsewhere(tx, c, id); late || lerr != nil {
			return lerr
		}
		return err
	}
	me, _, err := tx.StaffMember(c.User())
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "已接单 #%d：%s", id, t.Title)
	rep := t.ReporterName
	if rep == "" {
		rep = t.ReporterID
	}
	fmt.Fprintf(&b, "\n报修人：%s", strings.TrimSpace(rep+" "+t.Phone))
	if loc := strings.TrimSpace(t.Department + " " + t.Location); loc != "" {
		fmt.Fprintf(&b, "\n位置：%s", loc)
	}
	if t.DueOnsite != nil {
		fmt.Fprintf(&b, "\n请在 %s 前到场（%s）。", models.ClockText(*t.DueOnsite, h.loc()), models.UntilText(*t.DueOnsite, tx.Now()))
	}
	fmt.Fprintf(&b, "\n到场发“到场 %d”，处理完发“解决 %d 处理结果”。", id, id)
	c.Reply(b.String())
	if err := markCard(tx, c, "您已接单"); err != nil {
		return err
	}
	if err := h.updateAnnounceCards(tx, c, t, me.Name); err != nil {
		return err
	}
	if err := h.sendAttachments(tx, c, t.ID, c.User(), nil); err != nil {
		return err
	}
	if err := h.recordsOnClaim(tx, c, t); err != nil {
		return err
	}
	return notifyReporters(tx, c, t, claimedNotice(id, who(me)))
}

// transfer hands the ticket to a peer of no lower level (tender 5.3).
func (h *Handlers) transfer(c *bot.Context) error {
	id, rest, err := parseNumber(c.Args, "转派 12 李四")
	if err != nil {
		return err
	}
	target, reason, _ := strings.Cut(rest, " ")
	if target == "" {
		return models.Errorf(models.EInvalid, "请写上转给谁，例如：转派 %d 李四 需要数据库权限", id)
	}
	return h.handOver(c, id, target, reason)
}

// assign is the supervisor's hand-over (指派); the same rules apply.
func (h *Handlers) assign(c *bot.Context) error {
	id, rest, err := parseNumber(c.Args, "指派 12 张三")
	if err != nil {
		return err
	}
	target, reason, _ := strings.Cut(rest, " ")
	if target == "" {
		return models.Errorf(models.EInvalid, "请写上派给谁，例如：指派 %d 张三", id)
	}
	return h.handOver(c, id, target, reason)
}

func (h *Handlers) handOver(c *bot.Context, id int64, target, reason string) error {
	return h.tx(c, func(tx *models.Tx) error {
		to, err := tx.FindStaff(target)
		if err != nil {
			return err
		}
		before, err := tx.Ticket(id)
		if err != nil {
			return err
		}
		t, err := tx.Transfer(id, actor(c), to, reason)
		if err != nil {
			return err
		}
		c.Replyf("工单 #%d 已交给 %s。", id, to.Name)
		msg := fmt.Sprintf("【新工单】%s 把工单 #%d 交给您：%s", actor(c).DisplayName(), id, t.Title)
		if reason != "" {
			msg += "\n原因：" + reason
		}
		msg += fmt.Sprintf("\n发“工单 %d”看详情。", id)
		if err := notify(tx, c, to.UserID, id, msg); err != nil {
			return err
		}
		if before.AssigneeID != "" && before.AssigneeID != c.User() {
			if err := notify(tx, c, before.AssigneeID, id, fmt.Sprintf("工单 #%d 已改由 %s 处理。", id, to.Name)); err != nil {
				return err
			}
		}
		return notifyReporters(tx, c, t, fmt.Sprintf("您的工单 #%d 改由 %s 处理。", id, who(to)))
	})
}

// arrive records being on site.
func (h *Handlers) arrive(c *bot.Context) error {
	id, _, err := parseNumber(c.Args, "到场 12")
	if err != nil {
		return err
	}
	return h.tx(c, func(tx *models.Tx) error {
		t, err := tx.Arrive(id, actor(c))
		if err != nil {
			return err
		}
		c.Replyf("已登记到场 #%d。处理完发“解决 %d 处理结果”。", id, id)
		return notifyReporters(tx, c, t, fmt.Sprintf("工程师 %s 已到达现场处理工单 #%d。", actor(c).DisplayName(), id))
	})
}

// pause stops the clock while waiting on someone else.
func (h *Handlers) pause(c *bot.Context) error {
	id, reason, err := parseNumber(c.Args, "挂起 12 等厂家发补丁")
	if err != nil {
		return err
	}
	return h.tx(c, func(tx *models.Tx) error {
		t, err := tx.Pause(id, actor(c), reason)
		if err != nil {
			return err
		}
		c.Replyf("工单 #%d 已挂起，计时暂停。条件具备后发“恢复 %d”。", id, id)
		return notifyReporters(tx, c, t, pausedNotice(id, reason))
	})
}

// resume restarts the clock.
func (h *Handlers) resume(c *bot.Context) error {
	id, note, err := parseNumber(c.Args, "恢复 12")
	if err != nil {
		return err
	}
	return h.tx(c, func(tx *models.Tx) error {
		t, err := tx.Resume(id, actor(c), note)
		if err != nil {
			return err
		}
		c.Replyf("工单 #%d 已恢复处理，解决时限：%s。", id, models.ClockText(t.DueResolution, h.loc()))
		return notifyReporters(tx, c, t, fmt.Sprintf("您的工单 #%d 已恢复处理。", id))
	})
}

// resolve records the fix and asks the reporter to confirm with a card.
func (h *Handlers) resolve(c *bot.Context) error {
	id, text, err := parseNumber(c.Args, "解决 12 重装打印驱动后打印正常")
	if err != nil {
		return err
	}
	return h.tx(c, func(tx *models.Tx) error {
		t, err := tx.Resolve(id, actor(c), text)
		if err != nil {
			return err
		}
		c.Replyf("工单 #%d 已登记解决，等待报修人确认。", id)
		return h.askConfirmation(tx, c, t)
	})
}

// askConfirmation sends the confirmation card to the reporter of t and of
// every ticket merged into it.
func (h *Handlers) askConfirmation(tx *models.Tx, c *bot.Context, t *models.Ticket) error {
	tickets := []models.Ticket{*t}
	children, err := tx.Tickets(models.TicketFilter{ParentID: t.ID, Statuses: []models.Status{models.StatusResolved}})
	if err != nil {
		return err
	}
	tickets = append(tickets, children...)
	for _, tk := range tickets {
		if tk.ReporterID == c.User() {
			continue
		}
		card := confirmCardFor(&tk)
		if err := tx.Send(models.Message{To: tk.ReporterID, Card: card, TicketID: tk.ID, Key: fmt.Sprintf("n:%s:%s:%d", c.Msg.Key, tk.ReporterID, tk.ID)}); err != nil {
			return err
		}
	}
	return nil
}

// note records a step of the work.
func (h *Handlers) note(c *bot.Context) error {
	id, text, err := parseNumber(c.Args, "备注 12 已远程查看，驱动异常")
	if err != nil {
		return err
	}
	if text == "" {
		return models.Errorf(models.EInvalid, "请写上备注内容，例如：备注 %d 已远程查看，驱动异常", id)
	}
	return h.tx(c, func(tx *models.Tx) error {
		if _, err := tx.Record(id, actor(c), models.ActNote, text); err != nil {
			return err
		}
		c.Replyf("已记录到工单 #%d。", id)
		return nil
	})
}

// breachReason records why a deadline was missed, for the monthly report.
func (h *Handlers) breachReason(c *bot.Context) error {
	id, text, err := parseNumber(c.Args, "超时原因 12 等待医保中心回复")
	if err != nil {
		return err
	}
	if text == "" {
		return models.Errorf(models.EInvalid, "请写上原因，例如：超时原因 %d 等待医保中心回复", id)
	}
	return h.tx(c, func(tx *models.Tx) error {
		if _, err := tx.Record(id, actor(c), models.ActBreachReason, text); err != nil {
			return err
		}
		c.Replyf("已记录工单 #%d 的超时原因，将写入月报。", id)
		return nil
	})
}

// todo is the engineer's queue: assigned to me, nearest deadline first,
// then what nobody has taken yet.
func (h *Handlers) todo(c *bot.Context) error {
	return h.tx(c, func(tx *models.Tx) error {
		now := tx.Now()
		team, err := tx.Team()
		if err != nil {
			return err
		}
		mine, err := tx.Tickets(models.TicketFilter{AssigneeID: c.User(), Statuses: models.OpenStatuses, ByDue: true, Limit: 30})
		if err != nil {
			return err
		}
		waiting, err := tx.Tickets(models.TicketFilter{Statuses: []models.Status{models.StatusNew}, ByDue: true, Limit: 10})
		if err != nil {
			return err
		}
		var b strings.Builder
		if len(mine) == 0 {
			b.WriteString("您手上没有未完成的工单。")
		} else {
			fmt.Fprintf(&b, "您的待办（%d）：", len(mine))
			for _, t := range mine {
				b.WriteString("\n" + h.ticketLine(team, t, now))
			}
		}
		if len(waiting) > 0 {
			fmt.Fprintf(&b, "\n待接单（%d）：", len(waiting))
			for _, t := range waiting {
				b.WriteString("\n" + h.ticketLine(team, t, now))
			}
			fmt.Fprintf(&b, "\n发“接单 %d”接下最早的一单。", waiting[0].ID)
		}
		c.Reply(b.String())
		return nil
	})
}
