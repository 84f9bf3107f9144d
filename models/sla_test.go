package models

import (
	"strings"
	"testing"
	"time"

	"opsbot/configs"
)

func newPolicy(t testing.TB) SLAPolicy {
	t.Helper()
	p, err := NewSLAPolicy(configs.DefaultSLA(), newClock(t))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestResolutionTarget(t *testing.T) {
	p := newPolicy(t)
	for pr, want := range map[Priority]time.Duration{PriorityHigh: 8 * time.Hour, PriorityMedium: 24 * time.Hour, PriorityLow: 40 * time.Hour} {
		if got := p.ResolutionTarget(pr); got != want {
			t.Errorf("ResolutionTarget(%s) = %v, want %v", pr, got, want)
		}
	}
}

func TestDeadlines(t *testing.T) {
	p := newPolicy(t)
	tests := []struct {
		name                         string
		created                      string
		pr                           Priority
		kind                         Kind
		response, onsite, resolution string // onsite "" means none
	}{
		{"urgent fault before National Day", "2026-09-30 17:00", PriorityHigh, KindFault, "2026-09-30 18:00", "2026-09-30 19:00", "2026-10-08 17:00"},
		{"urgent fault on Friday evening", "2026-11-27 17:00", PriorityHigh, KindFault, "2026-11-27 18:00", "2026-11-27 19:00", "2026-11-30 17:00"},
		{"response runs 7x24 at night", "2026-11-28 23:30", PriorityHigh, KindFault, "2026-11-29 00:30", "2026-11-29 01:30", "2026-11-30 18:00"},
		{"medium fault: no on-site", "2026-11-25 12:30", PriorityMedium, KindFault, "2026-11-25 13:30", "", "2026-11-30 12:00"},
		{"urgent question: no on-site", "2026-11-25 10:00", PriorityHigh, KindQuestion, "2026-11-25 11:00", "", "2026-11-26 10:00"},
		{"low request", "2026-11-25 10:00", PriorityLow, KindRequest, "2026-11-25 11:00", "", "2026-12-02 10:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := p.Deadlines(at(t, tt.created), tt.pr, tt.kind)
			check := func(what string, got time.Time, want string) {
				t.Helper()
				if want == "" {
					if !got.IsZero() {
						t.Errorf("%s = %s, want none", what, got.In(cst))
					}
					return
				}
				if !got.Equal(at(t, want)) {
					t.Errorf("%s = %s, want %s", what, got.In(cst).Format("2006-01-02 15:04"), want)
				}
			}
			check("Response", d.Response, tt.response)
			check("Onsite", d.Onsite, tt.onsite)
			check("Resolution", d.Resolution, tt.resolution)
		})
	}
}

// A medium ticket paused over National Day: the pause is counted in
// business time, so the holiday itself extends nothing.
func TestPauseAcrossHoliday(t *testing.T) {
	p := newPolicy(t)
	w := p.Clock()
	created := at(t, "2026-09-29 10:00")
	pausedAt, resumedAt := at(t, "2026-09-30 10:00"), at(t, "2026-10-09 10:00")

	paused := w.Between(pausedAt, resumedAt)
	if paused != 16*time.Hour { // 09-30 6h + 10-08 8h + 10-09 2h
		t.Fatalf("paused = %v, want 16h", paused)
	}
	if got := p.ResolutionDue(created, PriorityMedium, 0); !got.Equal(at(t, "2026-10-09 10:00")) {
		t.Errorf("due without pause = %s, want 2026-10-09 10:00", got.In(cst))
	}
	if got := p.ResolutionDue(created, PriorityMedium, paused); !got.Equal(at(t, "2026-10-12 10:00")) {
		t.Errorf("due with pause = %s, want 2026-10-12 10:00", got.In(cst))
	}
	if got := p.Used(created, resumedAt, paused); got != 8*time.Hour {
		t.Errorf("used at resume = %v, want 8h (09-29 6h + 09-30 2h)", got)
	}
	// Resuming continues the count: what is left is exactly target - used.
	left := p.ResolutionTarget(PriorityMedium) - p.Used(created, resumedAt, paused)
	if got, want := w.Add(resumedAt, left), p.ResolutionDue(created, PriorityMedium, paused); !got.Equal(want) {
		t.Errorf("resume: Add(resumed, left) = %s, ResolutionDue = %s", got.In(cst), want.In(cst))
	}
}

