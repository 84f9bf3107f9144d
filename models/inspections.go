package models

import (
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Inspection statuses.
const (
	InspectionPending = "pending"
	InspectionDone    = "done"
)

// inspectionMissedAfter is when an undone inspection counts as missed.
const inspectionMissedAfter = 12 * time.Hour

// Inspection is one routine inspection (巡检) at one planned time.
type Inspection struct {
	ID int64 `gorm:"primaryKey"`
	// Slot names the inspection uniquely: "2026-12-01 早巡检".
	Slot       string
	Name       string
	PlannedAt  time.Time
	EngineerID string
	Status     string
	DoneAt     *time.Time
	DoneBy     string
	// Reminded is how many reminders went out (1: engineer, 2: supervisors).
	Reminded    int
	NextCheckAt *time.Time
}

// TableName is the inspections table.
func (Inspection) TableName() string { return "inspections" }

// InspectionAnomaly is one problem an inspection found, with its ticket.
type InspectionAnomaly struct {
	ID           int64 `gorm:"primaryKey"`
	InspectionID int64
	Item         string
	Note         string
	TicketID     *int64
	At           time.Time
	By           string `gorm:"column:by_user"`
}

// TableName is the anomaly table.
func (InspectionAnomaly) TableName() string { return "inspection_anomalies" }

// PlanInspection records that the inspection slot is due now and who is to
// do it; created is false when the slot was planned before (a second
// replica, a re-run), so the checklist goes out once.
func (tx *Tx) PlanInspection(slot, name, engineer string, remindAfter time.Duration) (*Inspection, bool, error) {
	next := tx.now.Add(remindAfter)
	in := Inspection{Slot: shorten(slot, 48), Name: shorten(name, 64), PlannedAt: tx.now, EngineerID: engineer, Status: InspectionPending, NextCheckAt: &next}
	res := tx.db.Clauses(clause.OnConflict{DoNothing: true}).Create(&in)
	if res.Error != nil {
		return nil, false, wrap("plan inspection", res.Error)
	}
	if res.RowsAffected == 0 {
		var prev Inspection
		err := tx.db.Where("slot = ?", in.Slot).Take(&prev).Error
		return &prev, false, wrap("plan inspection", err)
	}
	return &in, true, nil
}

// CurrentInspection is the newest inspection planned in the last 12 hours,
// the one 巡检 answers; an error tells the user when there is none.
func (tx *Tx) CurrentInspection() (*Inspection, error) {
	var in Inspection
	err := tx.forUpdate().Where("planned_at <= ? AND planned_at > ?", tx.now, tx.now.Add(-inspectionMissedAfter)).Order("planned_at DESC").Take(&in).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, Errorf(ENotFound, "现在没有待完成的巡检（巡检时间见 configs/inspections.yaml）")
	}
	return &in, wrap("current inspection", err)
}

// CompleteInspection marks an inspection done by a.
func (tx *Tx) CompleteInspection(in *Inspection, a Actor) error {
	if in.Status == InspectionDone {
		return nil
	}
	in.Status, in.DoneAt, in.DoneBy, in.NextCheckAt = InspectionDone, tx.at(), a.UserID, nil
	return wrap("complete inspection", tx.db.Model(in).Select("status", "done_at", "done_by", "next_check_at").Updates(in).Error)
}

// RecordAnomaly records a problem found by an inspection, opens its
// ticket (source inspection) and marks the inspection done.
func (tx *Tx) RecordAnomaly(in *Inspection, item, note string, nt NewTicket, a Actor) (*Ticket, error) {
	item, note = strings.TrimSpace(item), strings.TrimSpace(note)
	if item == "" {
		return nil, Errorf(EInvalid, "请写明异常项目和情况，例如：巡检 异常 数据库备份 昨晚备份失败")
	}
	nt.Source = SourceInspection
	nt.ReporterID, nt.ReporterName = a.UserID, a.Name
	if nt.Title == "" {
		nt.Title = "【巡检异常】" + item
	}
	nt.Description = strings.TrimSpace(item + " " + note)
	t, _, err := tx.CreateTicket(nt, a)
	if err != nil {
		return nil, err
	}
	id := t.ID
	an := InspectionAnomaly{InspectionID: in.ID, Item: shorten(item, 200), Note: note, TicketID: &id, At: tx.now, By: a.UserID}
	if err := tx.db.Create(&an).Error; err != nil {
		return nil, wrap("inspection anomaly", err)
	}
	return t, tx.CompleteInspection(in, a)
}

// InspectionReminder is a reminder due about an undone inspection: level 1
// goes to its engineer, level 2 to the supervisors.
type InspectionReminder struct {
	Inspection Inspection
	Level      int
}

// DueInspectionReminders returns the reminders due now and records them as
// sent; escalateAfter is when (after the planned time) level 2 is due.
func (tx *Tx) DueInspectionReminders(escalateAfter time.Duration) ([]InspectionReminder, error) {
	var due []Inspection
	if err := tx.forUpdate().Where("status = ? AND next_check_at IS NOT NULL AND next_check_at <= ?", InspectionPending, tx.now).Order("id").Find(&due).Error; err != nil {
		return nil, wrap("inspection reminders", err)
	}
	var out []InspectionReminder
	for _, in := range due {
		in.Reminded++
		var next *time.Time
		if in.Reminded == 1 {
			n := in.PlannedAt.Add(escalateAfter)
			next = &n
		}
		in.NextCheckAt = next
		if err := tx.db.Model(&Inspection{}).Where("id = ?", in.ID).Updates(map[string]any{"reminded": in.Reminded, "next_check_at": next}).Error; err != nil {
			return nil, wrap("inspection reminders", err)
		}
		out = append(out, InspectionReminder{Inspection: in, Level: in.Reminded})
	}
	return out, nil
}

// InspectionReport is what inspections did over a period (the monthly
// report's inspection section).
type InspectionReport struct {
	Inspections []Inspection
	Anomalies   []InspectionAnomaly
	// Done were answered; Missed were not answered within 12 hours;
	// Pending are still open.
	Done, Missed, Pending int
}

// Inspections returns the inspections planned in [from, to) with their
// anomalies and counts.
func (tx *Tx) Inspections(from, to time.Time) (InspectionReport, error) {
	var r InspectionReport
	if err := tx.db.Where("planned_at >= ? AND planned_at < ?", from.UTC(), to.UTC()).Order("planned_at").Find(&r.Inspections).Error; err != nil {
		return r, wrap("inspections", err)
	}
	ids := make([]int64, 0, len(r.Inspections))
	for _, in := range r.Inspections {
		ids = append(ids, in.ID)
		switch {
		case in.Status == InspectionDone:
			r.Done++
		case tx.now.Sub(in.PlannedAt) >= inspectionMissedAfter:
			r.Missed++
		default:
			r.Pending++
		}
	}
	if len(ids) > 0 {
		if err := tx.db.Where("inspection_id IN ?", ids).Order("id").Find(&r.Anomalies).Error; err != nil {
			return r, wrap("inspection anomalies", err)
		}
	}
	return r, nil
}

// InspectionMonth is Inspections for one calendar month in loc (the
// monthly report).
func (tx *Tx) InspectionMonth(year int, month time.Month, loc *time.Location) (InspectionReport, error) {
	from := time.Date(year, month, 1, 0, 0, 0, 0, loc)
	return tx.Inspections(from, from.AddDate(0, 1, 0))
}
