package handlers

import (
	"fmt"

	"opsbot/bot"
	"opsbot/models"
)

// notify queues a message caused by the message being handled; its key ties
// it to that message so a re-run never sends it twice.
func notify(tx *models.Tx, c *bot.Context, to string, ticketID int64, text string) error {
	if to == "" || to == c.User() {
		return nil
	}
	return tx.Send(models.Message{To: to, Text: text, TicketID: ticketID, Key: fmt.Sprintf("n:%s:%s", c.Msg.Key, to)})
}

// notifyReporters tells the reporter of t and the reporters of every
// ticket merged into it: they all wait for the same fix.
func notifyReporters(tx *models.Tx, c *bot.Context, t *models.Ticket, text string) error {
	if err := notify(tx, c, t.ReporterID, t.ID, text); err != nil {
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
		msg := mergedNotice(ch.ID, t.ID, text)
		if err := notify(tx, c, ch.ReporterID, ch.ID, msg); err != nil {
			return err
		}
	}
	return nil
}

// notifyOps posts to the operations group chat.
// notifySupervisors tells every supervisor but the sender, keyed like
// notify.
func notifySupervisors(tx *models.Tx, c *bot.Context, ticketID int64, text string) error {
	return tx.SendSupervisors(models.Message{Text: text, TicketID: ticketID}, "n:"+c.Msg.Key, c.User())
}

func notifyOps(tx *models.Tx, c *bot.Context, ticketID int64, text string) error {
	return tx.Send(models.Message{To: models.OpsGroup, Text: text, TicketID: ticketID, Key: fmt.Sprintf("n:%s:%s", c.Msg.Key, models.OpsGroup)})
}

// confirmCard asks the reporter whether the fix worked (tender 4: the
// hospital confirms closure).
func confirmCardFor(t *models.Ticket) *models.Card {
	id := fmt.Sprint(t.ID)
	return &models.Card{
		TaskID: "confirm-" + id,
		Title:  fmt.Sprintf("工单 #%d 已处理，请确认", t.ID),
		Desc:   t.Title,
		Fields: []models.CardField{{Key: "处理结果", Value: t.Resolution}},
		Buttons: []models.CardButton{
			{Key: "confirm:" + id + ":yes", Text: "已解决", Style: 1},
			{Key: "confirm:" + id + ":no", Text: "未解决", Style: 2},
		},
	}
}
