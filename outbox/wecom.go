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
	// Files reads a stored file for a file message.
	Files func(ctx context.Context, id int64) (*models.File, error)
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
	out := bot.Outgoing{MsgType: m.MsgType, Text: FitText(m.Content, textLimit)}
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
	if m.MsgType == models.MsgFile {
		if err := w.prepareFile(ctx, m, &out); err != nil {
			return "", err
		}
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

// prepareFile uploads the row's file and makes out a file message; a
// group robot cannot take files, so it gets a note instead.
func (w *WeCom) prepareFile(ctx context.Context, m models.OutboxMessage, out *bot.Outgoing) error {
	if m.FileID == nil || w.Files == nil {
		return Permanent{errors.New("file message without a file store")}
	}
	f, err := w.Files(ctx, *m.FileID)
	if err != nil {
		return err
	}
	if out.RobotKey != "" {
		out.MsgType, out.Text = bot.MsgText, fmt.Sprintf("【文件】%s 已生成（%s），群机器人不能发文件，请向服务主管索取或在控制台下载。", f.Name, sizeText(f.Size))
		return nil
	}
	if len(f.Data) == 0 {
		return Permanent{fmt.Errorf("file %d has no bytes in the database", f.ID)}
	}
	if len(f.Data) > bot.MaxUpload {
		return Permanent{fmt.Errorf("file %s is %s, over WeCom's 20 MB", f.Name, sizeText(f.Size))}
	}
	id, err := w.Client.UploadMedia(ctx, "file", f.Name, f.Data)
	if err != nil {
		return err
	}
	out.MsgType, out.MediaID, out.Text = bot.MsgFile, id, ""
	return nil
}

func sizeText(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KB", (n+1023)/1024)
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

// textLimit is what WeCom keeps of an app text (2048 bytes), less room for
// the closing line FitText adds.
const textLimit = 2000

// FitText keeps a long text within limit bytes by whole lines, and says
// how many lines it left out: WeCom cuts a longer app text mid-line
// without a word (a digest of 600 reminders kept its first 9). The outbox
// row keeps the whole text.
func FitText(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	lines := strings.Split(s, "\n")
	var b strings.Builder
	for i, l := range lines {
		tail := fmt.Sprintf("\n……另有 %d 行未显示，发“待办”或“队列”查看全部。", len(lines)-i)
		if b.Len()+len(l)+1+len(tail) > limit {
			if b.Len() == 0 {
				// One line longer than the limit: cut it at a rune.
				r := []rune(l)
				for len(string(r))+len(tail) > limit && len(r) > 0 {
					r = r[:len(r)-len(r)/8-1]
				}
				b.WriteString(string(r))
				i++
				tail = "……（过长，已截断）"
				if i < len(lines) {
					tail = fmt.Sprintf("\n……另有 %d 行未显示，发“待办”或“队列”查看全部。", len(lines)-i)
				}
			}
			b.WriteString(tail)
			return b.String()
		}
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(l)
	}
	return b.String()
}
