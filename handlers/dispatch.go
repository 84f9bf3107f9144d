package handlers

import (
	"fmt"
	"strings"
	"time"

	"opsbot/bot"
	"opsbot/configs"
	"opsbot/models"
)

// dispatch makes a new ticket reach an engineer at once (issue 11): out of
// business hours the on-call engineers get it; in hours, by the mode
// configured for its system and the time of day, a card with a 接单 button
// goes to the engineers covering it (announce) or the best-placed engineer
// gets it directly (assign). The reminders run as before when nobody
// claims.
func (h *Handlers) dispatch(tx *models.Tx, c *bot.Context, t *models.Ticket) error {
	urgent := t.Priority == models.PriorityHigh || t.Major
	if !h.store.SLA().Clock().InBusinessHours(tx.Now()) {
		done, err := h.dispatchOnCall(tx, c, t)
		if err != nil {
			return err
		}
		if done {
			if urgent {
				return notifyOps(tx, c, t.ID, h.opsAlert(t))
			}
			return nil
		}
	}
	if h.cfg.Dispatch.ModeFor(t.System, tx.Now().In(h.loc())) == configs.DispatchAssign {
		done, err := h.assignDirectly(tx, c, t)
		if err != nil || done {
			if err == nil && urgent {
				err = notifyOps(tx, c, t.ID, h.opsAlert(t))
			}
			return err
		}
	}
	return h.announce(tx, c, t)
}

// announce sends the 接单 card to the engineers covering the system and
// the ops group (which gets it as text: group chats take no buttons).
func (h *Handlers) announce(tx *models.Tx, c *bot.Context, t *models.Ticket) error {
	targets, err := tx.AnnounceTargets(t.System)
	if err != nil {
		return err
	}
	title := fmt.Sprintf("新工单 #%d", t.ID)
	if t.Priority == models.PriorityHigh || t.Major {
		title = fmt.Sprintf("【%s优先级】新工单 #%d", t.Priority.Label(), t.ID)
	}
	// The ops group sees every new ticket when there is one; without one
	// its messages go to the supervisors, who then hear of urgent ones only.
	var recipients []string
	if h.opsGroupConfigured() || t.Priority == models.PriorityHigh || t.Major {
		recipients = append(recipients, models.OpsGroup)
	}
	for _, s := range targets {
		recipients = append(recipients, s.UserID)
	}
	return h.sendClaimCards(tx, c, t, title, recipients)
}

// withRoom drops, from the engineers among recipients, those who had
// announceLimit 接单 cards in the last minute. In a burst (an outage nobody
// has linked yet, a storm of reports) each card more would wait behind
// WeCom's 30 a minute and hold back that engineer's reminders; the ticket
// stays in 待办 and its reminders run. Urgent tickets always go out.
func (h *Handlers) withRoom(tx *models.Tx, t *models.Ticket, recipients []string) ([]string, error) {
	if t.Priority == models.PriorityHigh || t.Major {
		return recipients, nil
	}
	var people, out []string
	for _, r := range recipients {
		if r == models.OpsGroup {
			out = append(out, r)
		} else {
			people = append(people, r)
		}
	}
	room, err := tx.AnnounceRoom(people, announceLimit, time.Minute)
	return append(out, room...), err
}

// announceLimit is how many 接单 cards one engineer gets a minute.
const announceLimit = 10

// opsGroupConfigured reports whether an ops group chat exists (an app
// chat, a group robot, or the smart robot's chat).
func (h *Handlers) opsGroupConfigured() bool {
	w := h.cfg.WeCom
	return w.OpsChatID != "" || w.RobotKey != "" || w.BotChatID != ""
}

