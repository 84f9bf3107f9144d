package models

import (
	"time"

	"opsbot/configs"
)

// Judgement is what a ticket's deadlines say at one instant. It is the one
// home of "breached" and "soon due": the queue, 待办, 统计, the reminders,
// the reports and the console all ask it (or its SQL twin in kpi.go, which
// TestJudgeAgreesWithSQL keeps equal). docs/kpi.md defines each clause.
type Judgement struct {
	// ResponseBreached: claimed after the response deadline, or still
	// unclaimed past it.
	ResponseBreached bool
	// OnsiteBreached: a visit was owed and the engineer arrived (or the
	// ticket was resolved without a visit) after the on-site deadline, or
	// has not yet and it has passed.
	OnsiteBreached bool
	// ResolutionBreached: the resolution clock stopped (paused, resolved)
	// after the deadline, or is still running past it.
	ResolutionBreached bool
	// SoonDue: the resolution clock runs, has not breached, and has used
	// at least the warning fraction of its target.
	SoonDue bool
}

// Breached reports whether any deadline was missed.
func (j Judgement) Breached() bool {
	return j.ResponseBreached || j.OnsiteBreached || j.ResolutionBreached
}

// SoonDueFraction is the share of the resolution target after which a
// ticket counts as soon due: the earliest resolution reminder level that
// warns before the deadline (即将超时, 0.75 by default), so that the list
// marks and the reminder agree.
func SoonDueFraction(levels configs.Reminders) float64 {
	f := 0.0
	for _, l := range levels.Resolution {
		if l.Fraction > 0 && l.Fraction < 1 && l.WorkDays == 0 && l.After == 0 && (f == 0 || l.Fraction < f) {
			f = l.Fraction
		}
	}
	if f == 0 {
		return 0.75
	}
	return f
}

// resolutionStop is when the resolution clock stopped, nil while it runs:
// a pause and a resolution both stop it at PausedAt.
func resolutionStop(t *Ticket) *time.Time {
	switch t.Status {
	case StatusPaused, StatusResolved, StatusClosed:
		if t.PausedAt != nil {
			return t.PausedAt
		}
		return t.ResolvedAt
	}
	return nil
}

// Judge judges t at now. A cancelled ticket breaches nothing.
func (p ReminderPolicy) Judge(t *Ticket, now time.Time) Judgement {
	var j Judgement
	if t.Status == StatusCancelled {
		return j
	}
	if t.ClaimedAt != nil {
		j.ResponseBreached = t.ClaimedAt.After(t.DueResponse)
	} else {
		j.ResponseBreached = t.Status == StatusNew && now.After(t.DueResponse)
	}
	if t.DueOnsite != nil {
		stop := t.OnsiteAt
		if stop == nil {
			stop = t.ResolvedAt
		}
		if stop != nil {
			j.OnsiteBreached = stop.After(*t.DueOnsite)
		} else {
			j.OnsiteBreached = (t.Status == StatusNew || t.Status == StatusClaimed) && now.After(*t.DueOnsite)
		}
	}
	if stop := resolutionStop(t); stop != nil {
		j.ResolutionBreached = stop.After(t.DueResolution)
	} else {
		j.ResolutionBreached = now.After(t.DueResolution)
	}
	if !j.ResolutionBreached && running(t, ClockResolution) {
		warn, _ := p.levelAt(t, ClockResolution, configs.ReminderLevel{Fraction: p.soonDue()})
		j.SoonDue = !now.Before(warn)
	}
	return j
}

func (p ReminderPolicy) soonDue() float64 { return SoonDueFraction(p.Levels) }

// Judge judges t at the transaction's instant with the store's policy.
func (tx *Tx) Judge(t *Ticket) Judgement { return tx.s.rem.Judge(t, tx.now) }

// Judge judges t at now with the store's policy (lists built outside a
// transaction, such as the console's).
func (s *Store) Judge(t *Ticket, now time.Time) Judgement { return s.rem.Judge(t, now) }
