package handlers

import (
	"context"
	"fmt"

	"opsbot/bot"
	"opsbot/models"
)

// The console (package console) acts on tickets through the functions of
// this file: the same domain calls, permissions, events and messages as the
// chat commands, without a chat message around them.

// WebAction is who acts from the console, and a key unique to the action
// so that the messages it causes are queued once.
type WebAction struct {
	Actor models.Actor
	Key   string
}

func (w WebAction) notify(tx *models.Tx, to string, ticketID int64, text string) error {
	if to == "" || to == w.Actor.UserID {
		return nil
	}
	return tx.Send(models.Message{To: to, Text: text, TicketID: ticketID, Key: fmt.Sprintf("n:%s:%s", w.Key, to)})
}

// notifyReporters is the chat's notifyReporters for a console action.
func (w WebAction) notifyReporters(tx *models.Tx, t *models.Ticket, text string) error {
	if err := w.notify(tx, t.ReporterID, t.ID, text); err != nil {
		return err
	}
	children, err := tx.Tickets(models.TicketFilter{ParentID: t.ID})
	if err != nil {
		return err
	}
	for _, ch := range children {
		if ch.ReporterID == t.ReporterID {
			continue
		}
		if err := w.notify(tx, ch.ReporterID, ch.ID, mergedNotice(ch.ID, t.ID, text)); err != nil {
			return err
		}
	}
	return nil
}

// mergedNotice prefixes a notice for the reporter of a merged ticket.
func mergedNotice(child, parent int64, text string) string {
	return fmt.Sprintf("（您报的 #%d 已并入 #%d 统一处理）%s", child, parent, text)
}

// claimedNotice tells the reporter who took the ticket.
func claimedNotice(id int64, by string) string {
	return fmt.Sprintf("您的工单 #%d 已由 %s 接单，请保持电话畅通。", id, by)
}

// pausedNotice tells the reporter the ticket waits, and why.
func pausedNotice(id int64, reason string) string {
	return fmt.Sprintf("您的工单 #%d 暂时挂起：%s。有新情况可发“补充 %d 内容”。", id, reason, id)
}

// priorityNotice tells the engineer the priority and deadline changed.
func priorityNotice(id int64, p models.Priority, due, reason string) string {
	return fmt.Sprintf("工单 #%d 优先级改为%s，解决时限 %s。%s", id, p.Label(), due, reason)
}

// WebClaim is 接单 from the console.
func (h *Handlers) WebClaim(tx *models.Tx, w WebAction, id int64) (*models.Ticket, error) {
	t, err := tx.Claim(id, w.Actor)
	if err != nil {
		if cur, _ := tx.Ticket(id); cur != nil && cur.AssigneeID != "" && cur.AssigneeID != w.Actor.UserID && cur.Status.Open() {
			return nil, models.Errorf(models.EConflict, "工单 #%d 已由 %s 接单", id, staffName(tx, cur.AssigneeID))
		}
		return nil, err
	}
	me, _, err := tx.StaffMember(w.Actor.UserID)
	if err != nil {
		return nil, err
	}
	// What a claim in chat does besides the reporter's notice: the other
	// engineers' 接单 cards, the attachments and the past fixes. Those
	// helpers speak to a chat message; the console action stands in for
	// one, and what they would reply goes to the engineer as a message.
	c := bot.NewContext(context.Background(), bot.Incoming{Key: w.Key, User: w.Actor.UserID})
	c.Set(actorKey, w.Actor)
	if err := h.updateAnnounceCards(tx, c, t, me.Name); err != nil {
		return nil, err
	}
	if err := h.sendAttachments(tx, c, t.ID, w.Actor.UserID, nil); err != nil {
		return nil, err
	}
	if err := h.recordsOnClaim(tx, c, t); err != nil {
		return nil, err
	}
	for i, text := range c.TakeReplies() {
		if err := tx.Send(models.Message{To: w.Actor.UserID, Text: text, TicketID: t.ID, Key: fmt.Sprintf("r:%s:%d", w.Key, i)}); err != nil {
			return nil, err
		}
	}
	return t, w.notifyReporters(tx, t, claimedNotice(id, who(me)))
}

// WebAssign is 指派 (or an engineer's 转派) from the console.
func (h *Handlers) WebAssign(tx *models.Tx, w WebAction, id int64, target, reason string) (*models.Ticket, error) {
	to, err := tx.FindStaff(target)
	if err != nil {
		return nil, err
	}
	before, err := tx.Ticket(id)
	if err != nil {
		return nil, err
	}
	t, err := tx.Transfer(id, w.Actor, to, reason)
	if err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("【新工单】%s 把工单 #%d 交给您：%s", w.Actor.DisplayName(), id, t.Title)
	if reason != "" {
		msg += "\n原因：" + reason
	}
	msg += fmt.Sprintf("\n发“工单 %d”看详情。", id)
	if err := w.notify(tx, to.UserID, id, msg); err != nil {
		return nil, err
	}
	if before.AssigneeID != "" && before.AssigneeID != w.Actor.UserID {
		if err := w.notify(tx, before.AssigneeID, id, fmt.Sprintf("工单 #%d 已改由 %s 处理。", id, to.Name)); err != nil {
			return nil, err
		}
	}
	return t, w.notifyReporters(tx, t, fmt.Sprintf("您的工单 #%d 改由 %s 处理。", id, who(to)))
}

// WebPriority is 优先级 from the console.
func (h *Handlers) WebPriority(tx *models.Tx, w WebAction, id int64, p models.Priority, reason string) (*models.Ticket, error) {
	t, err := tx.SetPriority(id, w.Actor, p, reason)
	if err != nil {
		return nil, err
	}
	return t, w.notify(tx, t.AssigneeID, id, priorityNotice(id, p, models.ClockText(t.DueResolution, h.loc()), reason))
}

// WebPause is 挂起 from the console.
func (h *Handlers) WebPause(tx *models.Tx, w WebAction, id int64, reason string) (*models.Ticket, error) {
	t, err := tx.Pause(id, w.Actor, reason)
	if err != nil {
		return nil, err
	}
	return t, w.notifyReporters(tx, t, pausedNotice(id, reason))
}
