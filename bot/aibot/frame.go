package aibot

import (
	"encoding/json"
	"strings"
	"unicode"
)

// Commands of the long-connection protocol (WeCom document 101463).
const (
	CmdSubscribe      = "aibot_subscribe"
	CmdPing           = "ping"
	CmdMsgCallback    = "aibot_msg_callback"
	CmdEventCallback  = "aibot_event_callback"
	CmdRespond        = "aibot_respond_msg"
	CmdRespondWelcome = "aibot_respond_welcome_msg"
	CmdRespondUpdate  = "aibot_respond_update_msg"
	CmdSend           = "aibot_send_msg"
)

// Event types carried in event.eventtype of an aibot_event_callback.
const (
	EventEnterChat    = "enter_chat"
	EventTemplateCard = "template_card_event"
	EventFeedback     = "feedback_event"
	EventDisconnected = "disconnected_event"
)

// Chat types of a callback.
const (
	ChatSingle = "single"
	ChatGroup  = "group"
)

// CodeInvalidCredentials is the errcode WeCom answers a subscribe with when
// bot_id or secret is wrong.
const CodeInvalidCredentials = 853000

// frame is one JSON message on the socket in either direction. Acks carry
// errcode/errmsg beside the echoed headers.req_id and usually no cmd.
type frame struct {
	Cmd     string          `json:"cmd,omitempty"`
	Headers headers         `json:"headers"`
	Body    json.RawMessage `json:"body,omitempty"`
	ErrCode *int            `json:"errcode,omitempty"`
	ErrMsg  string          `json:"errmsg,omitempty"`
}

type headers struct {
	ReqID string `json:"req_id"`
}

// User names the person behind a callback.
type User struct {
	UserID string `json:"userid"`
}

// Content is the typed part of a message: the object named by MsgType is set.
// Quotes and mixed items reuse it.
type Content struct {
	MsgType string       `json:"msgtype"`
	Text    *TextContent `json:"text,omitempty"`
	Voice   *TextContent `json:"voice,omitempty"` // WeCom transcribes voice before delivery
	Image   *Media       `json:"image,omitempty"`
	File    *Media       `json:"file,omitempty"`
	Video   *Media       `json:"video,omitempty"`
	Mixed   *Mixed       `json:"mixed,omitempty"`
	Stream  *StreamBody  `json:"stream,omitempty"`
}

// TextContent is the text (or transcribed voice) of a message.
type TextContent struct {
	Content string `json:"content"`
}

// Media is an encrypted download: URL is valid for a few minutes and the
// bytes it returns decrypt with DecryptMedia(data, AESKey).
type Media struct {
	URL    string `json:"url"`
	AESKey string `json:"aeskey,omitempty"`
}

// Mixed is a message of text and images in order.
type Mixed struct {
	Items []Content `json:"msg_item"`
}

// Message is one aibot_msg_callback.
type Message struct {
	ReqID    string `json:"-"` // answer with Respond(ctx, ReqID, …)
	MsgID    string `json:"msgid"`
	AIBotID  string `json:"aibotid"`
	ChatType string `json:"chattype"`
	ChatID   string `json:"chatid,omitempty"` // groups only
	From     User   `json:"from"`
	Content
	Quote *Content `json:"quote,omitempty"`
}

// IsGroup reports whether the message came from a group chat.
func (m Message) IsGroup() bool { return m.ChatType == ChatGroup }

// PlainText returns the words of the message: text content, the transcription
// of a voice message, or the text items of a mixed message joined by new
// lines; "" for images and files.
func (m Message) PlainText() string {
	switch {
	case m.Content.Text != nil:
		return m.Content.Text.Content
	case m.Voice != nil:
		return m.Voice.Content
	case m.Mixed != nil:
		var parts []string
		for _, it := range m.Mixed.Items {
			if it.Text != nil && it.Text.Content != "" {
				parts = append(parts, it.Text.Content)
			}
		}
		return strings.Join(parts, "\n")
	}
	return ""
}

// CommandText is PlainText with the leading @-mention of the robot removed in
// group chats ("@运维助手 收费系统又卡了" → "收费系统又卡了"). WeCom puts the
// mention first; the robot's display name is not in the callback, so the
// first word after "@" is dropped, whatever it is.
func (m Message) CommandText() string {
	t := m.PlainText()
	if !m.IsGroup() {
		return strings.TrimSpace(t)
	}
	return StripMention(t)
}

