package bot

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"opsbot/bot/aibot"
	"opsbot/kv"
)

// RobotReceiverConfig wires the smart robot's callbacks into the same
// pipeline as the app callback: durable inbox, dedupe, then the queue.
type RobotReceiverConfig struct {
	Inbox Inbox
	// Dedupe skips a callback seen before without touching the database;
	// nil leaves deduplication to the Inbox's unique key alone.
	Dedupe    kv.Store
	DedupeTTL time.Duration // default 24h
	Now       func() time.Time
	Metrics   *Metrics
	Log       *slog.Logger
	// OnAccepted is called once per new message after the Inbox stored it;
	// it must only enqueue.
	OnAccepted func(Incoming)
	// Welcome answers enter_chat within its 5 s window (not through the
	// outbox: a welcome that comes late is noise); nil stays silent.
	Welcome func(ctx context.Context, reqID string) error
}

// RobotReceiver turns aibot callbacks into Incoming messages; it
// implements aibot.Handler.
type RobotReceiver struct {
	rc  *receiver
	cfg RobotReceiverConfig
	// groups are the group chats seen, each logged once: the log is where
	// an admin finds the chat id to set as the ops group.
	groups sync.Map
}

// NewRobotReceiver returns the handler of the robot's callbacks; it panics
// without an Inbox, which is a wiring mistake.
func NewRobotReceiver(cfg RobotReceiverConfig) *RobotReceiver {
	if cfg.Inbox == nil {
		panic("bot: NewRobotReceiver needs an Inbox")
	}
	if cfg.DedupeTTL <= 0 {
		cfg.DedupeTTL = DefaultDedupeTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	rc := &receiver{cfg: ReceiverConfig{Inbox: cfg.Inbox, Dedupe: cfg.Dedupe, DedupeTTL: cfg.DedupeTTL, Now: cfg.Now, Metrics: cfg.Metrics, Log: cfg.Log}}
	return &RobotReceiver{rc: rc, cfg: cfg}
}

// HandleMessage implements aibot.Handler: the message is stored in the
// inbox before anything else happens to it, and a copy (same msgid) is
// skipped.
func (r *RobotReceiver) HandleMessage(ctx context.Context, m aibot.Message) error {
	in, ok := RobotMessage(m, r.cfg.Now())
	if !ok {
		r.cfg.Log.Warn("aibot: message type skipped", "msgtype", m.MsgType, "wecom_user", m.From.UserID)
		return nil
	}
	if in.ChatID != "" {
		if _, seen := r.groups.LoadOrStore(in.ChatID, true); !seen {
			r.cfg.Log.Info("aibot: message from a group chat", "chat_id", in.ChatID, "wecom_user", in.User)
		}
	}
	return r.accept(ctx, in)
}

// HandleEvent implements aibot.Handler: card clicks go into the pipeline,
// enter_chat is answered at once, the rest is logged.
func (r *RobotReceiver) HandleEvent(ctx context.Context, e aibot.Event) error {
	switch e.Type() {
	case aibot.EventEnterChat:
		if r.cfg.Welcome == nil {
			return nil
		}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := r.cfg.Welcome(wctx, e.ReqID); err != nil {
			return fmt.Errorf("bot: robot welcome: %w", err)
		}
		return nil
	case aibot.EventTemplateCard:
		in, ok := RobotCardClick(e, r.cfg.Now())
		if !ok {
			r.cfg.Log.Warn("aibot: card click without card", "wecom_user", e.From.UserID)
			return nil
		}
		return r.accept(ctx, in)
	case aibot.EventDisconnected:
		// The client stops the connection itself; this only leaves a trace.
		r.cfg.Log.Warn("aibot: connection replaced by another (disconnected_event)")
		return nil
	}
	return nil
}

// accept stores in durably and dedupes it, as the callback receiver does,
// then hands it to the queue.
func (r *RobotReceiver) accept(ctx context.Context, in Incoming) error {
	// The store outlives a handler context cut short by shutdown: a
	// callback WeCom will not send again must reach the inbox.
	//
	// WeCom does not send a callback again over the long connection, so a
	// failed store is tried again here, a few times over about 15 s (the
	// callbacks behind it wait: they would fail the same way).
	var res string
	var err error
	for attempt := 0; ; attempt++ {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
		res, err = r.rc.store(sctx, in)
		cancel()
		if err == nil {
			break
		}
		if attempt >= len(robotStoreRetries) || !sleepCtx(ctx, robotStoreRetries[attempt]) {
			r.cfg.Metrics.callback(resultFailed)
			r.cfg.Log.Error("aibot inbox accept failed; callback lost", "msg_key", in.Key, "wecom_user", in.User, "err", err)
			return fmt.Errorf("bot: robot inbox: %w", err)
		}
		r.cfg.Log.Warn("aibot inbox accept failed; trying again", "msg_key", in.Key, "attempt", attempt+1, "err", err)
	}
	r.cfg.Metrics.callback(res)
	if res == resultDuplicate {
		r.cfg.Log.Debug("aibot duplicate callback", "msg_key", in.Key, "wecom_user", in.User)
		return nil
	}
	if r.cfg.OnAccepted != nil {
		r.cfg.OnAccepted(in)
	}
	return nil
}

// robotStoreRetries are the waits between tries to store a callback.
var robotStoreRetries = []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}

