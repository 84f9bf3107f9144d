package models

// Role is what a person may do in opsbot.
type Role string

// Roles. Anyone not in the roster is a reporter.
const (
	RoleReporter       Role = "reporter"
	RoleEngineer       Role = "engineer"
	RoleSupervisor     Role = "supervisor"
	RoleAccountManager Role = "account_manager"
)

// Label is the Chinese name of the role.
func (r Role) Label() string {
	switch r {
	case RoleEngineer:
		return "服务工程师"
	case RoleSupervisor:
		return "服务主管"
	case RoleAccountManager:
		return "客户经理"
	}
	return "报修人"
}

// Actor is whoever asks for a change: a staff member or a reporter.
type Actor struct {
	UserID string
	Name   string
	Role   Role
	Level  int
}

// IsStaff reports whether the actor is on the service team.
func (a Actor) IsStaff() bool { return a.Role != RoleReporter && a.Role != "" }

// Manages reports whether the actor oversees all tickets (supervisor or
// account manager).
func (a Actor) Manages() bool { return a.Role == RoleSupervisor || a.Role == RoleAccountManager }

// DisplayName is the name, or the userid when the name is unknown.
func (a Actor) DisplayName() string {
	if a.Name != "" {
		return a.Name
	}
	return a.UserID
}

// Authorize decides whether actor may do act on t: reporters act on their
// own tickets only; engineers on unassigned tickets and their own;
// supervisors and account managers on all. Cancelling is kept from engineers
// so that a late ticket cannot be made to disappear from the service levels.
func Authorize(a Actor, t *Ticket, act Action) error {
	if a.Manages() {
		return nil
	}
	own := t.ReporterID == a.UserID
	mine := t.AssigneeID != "" && t.AssigneeID == a.UserID
	unassigned := t.AssigneeID == ""
	switch act {
	case ActSupplement, ActHurry, ActClose, ActReopen, ActCancel:
		if own {
			return nil
		}
		return Errorf(EForbidden, "工单 #%d 不是您报的，只有报修人或服务主管可以%s", t.ID, act.Label())
	case ActClaim, ActArrive, ActPause, ActResume, ActResolve, ActTransfer, ActNote, ActBreachReason:
		if a.Role != RoleEngineer {
			return Errorf(EForbidden, "只有服务工程师可以%s，如需帮助请发“帮助”", act.Label())
		}
		if mine || (unassigned && act != ActTransfer) {
			return nil
		}
		if unassigned {
			return Errorf(EForbidden, "工单 #%d 还没有人接单，请先“接单 %d”", t.ID, t.ID)
		}
		return Errorf(EForbidden, "工单 #%d 由其他工程师负责，您不能%s；如需接手请联系服务主管", t.ID, act.Label())
	case ActPriority, ActMajor, ActMerge:
		return Errorf(EForbidden, "只有服务主管可以%s", act.Label())
	}
	return Errorf(EForbidden, "您不能对工单 #%d %s", t.ID, act.Label())
}
