package models

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// AnnounceKey is the outbox key prefix of ticket id's announce cards; the
// recipient follows it, so a claim finds every card it must update.
func AnnounceKey(id int64) string { return fmt.Sprintf("a:%d:", id) }

// AnnounceTargets are the available engineers a new ticket of system is
// announced to: those whose roster covers it (generalists included), or
// every available engineer when nobody does.
func (tx *Tx) AnnounceTargets(system string) ([]Staff, error) {
	engineers, err := tx.ListStaff(RoleEngineer)
	if err != nil {
		return nil, err
	}
	var covering, all []Staff
	for _, s := range engineers {
		if !s.Available(tx.now) {
			continue
		}
		all = append(all, s)
		if s.Covers(system) {
			covering = append(covering, s)
		}
	}
	if len(covering) == 0 {
		return all, nil
	}
	return covering, nil
}

// AssignTo gives a new ticket to an engineer directly (dispatch mode
// assign): a hand-over by opsbot itself, recorded as such. The claim time
// is set, as for any hand-over of a new ticket.
func (tx *Tx) AssignTo(id int64, to Staff) (*Ticket, error) {
	t, err := tx.ticketForUpdate(id)
	if err != nil {
		return nil, err
	}
	return tx.moveLocked(t, ActTransfer, Actor{UserID: SystemActor, Name: "系统", Role: RoleSupervisor}, to.UserID+" 自动派单", func(t *Ticket, _ Status) error {
		t.AssigneeID = to.UserID
		if t.ClaimedAt == nil {
			t.ClaimedAt = tx.at()
		}
		return nil
	})
}

// AnnounceCards returns the announce cards of ticket id, sent or not.
func (tx *Tx) AnnounceCards(id int64) ([]OutboxMessage, error) {
	if err := tx.flush(); err != nil {
		return nil, err
	}
	var out []OutboxMessage
	err := tx.db.Where("msg_key LIKE ?", AnnounceKey(id)+"%").Order("id").Find(&out).Error
	return out, wrap("announce cards", err)
}

// WithdrawPending gives up outbox rows not yet sent: an announce card for
// a ticket already claimed need not go out. A row a sender has leased
// meanwhile may still be delivered; its button then meets a polite refusal.
func (tx *Tx) WithdrawPending(ids []int64, reason string) error {
	if len(ids) == 0 {
		return nil
	}
	return wrap("withdraw outbox", tx.db.Model(&OutboxMessage{}).Where("id IN ? AND status = ?", ids, OutboxPending).
		Updates(map[string]any{"status": OutboxFailed, "last_error": reason}).Error)
}

// AttachFiles links stored files to a ticket.
func (tx *Tx) AttachFiles(ids []int64, ticketID int64) error {
	if len(ids) == 0 {
		return nil
	}
	return wrap("attach files", tx.db.Model(&File{}).Where("id IN ?", ids).Update("ticket_id", ticketID).Error)
}

// LatestOpenTicket is the reporter's newest open ticket created at or
// after since, nil when none: where a screenshot sent after a report goes.
func (tx *Tx) LatestOpenTicket(reporter string, since time.Time) (*Ticket, error) {
	var out []Ticket
	err := tx.db.Where("reporter_id = ? AND status IN ? AND created_at >= ?", reporter, OpenStatuses, since.UTC()).
		Order("id DESC").Limit(1).Find(&out).Error
	if err != nil || len(out) == 0 {
		return nil, wrap("latest open ticket", err)
	}
	return &out[0], nil
}

// PurgeAttachments deletes up to limit attachments created before before
// whose ticket is closed or cancelled (or that never reached a ticket),
// and returns the bucket keys of those kept in a bucket, for the caller to
// delete there. Attachments of open tickets stay: the engineer needs them.
func (s *Store) PurgeAttachments(ctx context.Context, before time.Time, limit int) (n int64, keys []string, err error) {
	var rows []File
	err = s.db.WithContext(ctx).Select("id", "store_key").
		Where(`kind = ? AND created_at < ? AND (ticket_id IS NULL OR ticket_id IN (SELECT id FROM tickets WHERE status IN ?))`,
			FileAttachment, before.UTC(), []Status{StatusClosed, StatusCancelled}).
		Order("id").Limit(limit).Find(&rows).Error
	if err != nil || len(rows) == 0 {
		return 0, nil, wrap("purge attachments", err)
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
		if r.StoreKey != "" {
			keys = append(keys, r.StoreKey)
		}
	}
	res := s.db.WithContext(ctx).Where("id IN ?", ids).Delete(&File{})
	return res.RowsAffected, keys, wrap("purge attachments", res.Error)
}

// FileNames lists files as "name (size)" lines for 进度 and 工单.
func FileNames(files []File) string {
	var parts []string
	for _, f := range files {
		parts = append(parts, fmt.Sprintf("%s（%s）", f.Name, SizeText(f.Size)))
	}
	return strings.Join(parts, "、")
}

// SizeText shows a byte count as KB or MB.
func SizeText(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KB", (n+1023)/1024)
}

// AnnounceRoom returns which of the engineers ids may get one more 接单
// card now: fewer than limit cards in the last window, and not being
// announced to by another transaction at this moment. In a burst the
// cards would otherwise queue behind WeCom's 30 a minute per person and
// hold back that person's reminders. On PostgreSQL the engineers' staff
// rows are locked (SKIP LOCKED) for the rest of the transaction, so two
// batches never both count an engineer as having room.
func (tx *Tx) AnnounceRoom(ids []string, limit int, window time.Duration) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if err := tx.flush(); err != nil {
		return nil, err
	}
	free := ids
	if tx.s.driver == "postgres" {
		free = nil
		if err := tx.db.Raw(`SELECT user_id FROM staff WHERE user_id IN ? ORDER BY user_id FOR UPDATE SKIP LOCKED`, ids).Scan(&free).Error; err != nil {
			return nil, wrap("announce room", err)
		}
		if len(free) == 0 {
			return nil, nil
		}
	}
	var rows []struct {
		Recipient string
		N         int
	}
	err := tx.db.Raw(`SELECT recipient, COUNT(*) AS n FROM outbox WHERE msg_key LIKE 'a:%' AND created_at > ? AND recipient IN ? GROUP BY recipient`,
		tx.now.Add(-window), free).Scan(&rows).Error
	if err != nil {
		return nil, wrap("announce room", err)
	}
	sent := map[string]int{}
	for _, r := range rows {
		sent[r.Recipient] = r.N
	}
	var out []string
	for _, id := range free {
		if sent[id] < limit {
			out = append(out, id)
		}
	}
	return out, nil
}
