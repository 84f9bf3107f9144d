package models

import (
	"context"
	"fmt"
	"sort"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// OpsGroup is the recipient that stands for the operations group chat.
const OpsGroup = "@ops"

// RobotPrefix marks a recipient reached through the smart robot only:
// "robot:<chatid>", a userid for its one-to-one chat or a group chat id.
const RobotPrefix = "robot:"

// PhonePrefix marks a recipient that is a phone number for the SMS/phone
// gateway rather than a WeCom user.
const PhonePrefix = "phone:"

// OutboxStatus is where a message stands in delivery.
type OutboxStatus string

// Outbox statuses.
const (
	OutboxPending OutboxStatus = "pending"
	OutboxSent    OutboxStatus = "sent"
	OutboxFailed  OutboxStatus = "failed"
)

// Card is a message with buttons (confirmation, rating); the WeCom edge turns
// it into a template_card. A click comes back with the button's Key.
type Card struct {
	TaskID  string       `json:"task_id"`
	Title   string       `json:"title"`
	Desc    string       `json:"desc,omitempty"`
	Fields  []CardField  `json:"fields,omitempty"`
	Buttons []CardButton `json:"buttons"`
}

// CardField is one "key: value" line of a card.
type CardField struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// CardButton is one button; Style 1 is the highlighted one.
type CardButton struct {
	Key   string `json:"key"`
	Text  string `json:"text"`
	Style int    `json:"style,omitempty"`
}

// OutboxMessage is one message opsbot owes someone, written in the
// transaction of the change that caused it and delivered later.
type OutboxMessage struct {
	ID int64 `gorm:"primaryKey"`
	// Key makes a message idempotent: a re-run enqueue with the same key
	// adds nothing, and delivery marks the key once.
	Key       string `gorm:"column:msg_key"`
	Recipient string
	MsgType   string
	Content   string
	Card      *Card `gorm:"serializer:json"`
	TicketID  *int64
	// FileID is the stored file of a file message.
	FileID       *int64
	Status       OutboxStatus
	Attempts     int
	NextAttempt  time.Time `gorm:"column:next_attempt_at"`
	LastError    string
	ResponseCode string
	CreatedAt    time.Time
	SentAt       *time.Time
}

// TableName is the outbox table.
func (OutboxMessage) TableName() string { return "outbox" }

// MsgFile is the outbox type of a stored file sent as a file message.
const MsgFile = "file"

// MsgCardUpdate is the outbox type that marks a clicked card as done
// (update_template_card): Content is the new button text.
const MsgCardUpdate = "card_update"

// CardUpdate changes a clicked card: its buttons become Label, or, when
// Card is set, the whole card is replaced (a confirmation card turning
// into the rating card).
type CardUpdate struct {
	// ResponseCode comes with the click; WeCom accepts it once, for 72 h.
	ResponseCode string
	Label        string
	Card         *Card
}

// Message is what a handler or job asks to send.
type Message struct {
	To       string // a userid, OpsGroup, RobotPrefix+chatid or PhonePrefix+number
	Text     string
	Markdown bool
	Card     *Card
	// CardUpdate marks a clicked card done instead of sending a message.
	CardUpdate *CardUpdate
	// FileID sends a stored file (File) instead of a text; Text, when set,
	// goes first as its caption.
	FileID   int64
	TicketID int64
	// Key identifies the message for idempotency; it must be the same when
	// the same cause is processed again.
	Key string
	// ReplyTo, for a reply to a smart-robot message, is the callback it
	// answers (bot.RobotRef): the robot answers it while WeCom allows,
	// else pushes a new message. Kept in the row's response code.
	ReplyTo string
}

// SendSupervisors sends m to every active supervisor except skip (who
// caused it and knows already; "" skips no one), each copy keyed
// keyPrefix + ":" + the supervisor's userid.
func (tx *Tx) SendSupervisors(m Message, keyPrefix, skip string) error {
	sups, err := tx.ListStaff(RoleSupervisor)
	if err != nil {
		return err
	}
	for _, s := range sups {
		if s.UserID == skip {
			continue
		}
		m.To, m.Key = s.UserID, keyPrefix+":"+s.UserID
		if err := tx.Send(m); err != nil {
			return err
		}
	}
	return nil
}

// Send queues m in the outbox within the transaction. A message whose key is
// already queued is not queued twice.
func (tx *Tx) Send(m Message) error {
	if m.To == "" || m.Key == "" {
		return fmt.Errorf("store: send: message needs a recipient and a key")
	}
	row := OutboxMessage{
		Key: fitKey(m.Key), Recipient: m.To, MsgType: "text", Content: m.Text,
		Status: OutboxPending, NextAttempt: tx.now, CreatedAt: tx.now,
	}
	switch {
	case m.CardUpdate != nil:
		row.MsgType, row.Content, row.ResponseCode, row.Card = MsgCardUpdate, m.CardUpdate.Label, m.CardUpdate.ResponseCode, m.CardUpdate.Card
	case m.Card != nil:
		row.MsgType, row.Card = "template_card", m.Card
	case m.FileID != 0:
		id := m.FileID
		row.MsgType, row.FileID = MsgFile, &id
	case m.Markdown:
		row.MsgType = "markdown"
	}
	if m.ReplyTo != "" && m.CardUpdate == nil {
		row.ResponseCode = m.ReplyTo
	}
	if m.TicketID != 0 {
		id := m.TicketID
		row.TicketID = &id
	}
	if tx.b != nil {
		tx.b.sends = append(tx.b.sends, held[OutboxMessage]{row: row, owner: tx.sp})
		return nil
	}
	err := tx.db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "msg_key"}}, DoNothing: true}).Create(&row).Error
	return wrap("send", err)
}

