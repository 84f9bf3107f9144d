package configs

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// DefaultStaffFile is the roster read when OPSBOT_STAFF_FILE is unset.
const DefaultStaffFile = "configs/staff.yaml"

// ExampleStaffName is how the embedded example roster is named in messages.
const ExampleStaffName = "configs/staff.example.yaml (embedded)"

//go:embed staff.example.yaml
var exampleStaff []byte

// Roles a staff member can have.
const (
	RoleEngineer       = "engineer"
	RoleSupervisor     = "supervisor"
	RoleAccountManager = "account_manager"
)

// StaffEntry is one person of the roster file.
type StaffEntry struct {
	UserID  string   `yaml:"userid"`
	Name    string   `yaml:"name"`
	Role    string   `yaml:"role"`
	Level   int      `yaml:"level"`
	Phone   string   `yaml:"phone"`
	Systems []string `yaml:"systems"`
	// AwayFrom and AwayUntil (dates, both included) mark planned leave;
	// the 请假 command does the same from chat.
	AwayFrom  string `yaml:"away_from"`
	AwayUntil string `yaml:"away_until"`
	// Line is where the entry starts, for errors found later (unknown system).
	Line int `yaml:"-"`
}

// Roster is a loaded staff file.
type Roster struct {
	Source string
	Staff  []StaffEntry
}

var phonePattern = regexp.MustCompile(`^\+?[0-9][0-9-]{4,19}$`)

// LoadStaff reads a roster; path "" means the embedded example.
func LoadStaff(path string) (Roster, error) {
	data, name := exampleStaff, ExampleStaffName
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return Roster{}, fmt.Errorf("staff file: %w", err)
		}
		data, name = b, path
	}
	staff, err := parseStaff(data)
	if err != nil {
		return Roster{}, fmt.Errorf("staff file %s: %w", name, err)
	}
	return Roster{Source: name, Staff: staff}, nil
}

func parseStaff(data []byte) ([]StaffEntry, error) {
	var doc struct {
		Staff []yaml.Node `yaml:"staff"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	var out []StaffEntry
	var errs []error
	seen := map[string]int{}
	for i := range doc.Staff {
		n := &doc.Staff[i]
		var e StaffEntry
		if err := n.Decode(&e); err != nil {
			errs = append(errs, err)
			continue
		}
		// yaml.Node.Decode does not honour KnownFields, so check keys here.
		if n.Kind == yaml.MappingNode {
			for k := 0; k+1 < len(n.Content); k += 2 {
				switch key := n.Content[k]; key.Value {
				case "userid", "name", "role", "level", "phone", "systems", "away_from", "away_until":
				default:
					errs = append(errs, fmt.Errorf("line %d: unknown key %q (allowed: userid, name, role, level, phone, systems, away_from, away_until)", key.Line, key.Value))
				}
			}
		}
		e.Line = n.Line
		e.UserID = strings.TrimSpace(e.UserID)
		if err := e.check(); err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", n.Line, err))
			continue
		}
		if prev, ok := seen[e.UserID]; ok {
			errs = append(errs, fmt.Errorf("line %d: userid %q already listed at line %d", n.Line, e.UserID, prev))
			continue
		}
		seen[e.UserID] = n.Line
		out = append(out, e)
	}
	return out, errors.Join(errs...)
}

func (e StaffEntry) check() error {
	switch {
	case e.UserID == "":
		return errors.New("userid is empty")
	case strings.TrimSpace(e.Name) == "":
		return fmt.Errorf("%s: name is empty", e.UserID)
	case e.Role != RoleEngineer && e.Role != RoleSupervisor && e.Role != RoleAccountManager:
		return fmt.Errorf("%s: role %q must be engineer, supervisor or account_manager", e.UserID, e.Role)
	case e.Level < 1 || e.Level > 3:
		return fmt.Errorf("%s: level %d must be 1, 2 or 3", e.UserID, e.Level)
	case e.Phone != "" && !phonePattern.MatchString(e.Phone):
		return fmt.Errorf("%s: phone %q is not a phone number (quote it: \"13800000001\")", e.UserID, e.Phone)
	case (e.AwayFrom == "") != (e.AwayUntil == ""):
		return fmt.Errorf("%s: away_from and away_until go together", e.UserID)
	}
	if e.AwayFrom != "" {
		from, err1 := time.Parse(time.DateOnly, e.AwayFrom)
		until, err2 := time.Parse(time.DateOnly, e.AwayUntil)
		switch {
		case err1 != nil || err2 != nil:
			return fmt.Errorf("%s: away_from/away_until must be dates like 2026-12-01", e.UserID)
		case until.Before(from):
			return fmt.Errorf("%s: away_until is before away_from", e.UserID)
		}
	}
	return nil
}
