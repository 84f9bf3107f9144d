package models

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// NewTicket is what a report says.
type NewTicket struct {
	Kind         Kind
	System       string
	Priority     Priority
	Title        string
	Description  string
	ReporterID   string
	ReporterName string
	Department   string
	Location     string
	Phone        string
	Source       Source
	// SourceKey is the inbox key of the message that created the ticket.
	SourceKey string
	// PolicyDue is the deadline a government document sets (kind policy).
	PolicyDue *time.Time
}

// titleRunes is how much of the description becomes the title.
const titleRunes = 40

// CreateTicket opens a ticket with its deadlines and a create event. A
// second call with the same SourceKey returns the first ticket and
// created=false: a re-processed message never makes a second ticket.
func (tx *Tx) CreateTicket(in NewTicket, actor Actor) (t *Ticket, created bool, err error) {
	if in.Kind == "" {
		in.Kind = KindFault
	}
	if in.Priority == "" {
		in.Priority = PriorityMedium
	}
	in.Description = strings.TrimSpace(in.Description)
	if in.Title == "" {
		in.Title = shorten(in.Description, titleRunes)
	}
	switch {
	case !in.Kind.Valid():
		return nil, false, Errorf(EInvalid, "工单类型不对：%s", in.Kind)
	case !in.Priority.Valid():
		return nil, false, Errorf(EInvalid, "优先级只能是 高、中、低")
	case in.ReporterID == "":
		return nil, false, fmt.Errorf("store: create ticket: no reporter")
	case in.Title == "":
		return nil, false, Errorf(EInvalid, "请写明故障现象，例如：报修 门诊收费 3号窗口打印不了发票")
	}
	in.SourceKey = fitKey(in.SourceKey)
	due := tx.s.sla.Deadlines(tx.now, in.Priority, in.Kind)
	// What people type is cut to the columns' widths: a long answer must
	// not turn a report into a database error.
	t = &Ticket{
		Kind: in.Kind, System: in.System, Priority: in.Priority, Status: StatusNew,
		Title: shorten(in.Title, 200), Description: in.Description,
		ReporterID: in.ReporterID, ReporterName: shorten(in.ReporterName, 64),
		Department: shorten(in.Department, 64), Location: shorten(in.Location, 128), Phone: shorten(in.Phone, 32),
		Source: in.Source, CreatedAt: tx.now, UpdatedAt: tx.now,
		DueResponse: due.Response.UTC(), DueResolution: due.Resolution.UTC(),
	}
	if !due.Onsite.IsZero() {
		o := due.Onsite.UTC()
		t.DueOnsite = &o
	}
	if in.Kind == KindPolicy && in.PolicyDue != nil {
		t.DueResolution = tx.s.sla.PolicyDue(*in.PolicyDue).UTC()
	}
	if in.SourceKey != "" {
		k := in.SourceKey
		t.SourceKey = &k
	}
	tx.setNextCheck(t)
	res := tx.db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "source_key"}}, DoNothing: true}).Create(t)
	if res.Error != nil {
		return nil, false, wrap("create ticket", res.Error)
	}
	if res.RowsAffected == 0 {
		// The message made its ticket before (the unique source key).
		var prev Ticket
		if err := tx.db.Where("source_key = ?", in.SourceKey).Take(&prev).Error; err != nil {
			return nil, false, wrap("create ticket", err)
		}
		return &prev, false, nil
	}
	if err := tx.addEvent(t.ID, actor, ActCreate, "", StatusNew, ""); err != nil {
		return nil, false, err
	}
	return t, true, nil
}

// shorten cuts s to n runes, on one line.
func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// Ticket returns ticket id or a "未找到工单" error.
func (tx *Tx) Ticket(id int64) (*Ticket, error) { return takeTicket(tx.db, id) }

// ticketForUpdate is Ticket with the row locked for the transaction.
func (tx *Tx) ticketForUpdate(id int64) (*Ticket, error) { return takeTicket(tx.forUpdate(), id) }

func takeTicket(q *gorm.DB, id int64) (*Ticket, error) {
	var t Ticket
	err := q.Take(&t, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, Errorf(ENotFound, "未找到工单 #%d，请核对单号", id)
	}
	return &t, wrap("ticket", err)
}

// Events returns a ticket's timeline, oldest first.
func (tx *Tx) Events(id int64) ([]TicketEvent, error) {
	if err := tx.flush(); err != nil {
		return nil, err
	}
	var ev []TicketEvent
	err := tx.db.Where("ticket_id = ?", id).Order("id").Find(&ev).Error
	return ev, wrap("events", err)
}

func (tx *Tx) addEvent(id int64, a Actor, act Action, from, to Status, note string) error {
	ev := TicketEvent{TicketID: id, At: tx.now, Actor: a.UserID, Action: act, From: from, To: to, Note: note}
	if tx.b != nil {
		tx.b.events = append(tx.b.events, held[TicketEvent]{row: ev, owner: tx.sp})
		return nil
	}
	return wrap("event", tx.db.Create(&ev).Error)
}

