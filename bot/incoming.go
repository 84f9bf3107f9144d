package bot

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Incoming is one decrypted callback: a message a user typed or an event
// such as a card button click.
type Incoming struct {
	// Key identifies the callback across WeCom's retries: msg:<MsgId> for
	// messages, evt:<FromUserName>:<CreateTime>:<Event>:<EventKey>:<TaskId>
	// for events (events carry no MsgId).
	Key string
	// User is the sender's userid (FromUserName).
	User string
	// AgentID is the app the callback was addressed to.
	AgentID int
	// CreateTime is when WeCom created the message, to the second.
	CreateTime time.Time
	// Type is the raw MsgType: text, event, image, voice, location, …
	Type string
	// Text is the content of a text message, untrimmed.
	Text string
	// Event names the event for Type event: template_card_event, enter_agent, …
	Event string
	// EventKey is the clicked button's key or the menu key.
	EventKey string
	// TaskID is the task_id of the template card that was clicked.
	TaskID string
	// CardType is the clicked card's type, e.g. button_interaction.
	CardType string
	// ResponseCode lets the app update the clicked card once, within 72 h.
	ResponseCode string
	// Selected lists the option ids chosen in the card's SelectedItems.
	Selected []string
	// MsgID is WeCom's message id; empty for events.
	MsgID string
	// MediaID is the temporary media of an image, voice, video or file
	// message (media/get fetches it, for three days); PicURL an image's
	// link, Format a voice's codec (amr, speex), ThumbMediaID a video's
	// thumbnail.
	MediaID, PicURL, Format, ThumbMediaID string
	// Channel is how the message arrived: "" for the app callback (and
	// rows stored before the robot existed) or ChannelRobot.
	Channel string `json:",omitempty"`
	// ChatID is the group chat a robot message was sent in; "" one-to-one.
	ChatID string `json:",omitempty"`
	// ReqID is the robot callback's req_id: a reply inside WeCom's window
	// answers it (aibot_respond_msg; a card update for a click).
	ReqID string `json:",omitempty"`
	// MediaURL and MediaAESKey are the image or file of a robot message: an
	// encrypted download valid for a few minutes (aibot.DecryptMedia); its
	// MediaID stands for both, for the attachment store (RobotMedia).
	MediaURL    string `json:",omitempty"`
	MediaAESKey string `json:",omitempty"`
}

// ChannelRobot marks a message that came through the smart robot.
const ChannelRobot = "robot"

// IsRobot reports whether the message came through the smart robot.
func (m Incoming) IsRobot() bool { return m.Channel == ChannelRobot }

// InGroup reports whether the message was sent in a group chat.
func (m Incoming) InGroup() bool { return m.ChatID != "" }

// Message types and events opsbot looks at.
const (
	TypeText              = "text"
	TypeEvent             = "event"
	EventTemplateCard     = "template_card_event"
	EventEnterAgent       = "enter_agent"
	CardButtonInteraction = "button_interaction"
)

// rawIncoming mirrors the decrypted XML; WeCom wraps strings in CDATA, which
// encoding/xml reads as ordinary character data.
type rawIncoming struct {
	ToUserName    string `xml:"ToUserName"`
	FromUserName  string `xml:"FromUserName"`
	CreateTime    string `xml:"CreateTime"`
	MsgType       string `xml:"MsgType"`
	Content       string `xml:"Content"`
	MsgID         string `xml:"MsgId"`
	AgentID       string `xml:"AgentID"`
	Event         string `xml:"Event"`
	EventKey      string `xml:"EventKey"`
	TaskID        string `xml:"TaskId"`
	CardType      string `xml:"CardType"`
	ResponseCode  string `xml:"ResponseCode"`
	MediaID       string `xml:"MediaId"`
	PicURL        string `xml:"PicUrl"`
	Format        string `xml:"Format"`
	ThumbMediaID  string `xml:"ThumbMediaId"`
	SelectedItems struct {
		Items []struct {
			QuestionKey string   `xml:"QuestionKey"`
			OptionIDs   []string `xml:"OptionIds>OptionId"`
		} `xml:"SelectedItem"`
	} `xml:"SelectedItems"`
}

