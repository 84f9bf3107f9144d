package models

import (
	"fmt"
	"time"

	"opsbot/configs"
)

// LoadSLA builds the deadline policy from configuration: the calendar
// overrides file, the business hours and the targets.
func LoadSLA(cfg configs.SLA, loc *time.Location) (SLAPolicy, error) {
	file, err := configs.LoadCalendar(cfg.CalendarFile)
	if err != nil {
		return SLAPolicy{}, err
	}
	cal, err := NewCalendar(file.Days, loc)
	if err != nil {
		return SLAPolicy{}, fmt.Errorf("calendar: %w", err)
	}
	clock, err := NewWorkClock(cal, cfg.BusinessHours, loc)
	if err != nil {
		return SLAPolicy{}, fmt.Errorf("sla.business_hours: %w", err)
	}
	return NewSLAPolicy(cfg, clock)
}

// Ready reports whether the policy was built (the zero value is not).
func (p SLAPolicy) Ready() bool { return p.clock.cal != nil }
