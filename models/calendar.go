package models

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/6tail/lunar-go/HolidayUtil"

	"opsbot/configs"
)

// Calendar says which days are Chinese working days: the statutory calendar
// of the holiday library (holidays and make-up workdays, 调休) with the
// overrides of configs/calendar.yaml on top. It is read-only after
// NewCalendar and safe for concurrent use.
type Calendar struct {
	loc   *time.Location
	days  map[dayKey]calendarEntry // statutory days merged with overrides
	known map[int]bool             // years whose holidays are published
}

// calendarEntry is a day that is not decided by its weekday alone.
type calendarEntry struct {
	work bool
	note string
}

// dayKey is a calendar date as yyyymmdd; cheaper to hash than time.Time and
// free of any time zone.
type dayKey int

func keyOf(y int, m time.Month, d int) dayKey { return dayKey(y*10000 + int(m)*100 + d) }

// statutory is the holiday library's data, read once per process. The
// library scans one long string on every lookup, so we copy it into a map
// (see BenchmarkLunarGetHoliday against BenchmarkCalendarDay).
var statutory = sync.OnceValue(loadStatutory)

type statutoryData struct {
	days  map[dayKey]calendarEntry
	known map[int]bool
}

// firstStatutoryYear is the first year the library has data for (its data
// starts with the New Year holiday of 2002, announced in December 2001).
const firstStatutoryYear = 2001

func loadStatutory() statutoryData {
	sd := statutoryData{days: map[dayKey]calendarEntry{}, known: map[int]bool{}}
	// The library's years are contiguous, so the first empty year ends them.
	for y := firstStatutoryYear; ; y++ {
		l := HolidayUtil.GetHolidaysByYear(y)
		if l.Len() == 0 {
			break
		}
		for e := l.Front(); e != nil; e = e.Next() {
			h := e.Value.(*HolidayUtil.Holiday)
			day, err1 := time.Parse(time.DateOnly, h.GetDay())
			target, err2 := time.Parse(time.DateOnly, h.GetTarget())
			if err1 != nil || err2 != nil {
				continue // never seen; a malformed record must not stop the rest
			}
			note := h.GetName()
			if h.IsWork() {
				note = "调休"
			}
			sd.days[keyOf(day.Date())] = calendarEntry{work: h.IsWork(), note: note}
			// A year is published when its holidays are, whichever year
			// their first day falls in (2002's New Year began 2001-12-29).
			sd.known[target.Year()] = true
		}
	}
	return sd
}

// NewCalendar merges the overrides into the statutory calendar; loc is the
// zone in which an instant's date is read (Asia/Shanghai in production).
func NewCalendar(days []configs.CalendarDay, loc *time.Location) (*Calendar, error) {
	if loc == nil {
		return nil, errors.New("calendar: nil location")
	}
	sd := statutory()
	c := &Calendar{
		loc:   loc,
		days:  make(map[dayKey]calendarEntry, len(sd.days)+len(days)),
		known: make(map[int]bool, len(sd.known)+1),
	}
	for k, v := range sd.days {
		c.days[k] = v
	}
	for y := range sd.known {
		c.known[y] = true
	}
	seen := make(map[dayKey]bool, len(days))
	for _, d := range days {
		if d.Date.IsZero() {
			return nil, errors.New("calendar: override without a date")
		}
		k := keyOf(d.Date.Date())
		if seen[k] {
			return nil, fmt.Errorf("calendar: %s is overridden twice", d.Date.Format(time.DateOnly))
		}
		seen[k] = true
		c.days[k] = calendarEntry{work: d.Work, note: overrideNote(d)}
		c.known[d.Date.Year()] = true
	}
	return c, nil
}

// overrideNote keeps the file's note, or says what kind of day it is.
func overrideNote(d configs.CalendarDay) string {
	if d.Note != "" {
		return d.Note
	}
	weekend := isWeekend(d.Date.Weekday())
	switch {
	case d.Work && weekend:
		return "调休"
	case !d.Work && weekend:
		return "周末"
	case !d.Work:
		return "休息"
	}
	return ""
}

func isWeekend(w time.Weekday) bool { return w == time.Saturday || w == time.Sunday }

// Location is the zone in which the calendar reads dates.
func (c *Calendar) Location() *time.Location { return c.loc }

// IsWorkday reports whether t falls on a working day.
func (c *Calendar) IsWorkday(t time.Time) bool {
	work, _ := c.Day(t)
	return work
}

// Day says whether t's date is a working day and why: a holiday name such
// as 国庆节, 调休 for a make-up workday, 周末 for a plain weekend, "" for a
// plain weekday.
func (c *Calendar) Day(t time.Time) (work bool, note string) {
	return c.dateDay(t.In(c.loc).Date())
}

// dateDay is Day for a date already read in the calendar's zone.
func (c *Calendar) dateDay(y int, m time.Month, d int) (bool, string) {
	if e, ok := c.days[keyOf(y, m, d)]; ok {
		return e.work, e.note
	}
	if isWeekend(time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Weekday()) {
		return false, "周末"
	}
	return true, ""
}

// KnowsYear reports whether year's holidays are known, from the library or
// from overrides; for an unknown year every weekday counts as working.
func (c *Calendar) KnowsYear(year int) bool { return c.known[year] }

// MissingYear names the year whose holidays are missing and matter now:
// this year's at any time, next year's from December.
func (c *Calendar) MissingYear(now time.Time) (int, bool) {
	now = now.In(c.loc)
	switch {
	case !c.KnowsYear(now.Year()):
		return now.Year(), true
	case c.MissingNextYear(now):
		return now.Year() + 1, true
	}
	return 0, false
}

// MissingNextYear reports whether, in December of now's year, next year's
// holidays are still unknown, so operators can add them before they count.
func (c *Calendar) MissingNextYear(now time.Time) bool {
	now = now.In(c.loc)
	return now.Month() == time.December && !c.KnowsYear(now.Year()+1)
}
