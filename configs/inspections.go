package configs

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// DefaultInspectionsFile is read when monitoring.inspections_file is unset and it exists.
const DefaultInspectionsFile = "configs/inspections.yaml"

//go:embed inspections.example.yaml
var exampleInspections []byte

// Inspections are the routine inspection checklists and when they are due.
type Inspections struct {
	Times         []InspectionTime `yaml:"times"`
	RemindAfter   Duration         `yaml:"remind_after"`
	EscalateAfter Duration         `yaml:"escalate_after"`
	SummarySpec   string           `yaml:"summary_spec"`
	Checklists    []Checklist      `yaml:"checklists"`
	Source        string           `yaml:"-"`
}

// InspectionTime is one inspection of the day: a name and a cron spec.
type InspectionTime struct {
	Name string `yaml:"name"`
	Spec string `yaml:"spec"`
}

// Checklist is what to look at on one system.
type Checklist struct {
	System string   `yaml:"system"`
	Items  []string `yaml:"items"`
}

// LoadInspections reads the inspection file; path "" means the embedded example.
func LoadInspections(path string) (Inspections, error) {
	data, name := exampleInspections, "configs/inspections.example.yaml (embedded)"
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return Inspections{}, fmt.Errorf("inspections file: %w", err)
		}
		data, name = b, path
	}
	in := Inspections{RemindAfter: Duration(60 * time.Minute), EscalateAfter: Duration(120 * time.Minute), SummarySpec: "0 20 * * *"}
	if err := decodeStrict(data, &in); err != nil {
		return Inspections{}, fmt.Errorf("inspections file %s: %w", name, err)
	}
	in.Source = name
	if err := in.check(); err != nil {
		return Inspections{}, fmt.Errorf("inspections file %s: %w", name, err)
	}
	return in, nil
}

func (in Inspections) check() error {
	var errs []error
	seen := map[string]bool{}
	for i, t := range in.Times {
		if strings.TrimSpace(t.Name) == "" || len(strings.Fields(t.Spec)) != 5 {
			errs = append(errs, fmt.Errorf("times[%d]: needs a name and a 5-field cron spec such as \"0 8 * * *\"", i))
		}
		if seen[t.Name] {
			errs = append(errs, fmt.Errorf("times[%d]: name %q used twice", i, t.Name))
		}
		seen[t.Name] = true
	}
	if in.RemindAfter.D() <= 0 || in.EscalateAfter.D() <= in.RemindAfter.D() {
		errs = append(errs, fmt.Errorf("remind_after > 0 and escalate_after > remind_after, got %s/%s", in.RemindAfter, in.EscalateAfter))
	}
	if len(strings.Fields(in.SummarySpec)) != 5 {
		errs = append(errs, fmt.Errorf("summary_spec: a 5-field cron spec, got %q", in.SummarySpec))
	}
	for i, c := range in.Checklists {
		if strings.TrimSpace(c.System) == "" || len(c.Items) == 0 {
			errs = append(errs, fmt.Errorf("checklists[%d]: needs a system and at least one item", i))
		}
	}
	return errors.Join(errs...)
}
