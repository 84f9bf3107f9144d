package outbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"opsbot/bot"
	"opsbot/bot/aibot"
	"opsbot/models"
)

// RobotClient is the part of *aibot.Client the robot deliverer uses.
type RobotClient interface {
	Respond(ctx context.Context, reqID string, body aibot.Body) error
	UpdateCard(ctx context.Context, reqID string, card aibot.TemplateCard) error
	Send(ctx context.Context, chatID string, body aibot.Body) error
	Status() aibot.Status
}

// Smart-robot answer windows. WeCom takes a card update within 5 s of the
// click; how long a callback may be answered is not documented precisely,
// so opsbot answers within a few minutes and pushes later replies
// (aibot_send_msg), which always work.
const (
	RobotCardWindow    = 5 * time.Second
	RobotRespondWindow = 3 * time.Minute
)

// robotRetry is how soon a message waits again while the robot's
// connection is down or held by another replica.
const robotRetry = time.Second

// Robot delivers outbox rows through the smart robot's long connection.
type Robot struct {
	Client RobotClient
	// OpsChatID is the robot group chat that is the ops group; without it
	// OpsGroup messages go to Fallback's people one-to-one.
	OpsChatID string
	Fallback  func(ctx context.Context) ([]string, error)
	// Files reads a stored file, to name it in the note a file message
	// becomes: the long connection's media upload is not used yet.
	Files func(ctx context.Context, id int64) (*models.File, error)
	Now   func() time.Time
}

// Hold implements Gate: nothing goes while this replica has no
// subscribed connection (down, or another replica holds it).
func (r *Robot) Hold(models.OutboxMessage) (time.Duration, bool) {
	return robotRetry, !r.Client.Status().Subscribed
}

// Deliver implements Deliverer: a reply answers its callback while WeCom
// allows and is pushed after; a card update after a click updates the
// card within 5 s, else the new card (if any) is pushed. While the
// connection is down the row waits (Unavailable), its attempts untouched.
func (r *Robot) Deliver(ctx context.Context, m models.OutboxMessage) (string, error) {
	return "", robotErr(r.deliver(ctx, m))
}

func (r *Robot) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Robot) deliver(ctx context.Context, m models.OutboxMessage) error {
	ref, hasRef := bot.ParseRobotRef(m.ResponseCode)
	age := r.now().Sub(ref.At)
	if m.MsgType == models.MsgCardUpdate {
		return r.updateCard(ctx, m, ref, hasRef && age < RobotCardWindow)
	}
	body := robotBody(m)
	if m.MsgType == models.MsgFile {
		body = aibot.Text(r.fileNote(ctx, m))
	}
	if hasRef && age < RobotRespondWindow {
		err := r.Client.Respond(ctx, ref.ReqID, body)
		if err == nil || aibot.Retryable(err) {
			return err
		}
		// Refused (the window closed early, a new connection, …): push.
	}
	chats, err := r.chatsOf(ctx, m.Recipient)
	if err != nil {
		return err
	}
	for _, chat := range chats {
		if err := r.Client.Send(ctx, chat, body); err != nil {
			return err
		}
	}
	return nil
}

// updateCard answers a click: the card updated in place while the window
// is open; after, a replacement card is pushed as a new message and a
// mere label change is dropped (the click's own reply says what happened).
func (r *Robot) updateCard(ctx context.Context, m models.OutboxMessage, ref bot.RobotRef, inWindow bool) error {
	if inWindow {
		card := robotDoneCard(m.Content, ref.TaskID)
		if m.Card != nil {
			card = robotCard(m.Card, ref.TaskID)
		}
		err := r.Client.UpdateCard(ctx, ref.ReqID, card)
		if err == nil || aibot.Retryable(err) {
			return err
		}
	}
	if m.Card == nil {
		return nil
	}
	fresh := *m.Card
	fresh.TaskID = fmt.Sprintf("%s-%d", m.Card.TaskID, m.ID)
	return r.Client.Send(ctx, strings.TrimPrefix(m.Recipient, models.RobotPrefix), aibot.Card(robotCard(&fresh, fresh.TaskID)))
}

