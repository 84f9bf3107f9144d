package configs

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"time"
)

// DefaultOnCallFile is the rota read when OPSBOT_ONCALL_FILE is unset.
const DefaultOnCallFile = "configs/oncall.yaml"

//go:embed oncall.example.yaml
var exampleOnCall []byte

// OnCall is the on-call rota (值班表).
type OnCall struct {
	Hotline   string           `yaml:"hotline"`
	Rotation  OnCallRotation   `yaml:"rotation"`
	Overrides []OnCallOverride `yaml:"overrides"`
	Source    string           `yaml:"-"`
}

// OnCallRotation hands the duty to the next entry every week.
type OnCallRotation struct {
	Start    string     `yaml:"start"`
	Handover string     `yaml:"handover"`
	Weeks    [][]string `yaml:"weeks"`
}

// OnCallOverride puts users on call from From to To.
type OnCallOverride struct {
	From  string   `yaml:"from"`
	To    string   `yaml:"to"`
	Users []string `yaml:"users"`
	Note  string   `yaml:"note"`
}

// LoadOnCall reads the rota; path "" means the embedded example, which
// names the example roster's engineers.
func LoadOnCall(path string) (OnCall, error) {
	data, name := exampleOnCall, "configs/oncall.example.yaml (embedded)"
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return OnCall{}, fmt.Errorf("on-call file: %w", err)
		}
		data, name = b, path
	}
	var o OnCall
	if err := decodeStrict(data, &o); err != nil {
		return OnCall{}, fmt.Errorf("on-call file %s: %w", name, err)
	}
	o.Source = name
	if err := o.check(); err != nil {
		return OnCall{}, fmt.Errorf("on-call file %s: %w", name, err)
	}
	return o, nil
}

// OnCallTimeLayout is how override instants are written.
const OnCallTimeLayout = "2006-01-02 15:04"

func (o OnCall) check() error {
	var errs []error
	if len(o.Rotation.Weeks) > 0 {
		if t, err := time.Parse(time.DateOnly, o.Rotation.Start); err != nil {
			errs = append(errs, fmt.Errorf("rotation.start: %q is not a date like 2026-11-30", o.Rotation.Start))
		} else if t.Weekday() != time.Monday {
			errs = append(errs, fmt.Errorf("rotation.start: %s is a %s, must be a Monday", o.Rotation.Start, t.Weekday()))
		}
		if _, err := time.Parse("15:04", o.Rotation.Handover); err != nil {
			errs = append(errs, fmt.Errorf("rotation.handover: %q is not a time like 08:00", o.Rotation.Handover))
		}
		for i, w := range o.Rotation.Weeks {
			if len(w) == 0 {
				errs = append(errs, fmt.Errorf("rotation.weeks[%d]: nobody on call", i))
			}
		}
	}
	for i, ov := range o.Overrides {
		from, err1 := time.Parse(OnCallTimeLayout, ov.From)
		to, err2 := time.Parse(OnCallTimeLayout, ov.To)
		switch {
		case err1 != nil || err2 != nil:
			errs = append(errs, fmt.Errorf("overrides[%d]: from/to must look like \"2026-12-31 18:00\"", i))
		case !to.After(from):
			errs = append(errs, fmt.Errorf("overrides[%d]: to must be after from", i))
		case len(ov.Users) == 0:
			errs = append(errs, fmt.Errorf("overrides[%d]: nobody on call", i))
		}
	}
	return errors.Join(errs...)
}

// UserIDs lists every userid the rota names, to check against the roster.
func (o OnCall) UserIDs() []string {
	var ids []string
	for _, w := range o.Rotation.Weeks {
		ids = append(ids, w...)
	}
	for _, ov := range o.Overrides {
		ids = append(ids, ov.Users...)
	}
	return ids
}
