package models

import (
	"context"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"
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

// AcceptInbox stores messages in one statement and reports, for each,
// whether its key was already stored (a WeCom retry). The unique key is
// what makes a duplicate harmless even when Redis is down.
func (s *Store) AcceptInbox(ctx context.Context, items []InboxItem) (dup []bool, err error) {
	dup = make([]bool, len(items))
	if len(items) == 0 {
		return dup, nil
	}
	now := s.now().UTC()
	// One statement for the whole batch, its rows in key order: concurrent
	// batches holding copies of the same message then take the key locks
	// in the same order and wait for each other instead of deadlocking.
	order := make([]int, len(items))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return items[order[a]].Key < items[order[b]].Key })
	var sql strings.Builder
	sql.WriteString("INSERT INTO inbox (msg_key, wecom_user, msg_type, payload, received_at) VALUES ")
	args := make([]any, 0, 5*len(items))
	for n, i := range order {
		if n > 0 {
			sql.WriteString(",")
		}
		sql.WriteString("(?,?,?,?,?)")
		it := items[i]
		args = append(args, fitKey(it.Key), it.User, it.MsgType, string(it.Payload), now)
	}
	sql.WriteString(" ON CONFLICT (msg_key) DO NOTHING RETURNING msg_key")
	var inserted []string
	if err := s.db.WithContext(ctx).Raw(sql.String(), args...).Scan(&inserted).Error; err != nil {
		return nil, wrap("accept inbox", err)
	}
	fresh := make(map[string]bool, len(inserted))
	for _, k := range inserted {
		fresh[k] = true
	}
	// A key inserted now is new for its first item only; later items with
	// the same key in this batch are copies.
	for i, it := range items {
		k := fitKey(it.Key)
		dup[i] = !fresh[k]
		delete(fresh, k)
	}
	return dup, nil
}

// ClaimInbox marks the message processed inside the transaction that
// carries its effects, and reports false when it was processed already.
// The row lock it takes makes a second processor wait and then see it done,
// so each message has its effect once.
//
// The row is found by its key through the unique index, then updated by
// id: written as "msg_key = ? AND processed_at IS NULL", Postgres may plan
// it over the partial index of unprocessed rows (its statistics lag behind
// a burst) and scan thousands of rows for each message.
//
// In a batch that claimed key up front, the claim is taken from there.
func (tx *Tx) ClaimInbox(key string) (bool, error) {
	key = fitKey(key)
	if tx.b != nil {
		if by, ok := tx.b.claims[key]; ok {
			if by != claimFree {
				return false, nil
			}
			tx.b.claims[key] = tx.sp
			return true, nil
		}
	}
	res := tx.db.Exec(`UPDATE inbox SET processed_at = ? WHERE id = (SELECT id FROM inbox WHERE msg_key = ?) AND processed_at IS NULL`, tx.now, key)
	return res.RowsAffected == 1, wrap("claim inbox", res.Error)
}

// FailInbox records a failed processing attempt; the message is tried
// again after delay(attempts).
func (s *Store) FailInbox(ctx context.Context, key string, reason string, delay func(attempts int) time.Duration) (attempts int, err error) {
	now := s.now().UTC()
	err = s.db.WithContext(ctx).Transaction(func(g *gorm.DB) error {
		var m InboxMessage
		key = fitKey(key)
		if err := g.Select("id", "attempts").Take(&m, "msg_key = ?", key).Error; err != nil {
			return err
		}
		attempts = m.Attempts + 1
		return g.Model(&InboxMessage{}).Where("id = ? AND processed_at IS NULL", m.ID).
			Updates(map[string]any{"attempts": attempts, "last_error": reason, "lease_until": now.Add(delay(attempts))}).Error
	})
	return attempts, wrap("fail inbox", err)
}

// PendingInbox returns unprocessed messages received before before whose
// retry time has come, oldest first, from the row after id after on: what
// a restart must still process, a page at a time.
func (s *Store) PendingInbox(ctx context.Context, before time.Time, after int64, limit int) ([]InboxMessage, error) {
	now := s.now().UTC()
	var out []InboxMessage
	err := s.db.WithContext(ctx).Where("processed_at IS NULL AND id > ? AND received_at < ? AND (lease_until IS NULL OR lease_until <= ?)", after, before.UTC(), now).
		Order("id").Limit(limit).Find(&out).Error
	return out, wrap("pending inbox", err)
}

// PurgeInbox deletes up to limit messages processed before before, oldest
// first, and reports how many went. Unprocessed messages are never deleted.
func (s *Store) PurgeInbox(ctx context.Context, before time.Time, limit int) (int64, error) {
	res := s.db.WithContext(ctx).Exec(`DELETE FROM inbox WHERE id IN (SELECT id FROM inbox WHERE processed_at IS NOT NULL AND processed_at < ? ORDER BY id LIMIT ?)`, before.UTC(), limit)
	return res.RowsAffected, wrap("purge inbox", res.Error)
}
