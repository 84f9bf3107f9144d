package models

import (
	"time"

	"opsbot/configs"
)

// Clock names one of a ticket's running clocks.
type Clock string

// The clocks the sweep watches.
const (
	// ClockResponse runs from creation until someone claims the ticket.
	ClockResponse Clock = "response"
	// ClockOnsite runs for urgent faults until the engineer is on site.
	ClockOnsite Clock = "onsite"
	// ClockResolution runs in business time while the ticket is worked.
	ClockResolution Clock = "resolution"
	// ClockConfirm runs while a resolved ticket waits for the reporter;
	// when it ends the ticket closes unconfirmed.
	ClockConfirm Clock = "confirm"
)

// ReminderPolicy decides which reminders are due: a pure function of a
// ticket and an instant (see docs/reminders.md).
type ReminderPolicy struct {
	SLA    SLAPolicy
	Levels configs.Reminders
	// AutoClose is how long a resolved ticket waits for confirmation.
	AutoClose time.Duration
}

// Due is one reminder level that has fallen due.
type Due struct {
	Clock Clock
	Level int
	Name  string
	To    []string
	// At is when the level fell due; Deadline the clock's deadline.
	At, Deadline time.Time
}

func (p ReminderPolicy) levels(c Clock) []configs.ReminderLevel {
	switch c {
	case ClockResponse:
		return p.Levels.Response
	case ClockOnsite:
		return p.Levels.Onsite
	case ClockResolution:
		return p.Levels.Resolution
	}
	return nil
}

// running reports whether clock c is running on t.
func running(t *Ticket, c Clock) bool {
	switch c {
	case ClockResponse:
		return t.Status == StatusNew
	case ClockOnsite:
		return t.DueOnsite != nil && t.OnsiteAt == nil && (t.Status == StatusNew || t.Status == StatusClaimed)
	case ClockResolution:
		return t.Status == StatusNew || t.Status == StatusClaimed || t.Status == StatusOnsite
	case ClockConfirm:
		return t.Status == StatusResolved && t.ResolvedAt != nil
	}
	return false
}

// sentMask is the bitmask of levels of c already sent for t.
func sentMask(t *Ticket, c Clock) int {
	switch c {
	case ClockResponse:
		return t.RemindResponse
	case ClockOnsite:
		return t.RemindOnsite
	case ClockResolution:
		return t.RemindResolution
	}
	return 0
}

func markSent(t *Ticket, c Clock, level int) {
	switch c {
	case ClockResponse:
		t.RemindResponse |= 1 << level
	case ClockOnsite:
		t.RemindOnsite |= 1 << level
	case ClockResolution:
		t.RemindResolution |= 1 << level
	}
}

// levelAt is the instant level l of clock c falls due for t. Response and
// on-site count wall time from creation; resolution counts business time,
// so a pause or a holiday moves its levels as it moves the deadline.
func (p ReminderPolicy) levelAt(t *Ticket, c Clock, l configs.ReminderLevel) (at, deadline time.Time) {
	switch c {
	case ClockResponse:
		target := t.DueResponse.Sub(t.CreatedAt)
		return t.CreatedAt.Add(time.Duration(l.Fraction*float64(target)) + l.After.D()), t.DueResponse
	case ClockOnsite:
		target := t.DueOnsite.Sub(t.CreatedAt)
		return t.CreatedAt.Add(time.Duration(l.Fraction*float64(target)) + l.After.D()), *t.DueOnsite
	}
	clock := p.SLA.Clock()
	// The target is what the deadline allows: for policy tickets the date
	// the document sets, for others the priority's working days.
	target := p.SLA.ResolutionTarget(t.Priority)
	if t.Kind == KindPolicy {
		target = clock.Between(t.CreatedAt, t.DueResolution) - t.PausedBusiness
	}
	used := time.Duration(l.Fraction*float64(target)) + l.After.D() + time.Duration(l.WorkDays)*clock.DayLength()
	return clock.Add(t.CreatedAt, used+t.PausedBusiness), t.DueResolution
}

// Check returns the reminders due for t at now that were not sent yet, and
// the next instant anything will be due (zero when no clock runs). A level
// already due but unsent makes next lie in the past, so the sweep finds it.
func (p ReminderPolicy) Check(t *Ticket, now time.Time) (due []Due, next time.Time) {
	consider := func(at time.Time) {
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	for _, c := range []Clock{ClockResponse, ClockOnsite, ClockResolution} {
		if !running(t, c) {
			continue
		}
		mask := sentMask(t, c)
		for i, l := range p.levels(c) {
			if mask&(1<<i) != 0 {
				continue
			}
			at, deadline := p.levelAt(t, c, l)
			consider(at)
			if !at.After(now) {
				due = append(due, Due{Clock: c, Level: i, Name: l.Name, To: l.To, At: at, Deadline: deadline})
			}
		}
	}
	if running(t, ClockConfirm) && p.AutoClose > 0 {
		at := t.ResolvedAt.Add(p.AutoClose)
		consider(at)
		if !at.After(now) {
			due = append(due, Due{Clock: ClockConfirm, Name: "自动关闭", At: at, Deadline: at})
		}
	}
	return due, next
}
