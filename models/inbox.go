package models

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// InboxMessage is a message accepted from WeCom (or the terminal chat),
// stored before it is answered so that a crash never loses it.
type InboxMessage struct {
	ID          int64  `gorm:"primaryKey"`
	Key         string `gorm:"column:msg_key"`
	User        string `gorm:"column:wecom_user"`
	MsgType     string
	Payload     string
	ReceivedAt  time.Time
	ProcessedAt *time.Time
	LeaseUntil  *time.Time
	Attempts    int
	LastError   string
}

// TableName is the inbox table.
func (InboxMessage) TableName() string { return "inbox" }

// InboxItem is one message to store.
type InboxItem struct {
	Key, User, MsgType string
	Payload            []byte
}

// AcceptInbox stores messages in one transaction and reports, for each,
// whether its key was already stored (a WeCom retry). The unique key is
// what makes a duplicate harmless even when Redis is down.
func (s *Store) AcceptInbox(ctx context.Context, items []InboxItem) (dup []bool, err error) {
	dup = make([]bool, len(items))
	now := s.now().UTC()
	err = s.db.WithContext(ctx).Transaction(func(g *gorm.DB) error {
		for i, it := range items {
			row := InboxMessage{Key: fitKey(it.Key), User: it.User, MsgType: it.MsgType, Payload: string(it.Payload), ReceivedAt: now}
			res := g.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "msg_key"}}, DoNothing: true}).Create(&row)
			if res.Error != nil {
				return res.Error
			}
			dup[i] = res.RowsAffected == 0
		}
		return nil
	})
	return dup, wrap("accept inbox", err)
}

// ClaimInbox marks the message processed inside the transaction that
// carries its effects, and reports false when it was processed already.
// The row lock it takes makes a second processor wait and then see it done,
// so each message has its effect once.
func (tx *Tx) ClaimInbox(key string) (bool, error) {
	res := tx.db.Model(&InboxMessage{}).Where("msg_key = ? AND processed_at IS NULL", fitKey(key)).
		Update("processed_at", tx.now)
	return res.RowsAffected == 1, wrap("claim inbox", res.Error)
}

// FailInbox records a failed processing attempt; the message is tried
// again after delay(attempts).
func (s *Store) FailInbox(ctx context.Context, key string, reason string, delay func(attempts int) time.Duration) (attempts int, err error) {
	now := s.now().UTC()
	err = s.db.WithContext(ctx).Transaction(func(g *gorm.DB) error {
		var m InboxMessage
		key = fitKey(key)
		if err := g.Select("attempts").Take(&m, "msg_key = ?", key).Error; err != nil {
			return err
		}
		attempts = m.Attempts + 1
		return g.Model(&InboxMessage{}).Where("msg_key = ? AND processed_at IS NULL", key).
			Updates(map[string]any{"attempts": attempts, "last_error": reason, "lease_until": now.Add(delay(attempts))}).Error
	})
	return attempts, wrap("fail inbox", err)
}

// PendingInbox returns unprocessed messages received before before whose
// retry time has come, oldest first: what a restart must still process.
func (s *Store) PendingInbox(ctx context.Context, before time.Time, limit int) ([]InboxMessage, error) {
	now := s.now().UTC()
	var out []InboxMessage
	err := s.db.WithContext(ctx).Where("processed_at IS NULL AND received_at < ? AND (lease_until IS NULL OR lease_until <= ?)", before.UTC(), now).
		Order("id").Limit(limit).Find(&out).Error
	return out, wrap("pending inbox", err)
}

// InboxByKey returns one stored message.
func (s *Store) InboxByKey(ctx context.Context, key string) (InboxMessage, error) {
	var m InboxMessage
	err := s.db.WithContext(ctx).Take(&m, "msg_key = ?", fitKey(key)).Error
	return m, wrap("inbox", err)
}
