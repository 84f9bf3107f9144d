package configs

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestDefaultSLAIsValid(t *testing.T) {
	s := DefaultSLA()
	if err := s.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	if s.Response.D() != time.Hour || s.Onsite.D() != 2*time.Hour {
		t.Errorf("response/onsite = %v/%v, want 1h/2h", s.Response, s.Onsite)
	}
	if s.ResolutionDays != (ResolutionDays{High: 1, Medium: 3, Low: 5}) {
		t.Errorf("resolution days = %+v, want 1/3/5", s.ResolutionDays)
	}
}

func TestSLAValidateNamesBadKey(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*SLA)
		want   []string // all must appear in the error
	}{
		{"no business hours", func(s *SLA) { s.BusinessHours = nil }, []string{"sla.business_hours:", "at least one"}},
		{"backwards span", func(s *SLA) { s.BusinessHours[1] = "18:00-14:00" }, []string{"sla.business_hours[1]:", `"18:00-14:00"`, "ends before it starts"}},
		{"hour out of range", func(s *SLA) { s.BusinessHours[0] = "25:00-26:00" }, []string{"sla.business_hours[0]:", `"25:00"`}},
		{"one-digit hour", func(s *SLA) { s.BusinessHours[0] = "8:00-12:00" }, []string{"sla.business_hours[0]:", "HH:MM"}},
		{"not a span", func(s *SLA) { s.BusinessHours[1] = "14:00" }, []string{"sla.business_hours[1]:", `"HH:MM-HH:MM"`}},
		{"overlap", func(s *SLA) { s.BusinessHours[1] = "11:00-18:00" }, []string{"sla.business_hours[1]:", "overlap"}},
		{"out of order", func(s *SLA) { s.BusinessHours = []string{"14:00-18:00", "08:00-12:00"} }, []string{"sla.business_hours[1]:"}},
		{"zero response", func(s *SLA) { s.Response = 0 }, []string{"sla.response:", "positive"}},
		{"negative onsite", func(s *SLA) { s.Onsite = Duration(-time.Hour) }, []string{"sla.onsite:", "positive"}},
		{"zero high days", func(s *SLA) { s.ResolutionDays.High = 0 }, []string{"sla.resolution_days.high:", "at least 1"}},
		{"zero medium days", func(s *SLA) { s.ResolutionDays.Medium = 0 }, []string{"sla.resolution_days.medium:"}},
		{"negative low days", func(s *SLA) { s.ResolutionDays.Low = -5 }, []string{"sla.resolution_days.low:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := DefaultSLA()
			tt.mutate(&s)
			err := s.Validate()
			if err == nil {
				t.Fatal("Validate() = nil")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestSLAValidateReportsEveryKey(t *testing.T) {
	s := DefaultSLA()
	s.Response, s.ResolutionDays.Low = 0, 0
	err := s.Validate()
	if err == nil || !strings.Contains(err.Error(), "sla.response") || !strings.Contains(err.Error(), "sla.resolution_days.low") {
		t.Errorf("error %v should name both keys", err)
	}
}

func TestSLAFromYAML(t *testing.T) {
	src := `
business_hours: ["08:30-12:00", "13:30-17:30"]
response: 30m
onsite: 90m
resolution_days: {high: 1, medium: 2, low: 4}
calendar_file: /etc/opsbot/calendar.yaml
`
	s := DefaultSLA()
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		t.Fatal(err)
	}
	want := SLA{
		BusinessHours:  []string{"08:30-12:00", "13:30-17:30"},
		Response:       Duration(30 * time.Minute),
		Onsite:         Duration(90 * time.Minute),
		ResolutionDays: ResolutionDays{High: 1, Medium: 2, Low: 4},
		CalendarFile:   "/etc/opsbot/calendar.yaml",
	}
	if strings.Join(s.BusinessHours, ",") != strings.Join(want.BusinessHours, ",") || s.Response != want.Response ||
		s.Onsite != want.Onsite || s.ResolutionDays != want.ResolutionDays || s.CalendarFile != want.CalendarFile {
		t.Errorf("decoded %+v, want %+v", s, want)
	}
	if err := s.Validate(); err != nil {
		t.Error(err)
	}
}

func TestParseBusinessHours(t *testing.T) {
	ps, err := ParseBusinessHours([]string{"08:00-12:00", "14:00-24:00"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []Period{{480, 720}, {840, 1440}}; ps[0] != want[0] || ps[1] != want[1] {
		t.Errorf("periods = %v, want %v", ps, want)
	}
	if _, err := ParseBusinessHours([]string{"24:00-24:00"}); err == nil {
		t.Error("a span starting at 24:00 was accepted")
	}
	if _, err := ParseBusinessHours([]string{"08:00-24:30"}); err == nil {
		t.Error("24:30 was accepted")
	}
}