// TicketFilter selects tickets for lists.
type TicketFilter struct {
	Statuses   []Status
	ReporterID string
	AssigneeID string
	// Unassigned selects tickets nobody has taken.
	Unassigned bool
	ParentID   int64
	// ByDue orders by the nearest resolution deadline instead of newest first.
	ByDue bool
	Limit int
}

// Tickets lists tickets matching f.
func (tx *Tx) Tickets(f TicketFilter) ([]Ticket, error) {
	q := tx.db.Model(&Ticket{})
	if len(f.Statuses) > 0 {
		q = q.Where("status IN ?", f.Statuses)
	}
	if f.ReporterID != "" {
		q = q.Where("reporter_id = ?", f.ReporterID)
	}
	if f.AssigneeID != "" {
		q = q.Where("assignee_id = ?", f.AssigneeID)
	}
	if f.Unassigned {
		q = q.Where("assignee_id = ''")
	}
	if f.ParentID != 0 {
		q = q.Where("parent_id = ?", f.ParentID)
	}
	if f.ByDue {
		q = q.Order("due_resolution").Order("id")
	} else {
		q = q.Order("id DESC")
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	var out []Ticket
	return out, wrap("tickets", q.Find(&out).Error)
}

// move applies one transition of the state machine: it locks the ticket,
// checks the actor may act and the status allows it, lets apply set the
// action's own fields, saves, and writes the event.
func (tx *Tx) move(id int64, act Action, a Actor, note string, apply func(t *Ticket, from Status) error) (*Ticket, error) {
	t, err := tx.ticketForUpdate(id)
	if err != nil {
		return nil, err
	}
	if err := Authorize(a, t, act); err != nil {
		return nil, err
	}
	return tx.moveLocked(t, act, a, note, apply)
}

// moveLocked is move on a ticket already locked and authorised.
func (tx *Tx) moveLocked(t *Ticket, act Action, a Actor, note string, apply func(t *Ticket, from Status) error) (*Ticket, error) {
	from := t.Status
	to, err := Next(t.ID, from, act)
	if err != nil {
		return nil, err
	}
	if apply != nil {
		if err := apply(t, from); err != nil {
			return nil, err
		}
	}
	t.Status = to
	t.UpdatedAt = tx.now
	if err := tx.save(t); err != nil {
		return nil, err
	}
	return t, tx.addEvent(t.ID, a, act, from, to, note)
}

// save writes the whole ticket, with its next check recomputed: every
// change of status, priority or pause moves the reminders.
func (tx *Tx) save(t *Ticket) error {
	tx.setNextCheck(t)
	return wrap("save ticket", tx.db.Select("*").Omit("created_at").Save(t).Error)
}

func (tx *Tx) setNextCheck(t *Ticket) {
	_, next := tx.s.rem.Check(t, tx.now)
	if next.IsZero() {
		t.NextCheckAt = nil
		return
	}
	u := next.UTC()
	t.NextCheckAt = &u
}

func (tx *Tx) at() *time.Time { n := tx.now; return &n }

// Claim makes the engineer the ticket's assignee (接单).
func (tx *Tx) Claim(id int64, a Actor) (*Ticket, error) {
	return tx.move(id, ActClaim, a, "", func(t *Ticket, _ Status) error {
		t.AssigneeID = a.UserID
		t.ClaimedAt = tx.at()
		return nil
	})
}

// Arrive records that the engineer is on site (到场).
func (tx *Tx) Arrive(id int64, a Actor) (*Ticket, error) {
	return tx.move(id, ActArrive, a, "", func(t *Ticket, _ Status) error {
		if t.OnsiteAt == nil {
			t.OnsiteAt = tx.at()
		}
		return nil
	})
}

// Pause stops the resolution clock while waiting on someone else (挂起).
func (tx *Tx) Pause(id int64, a Actor, reason string) (*Ticket, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, Errorf(EInvalid, "请写明挂起原因，例如：挂起 %d 等待厂家补丁", id)
	}
	return tx.move(id, ActPause, a, reason, func(t *Ticket, _ Status) error {
		t.PausedAt = tx.at()
		t.PauseReason = shorten(reason, 200)
		return nil
	})
}

// restartClock adds the stop that began at PausedAt to the paused business
// time and moves the resolution deadline by as much.
func (tx *Tx) restartClock(t *Ticket) {
	if t.PausedAt != nil {
		t.PausedBusiness += tx.s.sla.Used(*t.PausedAt, tx.now, 0)
		t.PausedAt = nil
	}
	if t.Kind != KindPolicy {
		t.DueResolution = tx.s.sla.ResolutionDue(t.CreatedAt, t.Priority, t.PausedBusiness).UTC()
	}
}

// resuming ends a pause: the clock restarts where it stopped.
func (tx *Tx) resuming(t *Ticket, _ Status) error {
	tx.restartClock(t)
	t.PauseReason = ""
	return nil
}

// Resume restarts the resolution clock (恢复).
func (tx *Tx) Resume(id int64, a Actor, note string) (*Ticket, error) {
	return tx.move(id, ActResume, a, note, tx.resuming)
}

