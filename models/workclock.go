package models

import (
	"errors"
	"fmt"
	"time"

	"opsbot/configs"
)

// WorkClock counts business time: time inside the business periods of
// working days, read in one location. The zero value is not usable; build
// it with NewWorkClock.
type WorkClock struct {
	cal     *Calendar
	periods []configs.Period
	loc     *time.Location
	dayLen  time.Duration
}

// NewWorkClock builds a clock from a calendar and "HH:MM-HH:MM" periods,
// which must be in order and must not overlap.
func NewWorkClock(cal *Calendar, periods []string, loc *time.Location) (WorkClock, error) {
	if cal == nil {
		return WorkClock{}, errors.New("work clock: nil calendar")
	}
	if loc == nil {
		return WorkClock{}, errors.New("work clock: nil location")
	}
	ps, err := configs.ParseBusinessHours(periods)
	if err != nil {
		return WorkClock{}, fmt.Errorf("work clock: %w", err)
	}
	var total int
	for _, p := range ps {
		total += p.Minutes()
	}
	return WorkClock{cal: cal, periods: ps, loc: loc, dayLen: time.Duration(total) * time.Minute}, nil
}

// Calendar is the working-day calendar the clock counts on.
func (w WorkClock) Calendar() *Calendar { return w.cal }

// Location is the zone whose wall clock the business periods are read in.
func (w WorkClock) Location() *time.Location { return w.loc }

// DayLength is the business time in one working day (8h by default).
func (w WorkClock) DayLength() time.Duration { return w.dayLen }

// period returns the i-th business period of the date y-m-d as instants.
// Building each bound with time.Date keeps it right across DST changes.
func (w WorkClock) period(y int, m time.Month, d, i int) (start, end time.Time) {
	p := w.periods[i]
	return time.Date(y, m, d, 0, p.Start, 0, 0, w.loc), time.Date(y, m, d, 0, p.End, 0, 0, w.loc)
}

// workday reports whether the date y-m-d is a working day.
func (w WorkClock) workday(y int, m time.Month, d int) bool {
	work, _ := w.cal.dateDay(y, m, d)
	return work
}

// nextDate returns the date after y-m-d.
func nextDate(y int, m time.Month, d int) (int, time.Month, int) {
	return time.Date(y, m, d+1, 12, 0, 0, 0, time.UTC).Date()
}

// Add returns the instant at which d of business time has elapsed since t.
// Counting starts at the next business instant (12:30 counts from 14:00)
// and the result is the instant the count is reached, so a count that ends
// at 18:00 is due at 18:00, not the next morning. d <= 0 returns t.
func (w WorkClock) Add(t time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return t
	}
	y, m, day := t.In(w.loc).Date()
	// One pass per calendar day; NewWorkClock guarantees a non-empty day,
	// and every weekday past the known years is working, so this ends.
	for {
		if w.workday(y, m, day) {
			due, rest, done := w.consume(y, m, day, t, d)
			if done {
				return due
			}
			d = rest
		}
		y, m, day = nextDate(y, m, day)
	}
}

// consume counts d down through the periods of the working day y-m-d that
// lie after t; it returns the instant d runs out, or the time still left
// once the day is used up.
func (w WorkClock) consume(y int, m time.Month, day int, t time.Time, d time.Duration) (due time.Time, rest time.Duration, done bool) {
	for i := range w.periods {
		start, end := w.period(y, m, day, i)
		if !end.After(t) {
			continue
		}
		if t.After(start) {
			start = t
		}
		left := end.Sub(start)
		if d <= left {
			return start.Add(d), 0, true
		}
		d -= left
	}
	return time.Time{}, d, false
}

// Between returns the business time in [a, b); 0 when b is not after a.
func (w WorkClock) Between(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	var total time.Duration
	y, m, day := a.In(w.loc).Date()
	for {
		if w.workday(y, m, day) {
			total += w.overlap(y, m, day, a, b)
		}
		if !time.Date(y, m, day+1, 0, 0, 0, 0, w.loc).Before(b) {
			return total
		}
		y, m, day = nextDate(y, m, day)
	}
}

// overlap is the business time of the working day y-m-d inside [a, b).
func (w WorkClock) overlap(y int, m time.Month, d int, a, b time.Time) time.Duration {
	var total time.Duration
	for i := range w.periods {
		from, to := w.period(y, m, d, i)
		if a.After(from) {
			from = a
		}
		if b.Before(to) {
			to = b
		}
		if to.After(from) {
			total += to.Sub(from)
		}
	}
	return total
}

// InBusinessHours reports whether t is inside a business period of a
// working day; periods are half-open, so 18:00 itself is outside.
func (w WorkClock) InBusinessHours(t time.Time) bool {
	y, m, d := t.In(w.loc).Date()
	if !w.workday(y, m, d) {
		return false
	}
	for i := range w.periods {
		start, end := w.period(y, m, d, i)
		if !t.Before(start) && t.Before(end) {
			return true
		}
	}
	return false
}

// EndOfDay returns the end of the last business period of date's calendar
// day, or of the working day before it when that day is off; only the year,
// month and day of date matter.
func (w WorkClock) EndOfDay(date time.Time) time.Time {
	y, m, d := date.Date()
	for {
		if w.workday(y, m, d) {
			_, end := w.period(y, m, d, len(w.periods)-1)
			return end
		}
		y, m, d = time.Date(y, m, d-1, 12, 0, 0, 0, time.UTC).Date()
	}
}