// sendClaimCards sends the announce card of t to each recipient, under
// keys a claim finds again to update the cards.
func (h *Handlers) sendClaimCards(tx *models.Tx, c *bot.Context, t *models.Ticket, title string, recipients []string) error {
	recipients, err := h.withRoom(tx, t, recipients)
	if err != nil {
		return err
	}
	for _, to := range recipients {
		if to == c.User() {
			continue
		}
		if err := tx.Send(models.Message{To: to, Card: h.claimCard(t, title), TicketID: t.ID, Key: models.AnnounceKey(t.ID) + to}); err != nil {
			return err
		}
	}
	return nil
}

// claimCard is the announce card: what, where, who, and the 接单 button.
// The description also says "接单 N", for the group chat's text version.
func (h *Handlers) claimCard(t *models.Ticket, title string) *models.Card {
	what := t.Title
	if sys := h.systemName(t.System); sys != "" {
		what = sys + "｜" + what
	}
	card := &models.Card{TaskID: fmt.Sprintf("claim-%d", t.ID), Title: title,
		Desc:    fmt.Sprintf("%s。点“接单”或发“接单 %d”。", what, t.ID),
		Buttons: []models.CardButton{{Key: fmt.Sprintf("claim:%d", t.ID), Text: "接单", Style: 1}}}
	if sys := h.systemName(t.System); sys != "" {
		card.Fields = append(card.Fields, models.CardField{Key: "系统", Value: sys})
	}
	card.Fields = append(card.Fields, models.CardField{Key: "优先级", Value: t.Priority.Label()})
	if loc := strings.TrimSpace(t.Department + " " + t.Location); loc != "" {
		card.Fields = append(card.Fields, models.CardField{Key: "位置", Value: loc})
	}
	rep := strings.TrimSpace(reporterName(t) + " " + t.Phone)
	card.Fields = append(card.Fields, models.CardField{Key: "报修人", Value: rep})
	return card
}

