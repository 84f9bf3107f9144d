package models

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ChangeStatus is where a change request stands.
type ChangeStatus string

// Change statuses: requested → approved | rejected; approved → done |
// rolled_back.
const (
	ChangeRequested  ChangeStatus = "requested"
	ChangeApproved   ChangeStatus = "approved"
	ChangeRejected   ChangeStatus = "rejected"
	ChangeDone       ChangeStatus = "done"
	ChangeRolledBack ChangeStatus = "rolled_back"
)

// Label is the Chinese name of the status.
func (s ChangeStatus) Label() string {
	switch s {
	case ChangeRequested:
		return "待审批"
	case ChangeApproved:
		return "已批准"
	case ChangeRejected:
		return "已驳回"
	case ChangeDone:
		return "已完成"
	case ChangeRolledBack:
		return "已回退"
	}
	return string(s)
}

// Open reports whether the change still needs someone: approval or doing.
func (s ChangeStatus) Open() bool { return s == ChangeRequested || s == ChangeApproved }

// Change is a change request (变更申请单), shown as 变更 #ID.
type Change struct {
	ID            int64  `gorm:"primaryKey"`
	System        string `gorm:"column:system_code"`
	What, Why     string
	Risk          string // 高, 中 or 低
	Rollback      string
	WindowFrom    time.Time
	WindowTo      time.Time
	Departments   []string `gorm:"serializer:json"`
	RequesterID   string
	RequesterName string
	Status        ChangeStatus
	// Step is the approval step waiting for an answer (1-based) while
	// requested; Steps is how many there are.
	Step, Steps int
	// NoticedAt is when the departments affected were told.
	NoticedAt *time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TableName is the changes table.
func (Change) TableName() string { return "changes" }

// ChangeApproval is one approval step of a change and its answer.
type ChangeApproval struct {
	ChangeID  int64 `gorm:"primaryKey;autoIncrement:false"`
	Step      int   `gorm:"primaryKey;autoIncrement:false"`
	Label     string
	Approvers []string `gorm:"serializer:json"`
	// Answer is "", approve or reject.
	Answer    string
	Reason    string
	DecidedBy string
	DecidedAt *time.Time
}

// TableName is the change_approvals table.
func (ChangeApproval) TableName() string { return "change_approvals" }

// Approval answers.
const (
	AnswerApprove = "approve"
	AnswerReject  = "reject"
)

// ChangeEvent records who did what to a change and when; never updated.
type ChangeEvent struct {
	ID       int64 `gorm:"primaryKey"`
	ChangeID int64
	At       time.Time
	Actor    string
	Action   string
	Note     string
}

// TableName is the change_events table.
func (ChangeEvent) TableName() string { return "change_events" }

// Change event actions.
const (
	ChangeActRequest  = "request"
	ChangeActApprove  = "approve"
	ChangeActReject   = "reject"
	ChangeActDone     = "done"
	ChangeActRollback = "rollback"
	ChangeActNotice   = "notice"
	ChangeActLink     = "link"
)

// ChangeActionLabel is the Chinese name of a change event action.
func ChangeActionLabel(a string) string {
	switch a {
	case ChangeActRequest:
		return "提交申请"
	case ChangeActApprove:
		return "同意"
	case ChangeActReject:
		return "驳回"
	case ChangeActDone:
		return "完成"
	case ChangeActRollback:
		return "回退"
	case ChangeActNotice:
		return "通知科室"
	case ChangeActLink:
		return "关联报修"
	}
	return a
}

type changeTicket struct {
	ChangeID int64 `gorm:"primaryKey;autoIncrement:false"`
	TicketID int64 `gorm:"primaryKey;autoIncrement:false"`
	LinkedAt time.Time
}

func (changeTicket) TableName() string { return "change_tickets" }

// ApprovalStep names one approval step and who may answer it.
type ApprovalStep struct {
	Label     string
	Approvers []string
}

// NewChange is what the change form collects.
type NewChange struct {
	System, What, Why, Risk, Rollback string
	WindowFrom, WindowTo              time.Time
	Departments                       []string
}

// ChangeRecord is a change with its approvals, events and linked tickets.
type ChangeRecord struct {
	Change    Change
	Approvals []ChangeApproval
	Events    []ChangeEvent
	Linked    []int64
}

// Current is the approval step waiting for an answer, nil when none.
func (r *ChangeRecord) Current() *ChangeApproval {
	if r.Change.Status != ChangeRequested {
		return nil
	}
	for i := range r.Approvals {
		if r.Approvals[i].Step == r.Change.Step {
			return &r.Approvals[i]
		}
	}
	return nil
}

func (tx *Tx) changeEvent(id int64, a Actor, action, note string) error {
	return wrap("change event", tx.db.Create(&ChangeEvent{ChangeID: id, At: tx.now, Actor: a.UserID, Action: action, Note: note}).Error)
}

// RequestChange files a change request with its approval steps; the
// first step waits for an answer. Only staff request changes.
func (tx *Tx) RequestChange(in NewChange, a Actor, steps []ApprovalStep) (*ChangeRecord, error) {
	if !a.IsStaff() {
		return nil, Errorf(EForbidden, "只有运维人员可以提交变更申请")
	}
	if in.System == "" || strings.TrimSpace(in.What) == "" || in.WindowFrom.IsZero() || !in.WindowTo.After(in.WindowFrom) {
		return nil, Errorf(EInvalid, "变更申请缺少系统、内容或计划窗口")
	}
	if !slices.Contains([]string{"高", "中", "低"}, in.Risk) {
		return nil, Errorf(EInvalid, "风险等级只能是 高、中、低")
	}
	if len(steps) == 0 {
		return nil, Errorf(EInvalid, "没有可用的审批人")
	}
	if in.Departments == nil {
		in.Departments = []string{}
	}
	c := Change{System: in.System, What: strings.TrimSpace(in.What), Why: strings.TrimSpace(in.Why), Risk: in.Risk, Rollback: strings.TrimSpace(in.Rollback),
		WindowFrom: in.WindowFrom.UTC(), WindowTo: in.WindowTo.UTC(), Departments: in.Departments,
		RequesterID: a.UserID, RequesterName: a.Name, Status: ChangeRequested, Step: 1, Steps: len(steps), CreatedAt: tx.now, UpdatedAt: tx.now}
	if err := tx.db.Create(&c).Error; err != nil {
		return nil, wrap("request change", err)
	}
	for i, s := range steps {
		ap := ChangeApproval{ChangeID: c.ID, Step: i + 1, Label: s.Label, Approvers: slices.Clone(s.Approvers)}
		if err := tx.db.Create(&ap).Error; err != nil {
			return nil, wrap("change approval", err)
		}
	}
	if err := tx.changeEvent(c.ID, a, ChangeActRequest, ""); err != nil {
		return nil, err
	}
	return tx.ChangeRecord(c.ID)
}

// ChangeRecord reads change id with its approvals, events and tickets.
func (tx *Tx) ChangeRecord(id int64) (*ChangeRecord, error) {
	return tx.changeRecord(id, false)
}

func (tx *Tx) changeRecord(id int64, lock bool) (*ChangeRecord, error) {
	q := tx.db
	if lock {
		q = tx.forUpdate()
	}
	var r ChangeRecord
	err := q.Take(&r.Change, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, Errorf(ENotFound, "未找到变更 #%d，发“变更 列表”查看", id)
	}
	if err != nil {
		return nil, wrap("change", err)
	}
	if err := tx.db.Where("change_id = ?", id).Order("step").Find(&r.Approvals).Error; err != nil {
		return nil, wrap("change approvals", err)
	}
	if err := tx.db.Where("change_id = ?", id).Order("id").Find(&r.Events).Error; err != nil {
		return nil, wrap("change events", err)
	}
	if err := tx.db.Model(&changeTicket{}).Where("change_id = ?", id).Order("ticket_id").Pluck("ticket_id", &r.Linked).Error; err != nil {
		return nil, wrap("change tickets", err)
	}
	return &r, nil
}

// DecideChange records approver a's answer to the step of change id that
// waits: an approval moves it to the next step or approves the change; a
// rejection (a reason is required) rejects it. Only the step's approvers
// may answer, and only the step that waits.
func (tx *Tx) DecideChange(id int64, step int, a Actor, approve bool, reason string) (*ChangeRecord, error) {
	r, cur, err := tx.changeStep(id, step, a, true)
	if err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	if !approve && reason == "" {
		return nil, Errorf(EInvalid, "驳回需要写明理由")
	}
	cur.Answer, cur.Reason, cur.DecidedBy, cur.DecidedAt = AnswerApprove, reason, a.UserID, tx.at()
	action := ChangeActApprove
	if !approve {
		cur.Answer, action = AnswerReject, ChangeActReject
		r.Change.Status = ChangeRejected
	} else if r.Change.Step >= r.Change.Steps {
		r.Change.Status = ChangeApproved
	} else {
		r.Change.Step++
	}
	r.Change.UpdatedAt = tx.now
	if err := tx.db.Save(cur).Error; err != nil {
		return nil, wrap("save approval", err)
	}
	if err := tx.db.Save(&r.Change).Error; err != nil {
		return nil, wrap("save change", err)
	}
	if err := tx.changeEvent(id, a, action, strings.TrimSpace(cur.Label+" "+reason)); err != nil {
		return nil, err
	}
	return tx.ChangeRecord(id)
}

// CheckChangeApprover says whether a may answer step of change id now,
// before a rejection's reason is asked for.
func (tx *Tx) CheckChangeApprover(id int64, step int, a Actor) error {
	_, _, err := tx.changeStep(id, step, a, false)
	return err
}

func (tx *Tx) changeStep(id int64, step int, a Actor, lock bool) (*ChangeRecord, *ChangeApproval, error) {
	r, err := tx.changeRecord(id, lock)
	if err != nil {
		return nil, nil, err
	}
	var mine *ChangeApproval
	for i := range r.Approvals {
		if r.Approvals[i].Step == step {
			mine = &r.Approvals[i]
		}
	}
	if mine == nil || !slices.Contains(mine.Approvers, a.UserID) {
		return nil, nil, Errorf(EForbidden, "变更 #%d 没有发给您审批", id)
	}
	cur := r.Current()
	if cur != nil && cur.Step < step {
		return nil, nil, Errorf(EConflict, "变更 #%d 还在等待%s审批，轮到您时会再发给您", id, cur.Label)
	}
	if cur == nil || cur.Step != step {
		return nil, nil, Errorf(EConflict, "变更 #%d 的这一步审批已结束（当前：%s）", id, r.Change.Status.Label())
	}
	return r, mine, nil
}

// FinishChange records the outcome of an approved change: done, or rolled
// back (a reason is required). The requester or a supervisor records it.
func (tx *Tx) FinishChange(id int64, a Actor, done bool, reason string) (*ChangeRecord, error) {
	r, err := tx.changeRecord(id, true)
	if err != nil {
		return nil, err
	}
	if !a.Manages() && a.UserID != r.Change.RequesterID {
		return nil, Errorf(EForbidden, "只有申请人或服务主管可以登记变更 #%d 的结果", id)
	}
	if r.Change.Status != ChangeApproved {
		return nil, Errorf(EConflict, "变更 #%d %s，不能登记完成或回退", id, r.Change.Status.Label())
	}
	reason = strings.TrimSpace(reason)
	action := ChangeActDone
	r.Change.Status = ChangeDone
	if !done {
		if reason == "" {
			return nil, Errorf(EInvalid, "回退需要写明原因，例如：变更 %d 回退 升级后医保结算报错", id)
		}
		r.Change.Status, action = ChangeRolledBack, ChangeActRollback
	}
	r.Change.UpdatedAt = tx.now
	if err := tx.db.Save(&r.Change).Error; err != nil {
		return nil, wrap("save change", err)
	}
	if err := tx.changeEvent(id, a, action, reason); err != nil {
		return nil, err
	}
	return tx.ChangeRecord(id)
}

// OpenChanges lists the changes waiting for approval or to be done,
// soonest window first.
func (tx *Tx) OpenChanges() ([]Change, error) {
	var out []Change
	err := tx.db.Where("status IN ?", []ChangeStatus{ChangeRequested, ChangeApproved}).Order("window_from").Order("id").Find(&out).Error
	return out, wrap("open changes", err)
}

// DueChangeNotices lists approved changes whose window starts within lead
// (and has not ended) and whose departments were not yet told.
func (tx *Tx) DueChangeNotices(lead time.Duration) ([]Change, error) {
	var out []Change
	err := tx.db.Where("status = ? AND noticed_at IS NULL AND window_from <= ? AND window_to > ?", ChangeApproved, tx.now.Add(lead), tx.now).
		Order("window_from").Find(&out).Error
	return out, wrap("due change notices", err)
}

// MarkChangeNoticed records that the departments of change id were told.
func (tx *Tx) MarkChangeNoticed(id int64, note string) error {
	if err := tx.db.Model(&Change{}).Where("id = ?", id).Update("noticed_at", tx.now).Error; err != nil {
		return wrap("change noticed", err)
	}
	return tx.changeEvent(id, Actor{UserID: "opsbot"}, ChangeActNotice, note)
}

// LinkChanges links ticket t to the changes of its system whose window
// contains the ticket's creation (approved or already finished), and
// returns them: a fault reported during a change is its first suspect.
func (tx *Tx) LinkChanges(t *Ticket) ([]Change, error) {
	if t.System == "" {
		return nil, nil
	}
	var cs []Change
	err := tx.db.Where("system_code = ? AND status IN ? AND window_from <= ? AND window_to >= ?", t.System,
		[]ChangeStatus{ChangeApproved, ChangeDone, ChangeRolledBack}, t.CreatedAt, t.CreatedAt).Order("id").Find(&cs).Error
	if err != nil {
		return nil, wrap("changes in window", err)
	}
	for _, c := range cs {
		if err := tx.db.Clauses(clause.OnConflict{DoNothing: true}).Create(&changeTicket{ChangeID: c.ID, TicketID: t.ID, LinkedAt: tx.now}).Error; err != nil {
			return nil, wrap("link change", err)
		}
		if err := tx.changeEvent(c.ID, Actor{UserID: t.ReporterID}, ChangeActLink, fmt.Sprintf("#%d", t.ID)); err != nil {
			return nil, err
		}
	}
	return cs, nil
}

// ChangeSummary is one change of a month with the tickets reported about
// its system during its window, for the monthly report.
type ChangeSummary struct {
	Change Change
	Linked []int64
}

// ChangesIn lists the changes whose window starts in [from, to), in
// window order, each with its linked tickets.
func (tx *Tx) ChangesIn(from, to time.Time) ([]ChangeSummary, error) {
	var cs []Change
	if err := tx.db.Where("window_from >= ? AND window_from < ?", from.UTC(), to.UTC()).Order("window_from").Order("id").Find(&cs).Error; err != nil {
		return nil, wrap("changes of period", err)
	}
	out := make([]ChangeSummary, 0, len(cs))
	for _, c := range cs {
		s := ChangeSummary{Change: c}
		if err := tx.db.Model(&changeTicket{}).Where("change_id = ?", c.ID).Order("ticket_id").Pluck("ticket_id", &s.Linked).Error; err != nil {
			return nil, wrap("change tickets", err)
		}
		out = append(out, s)
	}
	return out, nil
}
