package models

import (
	"math/rand"
	"testing"
	"time"
)

var defaultHours = []string{"08:00-12:00", "14:00-18:00"}

func newClock(t testing.TB) WorkClock {
	t.Helper()
	w, err := NewWorkClock(newCal(t), defaultHours, cst)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

const day = 8 * time.Hour // one business day with the default hours

func TestWorkClockAdd(t *testing.T) {
	w := newClock(t)
	tests := []struct {
		name  string
		start string
		d     time.Duration
		want  string
	}{
		{"high across National Day", "2026-09-30 17:00", day, "2026-10-08 17:00"},
		{"high across a weekend", "2026-11-27 17:00", day, "2026-11-30 17:00"},
		{"lunch: 12:30 counts from 14:00", "2026-11-25 12:30", time.Hour, "2026-11-25 15:00"},
		{"lunch: 11:30 pauses at noon", "2026-11-25 11:30", time.Hour, "2026-11-25 14:30"},
		{"count ending at 18:00 is due 18:00", "2026-11-25 10:00", 6 * time.Hour, "2026-11-25 18:00"},
		{"count ending at 12:00 is due 12:00", "2026-11-25 08:00", 4 * time.Hour, "2026-11-25 12:00"},
		{"a full day from 08:00 ends 18:00", "2026-11-25 08:00", day, "2026-11-25 18:00"},
		{"start at 18:00 counts next morning", "2026-11-25 18:00", time.Hour, "2026-11-26 09:00"},
		{"start before opening", "2026-11-25 06:30", 30 * time.Minute, "2026-11-25 08:30"},
		{"start in the night", "2026-11-25 23:00", time.Hour, "2026-11-26 09:00"},
		{"start on Saturday", "2026-11-28 10:00", time.Hour, "2026-11-30 09:00"},
		{"make-up Saturday counts", "2026-02-13 17:00", day, "2026-02-14 17:00"},
		{"Spring Festival is skipped", "2026-02-14 17:00", day, "2026-02-24 17:00"},
		{"low across Spring Festival", "2026-02-12 10:00", 5 * day, "2026-02-26 10:00"},
		{"medium over the 2026-02-28 make-up Saturday", "2026-02-27 10:00", 3 * day, "2026-03-03 10:00"},
		{"medium from the holiday itself", "2026-10-03 10:00", 3 * day, "2026-10-10 18:00"},
		{"New Year: 2026-01-04 Sunday is worked", "2025-12-31 17:00", day, "2026-01-04 17:00"},
		{"into 2027 known holidays", "2027-02-04 17:00", day, "2027-02-14 17:00"},
		{"zero duration", "2026-11-25 12:30", 0, "2026-11-25 12:30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := w.Add(at(t, tt.start), tt.d)
			if want := at(t, tt.want); !got.Equal(want) {
				t.Errorf("Add(%s, %v) = %s, want %s", tt.start, tt.d, got.In(cst).Format("2006-01-02 15:04"), tt.want)
			}
		})
	}
}

func TestWorkClockAddKeepsSeconds(t *testing.T) {
	w := newClock(t)
	start := at(t, "2026-11-25 17:59").Add(30 * time.Second)
	want := at(t, "2026-11-26 08:00").Add(30 * time.Second)
	if got := w.Add(start, time.Minute); !got.Equal(want) {
		t.Errorf("Add = %s, want %s", got, want)
	}
}

