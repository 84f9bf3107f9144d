package models

import (
	"fmt"
	"time"

	"gorm.io/gorm/clause"
)

// HandOver is one ticket moved (or to be decided) because its engineer is
// away. To is nil when nobody suitable is available.
type HandOver struct {
	Ticket     Ticket
	From       Staff
	To         *Staff
	LeaveStart time.Time
}

// handOverClock names, in the reminders table, the one-time question to
// the supervisors about a ticket nobody can take over.
const handOverClock Clock = "handover"

// HandOverAbsent moves the open tickets of engineers on leave now.
func (tx *Tx) HandOverAbsent() ([]HandOver, error) {
	var away []Staff
	err := tx.db.Where("active = ? AND role = ? AND away_from <= ? AND away_until > ?", true, RoleEngineer, tx.now, tx.now).Find(&away).Error
	if err != nil {
		return nil, wrap("absent", err)
	}
	if len(away) == 0 {
		return nil, nil
	}
	// Read once for the whole run; each hand-over adds to the load.
	engineers, load, err := tx.engineersAndLoad()
	if err != nil {
		return nil, err
	}
	system := Actor{UserID: SystemActor, Name: "系统", Role: RoleSupervisor}
	var out []HandOver
	for _, eng := range away {
		open, err := tx.Tickets(TicketFilter{AssigneeID: eng.UserID, Statuses: OpenStatuses, ByDue: true})
		if err != nil {
			return nil, err
		}
		for _, t := range open {
			cands := tx.candidates(engineers, load, t.System, eng.Level, eng.UserID)
			if len(cands) == 0 {
				// Ask once per ticket and leave.
				row := reminderRow{TicketID: t.ID, Clock: handOverClock, Level: int(eng.AwayFrom.Unix() / 60), Name: "请假无人接手", Recipients: RoleSupervisor.Label(), DueAt: tx.now, SentAt: tx.now}
				res := tx.db.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
				if res.Error != nil {
					return nil, wrap("absent", res.Error)
				}
				if res.RowsAffected == 1 {
					out = append(out, HandOver{Ticket: t, From: eng, LeaveStart: *eng.AwayFrom})
				}
				continue
			}
			to := cands[0]
			moved, err := tx.Transfer(t.ID, system, to, fmt.Sprintf("%s 请假，自动转派", eng.Name))
			if err != nil {
				return nil, err
			}
			load[to.UserID]++
			load[eng.UserID]--
			out = append(out, HandOver{Ticket: *moved, From: eng, To: &to, LeaveStart: *eng.AwayFrom})
		}
	}
	return out, nil
}

// SetLeave marks userID away from from until until (请假); zero times
// clear the leave (销假). Engineers set their own; supervisors anyone's.
func (tx *Tx) SetLeave(a Actor, userID string, from, until time.Time) (Staff, error) {
	if userID != a.UserID && !a.Manages() {
		return Staff{}, Errorf(EForbidden, "只能给自己请假；替别人请假请找服务主管")
	}
	s, ok, err := tx.StaffMember(userID)
	if err != nil {
		return Staff{}, err
	}
	if !ok {
		return Staff{}, Errorf(ENotFound, "没有找到人员 %s", userID)
	}
	if from.IsZero() {
		s.AwayFrom, s.AwayUntil = nil, nil
	} else {
		if !until.After(from) {
			return Staff{}, Errorf(EInvalid, "结束日期要晚于开始日期，例如：请假 12-01 12-03")
		}
		f, u := from.UTC(), until.UTC()
		s.AwayFrom, s.AwayUntil = &f, &u
	}
	s.UpdatedAt = tx.now
	return s, wrap("leave", tx.db.Model(&Staff{}).Where("user_id = ?", userID).
		Updates(map[string]any{"away_from": s.AwayFrom, "away_until": s.AwayUntil, "updated_at": tx.now}).Error)
}
