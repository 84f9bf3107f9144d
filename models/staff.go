package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"opsbot/configs"

	"gorm.io/gorm"
)

// Staff is a member of the service team, kept in sync with the roster file.
type Staff struct {
	UserID string `gorm:"primaryKey"`
	Name   string
	Role   Role
	Level  int
	Phone  string
	// Systems are the system codes covered; empty means all.
	Systems []string `gorm:"serializer:json"`
	Active  bool
	// AwayFrom/AwayUntil mark leave (请假); tickets move to a peer meanwhile.
	AwayFrom  *time.Time
	AwayUntil *time.Time
	UpdatedAt time.Time
}

// TableName keeps the table name singular as in the schema.
func (Staff) TableName() string { return "staff" }

// Actor is the staff member acting.
func (s Staff) Actor() Actor {
	return Actor{UserID: s.UserID, Name: s.Name, Role: s.Role, Level: s.Level}
}

// Covers reports whether the engineer serves the system ("" = any system).
func (s Staff) Covers(system string) bool {
	return len(s.Systems) == 0 || system == "" || slices.Contains(s.Systems, system)
}

// Away reports whether the person is on leave at now.
func (s Staff) Away(now time.Time) bool {
	return s.AwayFrom != nil && s.AwayUntil != nil && !now.Before(*s.AwayFrom) && now.Before(*s.AwayUntil)
}

// Available reports whether the person can take work at now.
func (s Staff) Available(now time.Time) bool { return s.Active && !s.Away(now) }

// StaffMember returns the staff member with userid, found=false for anyone
// not on the roster (a reporter).
func (tx *Tx) StaffMember(userID string) (Staff, bool, error) {
	var s Staff
	err := tx.db.Take(&s, "user_id = ?", userID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Staff{}, false, nil
	}
	return s, err == nil, wrap("staff", err)
}

// ActorFor is who userid is: an active staff member, or a reporter.
func (tx *Tx) ActorFor(userID, name string) (Actor, error) {
	s, ok, err := tx.StaffMember(userID)
	if err != nil {
		return Actor{}, err
	}
	if !ok || !s.Active {
		return Actor{UserID: userID, Name: name, Role: RoleReporter}, nil
	}
	return s.Actor(), nil
}

// ListStaff returns the active staff with role (all roles when "").
func (tx *Tx) ListStaff(role Role) ([]Staff, error) {
	q := tx.db.Where("active = ?", true)
	if role != "" {
		q = q.Where("role = ?", role)
	}
	var out []Staff
	return out, wrap("list staff", q.Order("user_id").Find(&out).Error)
}

// FindStaff finds an active staff member by userid or exact name.
func (tx *Tx) FindStaff(who string) (Staff, error) {
	who = strings.TrimPrefix(strings.TrimSpace(who), "@")
	var out []Staff
	if err := tx.db.Where("active = ? AND (user_id = ? OR name = ?)", true, who, who).Find(&out).Error; err != nil {
		return Staff{}, wrap("find staff", err)
	}
	switch len(out) {
	case 0:
		return Staff{}, Errorf(ENotFound, "没有找到在岗人员“%s”，请用姓名或企业微信账号", who)
	case 1:
		return out[0], nil
	}
	return Staff{}, Errorf(EInvalid, "有 %d 位同名人员“%s”，请改用企业微信账号", len(out), who)
}

// TakeOverCandidates lists available engineers who could take a ticket of
// system from an engineer of minLevel, least loaded first.
func (tx *Tx) TakeOverCandidates(system string, minLevel int, exclude string) ([]Staff, error) {
	engineers, load, err := tx.engineersAndLoad()
	if err != nil {
		return nil, err
	}
	return tx.candidates(engineers, load, system, minLevel, exclude), nil
}

// engineersAndLoad reads the engineers and their open tickets, what
// candidates chooses from.
func (tx *Tx) engineersAndLoad() ([]Staff, map[string]int, error) {
	engineers, err := tx.ListStaff(RoleEngineer)
	if err != nil {
		return nil, nil, err
	}
	load, err := tx.openLoad()
	return engineers, load, err
}

// candidates picks from engineers those who could take a ticket of system
// from an engineer of minLevel, least loaded first.
func (tx *Tx) candidates(engineers []Staff, load map[string]int, system string, minLevel int, exclude string) []Staff {
	var out []Staff
	for _, s := range engineers {
		if s.UserID != exclude && s.Level >= minLevel && s.Covers(system) && s.Available(tx.now) {
			out = append(out, s)
		}
	}
	slices.SortStableFunc(out, func(a, b Staff) int {
		if d := load[a.UserID] - load[b.UserID]; d != 0 {
			return d
		}
		return b.Level - a.Level
	})
	return out
}

// openLoad counts open tickets per assignee.
func (tx *Tx) openLoad() (map[string]int, error) {
	var rows []struct {
		AssigneeID string
		N          int
	}
	err := tx.db.Model(&Ticket{}).Select("assignee_id, COUNT(*) AS n").
		Where("status IN ? AND assignee_id <> ''", OpenStatuses).Group("assignee_id").Scan(&rows).Error
	load := map[string]int{}
	for _, r := range rows {
		load[r.AssigneeID] = r.N
	}
	return load, wrap("load", err)
}

