package configs

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SLA holds the service levels of the contract (tender 4.5.1, 5.2, 5.4).
type SLA struct {
	// BusinessHours are the spans of a working day in which the resolution
	// clock runs (tender 4.5.3: service support 5×8), "HH:MM-HH:MM".
	BusinessHours []string `yaml:"business_hours"`
	// Response is the wall-clock time allowed for the first (phone) response.
	Response Duration `yaml:"response"`
	// Onsite is the wall-clock time allowed to arrive for an urgent fault.
	Onsite Duration `yaml:"onsite"`
	// ResolutionDays are the working days allowed to resolve, by priority.
	ResolutionDays ResolutionDays `yaml:"resolution_days"`
	// CalendarFile is the calendar overrides file; "" uses the built-in one.
	CalendarFile string `yaml:"calendar_file"`
}

// ResolutionDays is the resolution target in working days for each priority.
type ResolutionDays struct {
	High   int `yaml:"high"`
	Medium int `yaml:"medium"`
	Low    int `yaml:"low"`
}

// DefaultSLA returns the levels the tender sets: 1/3/5 working days, phone
// response in 1 hour, on site in 2 hours, 08:00-12:00 and 14:00-18:00.
func DefaultSLA() SLA {
	return SLA{
		BusinessHours:  []string{"08:00-12:00", "14:00-18:00"},
		Response:       Duration(time.Hour),
		Onsite:         Duration(2 * time.Hour),
		ResolutionDays: ResolutionDays{High: 1, Medium: 3, Low: 5},
	}
}

// Validate reports every bad key, each named as in the config file.
func (s SLA) Validate() error {
	var errs []error
	if _, err := ParseBusinessHours(s.BusinessHours); err != nil {
		errs = append(errs, fmt.Errorf("sla.%w", err))
	}
	if s.Response <= 0 {
		errs = append(errs, fmt.Errorf("sla.response: %s must be positive (e.g. 1h)", s.Response))
	}
	if s.Onsite <= 0 {
		errs = append(errs, fmt.Errorf("sla.onsite: %s must be positive (e.g. 2h)", s.Onsite))
	}
	for _, d := range []struct {
		key  string
		days int
	}{{"high", s.ResolutionDays.High}, {"medium", s.ResolutionDays.Medium}, {"low", s.ResolutionDays.Low}} {
		if d.days < 1 {
			errs = append(errs, fmt.Errorf("sla.resolution_days.%s: %d must be at least 1 working day", d.key, d.days))
		}
	}
	return errors.Join(errs...)
}

// Period is one span of business hours in a day, [Start, End), in minutes
// after midnight; End may be 1440 ("24:00").
type Period struct {
	Start, End int
}

// Minutes is the length of the span.
func (p Period) Minutes() int { return p.End - p.Start }

// ParseBusinessHours parses "HH:MM-HH:MM" spans, which must be in order and
// must not overlap, so the clock can walk them front to back; errors name
// the entry as business_hours[i].
func ParseBusinessHours(spans []string) ([]Period, error) {
	if len(spans) == 0 {
		return nil, errors.New(`business_hours: at least one span is needed (e.g. ["08:00-12:00","14:00-18:00"])`)
	}
	periods := make([]Period, 0, len(spans))
	for i, s := range spans {
		p, err := parsePeriod(s)
		if err != nil {
			return nil, fmt.Errorf("business_hours[%d]: %q %w", i, s, err)
		}
		if i > 0 && p.Start < periods[i-1].End {
			return nil, fmt.Errorf("business_hours[%d]: %q starts before %q ends; list spans in order without overlap", i, s, spans[i-1])
		}
		periods = append(periods, p)
	}
	return periods, nil
}

// parsePeriod parses one "HH:MM-HH:MM".
func parsePeriod(s string) (Period, error) {
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return Period{}, errors.New(`is not a span "HH:MM-HH:MM"`)
	}
	start, err := parseClock(strings.TrimSpace(from))
	if err != nil {
		return Period{}, err
	}
	end, err := parseClock(strings.TrimSpace(to))
	if err != nil {
		return Period{}, err
	}
	if start >= 24*60 {
		return Period{}, errors.New("starts at 24:00; a span must start before midnight")
	}
	if end <= start {
		return Period{}, errors.New("ends before it starts; spans cannot cross midnight")
	}
	return Period{Start: start, End: end}, nil
}

// parseClock reads "HH:MM" as minutes after midnight; "24:00" is allowed so
// a span can run to the end of the day.
func parseClock(s string) (int, error) {
	hh, mm, ok := strings.Cut(s, ":")
	if !ok || len(hh) != 2 || len(mm) != 2 {
		return 0, fmt.Errorf("has %q, not a time HH:MM", s)
	}
	h, errH := strconv.Atoi(hh)
	m, errM := strconv.Atoi(mm)
	if errH != nil || errM != nil || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("has %q, not a time HH:MM between 00:00 and 24:00", s)
	}
	return h*60 + m, nil
}
