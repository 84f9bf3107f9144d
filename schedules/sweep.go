package schedules

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"opsbot/models"
)

// sweepBatch is how many due tickets one transaction takes.
const sweepBatch = 200

// Sweep sends the reminders and escalations that have fallen due and
// closes resolved tickets nobody confirmed in time. It reads only tickets
// whose next check has come.
func (j *Jobs) Sweep(ctx context.Context) error {
	for {
		n, err := j.Store.Sweep(ctx, sweepBatch, j.handleDue)
		if err != nil || n < sweepBatch {
			return err
		}
	}
}

// line is one item of someone's reminder.
type line struct {
	key  string
	text string
}

// handleDue turns due items into messages, inside the sweep's transaction:
// one message per person, a digest when several fall due together.
func (j *Jobs) handleDue(tx *models.Tx, items []models.DueItem) error {
	now := tx.Now()
	onCall := tx.OnCall(j.OnCall, j.loc)
	team, err := tx.Team()
	if err != nil {
		return err
	}
	byPerson := map[string][]line{}
	var remarks []models.Remark
	for _, it := range items {
		t := it.Ticket
		if it.Due.Clock == models.ClockConfirm {
			if err := j.autoClose(tx, &t); err != nil {
				return err
			}
			continue
		}
		to := team.Recipients(it.Due.To, &t, onCall)
		text := j.reminderText(team, now, &t, it.Due)
		key := fmt.Sprintf("%d:%s:%d", t.ID, it.Due.Clock, it.Due.Level)
		for _, p := range to {
			byPerson[p] = append(byPerson[p], line{key, text})
		}
		remarks = append(remarks, models.Remark{Ticket: &it.Ticket, Action: models.ActRemind, Note: fmt.Sprintf("%s → %s", it.Due.Name, strings.Join(to, "、"))})
	}
	if err := tx.RecordSystem(remarks); err != nil {
		return err
	}
	if j.beforeCommit != nil {
		if err := j.beforeCommit(); err != nil {
			return err
		}
	}
	people := make([]string, 0, len(byPerson))
	for p := range byPerson {
		people = append(people, p)
	}
	sort.Strings(people)
	for _, p := range people {
		lines := byPerson[p]
		if err := tx.Send(digest(p, lines)); err != nil {
			return err
		}
	}
	return nil
}

// digest is one message for one person: the reminder itself, or a list
// when several came due at once. Its key is made of the (ticket, clock,
// level) items, so the same items never make a second message.
func digest(to string, lines []line) models.Message {
	keys := make([]string, len(lines))
	for i, l := range lines {
		keys[i] = l.key
	}
	sort.Strings(keys)
	sum := sha256.Sum256([]byte(strings.Join(keys, ",")))
	key := "rem:" + to + ":" + hex.EncodeToString(sum[:12])
	if len(lines) == 1 {
		return models.Message{To: to, Text: lines[0].text, Key: key}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "【提醒汇总】%d 项需要关注：", len(lines))
	// The whole list is the record; the outbox fits a long one to WeCom's
	// 2048 bytes at delivery, saying how many lines it leaves out.
	for _, l := range lines {
		b.WriteString("\n· " + l.text)
	}
	return models.Message{To: to, Text: b.String(), Key: key}
}

// reminderText says what is due, by when, and what to do.
func (j *Jobs) reminderText(team *models.Team, now time.Time, t *models.Ticket, d models.Due) string {
	sum := models.Summary(t, j.Catalog)
	owner := ""
	if s, ok := team.Member(t.AssigneeID); ok {
		owner = "，负责人 " + s.Name
	}
	switch d.Clock {
	case models.ClockResponse:
		return fmt.Sprintf("【%s】%s 已等待 %s 无人接单（响应时限 %s）。请尽快“接单 %d”。",
			d.Name, sum, models.SpanText(now.Sub(t.CreatedAt)), models.ClockText(d.Deadline, j.loc), t.ID)
	case models.ClockOnsite:
		return fmt.Sprintf("【%s】%s 紧急故障须在 %s 前到场（%s）%s。到场后发“到场 %d”。",
			d.Name, sum, models.ClockText(d.Deadline, j.loc), models.UntilText(d.Deadline, now), owner, t.ID)
	}
	if now.Before(d.Deadline) {
		return fmt.Sprintf("【%s】%s 解决时限 %s（%s）%s。处理完发“解决 %d 处理结果”。",
			d.Name, sum, models.ClockText(d.Deadline, j.loc), models.UntilText(d.Deadline, now), owner, t.ID)
	}
	return fmt.Sprintf("【%s】%s 解决时限 %s，%s%s。如有原因请发“超时原因 %d 原因”。",
		d.Name, sum, models.ClockText(d.Deadline, j.loc), models.UntilText(d.Deadline, now), owner, t.ID)
}

// autoClose closes a resolved ticket the reporter left unconfirmed.
func (j *Jobs) autoClose(tx *models.Tx, t *models.Ticket) error {
	closed, err := tx.AutoClose(t.ID)
	if err != nil {
		return err
	}
	hours := int(j.Config.Ticket.AutoClose.D().Hours())
	key := fmt.Sprintf("autoclose:%d", t.ID)
	text := fmt.Sprintf("您的工单 #%d 已解决 %d 小时未确认，已自动关闭。如问题仍在，请重新报修。", t.ID, hours)
	if err := tx.Send(models.Message{To: closed.ReporterID, Text: text, TicketID: t.ID, Key: key + ":" + closed.ReporterID}); err != nil {
		return err
	}
	// Closed on its own still gets the survey: not answering it means not
	// rated, never satisfied.
	if models.Rateable(closed) {
		asked, err := tx.AskRating(closed, j.ratingPolicy())
		if err != nil {
			return err
		}
		if asked {
			if err := tx.Send(models.Message{To: closed.ReporterID, Card: models.RatingCard(closed), TicketID: t.ID, Key: fmt.Sprintf("ask-rating:%d", t.ID)}); err != nil {
				return err
			}
		}
	}
	if closed.AssigneeID == "" {
		return nil
	}
	return tx.Send(models.Message{To: closed.AssigneeID, Text: fmt.Sprintf("工单 #%d 报修人未确认，已自动关闭（记为未经报修人确认）。", t.ID), TicketID: t.ID, Key: key + ":" + closed.AssigneeID})
}
