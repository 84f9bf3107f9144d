package models

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Problem statuses.
const (
	ProblemOpen     = "open"
	ProblemResolved = "resolved"
)

// Problem is a problem record (问题根治): the common cause behind
// recurring incidents, shown as 问题 P#ID.
type Problem struct {
	ID         int64 `gorm:"primaryKey"`
	Title      string
	System     string `gorm:"column:system_code"`
	Status     string
	RootCause  string
	Fix        string
	CreatedBy  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	ResolvedAt *time.Time
}

// TableName is the problems table.
func (Problem) TableName() string { return "problems" }

type problemTicket struct {
	ProblemID int64 `gorm:"primaryKey;autoIncrement:false"`
	TicketID  int64 `gorm:"primaryKey;autoIncrement:false"`
	LinkedBy  string
	LinkedAt  time.Time
}

func (problemTicket) TableName() string { return "problem_tickets" }

type problemSuggestion struct {
	TicketID    int64 `gorm:"primaryKey;autoIncrement:false"`
	SuggestedAt time.Time
}

func (problemSuggestion) TableName() string { return "problem_suggestions" }

func staffOnlyRecord(a Actor) error {
	if !a.IsStaff() {
		return Errorf(EForbidden, "只有运维人员可以维护问题记录")
	}
	return nil
}

// OpenProblem opens a problem record.
func (tx *Tx) OpenProblem(title, system string, a Actor) (*Problem, error) {
	if err := staffOnlyRecord(a); err != nil {
		return nil, err
	}
	title = strings.TrimSpace(title)
	if title == "" {
		return nil, Errorf(EInvalid, "请写上问题标题，例如：问题 新建 收费窗口发票打印反复卡纸")
	}
	p := Problem{Title: shorten(title, 200), System: system, Status: ProblemOpen, CreatedBy: a.UserID, CreatedAt: tx.now, UpdatedAt: tx.now}
	return &p, wrap("open problem", tx.db.Create(&p).Error)
}

func (tx *Tx) problemForUpdate(id int64) (*Problem, error) {
	var p Problem
	err := tx.forUpdate().Take(&p, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, Errorf(ENotFound, "未找到问题 P%d", id)
	}
	return &p, wrap("problem", err)
}

// LinkProblem links tickets to problem id; every ticket must exist.
// Linking a ticket twice is harmless.
func (tx *Tx) LinkProblem(id int64, ticketIDs []int64, a Actor) (*Problem, error) {
	if err := staffOnlyRecord(a); err != nil {
		return nil, err
	}
	p, err := tx.problemForUpdate(id)
	if err != nil {
		return nil, err
	}
	for _, tid := range ticketIDs {
		t, err := tx.Ticket(tid)
		if err != nil {
			return nil, err
		}
		if p.System == "" && t.System != "" {
			p.System = t.System
		}
		if err := tx.db.Clauses(clause.OnConflict{DoNothing: true}).Create(&problemTicket{ProblemID: id, TicketID: tid, LinkedBy: a.UserID, LinkedAt: tx.now}).Error; err != nil {
			return nil, wrap("link problem", err)
		}
		if err := tx.addEvent(tid, a, ActNote, t.Status, t.Status, fmt.Sprintf("关联问题 P%d", id)); err != nil {
			return nil, err
		}
	}
	p.UpdatedAt = tx.now
	return p, wrap("save problem", tx.db.Save(p).Error)
}

// RecordProblem writes a problem's root cause, or its fix, which resolves
// it.
func (tx *Tx) RecordProblem(id int64, a Actor, fix bool, text string) (*Problem, error) {
	if err := staffOnlyRecord(a); err != nil {
		return nil, err
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, Errorf(EInvalid, "内容不能为空")
	}
	p, err := tx.problemForUpdate(id)
	if err != nil {
		return nil, err
	}
	if p.Status == ProblemResolved {
		return nil, Errorf(EConflict, "问题 P%d 已解决", id)
	}
	if fix {
		p.Fix, p.Status, p.ResolvedAt = text, ProblemResolved, tx.at()
	} else {
		p.RootCause = text
	}
	p.UpdatedAt = tx.now
	return p, wrap("save problem", tx.db.Save(p).Error)
}

// ProblemSummary is a problem with its linked tickets.
type ProblemSummary struct {
	Problem Problem
	Tickets []Ticket
}

// ProblemRecord reads problem id with its tickets.
func (tx *Tx) ProblemRecord(id int64) (*ProblemSummary, error) {
	var s ProblemSummary
	err := tx.db.Take(&s.Problem, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, Errorf(ENotFound, "未找到问题 P%d，发“问题 列表”查看", id)
	}
	if err != nil {
		return nil, wrap("problem", err)
	}
	return &s, tx.problemTickets(&s)
}

func (tx *Tx) problemTickets(s *ProblemSummary) error {
	return wrap("problem tickets", tx.db.Where("id IN (SELECT ticket_id FROM problem_tickets WHERE problem_id = ?)", s.Problem.ID).Order("id").Find(&s.Tickets).Error)
}

// OpenProblems lists the open problems with their tickets, oldest first,
// for 问题 列表 and the monthly report.
func (tx *Tx) OpenProblems() ([]ProblemSummary, error) {
	var ps []Problem
	if err := tx.db.Where("status = ?", ProblemOpen).Order("id").Find(&ps).Error; err != nil {
		return nil, wrap("open problems", err)
	}
	out := make([]ProblemSummary, len(ps))
	for i, p := range ps {
		out[i].Problem = p
		if err := tx.problemTickets(&out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// problemSimilarity is the least score for two tickets to count as the
// same recurring fault.
const problemSimilarity = 0.45

// SuggestProblem decides whether t makes its system's similar tickets of
// the window reach threshold, and if so returns them (t included) and
// remembers them: a cluster is suggested once, and a ticket already in a
// problem or in an earlier suggestion does not start a new one.
func (tx *Tx) SuggestProblem(t *Ticket, window time.Duration, threshold int) ([]Ticket, error) {
	if threshold < 2 || t.System == "" || t.ParentID != nil {
		return nil, nil
	}
	similar, err := tx.SimilarRecent(t, window, problemSimilarity)
	if err != nil || len(similar) < threshold {
		return nil, err
	}
	ids := make([]int64, len(similar))
	for i, s := range similar {
		ids[i] = s.ID
	}
	var known int64
	if err := tx.db.Model(&problemSuggestion{}).Where("ticket_id IN ?", ids).Count(&known).Error; err != nil {
		return nil, wrap("problem suggestions", err)
	}
	var linked int64
	if err := tx.db.Model(&problemTicket{}).Where("ticket_id IN ?", ids).Count(&linked).Error; err != nil {
		return nil, wrap("problem tickets", err)
	}
	if known > 0 || linked > 0 {
		return nil, nil
	}
	for _, id := range ids {
		if err := tx.db.Create(&problemSuggestion{TicketID: id, SuggestedAt: tx.now}).Error; err != nil {
			return nil, wrap("remember suggestion", err)
		}
	}
	return similar, nil
}