// MarkSent records a delivered message, with the response code an
// interactive card answers with.
func (s *Store) MarkSent(ctx context.Context, id int64, responseCode string) error {
	now := s.now().UTC()
	return wrap("mark sent", s.db.WithContext(ctx).Model(&OutboxMessage{}).Where("id = ?", id).
		Updates(map[string]any{"status": OutboxSent, "sent_at": now, "response_code": responseCode, "last_error": ""}).Error)
}

// MarkSentBatch records delivered messages that carry no response code
// (the texts of one recipient merged into one message).
func (s *Store) MarkSentBatch(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	now := s.now().UTC()
	return wrap("mark sent", s.db.WithContext(ctx).Model(&OutboxMessage{}).Where("id IN ?", ids).
		Updates(map[string]any{"status": OutboxSent, "sent_at": now, "last_error": ""}).Error)
}

// RetryOutbox counts a failed attempt and schedules the next at at.
func (s *Store) RetryOutbox(ctx context.Context, id int64, at time.Time, reason string) error {
	return wrap("retry outbox", s.db.WithContext(ctx).Model(&OutboxMessage{}).Where("id = ?", id).
		Updates(map[string]any{"next_attempt_at": at.UTC(), "last_error": reason, "attempts": gorm.Expr("attempts + 1")}).Error)
}

// FailOutbox counts the last attempt and gives the message up.
func (s *Store) FailOutbox(ctx context.Context, id int64, reason string) error {
	return wrap("fail outbox", s.db.WithContext(ctx).Model(&OutboxMessage{}).Where("id = ?", id).
		Updates(map[string]any{"status": OutboxFailed, "last_error": reason, "attempts": gorm.Expr("attempts + 1")}).Error)
}

// OutboxCounts counts messages by status, for metrics and /readyz.
func (s *Store) OutboxCounts(ctx context.Context) (map[OutboxStatus]int64, error) {
	var rows []struct {
		Status OutboxStatus
		N      int64
	}
	err := s.db.WithContext(ctx).Model(&OutboxMessage{}).Select("status, COUNT(*) AS n").Group("status").Scan(&rows).Error
	out := map[OutboxStatus]int64{}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, wrap("outbox counts", err)
}

// LeaseDue takes up to limit due messages for one attempt each, in a short
// transaction of its own: their next attempt moves to now+lease, so no
// other sender (another replica) takes them meanwhile, and if this sender
// dies mid-send they come due again when the lease ends. The sender then
// calls WeCom outside any transaction and records each outcome with its
// own short write (MarkSent, Postpone, RetryOutbox, FailOutbox), so a crash
// repeats at most the sends in flight (docs/wecom.md). Attempts counts
// failures only.
func (s *Store) LeaseDue(ctx context.Context, limit int, lease time.Duration) ([]OutboxMessage, error) {
	return s.LeaseDueFor(ctx, limit, lease, "")
}

// LeaseDueFor is LeaseDue restricted to messages whose key contains
// keyPart ("" for all): the terminal chat on a production database takes
// only the messages its own lines caused.
func (s *Store) LeaseDueFor(ctx context.Context, limit int, lease time.Duration, keyPart string) ([]OutboxMessage, error) {
	now := s.now().UTC()
	match, args := "", []any{now.Add(lease), OutboxPending, now}
	if keyPart != "" {
		match = " AND msg_key LIKE ?"
		args = append(args, "%"+keyPart+"%")
	}
	args = append(args, limit)
	var out []OutboxMessage
	err := s.db.WithContext(ctx).Transaction(func(g *gorm.DB) error {
		lock := ""
		if s.driver == "postgres" {
			// Replicas skip each other's rows instead of waiting. The index
			// is walked in order, not read as a bitmap: every sent row
			// leaves a dead entry in the index of pending rows until
			// vacuum, and a bitmap scan visits all of them on every lease
			// (9 ms per lease after 20,000 replies; 0.4 ms walked).
			lock = " FOR UPDATE SKIP LOCKED"
			if err := g.Exec(`SET LOCAL enable_bitmapscan = off`).Error; err != nil {
				return err
			}
		}
		return g.Raw(`UPDATE outbox SET next_attempt_at = ?
WHERE id IN (SELECT id FROM outbox WHERE status = ? AND next_attempt_at <= ?`+match+` ORDER BY next_attempt_at, id LIMIT ?`+lock+`)
RETURNING *`, args...).Scan(&out).Error
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, wrap("lease outbox", err)
}

// Postpone gives leased messages back for a later attempt: they wait for
// the recipient's rate window, they did not fail.
func (s *Store) Postpone(ctx context.Context, ids []int64, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	return wrap("postpone outbox", s.db.WithContext(ctx).Model(&OutboxMessage{}).Where("id IN ?", ids).
		Update("next_attempt_at", at.UTC()).Error)
}

// PurgeOutbox deletes up to limit sent or failed messages created before
// before, oldest first, and reports how many went. Pending ones stay.
func (s *Store) PurgeOutbox(ctx context.Context, before time.Time, limit int) (int64, error) {
	res := s.db.WithContext(ctx).Exec(`DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE status <> ? AND created_at < ? ORDER BY id LIMIT ?)`, OutboxPending, before.UTC(), limit)
	return res.RowsAffected, wrap("purge outbox", res.Error)
}

// OutboxByKey returns one queued message by its key. Tests of the sender
// and the handlers read delivery state through it.
func (s *Store) OutboxByKey(ctx context.Context, key string) (OutboxMessage, error) {
	var m OutboxMessage
	err := s.db.WithContext(ctx).Take(&m, "msg_key = ?", fitKey(key)).Error
	return m, wrap("outbox", err)
}