func TestWorkClockBetween(t *testing.T) {
	w := newClock(t)
	tests := []struct {
		name string
		a, b string
		want time.Duration
	}{
		{"inside a period", "2026-11-25 09:00", "2026-11-25 10:30", 90 * time.Minute},
		{"lunch excluded", "2026-11-25 11:00", "2026-11-25 15:00", 2 * time.Hour},
		{"evening to morning", "2026-11-25 17:00", "2026-11-26 09:00", 2 * time.Hour},
		{"a whole weekend", "2026-11-27 18:00", "2026-11-30 08:00", 0},
		{"over National Day", "2026-09-30 17:00", "2026-10-08 17:00", day},
		{"a working week", "2026-11-23 00:00", "2026-11-30 00:00", 5 * day},
		{"b before a", "2026-11-25 15:00", "2026-11-25 10:00", 0},
		{"empty", "2026-11-25 15:00", "2026-11-25 15:00", 0},
		{"February 2026: 20 weekdays - 6 holidays + 2 make-up Saturdays", "2026-02-01 00:00", "2026-03-01 00:00", 16 * day},
		{"October 2026: 22 weekdays - 5 holidays + 1 make-up Saturday", "2026-10-01 00:00", "2026-11-01 00:00", 18 * day},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := w.Between(at(t, tt.a), at(t, tt.b)); got != tt.want {
				t.Errorf("Between(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestInBusinessHours(t *testing.T) {
	w := newClock(t)
	tests := []struct {
		at   string
		want bool
	}{
		{"2026-11-25 07:59", false},
		{"2026-11-25 08:00", true},
		{"2026-11-25 11:59", true},
		{"2026-11-25 12:00", false},
		{"2026-11-25 12:30", false},
		{"2026-11-25 14:00", true},
		{"2026-11-25 17:59", true},
		{"2026-11-25 18:00", false},
		{"2026-11-28 10:00", false}, // Saturday
		{"2026-02-14 10:00", true},  // make-up Saturday
		{"2026-10-01 10:00", false}, // National Day
	}
	for _, tt := range tests {
		if got := w.InBusinessHours(at(t, tt.at)); got != tt.want {
			t.Errorf("InBusinessHours(%s) = %v, want %v", tt.at, got, tt.want)
		}
	}
}

func TestDayLength(t *testing.T) {
	if got := newClock(t).DayLength(); got != 8*time.Hour {
		t.Errorf("default DayLength = %v, want 8h", got)
	}
	w, err := NewWorkClock(newCal(t), []string{"08:30-12:00", "13:30-17:30", "19:00-24:00"}, cst)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.DayLength(); got != 12*time.Hour+30*time.Minute {
		t.Errorf("DayLength = %v, want 12h30m", got)
	}
	// A period to midnight ends at the next day's 00:00.
	if got, want := w.Add(at(t, "2026-11-25 23:00"), time.Hour), at(t, "2026-11-26 00:00"); !got.Equal(want) {
		t.Errorf("Add to midnight = %s, want %s", got, want)
	}
}

func TestNewWorkClockRejects(t *testing.T) {
	cal := newCal(t)
	for _, periods := range [][]string{nil, {"8:00-12:00"}, {"14:00-12:00"}, {"08:00-12:00", "11:00-13:00"}, {"08:00"}} {
		if _, err := NewWorkClock(cal, periods, cst); err == nil {
			t.Errorf("periods %q accepted", periods)
		}
	}
	if _, err := NewWorkClock(nil, defaultHours, cst); err == nil {
		t.Error("nil calendar accepted")
	}
	if _, err := NewWorkClock(cal, defaultHours, nil); err == nil {
		t.Error("nil location accepted")
	}
}

func TestEndOfDay(t *testing.T) {
	w := newClock(t)
	tests := []struct{ date, want string }{
		{"2026-12-31", "2026-12-31 18:00"}, // a working Thursday
		{"2027-01-01", "2026-12-31 18:00"}, // New Year: the working day before
		{"2026-10-05", "2026-09-30 18:00"}, // inside National Day
		{"2026-11-29", "2026-11-27 18:00"}, // Sunday
		{"2026-10-10", "2026-10-10 18:00"}, // make-up Saturday
	}
	for _, tt := range tests {
		d, _ := time.Parse(time.DateOnly, tt.date) // UTC midnight, as a date arrives from a form
		if got := w.EndOfDay(d); !got.Equal(at(t, tt.want)) {
			t.Errorf("EndOfDay(%s) = %s, want %s", tt.date, got.In(cst), tt.want)
		}
	}
}

// TestWorkClockProperties checks, over random instants and durations that
// cross weekends, holidays and make-up days of 2025-2027, that Between
// undoes Add, that Add is monotonic in both arguments and that a deadline
// always falls inside business hours or at a period's end.
func TestWorkClockProperties(t *testing.T) {
	w := newClock(t)
	rng := rand.New(rand.NewSource(20260930))
	base := at(t, "2025-01-01 00:00")
	span := int64(3 * 365 * 24 * time.Hour)
	// Whole hours make counts end exactly on period bounds (12:00, 18:00),
	// where off-by-one mistakes hide; the rest fall anywhere.
	round := func(d time.Duration) time.Duration {
		switch rng.Intn(3) {
		case 0:
			return d.Truncate(time.Hour)
		case 1:
			return d.Truncate(time.Minute)
		}
		return d
	}
	randInstant := func() time.Time { return base.Add(round(time.Duration(rng.Int63n(span)))) }
	randDuration := func() time.Duration { return round(time.Duration(rng.Int63n(int64(10 * day)))) }
	for i := 0; i < 20000; i++ {
		t1, d1 := randInstant(), randDuration()
		due := w.Add(t1, d1)
		if got := w.Between(t1, due); got != d1 {
			t.Fatalf("Between(%s, Add(%s, %v)) = %v", t1, t1, d1, got)
		}
		if d1 > 0 && !w.InBusinessHours(due.Add(-time.Nanosecond)) {
			t.Fatalf("Add(%s, %v) = %s, just after a non-business instant", t1, d1, due)
		}
		t2, d2 := t1.Add(time.Duration(rng.Int63n(int64(72*time.Hour)))), d1+time.Duration(rng.Int63n(int64(day)))
		if w.Add(t2, d1).Before(due) {
			t.Fatalf("Add not monotonic in t: Add(%s)=%s before Add(%s)=%s", t2, w.Add(t2, d1), t1, due)
		}
		if w.Add(t1, d2).Before(due) {
			t.Fatalf("Add not monotonic in d: Add(%v)=%s before Add(%v)=%s", d2, w.Add(t1, d2), d1, due)
		}
		if a, b := w.Between(t1, t2)+w.Between(t2, due), w.Between(t1, due); t2.Before(due) && a != b {
			t.Fatalf("Between not additive at %s|%s|%s: %v != %v", t1, t2, due, a, b)
		}
	}
}

func BenchmarkAddFiveWorkingDays(b *testing.B) {
	w := newClock(b)
	start := at(b, "2026-09-28 10:30") // crosses National Day
	for b.Loop() {
		w.Add(start, 5*day)
	}
}

func BenchmarkBetweenMonth(b *testing.B) {
	w := newClock(b)
	from, to := at(b, "2026-10-01 00:00"), at(b, "2026-11-01 00:00")
	for b.Loop() {
		w.Between(from, to)
	}
}
