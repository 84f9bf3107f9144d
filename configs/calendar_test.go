package configs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeCalendar(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "calendar.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadCalendarDefault(t *testing.T) {
	cf, err := LoadCalendar("")
	if err != nil {
		t.Fatalf("embedded calendar: %v", err)
	}
	// lunar-go v1.4.7 knows 2026 and 2027, so nothing is overridden; a day
	// added here must come from a State Council notice, not a guess.
	if len(cf.Days) != 0 {
		t.Errorf("embedded calendar has %d days, expected none", len(cf.Days))
	}
}

func TestLoadCalendarFile(t *testing.T) {
	p := writeCalendar(t, `# hospital days
days:
  - {date: 2028-01-03, work: false, note: 元旦}
  - date: "2028-01-29"
    work: true
    note: 调休
  - {date: 2028-06-15, work: false}
`)
	cf, err := LoadCalendar(p)
	if err != nil {
		t.Fatal(err)
	}
	want := []CalendarDay{
		{Date: time.Date(2028, 1, 3, 0, 0, 0, 0, time.UTC), Work: false, Note: "元旦"},
		{Date: time.Date(2028, 1, 29, 0, 0, 0, 0, time.UTC), Work: true, Note: "调休"},
		{Date: time.Date(2028, 6, 15, 0, 0, 0, 0, time.UTC), Work: false},
	}
	if len(cf.Days) != len(want) {
		t.Fatalf("got %d days, want %d", len(cf.Days), len(want))
	}
	for i := range want {
		if !cf.Days[i].Date.Equal(want[i].Date) || cf.Days[i].Work != want[i].Work || cf.Days[i].Note != want[i].Note {
			t.Errorf("day %d = %+v, want %+v", i, cf.Days[i], want[i])
		}
	}
}

func TestLoadCalendarEmptyFile(t *testing.T) {
	cf, err := LoadCalendar(writeCalendar(t, "# nothing yet\n"))
	if err != nil || len(cf.Days) != 0 {
		t.Errorf("empty file: %v, %d days", err, len(cf.Days))
	}
}

func TestLoadCalendarErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string
	}{
		{"unknown key", "days:\n  - {date: 2028-01-03, work: false}\n  - {date: 2028-01-04, work: false, holiday: true}\n",
			[]string{"line 3", "holiday"}},
		{"unknown top-level key", "days: []\nyears: [2028]\n", []string{"line 2", "years"}},
		{"impossible date", "days:\n  - {date: 2028-01-03, work: false}\n  - {date: 2028-02-30, work: false}\n",
			[]string{"line 3", `"2028-02-30"`, "YYYY-MM-DD"}},
		{"date with a time", "days:\n  - date: 2028-01-03T08:00:00+08:00\n    work: false\n",
			[]string{"line 2", "YYYY-MM-DD"}},
		{"missing work", "days:\n  - {date: 2028-01-03, work: false}\n\n  - {date: 2028-01-04, note: x}\n",
			[]string{"line 4", "work is required"}},
		{"missing date", "days:\n  - {work: false}\n", []string{"line 2", "date is required"}},
		{"work not a bool", "days:\n  - {date: 2028-01-03, work: maybe}\n", []string{"line 2", "maybe"}},
		{"duplicate", "days:\n  - {date: 2028-01-03, work: false}\n  - {date: 2028-01-03, work: true}\n",
			[]string{"line 3", "already set on line 2"}},
		{"not yaml", "days: [\n", []string{"line"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeCalendar(t, tt.body)
			_, err := LoadCalendar(p)
			if err == nil {
				t.Fatal("LoadCalendar() = nil error")
			}
			for _, w := range append([]string{p}, tt.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestLoadCalendarMissingFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope.yaml")
	if _, err := LoadCalendar(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("err = %v, want it to name %s", err, p)
	}
}