// StripMention removes leading @-mentions (up to the first space, full-width
// space or line break after each) and the space after them.
func StripMention(s string) string {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	for strings.HasPrefix(s, "@") || strings.HasPrefix(s, "＠") {
		i := strings.IndexFunc(s, unicode.IsSpace)
		if i < 0 {
			return ""
		}
		s = strings.TrimLeftFunc(s[i:], unicode.IsSpace)
	}
	return strings.TrimRightFunc(s, unicode.IsSpace)
}

// Event is one aibot_event_callback.
type Event struct {
	ReqID      string `json:"-"` // answer with RespondWelcome or UpdateCard
	MsgID      string `json:"msgid"`
	AIBotID    string `json:"aibotid"`
	ChatType   string `json:"chattype,omitempty"`
	ChatID     string `json:"chatid,omitempty"`
	From       User   `json:"from"`
	CreateTime int64  `json:"create_time,omitempty"`
	Event      struct {
		Type         string             `json:"eventtype"`
		TemplateCard *TemplateCardEvent `json:"template_card_event,omitempty"`
		Feedback     *FeedbackEvent     `json:"feedback_event,omitempty"`
	} `json:"event"`
}

// Type is the event type, one of the Event* constants.
func (e Event) Type() string { return e.Event.Type }

// Card returns the card click of a template_card_event, or nil.
func (e Event) Card() *TemplateCardEvent { return e.Event.TemplateCard }

// TemplateCardEvent is a click on a template card: update the card within
// 5 s with UpdateCard(ctx, event.ReqID, card) keeping TaskID.
type TemplateCardEvent struct {
	CardType      string `json:"card_type"`
	EventKey      string `json:"event_key"`
	TaskID        string `json:"task_id"`
	SelectedItems struct {
		Items []SelectedItem `json:"selected_item"`
	} `json:"selected_items"`
}

// SelectedItem is one answered question of a vote or multiple-choice card.
type SelectedItem struct {
	QuestionKey string `json:"question_key"`
	OptionIDs   struct {
		IDs []string `json:"option_id"`
	} `json:"option_ids"`
}

// Selected returns the option ids chosen for questionKey.
func (c *TemplateCardEvent) Selected(questionKey string) []string {
	for _, it := range c.SelectedItems.Items {
		if it.QuestionKey == questionKey {
			return it.OptionIDs.IDs
		}
	}
	return nil
}

// FeedbackEvent is a thumbs up/down on a reply that carried a feedback id.
type FeedbackEvent struct {
	ID      string `json:"id"`
	Type    int    `json:"type"`
	Content string `json:"content,omitempty"`
}

// Body is what Respond, RespondWelcome and Send carry; build it with Text,
// Markdown, Stream or Card.
type Body struct {
	MsgType      string       `json:"msgtype"`
	Text         *TextContent `json:"text,omitempty"`
	Markdown     *TextContent `json:"markdown,omitempty"`
	Stream       *StreamBody  `json:"stream,omitempty"`
	TemplateCard TemplateCard `json:"template_card,omitempty"`
}

// StreamBody is one frame of a streamed reply: frames with the same ID
// replace the shown text until one has Finish.
type StreamBody struct {
	ID      string `json:"id"`
	Finish  bool   `json:"finish"`
	Content string `json:"content,omitempty"`
}

// TemplateCard is a template card as WeCom documents it (card_type,
// main_title, button_list, task_id, …), passed through as JSON.
type TemplateCard map[string]any

// Text builds a plain-text body.
func Text(content string) Body {
	return Body{MsgType: "text", Text: &TextContent{Content: content}}
}

// Markdown builds a markdown body.
func Markdown(content string) Body {
	return Body{MsgType: "markdown", Markdown: &TextContent{Content: content}}
}

// Stream builds one frame of a streamed reply.
func Stream(id, content string, finish bool) Body {
	return Body{MsgType: "stream", Stream: &StreamBody{ID: id, Finish: finish, Content: content}}
}

// Card builds a template-card body.
func Card(card TemplateCard) Body {
	return Body{MsgType: "template_card", TemplateCard: card}
}

// sendBody is the aibot_send_msg body: a Body addressed to a chat.
type sendBody struct {
	ChatID string `json:"chatid"`
	Body
}

// updateBody is the aibot_respond_update_msg body.
type updateBody struct {
	ResponseType string       `json:"response_type"`
	TemplateCard TemplateCard `json:"template_card"`
}