// Raising or lowering the priority keeps the business time already used.
func TestPriorityChangeMidway(t *testing.T) {
	p := newPolicy(t)
	created := at(t, "2026-11-23 09:00") // Monday
	changedAt := at(t, "2026-11-24 11:00")

	if got := p.ResolutionDue(created, PriorityLow, 0); !got.Equal(at(t, "2026-11-30 09:00")) {
		t.Fatalf("low due = %s, want 2026-11-30 09:00", got.In(cst))
	}
	used := p.Used(created, changedAt, 0)
	if used != 10*time.Hour {
		t.Fatalf("used at change = %v, want 10h", used)
	}
	due := p.ResolutionDue(created, PriorityMedium, 0)
	if !due.Equal(at(t, "2026-11-26 09:00")) {
		t.Errorf("medium due after change = %s, want 2026-11-26 09:00", due.In(cst))
	}
	// The same instant as counting the 14h left from the change.
	if got := p.Clock().Add(changedAt, p.ResolutionTarget(PriorityMedium)-used); !got.Equal(due) {
		t.Errorf("remaining count gives %s, due is %s", got.In(cst), due.In(cst))
	}
	// Raising to high after 10h of an 8h target makes it overdue at once.
	if high := p.ResolutionDue(created, PriorityHigh, 0); !high.Before(changedAt) {
		t.Errorf("high due = %s, should already have passed at %s", high.In(cst), changedAt.In(cst))
	}
	// A pause taken before the change still counts after it.
	paused := p.Clock().Between(at(t, "2026-11-23 14:00"), at(t, "2026-11-23 16:00"))
	if got := p.ResolutionDue(created, PriorityMedium, paused); !got.Equal(at(t, "2026-11-26 11:00")) {
		t.Errorf("medium due with 2h pause = %s, want 2026-11-26 11:00", got.In(cst))
	}
}

// A reopen resumes the clock: the time spent resolved counts as paused.
func TestReopenResumesClock(t *testing.T) {
	p := newPolicy(t)
	created := at(t, "2026-11-25 09:00")
	resolvedAt, reopenedAt := at(t, "2026-11-25 15:00"), at(t, "2026-11-27 10:00")

	if got := p.Used(created, resolvedAt, 0); got != 4*time.Hour {
		t.Fatalf("used at resolve = %v, want 4h", got)
	}
	paused := p.Clock().Between(resolvedAt, reopenedAt) // 3h + 8h + 2h
	due := p.ResolutionDue(created, PriorityHigh, paused)
	if !due.Equal(at(t, "2026-11-27 16:00")) {
		t.Errorf("due after reopen = %s, want 2026-11-27 16:00 (4h left from 10:00)", due.In(cst))
	}
	if restart := p.Clock().Add(reopenedAt, p.ResolutionTarget(PriorityHigh)); due.Equal(restart) {
		t.Error("reopen restarted the clock instead of resuming it")
	}
	if got := p.Used(created, reopenedAt, paused); got != 4*time.Hour {
		t.Errorf("used right after reopen = %v, want still 4h", got)
	}
}

func TestUsedNeverNegative(t *testing.T) {
	p := newPolicy(t)
	if got := p.Used(at(t, "2026-11-25 09:00"), at(t, "2026-11-25 10:00"), 3*time.Hour); got != 0 {
		t.Errorf("Used = %v, want 0", got)
	}
	if got := p.Used(at(t, "2026-11-25 10:00"), at(t, "2026-11-25 09:00"), 0); got != 0 {
		t.Errorf("Used before creation = %v, want 0", got)
	}
}

func TestPolicyDue(t *testing.T) {
	p := newPolicy(t)
	tests := []struct{ date, want string }{
		{"2026-12-31", "2026-12-31 18:00"},
		{"2027-01-01", "2026-12-31 18:00"},
		{"2026-10-05", "2026-09-30 18:00"},
		{"2026-11-29", "2026-11-27 18:00"},
		{"2026-02-28", "2026-02-28 18:00"},
	}
	for _, tt := range tests {
		if got := p.PolicyDue(date(t, tt.date)); !got.Equal(at(t, tt.want)) {
			t.Errorf("PolicyDue(%s) = %s, want %s", tt.date, got.In(cst), tt.want)
		}
	}
}

func TestNewSLAPolicyRejects(t *testing.T) {
	bad := configs.DefaultSLA()
	bad.ResolutionDays.Medium = 0
	if _, err := NewSLAPolicy(bad, newClock(t)); err == nil || !strings.Contains(err.Error(), "sla.resolution_days.medium") {
		t.Errorf("bad config: err = %v", err)
	}
	other := configs.DefaultSLA()
	other.BusinessHours = []string{"09:00-17:00"}
	if _, err := NewSLAPolicy(other, newClock(t)); err == nil {
		t.Error("a clock with other business hours was accepted")
	}
	if _, err := NewSLAPolicy(configs.DefaultSLA(), WorkClock{}); err == nil {
		t.Error("a zero WorkClock was accepted")
	}
}
