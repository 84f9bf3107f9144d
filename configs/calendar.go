package configs

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"time"

	"gopkg.in/yaml.v3"
)

// defaultCalendar is the overrides file shipped in the binary; it is used
// when sla.calendar_file is empty so a fresh install needs no extra file.
//
//go:embed calendar.yaml
var defaultCalendar []byte

// defaultCalendarName is how errors name the embedded file.
const defaultCalendarName = "configs/calendar.yaml (built in)"

// CalendarFile is the parsed overrides file: days that differ from the
// statutory calendar built into the holiday library.
type CalendarFile struct {
	Days []CalendarDay
}

// CalendarDay sets one date to a working day or a day off, whatever the
// statutory calendar says.
type CalendarDay struct {
	// Date is the day at 00:00 UTC; only its year, month and day matter,
	// so it never shifts when read in another time zone.
	Date time.Time
	// Work is true for a working day, false for a day off.
	Work bool
	// Note is shown to users next to the date, e.g. 元旦 or 调休.
	Note string
}

// rawCalendar mirrors the file so strict decoding can reject unknown keys;
// dates stay strings so we can report bad ones with our own message.
type rawCalendar struct {
	Days []rawCalendarDay `yaml:"days"`
}

type rawCalendarDay struct {
	Date string `yaml:"date"`
	Work *bool  `yaml:"work"`
	Note string `yaml:"note"`
}

// LoadCalendar reads a calendar overrides file; path "" means the built-in
// default. Errors name the file and, when known, the line.
func LoadCalendar(path string) (CalendarFile, error) {
	name, data := defaultCalendarName, defaultCalendar
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return CalendarFile{}, fmt.Errorf("calendar file %s: %w", path, err)
		}
		name, data = path, b
	}
	cf, err := parseCalendar(data)
	if err != nil {
		return CalendarFile{}, fmt.Errorf("calendar file %s: %w", name, err)
	}
	return cf, nil
}

// parseCalendar decodes twice: strictly into structs (unknown keys and
// wrong types fail with yaml's own line numbers) and into a node tree, which
// gives the line of each entry for the checks yaml cannot do.
func parseCalendar(data []byte) (CalendarFile, error) {
	var raw rawCalendar
	if err := decodeStrict(data, &raw); err != nil {
		return CalendarFile{}, err
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return CalendarFile{}, err
	}
	lines := dayLines(&root)

	cf := CalendarFile{Days: make([]CalendarDay, 0, len(raw.Days))}
	seen := make(map[time.Time]int, len(raw.Days))
	for i, rd := range raw.Days {
		line := 0
		if i < len(lines) {
			line = lines[i]
		}
		day, err := checkDay(rd)
		if err != nil {
			return CalendarFile{}, fmt.Errorf("line %d: days[%d]: %w", line, i, err)
		}
		if first, dup := seen[day.Date]; dup {
			return CalendarFile{}, fmt.Errorf("line %d: days[%d]: %s is already set on line %d", line, i, rd.Date, first)
		}
		seen[day.Date] = line
		cf.Days = append(cf.Days, day)
	}
	return cf, nil
}

// checkDay turns one raw entry into a CalendarDay or says what is wrong.
func checkDay(rd rawCalendarDay) (CalendarDay, error) {
	if rd.Date == "" {
		return CalendarDay{}, errors.New("date is required (YYYY-MM-DD)")
	}
	// time.Parse rejects 2027-02-30 and anything carrying a time of day.
	d, err := time.Parse(time.DateOnly, rd.Date)
	if err != nil {
		return CalendarDay{}, fmt.Errorf("date %q is not a calendar date (YYYY-MM-DD, e.g. 2027-10-01)", rd.Date)
	}
	if rd.Work == nil {
		return CalendarDay{}, fmt.Errorf("%s: work is required (true for a working day, false for a day off)", rd.Date)
	}
	return CalendarDay{Date: d, Work: *rd.Work, Note: rd.Note}, nil
}

// dayLines returns the line of each entry of the top-level "days" list.
func dayLines(root *yaml.Node) []int {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil
	}
	m := root.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != "days" {
			continue
		}
		var lines []int
		for _, item := range m.Content[i+1].Content {
			lines = append(lines, item.Line)
		}
		return lines
	}
	return nil
}
