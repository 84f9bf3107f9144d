package models

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"opsbot/configs"
)

// SLAPolicy turns the contract's service levels into deadlines.
//
// Two clocks run on a ticket. Response and on-site arrival run on the wall
// clock, 7×24 (tender 5.4). Resolution runs in business time (tender 4.5.1,
// 4.5.3: working days, business hours only) and follows these rules:
//
//   - 挂起 (pause) stops the resolution clock; the pause is measured in
//     business time (WorkClock.Between over the paused interval) and pushes
//     the deadline out by exactly that much. Resuming continues the count.
//   - A priority change keeps the business time already used: the new due
//     time is Add(created, newTarget + paused), which is ResolutionDue with
//     the new priority.
//   - A reopen resumes the clock, it does not restart it: the time the
//     ticket spent resolved counts as paused.
//   - Policy-interface tickets (KindPolicy) are due on the date the
//     government document sets; see PolicyDue.
type SLAPolicy struct {
	clock    WorkClock
	response time.Duration
	onsite   time.Duration
	days     configs.ResolutionDays
}

// Deadlines are the three due instants of a new ticket.
type Deadlines struct {
	// Response is when the first (phone) response is due.
	Response time.Time
	// Onsite is when an engineer must be on site; zero when not required.
	Onsite time.Time
	// Resolution is when the ticket must be resolved.
	Resolution time.Time
}

// NewSLAPolicy checks cfg and pairs it with the clock the resolution
// deadlines are counted on.
func NewSLAPolicy(cfg configs.SLA, clock WorkClock) (SLAPolicy, error) {
	if err := cfg.Validate(); err != nil {
		return SLAPolicy{}, fmt.Errorf("sla policy: %w", err)
	}
	if clock.cal == nil {
		return SLAPolicy{}, errors.New("sla policy: work clock not built with NewWorkClock")
	}
	// Both come from one config in main; a mismatch is a wiring mistake
	// that would make ResolutionTarget disagree with the clock.
	if ps, _ := configs.ParseBusinessHours(cfg.BusinessHours); !slices.Equal(ps, clock.periods) {
		return SLAPolicy{}, fmt.Errorf("sla policy: clock periods differ from sla.business_hours %q", cfg.BusinessHours)
	}
	return SLAPolicy{
		clock:    clock,
		response: cfg.Response.D(),
		onsite:   cfg.Onsite.D(),
		days:     cfg.ResolutionDays,
	}, nil
}

// Clock is the business-time clock the policy counts resolution on.
func (p SLAPolicy) Clock() WorkClock { return p.clock }

// ResolutionTarget is the business time allowed to resolve a ticket of
// priority pr: working days × the length of a business day.
func (p SLAPolicy) ResolutionTarget(pr Priority) time.Duration {
	days := p.days.Low // an unknown priority gets the most lenient target
	switch pr {
	case PriorityHigh:
		days = p.days.High
	case PriorityMedium:
		days = p.days.Medium
	}
	return time.Duration(days) * p.clock.DayLength()
}

// OnsiteRequired reports whether a ticket needs an engineer on site: only
// urgent faults do (tender 5.4).
func OnsiteRequired(pr Priority, k Kind) bool {
	return pr == PriorityHigh && k == KindFault
}

// Deadlines returns the due instants of a ticket created at created. For
// KindPolicy the caller replaces Resolution with PolicyDue of the date the
// document sets, which this function cannot know.
func (p SLAPolicy) Deadlines(created time.Time, pr Priority, k Kind) Deadlines {
	d := Deadlines{
		Response:   created.Add(p.response),
		Resolution: p.ResolutionDue(created, pr, 0),
	}
	if OnsiteRequired(pr, k) {
		d.Onsite = created.Add(p.onsite)
	}
	return d
}

// ResolutionDue is when a ticket must be resolved, given the business time
// it has spent paused (挂起, or resolved before a reopen) so far.
func (p SLAPolicy) ResolutionDue(created time.Time, pr Priority, pausedBusiness time.Duration) time.Time {
	return p.clock.Add(created, p.ResolutionTarget(pr)+max(pausedBusiness, 0))
}

// Used is the business time a ticket has consumed by now, pauses excluded.
func (p SLAPolicy) Used(created, now time.Time, pausedBusiness time.Duration) time.Duration {
	return max(p.clock.Between(created, now)-pausedBusiness, 0)
}

// PolicyDue is the deadline of a policy-interface ticket whose document
// sets date: the end of that date's last business period, or of the
// working day before when date is a day off. Only date's year, month and
// day matter.
func (p SLAPolicy) PolicyDue(date time.Time) time.Time {
	return p.clock.EndOfDay(date)
}
