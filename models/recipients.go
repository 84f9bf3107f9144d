package models

import (
	"slices"

	"opsbot/configs"
)

// Team is the staff as of one transaction, read once, so that a sweep
// resolving hundreds of reminders does not ask the database each time.
type Team struct {
	byID map[string]Staff
	all  []Staff
	tx   *Tx
}

// Team reads the whole staff table.
func (tx *Tx) Team() (*Team, error) {
	var all []Staff
	if err := tx.db.Order("user_id").Find(&all).Error; err != nil {
		return nil, wrap("team", err)
	}
	tm := &Team{byID: make(map[string]Staff, len(all)), all: all, tx: tx}
	for _, s := range all {
		tm.byID[s.UserID] = s
	}
	return tm, nil
}

// Member returns the staff member with userID.
func (tm *Team) Member(userID string) (Staff, bool) {
	s, ok := tm.byID[userID]
	return s, ok
}

// Active lists the active staff of role in userid order, as ListStaff
// does, from the team already read.
func (tm *Team) Active(role Role) []Staff {
	var out []Staff
	for _, s := range tm.all {
		if s.Active && s.Role == role {
			out = append(out, s)
		}
	}
	return out
}

// available lists the staff of role who can take work now.
func (tm *Team) available(role Role) []string {
	var ids []string
	for _, s := range tm.all {
		if s.Role == role && s.Available(tm.tx.now) {
			ids = append(ids, s.UserID)
		}
	}
	return ids
}

// Recipients turns the roles a reminder level names into people: the
// ticket's engineer, the on-call engineers (onCall, from the rota), the
// supervisors, the account managers, or the ops group. Nobody is left
// without a reader: an unassigned ticket's "assignee" reminder goes to the
// on-call engineers, and with nobody on call to the supervisors.
func (tm *Team) Recipients(roles []string, t *Ticket, onCall []string) []string {
	var out []string
	add := func(ids ...string) {
		for _, id := range ids {
			if id != "" && !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	onCallNow := func() []string {
		var ids []string
		for _, id := range onCall {
			if s, ok := tm.byID[id]; ok && s.Available(tm.tx.now) {
				ids = append(ids, id)
			}
		}
		if len(ids) > 0 {
			return ids
		}
		return tm.available(RoleSupervisor)
	}
	for _, role := range roles {
		switch role {
		case configs.ToAssignee:
			if t.AssigneeID != "" {
				add(t.AssigneeID)
			} else {
				add(onCallNow()...)
			}
		case configs.ToOnCall:
			add(onCallNow()...)
		case configs.ToSupervisor:
			add(tm.available(RoleSupervisor)...)
		case configs.ToAccountManager:
			add(tm.available(RoleAccountManager)...)
		case configs.ToOps:
			add(OpsGroup)
		}
	}
	return out
}

// Recipients is Team.Recipients for a single use.
func (tx *Tx) Recipients(roles []string, t *Ticket, onCall []string) ([]string, error) {
	tm, err := tx.Team()
	if err != nil {
		return nil, err
	}
	return tm.Recipients(roles, t, onCall), nil
}