// checkTakeOver applies tender 5.3 to a hand-over of t to s and, when it
// refuses, names who could take the ticket instead.
func (tx *Tx) checkTakeOver(t *Ticket, to Staff) error {
	if to.UserID == t.AssigneeID {
		return Errorf(EInvalid, "工单 #%d 已由 %s 负责", t.ID, to.Name)
	}
	minLevel := 1
	if t.AssigneeID != "" {
		cur, ok, err := tx.StaffMember(t.AssigneeID)
		if err != nil {
			return err
		}
		if ok {
			minLevel = cur.Level
		}
	}
	var why string
	switch {
	case to.Role != RoleEngineer || !to.Active:
		why = fmt.Sprintf("%s 不是在岗的服务工程师", to.Name)
	case to.Away(tx.now):
		why = fmt.Sprintf("%s 正在请假", to.Name)
	case !to.Covers(t.System):
		why = fmt.Sprintf("%s 不负责该系统", to.Name)
	case to.Level < minLevel:
		why = fmt.Sprintf("%s 是 %d 级，低于当前工程师的 %d 级（合同要求接手人技术水平不低于原工程师）", to.Name, to.Level, minLevel)
	default:
		return nil
	}
	cands, err := tx.TakeOverCandidates(t.System, minLevel, t.AssigneeID)
	if err != nil {
		return err
	}
	if len(cands) == 0 {
		return Errorf(EForbidden, "不能转派：%s。目前没有符合条件的工程师，请联系服务主管", why)
	}
	names := make([]string, 0, 3)
	for i, c := range cands {
		if i == 3 {
			break
		}
		names = append(names, fmt.Sprintf("%s（%d级）", c.Name, c.Level))
	}
	return Errorf(EForbidden, "不能转派：%s。可以接手的有：%s", why, strings.Join(names, "、"))
}

// SyncResult counts what a roster sync changed.
type SyncResult struct{ Added, Updated, Deactivated int }

// SyncStaff makes the staff table match the roster: new people are added,
// known ones updated, and people no longer listed become inactive (their
// tickets and history stay). resolve turns a roster's system entry (code,
// category or alias) into system codes; nil keeps entries as written. An
// unknown system stops the sync with the file and line.
func (s *Store) SyncStaff(ctx context.Context, roster configs.Roster, resolve func(string) []string) (SyncResult, error) {
	var res SyncResult
	listed := map[string]Staff{}
	for _, e := range roster.Staff {
		codes := []string{}
		for _, token := range e.Systems {
			if resolve == nil {
				codes = append(codes, token)
				continue
			}
			got := resolve(token)
			if len(got) == 0 {
				return res, fmt.Errorf("staff file %s: line %d: %s: unknown system %q (use a code, category or alias from the system catalog)", roster.Source, e.Line, e.UserID, token)
			}
			codes = append(codes, got...)
		}
		slices.Sort(codes)
		st := Staff{UserID: e.UserID, Name: e.Name, Role: Role(e.Role), Level: e.Level, Phone: e.Phone, Systems: slices.Compact(codes), Active: true}
		if e.AwayFrom != "" {
			loc := s.sla.Clock().Location()
			from, _ := time.ParseInLocation(time.DateOnly, e.AwayFrom, loc)
			until, _ := time.ParseInLocation(time.DateOnly, e.AwayUntil, loc)
			f, u := from.UTC(), until.AddDate(0, 0, 1).UTC()
			st.AwayFrom, st.AwayUntil = &f, &u
		}
		listed[e.UserID] = st
	}
	err := s.Update(ctx, func(tx *Tx) error {
		if err := tx.startupLock(); err != nil {
			return err
		}
		var all []Staff
		if err := tx.db.Find(&all).Error; err != nil {
			return err
		}
		known := map[string]Staff{}
		for _, st := range all {
			known[st.UserID] = st
		}
		for id, want := range listed {
			prev, ok := known[id]
			if ok {
				// Leave set in chat (请假) stays unless the roster sets its own.
				if want.AwayFrom == nil {
					want.AwayFrom, want.AwayUntil = prev.AwayFrom, prev.AwayUntil
				}
				if sameTime(prev.AwayFrom, want.AwayFrom) && sameTime(prev.AwayUntil, want.AwayUntil) && prev.Name == want.Name && prev.Role == want.Role && prev.Level == want.Level && prev.Phone == want.Phone && slices.Equal(prev.Systems, want.Systems) && prev.Active {
					continue
				}
				res.Updated++
			} else {
				res.Added++
			}
			want.UpdatedAt = tx.now
			if err := tx.db.Save(&want).Error; err != nil {
				return err
			}
		}
		for id, prev := range known {
			if _, ok := listed[id]; ok || !prev.Active {
				continue
			}
			if err := tx.db.Model(&Staff{}).Where("user_id = ?", id).Updates(map[string]any{"active": false, "updated_at": tx.now}).Error; err != nil {
				return err
			}
			res.Deactivated++
		}
		return nil
	})
	return res, wrap("sync staff", err)
}

func sameTime(a, b *time.Time) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && a.Equal(*b))
}