// dispatchOnCall sends the card to the on-call engineers out of business
// hours, and an urgent ticket to their phones too, since a WeCom message
// at 3 a.m. may go unread. done=false when nobody is on call.
func (h *Handlers) dispatchOnCall(tx *models.Tx, c *bot.Context, t *models.Ticket) (bool, error) {
	team, err := tx.Team()
	if err != nil {
		return false, err
	}
	// Only engineers can claim; with nobody on call Recipients names the
	// supervisors, and the ticket is then announced to the engineers.
	var ids []string
	for _, id := range team.Recipients([]string{configs.ToOnCall}, t, tx.OnCall(h.oncall, h.loc())) {
		if s, ok := team.Member(id); ok && s.Role == models.RoleEngineer {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return false, nil
	}
	urgent := t.Priority == models.PriorityHigh
	title := fmt.Sprintf("【非工作时间新工单】#%d", t.ID)
	recipients := ids
	if urgent {
		title = fmt.Sprintf("【非工作时间紧急故障】#%d", t.ID)
		// An urgent fault reaches the ops group at any hour.
		recipients = append([]string{models.OpsGroup}, ids...)
	}
	if err := h.sendClaimCards(tx, c, t, title, recipients); err != nil {
		return false, err
	}
	if !urgent || !h.phoneGateway {
		return true, nil
	}
	text := fmt.Sprintf("【非工作时间紧急故障】%s，位置：%s，报修人 %s %s。请尽快“接单 %d”。",
		models.Summary(t, h.catalog), orDash(strings.TrimSpace(t.Department+" "+t.Location)), reporterName(t), t.Phone, t.ID)
	for _, id := range ids {
		if s, ok := team.Member(id); ok && s.Phone != "" {
			if err := notify(tx, c, models.PhonePrefix+s.Phone, t.ID, text); err != nil {
				return false, err
			}
		}
	}
	return true, nil
}

// assignDirectly gives the ticket to the least-loaded available engineer
// covering its system whose level the priority asks for; done=false when
// nobody fits (the ticket is then announced).
func (h *Handlers) assignDirectly(tx *models.Tx, c *bot.Context, t *models.Ticket) (bool, error) {
	cands, err := tx.TakeOverCandidates(t.System, h.cfg.Dispatch.MinLevel.For(string(t.Priority)), "")
	if err != nil || len(cands) == 0 {
		return false, err
	}
	to := cands[0]
	t, err = tx.AssignTo(t.ID, to)
	if err != nil {
		return false, err
	}
	msg := fmt.Sprintf("【新工单】系统派给您 #%d：%s", t.ID, t.Title)
	if loc := strings.TrimSpace(t.Department + " " + t.Location); loc != "" {
		msg += "\n位置：" + loc
	}
	msg += fmt.Sprintf("\n报修人：%s\n到场发“到场 %d”，处理完发“解决 %d 处理结果”。", strings.TrimSpace(reporterName(t)+" "+t.Phone), t.ID, t.ID)
	if err := notify(tx, c, to.UserID, t.ID, msg); err != nil {
		return false, err
	}
	if err := h.sendAttachments(tx, c, t.ID, to.UserID, nil); err != nil {
		return false, err
	}
	c.Replyf("已派给工程师 %s，请保持电话畅通。", who(to))
	return true, nil
}

// claimByCard handles the 接单 button of an announce card.
func (h *Handlers) claimByCard(c *bot.Context) error {
	id, _, err := parseNumber(strings.TrimPrefix(c.Msg.EventKey, "claim:"), "接单 12")
	if err != nil {
		return err
	}
	if actor(c).Role != models.RoleEngineer {
		return models.Errorf(models.EForbidden, "只有服务工程师可以接单")
	}
	return h.tx(c, func(tx *models.Tx) error { return h.doClaim(tx, c, id) })
}

// claimedElsewhere answers a claim that came too late, politely, and marks
// the clicked card so it is not clicked again. It reports false when the
// ticket is not taken by someone else (the refusal is another one).
func (h *Handlers) claimedElsewhere(tx *models.Tx, c *bot.Context, id int64) (bool, error) {
	cur, err := tx.Ticket(id)
	if err != nil || cur.AssigneeID == "" || cur.AssigneeID == c.User() {
		return false, err
	}
	name := staffName(tx, cur.AssigneeID)
	if cur.Status.Open() {
		c.Replyf("谢谢您的响应！工单 #%d 已由 %s 接单，无需再处理。", id, name)
	} else {
		c.Replyf("谢谢您的响应！工单 #%d 已由 %s 处理（%s）。", id, name, cur.Status.Label())
	}
	return true, markCard(tx, c, "已由 "+name+" 接单")
}

// updateAnnounceCards turns every other recipient's announce card into
// "已由 张三 接单" after a claim. WeCom updates a card only with the
// response code its send returned, so cards already sent are updated and
// cards not yet sent are withdrawn; a card in flight at the claim keeps
// its button, and a click on it gets the polite refusal.
func (h *Handlers) updateAnnounceCards(tx *models.Tx, c *bot.Context, t *models.Ticket, by string) error {
	cards, err := tx.AnnounceCards(t.ID)
	if err != nil {
		return err
	}
	var unsent []int64
	for _, m := range cards {
		if m.MsgType != "template_card" || m.Recipient == models.OpsGroup {
			continue
		}
		if m.Status == models.OutboxPending {
			unsent = append(unsent, m.ID)
			continue
		}
		clicked := m.Recipient == c.User() && c.Msg.ResponseCode != ""
		if m.Status != models.OutboxSent || m.ResponseCode == "" || clicked {
			continue
		}
		label := "已由 " + by + " 接单"
		if m.Recipient == t.AssigneeID {
			label = "您已接单"
		}
		if err := tx.Send(models.Message{To: m.Recipient, TicketID: t.ID, Key: "u:" + models.AnnounceKey(t.ID) + m.Recipient,
			CardUpdate: &models.CardUpdate{ResponseCode: m.ResponseCode, Label: label}}); err != nil {
			return err
		}
	}
	return tx.WithdrawPending(unsent, "ticket claimed before the card went out")
}
