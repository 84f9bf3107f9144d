package outbox

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"opsbot/bot"
	"opsbot/models"
)

// WeCom delivers outbox rows through the WeCom API.
type WeCom struct {
	Client *bot.Client
	// OpsChatID or RobotKey is where OpsGroup messages go; with neither,
	// they go to Fallback's people (the supervisors) so none is lost.
	OpsChatID string
	RobotKey  string
	Fallback  func(ctx context.Context) ([]string, error)
}

// Deliver implements Deliverer.
func (w *WeCom) Deliver(ctx context.Context, m models.OutboxMessage) (string, error) {
	if m.MsgType == models.MsgCardUpdate {
		if m.Card != nil {
			tc := templateCard(m)
			tc.TaskID = m.Card.TaskID // the clicked card's own task id
			return m.ResponseCode, w.Client.ReplaceTemplateCard(ctx, []string{m.Recipient}, m.ResponseCode, tc)
		}
		err := w.Client.UpdateTemplateCard(ctx, []string{m.Recipient}, m.ResponseCode, m.Content)
		return m.ResponseCode, err
	}
	out := bot.Outgoing{MsgType: m.MsgType, Text: m.Content}
	switch {
	case m.Recipient != models.OpsGroup:
		out.ToUsers = []string{m.Recipient}
	case w.OpsChatID != "":
		out.ChatID = w.OpsChatID
	case w.RobotKey != "":
		out.RobotKey = w.RobotKey
	default:
		if w.Fallback == nil {
			return "", Permanent{errors.New("no ops group configured")}
		}
		people, err := w.Fallback(ctx)
		if err != nil {
			return "", err
		}
		if len(people) == 0 {
			return "", Permanent{errors.New("no ops group and no supervisor to send to")}
		}
		out.ToUsers = people
	}
	if m.Card != nil {
		if out.ChatID != "" || out.RobotKey != "" {
			// Group chats cannot carry interactive cards; the text says it.
			out.MsgType, out.Text = bot.MsgText, cardText(m.Card)
		} else {
			out.MsgType, out.TemplateCard = bot.MsgTemplateCard, templateCard(m)
		}
	}
	res, err := w.Client.Send(ctx, out)
	if err != nil {
		return "", err
	}
	if len(res.InvalidUsers) > 0 && len(res.InvalidUsers) == len(out.ToUsers) {
		return "", Permanent{fmt.Errorf("unknown WeCom user %s", strings.Join(res.InvalidUsers, ","))}
	}
	return res.ResponseCode, nil
}

// templateCard turns a card into a button_interaction card. The task id
// carries the row id: WeCom refuses a task id it has seen, and a ticket may
// need a second confirmation card after a reopen.
func templateCard(m models.OutboxMessage) *bot.TemplateCard {
	c := m.Card
	tc := &bot.TemplateCard{
		CardType:  "button_interaction",
		Source:    &bot.CardSource{Desc: "运维服务台"},
		MainTitle: bot.CardTitle{Title: c.Title, Desc: c.Desc},
		TaskID:    fmt.Sprintf("%s-%d", c.TaskID, m.ID),
	}
	for _, f := range c.Fields {
		tc.HorizontalContentList = append(tc.HorizontalContentList, bot.CardKeyValue{KeyName: f.Key, Value: f.Value})
	}
	for _, b := range c.Buttons {
		tc.ButtonList = append(tc.ButtonList, bot.CardButton{Text: b.Text, Style: b.Style, Key: b.Key})
	}
	return tc
}

// cardText is a card as plain text, for places buttons cannot go.
func cardText(c *models.Card) string {
	var b strings.Builder
	b.WriteString(c.Title)
	if c.Desc != "" {
		b.WriteString("\n" + c.Desc)
	}
	for _, f := range c.Fields {
		fmt.Fprintf(&b, "\n%s：%s", f.Key, f.Value)
	}
	return b.String()
}
