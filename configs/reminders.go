package configs

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Recipients a reminder level can name.
const (
	ToOnCall         = "oncall"          // the on-call engineer(s) now
	ToAssignee       = "assignee"        // the ticket's engineer
	ToSupervisor     = "supervisor"      // every active supervisor
	ToAccountManager = "account_manager" // every active account manager
	ToOps            = "ops"             // the operations group chat
)

var recipientNames = []string{ToOnCall, ToAssignee, ToSupervisor, ToAccountManager, ToOps}

// Reminders are the reminder and escalation levels of each clock. A level
// falls due when the clock has run Fraction of its target plus After (plus
// WorkDays working days, on the resolution clock).
type Reminders struct {
	// Response runs while nobody has claimed the ticket (wall clock).
	Response []ReminderLevel `yaml:"response"`
	// Onsite runs while an urgent fault waits for an engineer on site.
	Onsite []ReminderLevel `yaml:"onsite"`
	// Resolution runs in business time while the ticket is being worked.
	Resolution []ReminderLevel `yaml:"resolution"`
}

// ReminderLevel is one step of a clock's escalation.
type ReminderLevel struct {
	// Name is shown in the message, e.g. 即将超时.
	Name     string   `yaml:"name"`
	Fraction float64  `yaml:"fraction"`
	After    Duration `yaml:"after"`
	WorkDays int      `yaml:"work_days"`
	To       []string `yaml:"to"`
}

// DefaultReminders: unclaimed 15 min → on call, 30 min → supervisor, 60 min
// (the response target) → supervisor and account manager; on site at 75 %
// and 100 % of the 2 h; resolution at 75 % of the target → engineer, at the
// breach → engineer and supervisor, one working day later → account manager.
func DefaultReminders() Reminders {
	return Reminders{
		Response: []ReminderLevel{
			{Name: "未接单提醒", After: Duration(15 * time.Minute), To: []string{ToOnCall}},
			{Name: "未接单升级", After: Duration(30 * time.Minute), To: []string{ToSupervisor}},
			{Name: "响应超时", Fraction: 1, To: []string{ToSupervisor, ToAccountManager}},
		},
		Onsite: []ReminderLevel{
			{Name: "到场提醒", Fraction: 0.75, To: []string{ToAssignee}},
			{Name: "到场超时", Fraction: 1, To: []string{ToAssignee, ToSupervisor}},
		},
		Resolution: []ReminderLevel{
			{Name: "即将超时", Fraction: 0.75, To: []string{ToAssignee}},
			{Name: "解决超时", Fraction: 1, To: []string{ToAssignee, ToSupervisor}},
			{Name: "超时升级", Fraction: 1, WorkDays: 1, To: []string{ToAccountManager}},
		},
	}
}

// Validate names the bad level and why.
func (r Reminders) Validate() error {
	var errs []error
	check := func(clock string, levels []ReminderLevel, workDays bool) {
		if len(levels) > 16 {
			errs = append(errs, fmt.Errorf("reminders.%s: at most 16 levels", clock))
		}
		for i, l := range levels {
			key := fmt.Sprintf("reminders.%s[%d]", clock, i)
			switch {
			case l.Name == "":
				errs = append(errs, fmt.Errorf("%s.name: empty", key))
			case l.Fraction < 0 || l.Fraction > 10:
				errs = append(errs, fmt.Errorf("%s.fraction: %v must be between 0 and 10 (1 is the deadline)", key, l.Fraction))
			case l.After < 0 || l.WorkDays < 0:
				errs = append(errs, fmt.Errorf("%s: after and work_days must not be negative", key))
			case l.WorkDays > 0 && !workDays:
				errs = append(errs, fmt.Errorf("%s.work_days: only the resolution clock counts working days", key))
			case l.Fraction == 0 && l.After == 0 && l.WorkDays == 0:
				errs = append(errs, fmt.Errorf("%s: set fraction, after or work_days", key))
			case len(l.To) == 0:
				errs = append(errs, fmt.Errorf("%s.to: nobody to remind", key))
			}
			for _, to := range l.To {
				if !slices.Contains(recipientNames, to) {
					errs = append(errs, fmt.Errorf("%s.to: %q must be one of %v", key, to, recipientNames))
				}
			}
		}
	}
	check("response", r.Response, false)
	check("onsite", r.Onsite, false)
	check("resolution", r.Resolution, true)
	return errors.Join(errs...)
}
