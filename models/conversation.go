package models

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// conversationRow is a multi-step exchange in progress with one person (a
// report being completed, a comment being asked for, a form). It lives in
// the database so that it commits or rolls back with the message that
// changed it: a message retried after a failure finds it as it was.
type conversationRow struct {
	UserID    string `gorm:"primaryKey"`
	Kind      string
	State     string
	ExpiresAt time.Time
}

func (conversationRow) TableName() string { return "conversations" }

// Conversation returns the person's open exchange: its kind and state;
// ok is false when none is open or it has expired.
func (tx *Tx) Conversation(userID string) (kind, state string, ok bool, err error) {
	var r conversationRow
	err = tx.db.Where("user_id = ? AND expires_at > ?", userID, tx.now).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, wrap("conversation", err)
	}
	return r.Kind, r.State, true, nil
}

// SaveConversation opens or moves on the person's exchange; it expires
// ttl from now. One exchange per person: a new kind replaces the old.
func (tx *Tx) SaveConversation(userID, kind, state string, ttl time.Duration) error {
	r := conversationRow{UserID: userID, Kind: kind, State: state, ExpiresAt: tx.now.Add(ttl)}
	return wrap("save conversation", tx.db.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "user_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"kind", "state", "expires_at"}),
	}).Create(&r).Error)
}

// EndConversation closes the person's exchange, if any.
func (tx *Tx) EndConversation(userID string) error {
	return wrap("end conversation", tx.db.Where("user_id = ?", userID).Delete(&conversationRow{}).Error)
}

// PurgeConversations deletes exchanges that expired before before.
func (s *Store) PurgeConversations(ctx context.Context, before time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Where("expires_at < ?", before.UTC()).Delete(&conversationRow{})
	return res.RowsAffected, wrap("purge conversations", res.Error)
}
