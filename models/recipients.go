package models

import (
	"slices"

	"opsbot/configs"
)

// Recipients turns the roles a reminder level names into people: the
// ticket's engineer, the on-call engineers (onCall, from the rota), the
// supervisors, the account managers, or the ops group. Nobody is left
// without a reader: an unassigned ticket's "assignee" reminder goes to the
// on-call engineers, and with nobody on call to the supervisors.
func (tx *Tx) Recipients(roles []string, t *Ticket, onCall []string) ([]string, error) {
	var out []string
	add := func(ids ...string) {
		for _, id := range ids {
			if id != "" && !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	staffWith := func(role Role) ([]string, error) {
		list, err := tx.ListStaff(role)
		var ids []string
		for _, s := range list {
			if s.Available(tx.now) {
				ids = append(ids, s.UserID)
			}
		}
		return ids, err
	}
	onCallNow := func() ([]string, error) {
		var ids []string
		for _, id := range onCall {
			if s, ok, err := tx.StaffMember(id); err != nil {
				return nil, err
			} else if ok && s.Available(tx.now) {
				ids = append(ids, id)
			}
		}
		if len(ids) > 0 {
			return ids, nil
		}
		return staffWith(RoleSupervisor)
	}
	for _, role := range roles {
		var ids []string
		var err error
		switch role {
		case configs.ToAssignee:
			if t.AssigneeID != "" {
				ids = []string{t.AssigneeID}
			} else {
				ids, err = onCallNow()
			}
		case configs.ToOnCall:
			ids, err = onCallNow()
		case configs.ToSupervisor:
			ids, err = staffWith(RoleSupervisor)
		case configs.ToAccountManager:
			ids, err = staffWith(RoleAccountManager)
		case configs.ToOps:
			ids = []string{OpsGroup}
		}
		if err != nil {
			return nil, err
		}
		add(ids...)
	}
	return out, nil
}