// ParseIncoming reads a decrypted callback; errors wrap ErrMalformed.
func ParseIncoming(data []byte) (Incoming, error) {
	raw, ok := flatIncoming(data)
	if !ok {
		if err := xml.Unmarshal(data, &raw); err != nil {
			return Incoming{}, fmt.Errorf("%w: message: %v", ErrMalformed, err)
		}
	}
	in := Incoming{
		User:         strings.TrimSpace(raw.FromUserName),
		Type:         strings.TrimSpace(raw.MsgType),
		Text:         raw.Content,
		Event:        strings.TrimSpace(raw.Event),
		EventKey:     raw.EventKey,
		TaskID:       raw.TaskID,
		CardType:     strings.TrimSpace(raw.CardType),
		ResponseCode: raw.ResponseCode,
		MsgID:        strings.TrimSpace(raw.MsgID),
		MediaID:      strings.TrimSpace(raw.MediaID),
		PicURL:       strings.TrimSpace(raw.PicURL),
		Format:       strings.TrimSpace(raw.Format),
		ThumbMediaID: strings.TrimSpace(raw.ThumbMediaID),
	}
	if in.User == "" || in.Type == "" {
		return Incoming{}, fmt.Errorf("%w: message without FromUserName or MsgType", ErrMalformed)
	}
	created := strings.TrimSpace(raw.CreateTime)
	sec, err := strconv.ParseInt(created, 10, 64)
	if err != nil {
		return Incoming{}, fmt.Errorf("%w: CreateTime %q", ErrMalformed, created)
	}
	in.CreateTime = time.Unix(sec, 0)
	if a := strings.TrimSpace(raw.AgentID); a != "" {
		if in.AgentID, err = strconv.Atoi(a); err != nil {
			return Incoming{}, fmt.Errorf("%w: AgentID %q", ErrMalformed, a)
		}
	}
	for _, item := range raw.SelectedItems.Items {
		for _, id := range item.OptionIDs {
			if id = strings.TrimSpace(id); id != "" {
				in.Selected = append(in.Selected, id)
			}
		}
	}
	if in.MsgID != "" {
		in.Key = "msg:" + in.MsgID
	} else {
		// Events have no MsgId; WeCom documents FromUserName + CreateTime as
		// their identity, and a card click adds the button and task so two
		// clicks within one second on different cards stay apart. A message
		// without MsgId (never seen) falls back to the same scheme with its
		// MsgType instead of the event name.
		name := in.Event
		if in.Type != TypeEvent {
			name = in.Type
		}
		in.Key = "evt:" + in.User + ":" + created + ":" + name + ":" + in.EventKey + ":" + in.TaskID
	}
	return in, nil
}

// flatIncoming reads a flat message through flatFields; ok is false when
// encoding/xml must read it.
func flatIncoming(data []byte) (raw rawIncoming, ok bool) {
	fields, ok := flatFields(data)
	if !ok {
		return raw, false
	}
	for _, f := range fields {
		switch f.name {
		case "ToUserName":
			raw.ToUserName = f.value
		case "FromUserName":
			raw.FromUserName = f.value
		case "CreateTime":
			raw.CreateTime = f.value
		case "MsgType":
			raw.MsgType = f.value
		case "Content":
			raw.Content = f.value
		case "MsgId":
			raw.MsgID = f.value
		case "AgentID":
			raw.AgentID = f.value
		case "Event":
			raw.Event = f.value
		case "EventKey":
			raw.EventKey = f.value
		case "TaskId":
			raw.TaskID = f.value
		case "CardType":
			raw.CardType = f.value
		case "ResponseCode":
			raw.ResponseCode = f.value
		case "MediaId":
			raw.MediaID = f.value
		case "PicUrl":
			raw.PicURL = f.value
		case "Format":
			raw.Format = f.value
		case "ThumbMediaId":
			raw.ThumbMediaID = f.value
		case "SelectedItems":
			return raw, false // nested; never flat, but be sure
		}
	}
	return raw, true
}
