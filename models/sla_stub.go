package models

import "time"

// TEMPORARY stand-in until the clock branch lands; deleted at merge.

type Deadlines struct{ Response, Onsite, Resolution time.Time }

type SLAPolicy struct{}

func (p SLAPolicy) Deadlines(created time.Time, pr Priority, k Kind) Deadlines {
	d := Deadlines{Response: created.Add(time.Hour), Resolution: created.Add(24 * time.Hour)}
	if pr == PriorityHigh && k == KindFault {
		d.Onsite = created.Add(2 * time.Hour)
	}
	return d
}
func (p SLAPolicy) ResolutionDue(created time.Time, pr Priority, paused time.Duration) time.Time {
	return created.Add(24*time.Hour + paused)
}
func (p SLAPolicy) Used(created, now time.Time, paused time.Duration) time.Duration {
	return now.Sub(created) - paused
}
