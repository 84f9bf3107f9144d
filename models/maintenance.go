package models

import (
	"context"
	"time"
)

// Maintenance is a planned work window on one system (维护): its alerts
// and probes are muted, and reporters hear that the work is planned.
type Maintenance struct {
	ID          int64  `gorm:"primaryKey"`
	System      string `gorm:"column:system_code"`
	StartsAt    time.Time
	EndsAt      time.Time
	Reason      string
	CreatedBy   string
	CancelledAt *time.Time
}

// TableName is the maintenance table.
func (Maintenance) TableName() string { return "maintenance_windows" }

// StartMaintenance opens a window on each of systems from now for d. A
// window already running on a system is replaced (ended now).
func (tx *Tx) StartMaintenance(systems []string, d time.Duration, reason string, a Actor) ([]Maintenance, error) {
	if !a.Manages() {
		return nil, Errorf(EForbidden, "只有服务主管可以登记维护")
	}
	if d <= 0 || d > 7*24*time.Hour {
		return nil, Errorf(EInvalid, "维护时长要在 1 分钟到 7 天之间，例如：维护 收费 2h 数据库升级")
	}
	if _, err := tx.CancelMaintenance(systems, a); err != nil {
		return nil, err
	}
	var out []Maintenance
	for _, sys := range systems {
		m := Maintenance{System: shorten(sys, 32), StartsAt: tx.now, EndsAt: tx.now.Add(d), Reason: reason, CreatedBy: a.UserID}
		if err := tx.db.Create(&m).Error; err != nil {
			return nil, wrap("start maintenance", err)
		}
		out = append(out, m)
	}
	return out, nil
}

// CancelMaintenance ends the running windows of systems (all when empty).
func (tx *Tx) CancelMaintenance(systems []string, a Actor) ([]Maintenance, error) {
	if !a.Manages() {
		return nil, Errorf(EForbidden, "只有服务主管可以取消维护")
	}
	active, err := tx.ActiveMaintenance(systems)
	if err != nil || len(active) == 0 {
		return nil, err
	}
	ids := make([]int64, len(active))
	for i, m := range active {
		ids[i] = m.ID
	}
	err = tx.db.Model(&Maintenance{}).Where("id IN ?", ids).Update("cancelled_at", tx.now).Error
	return active, wrap("cancel maintenance", err)
}

// ActiveMaintenance lists the windows running now on systems (all when empty).
func (tx *Tx) ActiveMaintenance(systems []string) ([]Maintenance, error) {
	return activeMaintenance(tx, tx.now, systems)
}

func activeMaintenance(tx *Tx, now time.Time, systems []string) ([]Maintenance, error) {
	q := tx.db.Where("starts_at <= ? AND ends_at > ? AND cancelled_at IS NULL", now, now)
	if len(systems) > 0 {
		q = q.Where("system_code IN ?", systems)
	}
	var out []Maintenance
	return out, wrap("maintenance", q.Order("ends_at").Find(&out).Error)
}

// MaintainedSystems returns the systems under maintenance now, for the
// probe runner's Mute hook and the alert sink (one read, no transaction
// of the caller needed).
func (s *Store) MaintainedSystems(ctx context.Context) (map[string]Maintenance, error) {
	out := map[string]Maintenance{}
	err := s.View(ctx, func(tx *Tx) error {
		ms, err := tx.ActiveMaintenance(nil)
		for _, m := range ms {
			out[m.System] = m
		}
		return err
	})
	return out, err
}
