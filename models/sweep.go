package models

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm/clause"
)

// DueItem is one reminder (or auto-close) due on a ticket.
type DueItem struct {
	Ticket Ticket
	Due    Due
}

// reminderRow records a sent reminder; the unique (ticket, clock, level)
// makes each level go out once, whatever runs the sweep.
type reminderRow struct {
	ID         int64 `gorm:"primaryKey"`
	TicketID   int64
	Clock      Clock
	Level      int
	Name       string
	Recipients string
	DueAt      time.Time
	SentAt     time.Time
}

func (reminderRow) TableName() string { return "reminders" }

// Sweep takes up to limit tickets whose next check has come, works out
// what is due on each, records it, and gives the items to handle, which
// writes the messages (and closes what must auto-close) in the same
// transaction. Replicas sweeping at once skip each other's locked rows on
// Postgres; the reminders table's unique key is the last guard.
func (s *Store) Sweep(ctx context.Context, limit int, handle func(tx *Tx, items []DueItem) error) (int, error) {
	var n int
	err := s.Update(ctx, func(tx *Tx) error {
		q := tx.db.Where("next_check_at <= ?", tx.now).Order("next_check_at").Limit(limit)
		if s.driver == "postgres" {
			q = q.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
		}
		var ts []Ticket
		if err := q.Find(&ts).Error; err != nil {
			return err
		}
		n = len(ts)
		var items []DueItem
		for i := range ts {
			t := &ts[i]
			due, _ := s.rem.Check(t, tx.now)
			for _, d := range due {
				if d.Clock == ClockConfirm {
					items = append(items, DueItem{Ticket: *t, Due: d})
					continue
				}
				row := reminderRow{TicketID: t.ID, Clock: d.Clock, Level: d.Level, Name: d.Name, Recipients: strings.Join(d.To, ","), DueAt: d.At.UTC(), SentAt: tx.now}
				res := tx.db.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
				if res.Error != nil {
					return res.Error
				}
				markSent(t, d.Clock, d.Level)
				if res.RowsAffected == 1 {
					items = append(items, DueItem{Ticket: *t, Due: d})
				}
			}
			_, next := s.rem.Check(t, tx.now)
			var nextAt *time.Time
			if !next.IsZero() {
				u := next.UTC()
				nextAt = &u
			}
			if err := tx.db.Model(&Ticket{}).Where("id = ?", t.ID).Updates(map[string]any{
				"remind_response": t.RemindResponse, "remind_onsite": t.RemindOnsite,
				"remind_resolution": t.RemindResolution, "next_check_at": nextAt,
			}).Error; err != nil {
				return err
			}
		}
		if len(items) == 0 {
			return nil
		}
		return handle(tx, items)
	})
	return n, wrap("sweep", err)
}

// AutoClose closes a resolved ticket the reporter did not confirm in time;
// it counts as closed without the reporter's confirmation.
func (tx *Tx) AutoClose(id int64) (*Ticket, error) {
	system := Actor{UserID: SystemActor, Name: "系统", Role: RoleSupervisor}
	return tx.Close(id, system, false, "报修人未在时限内确认，自动关闭")
}

// SystemActor is the actor of what opsbot does on its own.
const SystemActor = "opsbot"

// RecordSystem writes an event opsbot itself caused (a reminder went out).
func (tx *Tx) RecordSystem(id int64, act Action, note string) error {
	var t Ticket
	if err := tx.db.Select("id", "status").Take(&t, id).Error; err != nil {
		return wrap("record", err)
	}
	return tx.addEvent(id, Actor{UserID: SystemActor}, act, t.Status, t.Status, note)
}