// Resolve records what was done and stops the clock (解决); the reporter is
// then asked to confirm. Open tickets merged into this one resolve with it.
func (tx *Tx) Resolve(id int64, a Actor, text string) (*Ticket, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, Errorf(EInvalid, "请写明处理结果，例如：解决 %d 已重装打印驱动，打印正常", id)
	}
	t, err := tx.move(id, ActResolve, a, text, tx.resolving(text, a.UserID))
	if err != nil {
		return nil, err
	}
	return t, tx.resolveChildren(t, a)
}

// resolving records a resolution: the text, the time, the clock stopped
// (unless a pause already stopped it), and an assignee when none was set.
func (tx *Tx) resolving(text, assignee string) func(*Ticket, Status) error {
	return func(t *Ticket, from Status) error {
		t.Resolution = text
		t.ResolvedAt = tx.at()
		if from != StatusPaused {
			t.PausedAt = tx.at()
		}
		if t.AssigneeID == "" {
			t.AssigneeID = assignee
			t.ClaimedAt = tx.at()
		}
		return nil
	}
}

// Close ends a resolved ticket: confirmed by the reporter, or not (auto-close).
func (tx *Tx) Close(id int64, a Actor, confirmed bool, note string) (*Ticket, error) {
	return tx.move(id, ActClose, a, note, func(t *Ticket, _ Status) error {
		t.ClosedAt = tx.at()
		t.Confirmed = confirmed
		return nil
	})
}

// Reopen sends a resolved ticket back to its engineer; the clock resumes
// where it stopped at resolution, it does not restart.
func (tx *Tx) Reopen(id int64, a Actor, note string) (*Ticket, error) {
	return tx.move(id, ActReopen, a, note, func(t *Ticket, _ Status) error {
		tx.restartClock(t)
		t.ResolvedAt = nil
		return nil
	})
}

// Cancel withdraws a ticket before it is resolved (撤销).
func (tx *Tx) Cancel(id int64, a Actor, reason string) (*Ticket, error) {
	return tx.move(id, ActCancel, a, reason, func(t *Ticket, _ Status) error {
		t.ClosedAt = tx.at()
		return nil
	})
}

// Transfer hands the ticket to another engineer (转派, or 指派 by a
// supervisor). The new engineer must be active, cover the ticket's system
// and be of no lower level than the current one (tender 5.3).
func (tx *Tx) Transfer(id int64, a Actor, to Staff, reason string) (*Ticket, error) {
	return tx.move(id, ActTransfer, a, strings.TrimSpace(to.UserID+" "+reason), func(t *Ticket, _ Status) error {
		if err := tx.checkTakeOver(t, to); err != nil {
			return err
		}
		t.AssigneeID = to.UserID
		if t.ClaimedAt == nil {
			t.ClaimedAt = tx.at()
		}
		return nil
	})
}

// Record writes an event that does not move the ticket: 备注, 催办,
// 超时原因 (which is also kept on the ticket for the monthly report).
func (tx *Tx) Record(id int64, a Actor, act Action, note string) (*Ticket, error) {
	t, err := tx.ticketForUpdate(id)
	if err != nil {
		return nil, err
	}
	if err := Authorize(a, t, act); err != nil {
		return nil, err
	}
	if act == ActBreachReason {
		t.BreachReason = note
		t.UpdatedAt = tx.now
		if err := tx.save(t); err != nil {
			return nil, err
		}
	}
	return t, tx.addEvent(t.ID, a, act, t.Status, t.Status, note)
}

// Supplement adds the reporter's information (补充). A paused ticket
// resumes: the engineer was most likely waiting for exactly this.
func (tx *Tx) Supplement(id int64, a Actor, text string) (t *Ticket, resumed bool, err error) {
	t, err = tx.ticketForUpdate(id)
	if err != nil {
		return nil, false, err
	}
	if err := Authorize(a, t, ActSupplement); err != nil {
		return nil, false, err
	}
	if !t.Status.Open() {
		return nil, false, Errorf(EConflict, "工单 #%d %s，不能再补充；如问题仍在请重新报修", id, statusPhrases[t.Status])
	}
	if err := tx.addEvent(t.ID, a, ActSupplement, t.Status, t.Status, text); err != nil {
		return nil, false, err
	}
	if t.Status != StatusPaused {
		return t, false, nil
	}
	t, err = tx.moveLocked(t, ActResume, a, "报修人补充了情况", tx.resuming)
	return t, err == nil, err
}

// LastEvent returns the newest event of act on a ticket, nil when none.
func (tx *Tx) LastEvent(id int64, act Action) (*TicketEvent, error) {
	if err := tx.flush(); err != nil {
		return nil, err
	}
	var ev []TicketEvent
	err := tx.db.Where("ticket_id = ? AND action = ?", id, act).Order("id DESC").Limit(1).Find(&ev).Error
	if err != nil || len(ev) == 0 {
		return nil, wrap("last event", err)
	}
	return &ev[0], nil
}
