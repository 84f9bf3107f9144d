package models

import (
	"context"
	"fmt"
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
		var rows []reminderRow
		for i := range ts {
			t := &ts[i]
			due, _ := s.rem.Check(t, tx.now)
			for _, d := range due {
				items = append(items, DueItem{Ticket: *t, Due: d})
				if d.Clock == ClockConfirm {
					continue
				}
				rows = append(rows, reminderRow{TicketID: t.ID, Clock: d.Clock, Level: d.Level, Name: d.Name, Recipients: strings.Join(d.To, ","), DueAt: d.At.UTC(), SentAt: tx.now})
				markSent(t, d.Clock, d.Level)
			}
		}
		// The row locks make the bits authoritative, so the batch normally
		// inserts every row; if any was recorded already, fall back to one
		// by one and drop what another run has sent.
		if len(rows) > 0 {
			res := tx.db.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(&rows, 500)
			if res.Error != nil {
				return res.Error
			}
			if int(res.RowsAffected) != len(rows) {
				var err error
				if items, err = tx.dropRecorded(items); err != nil {
					return err
				}
			}
		}
		if err := tx.saveChecks(ts); err != nil {
			return err
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

// Remarks are events opsbot itself caused (reminders that went out),
// written together.
type Remark struct {
	Ticket *Ticket
	Action Action
	Note   string
}

// RecordSystem writes the remarks in one statement.
func (tx *Tx) RecordSystem(remarks []Remark) error {
	if len(remarks) == 0 {
		return nil
	}
	evs := make([]TicketEvent, len(remarks))
	for i, r := range remarks {
		evs[i] = TicketEvent{TicketID: r.Ticket.ID, At: tx.now, Actor: SystemActor, Action: r.Action, From: r.Ticket.Status, To: r.Ticket.Status, Note: r.Note}
	}
	return wrap("record", tx.db.CreateInBatches(evs, 500).Error)
}

// dropRecorded keeps the items whose reminder row this transaction wrote:
// its rows carry this transaction's sent_at.
func (tx *Tx) dropRecorded(items []DueItem) ([]DueItem, error) {
	var keep []DueItem
	for _, it := range items {
		if it.Due.Clock == ClockConfirm {
			keep = append(keep, it)
			continue
		}
		var r reminderRow
		err := tx.db.Where("ticket_id = ? AND clock = ? AND level = ?", it.Ticket.ID, it.Due.Clock, it.Due.Level).Take(&r).Error
		if err != nil {
			return nil, err
		}
		if r.SentAt.Equal(tx.now) {
			keep = append(keep, it)
		}
	}
	return keep, nil
}

// saveChecks writes the reminder bits and next check of swept tickets in
// one statement (one round trip instead of one per ticket).
func (tx *Tx) saveChecks(ts []Ticket) error {
	if len(ts) == 0 {
		return nil
	}
	var b strings.Builder
	args := make([]any, 0, len(ts)*5)
	ts0 := "CAST(? AS TIMESTAMPTZ)"
	if tx.s.driver == "sqlite" {
		ts0 = "?"
	}
	b.WriteString("WITH v(id, rr, ro, rs, nx) AS (VALUES ")
	for i := range ts {
		t := &ts[i]
		tx.setNextCheck(t)
		var nextAt any
		if t.NextCheckAt != nil {
			nextAt = *t.NextCheckAt
		}
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "(CAST(? AS BIGINT), CAST(? AS INTEGER), CAST(? AS INTEGER), CAST(? AS INTEGER), %s)", ts0)
		args = append(args, t.ID, t.RemindResponse, t.RemindOnsite, t.RemindResolution, nextAt)
	}
	b.WriteString(") UPDATE tickets SET remind_response = v.rr, remind_onsite = v.ro, remind_resolution = v.rs, next_check_at = v.nx FROM v WHERE tickets.id = v.id")
	return wrap("save checks", tx.db.Exec(b.String(), args...).Error)
}