// chatsOf is where a recipient is reached: a robot chat id, a userid's
// one-to-one chat, or the ops group.
func (r *Robot) chatsOf(ctx context.Context, recipient string) ([]string, error) {
	if recipient != models.OpsGroup {
		return []string{strings.TrimPrefix(recipient, models.RobotPrefix)}, nil
	}
	if r.OpsChatID != "" {
		return []string{r.OpsChatID}, nil
	}
	if r.Fallback == nil {
		return nil, Permanent{errors.New("no ops group configured")}
	}
	people, err := r.Fallback(ctx)
	if err != nil {
		return nil, err
	}
	if len(people) == 0 {
		return nil, Permanent{errors.New("no ops group and no supervisor to send to")}
	}
	return people, nil
}

// robotErr maps the robot's errors onto the sender's: no connection is
// Unavailable (the row waits), a refusal no retry fixes is Permanent.
func robotErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, aibot.ErrNotConnected):
		return Unavailable{Err: err, Wait: robotRetry}
	case !aibot.Retryable(err):
		var p Permanent
		if errors.As(err, &p) {
			return err
		}
		return Permanent{err}
	}
	return err
}

// robotBody is a row as a robot message: text, markdown or a card.
func robotBody(m models.OutboxMessage) aibot.Body {
	switch {
	case m.Card != nil:
		return aibot.Card(robotCard(m.Card, fmt.Sprintf("%s-%d", m.Card.TaskID, m.ID)))
	case m.MsgType == "markdown":
		return aibot.Markdown(m.Content)
	}
	return aibot.Text(m.Content)
}

// robotCard is a button_interaction card as the robot takes it; the task
// id carries the row id, as the app's does (WeCom refuses a reused one).
func robotCard(c *models.Card, taskID string) aibot.TemplateCard {
	tc := aibot.TemplateCard{
		"card_type":  "button_interaction",
		"source":     map[string]any{"desc": "运维服务台"},
		"main_title": map[string]any{"title": c.Title, "desc": c.Desc},
		"task_id":    taskID,
	}
	var fields []map[string]any
	for _, f := range c.Fields {
		fields = append(fields, map[string]any{"keyname": f.Key, "value": f.Value})
	}
	if len(fields) > 0 {
		tc["horizontal_content_list"] = fields
	}
	var buttons []map[string]any
	for _, b := range c.Buttons {
		buttons = append(buttons, map[string]any{"text": b.Text, "style": max(b.Style, 1), "key": b.Key})
	}
	tc["button_list"] = buttons
	return tc
}

// robotDoneCard replaces a clicked card by one that says what the click
// did; its one button leads nowhere.
func robotDoneCard(label, taskID string) aibot.TemplateCard {
	return aibot.TemplateCard{
		"card_type":   "button_interaction",
		"source":      map[string]any{"desc": "运维服务台"},
		"main_title":  map[string]any{"title": label},
		"task_id":     taskID,
		"button_list": []map[string]any{{"text": label, "style": 2, "key": "done"}},
	}
}

// fileNote stands for a file message the robot cannot carry: its caption
// and the file's name, and where to get it.
func (r *Robot) fileNote(ctx context.Context, m models.OutboxMessage) string {
	name := "文件"
	if m.FileID != nil && r.Files != nil {
		if f, err := r.Files(ctx, *m.FileID); err == nil {
			name = fmt.Sprintf("%s（%s）", f.Name, sizeText(f.Size))
		}
	}
	note := fmt.Sprintf("【文件】%s 已生成，机器人暂不能发文件，请在企业微信应用中查看或向服务主管索取。", name)
	if strings.TrimSpace(m.Content) != "" {
		return m.Content + "\n" + note
	}
	return note
}