// sleepCtx waits d unless ctx ends first; it reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// RobotMessage turns a message callback into an Incoming received at now:
// text and voice (transcribed by WeCom) become text without the group's
// @-mention; images and files keep their download; a mixed message is
// text when it has words, with its first image attached. ok is false for
// a type opsbot does not read.
func RobotMessage(m aibot.Message, now time.Time) (Incoming, bool) {
	in := Incoming{
		Key: "aibot:" + m.MsgID, User: m.From.UserID, CreateTime: now, MsgID: m.MsgID,
		Channel: ChannelRobot, ReqID: m.ReqID,
	}
	if m.MsgID == "" {
		in.Key = "aibot:req:" + m.ReqID // never seen; the req_id is unique too
	}
	if m.IsGroup() {
		in.ChatID = m.ChatID
	}
	media := func(t string, md *aibot.Media) {
		in.Type = t
		if md != nil {
			in.MediaURL, in.MediaAESKey = md.URL, md.AESKey
		}
	}
	switch m.MsgType {
	case "text", "voice":
		in.Type, in.Text = TypeText, m.CommandText()
	case "image":
		media("image", m.Image)
	case "file":
		media("file", m.File)
	case "video":
		media("video", m.Video)
	case "mixed":
		in.Type = "image"
		if m.Mixed != nil {
			for _, it := range m.Mixed.Items {
				if it.Image != nil && in.MediaURL == "" {
					in.MediaURL, in.MediaAESKey = it.Image.URL, it.Image.AESKey
				}
			}
		}
		if t := m.CommandText(); t != "" {
			in.Type, in.Text = TypeText, t
		}
	default:
		return Incoming{}, false
	}
	if in.User == "" {
		return Incoming{}, false
	}
	// The attachment store fetches media by id (RobotMedia reads it).
	in.MediaID = robotMediaID(in.MediaURL, in.MediaAESKey)
	return in, true
}

// RobotCardClick turns a template_card_event into an Incoming card event.
// Its ResponseCode is a RobotRef: the outbox answers a card update
// through aibot_respond_update_msg while WeCom's 5 s window is open.
func RobotCardClick(e aibot.Event, now time.Time) (Incoming, bool) {
	card := e.Card()
	if card == nil || e.From.UserID == "" {
		return Incoming{}, false
	}
	in := Incoming{
		Key: "aibot:" + e.MsgID, User: e.From.UserID, CreateTime: now, MsgID: e.MsgID,
		Type: TypeEvent, Event: EventTemplateCard, EventKey: card.EventKey, TaskID: card.TaskID, CardType: card.CardType,
		Channel: ChannelRobot, ReqID: e.ReqID,
		ResponseCode: RobotRef{ReqID: e.ReqID, At: now, TaskID: card.TaskID}.String(),
	}
	if e.MsgID == "" {
		in.Key = "aibot:req:" + e.ReqID
	}
	if e.ChatType == aibot.ChatGroup {
		in.ChatID = e.ChatID
	}
	for _, it := range card.SelectedItems.Items {
		in.Selected = append(in.Selected, it.OptionIDs.IDs...)
	}
	return in, true
}

// RobotRef is what a reply needs to answer a robot callback instead of
// pushing a new message: the callback's req_id, when it arrived (WeCom
// accepts answers only for a while) and, for a card click, the card's
// task id. It travels in the outbox row's response code.
type RobotRef struct {
	ReqID  string
	At     time.Time
	TaskID string
}

// robotRefPrefix marks a response code that is a RobotRef.
const robotRefPrefix = "aibot:"

// String encodes the reference as "aibot:<unix ms>:<req_id>[ <task_id>]".
func (r RobotRef) String() string {
	s := robotRefPrefix + strconv.FormatInt(r.At.UnixMilli(), 10) + ":" + r.ReqID
	if r.TaskID != "" {
		s += " " + r.TaskID
	}
	return s
}

// ParseRobotRef reads a response code written by RobotRef.String; ok is
// false for anything else (an app card's response code).
func ParseRobotRef(s string) (RobotRef, bool) {
	rest, ok := strings.CutPrefix(s, robotRefPrefix)
	if !ok {
		return RobotRef{}, false
	}
	ms, rest, ok := strings.Cut(rest, ":")
	if !ok {
		return RobotRef{}, false
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return RobotRef{}, false
	}
	req, task, _ := strings.Cut(rest, " ")
	if req == "" {
		return RobotRef{}, false
	}
	return RobotRef{ReqID: req, At: time.UnixMilli(n), TaskID: task}, true
}

// IsRobotRef reports whether a response code is a RobotRef.
func IsRobotRef(s string) bool { return strings.HasPrefix(s, robotRefPrefix) }
