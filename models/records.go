package models

import (
	"errors"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Statuses of a major-incident analysis report (重大事件分析报告).
const (
	ReportDraft     = "draft"     // being written
	ReportSubmitted = "submitted" // sent to the hospital approvers
	ReportConfirmed = "confirmed" // an approver confirmed it
	ReportReturned  = "returned"  // an approver returned it with a comment
)

// ReportStatusLabel is the Chinese name of a report status.
func ReportStatusLabel(s string) string {
	switch s {
	case ReportSubmitted:
		return "待医院确认"
	case ReportConfirmed:
		return "已确认"
	case ReportReturned:
		return "退回修改"
	}
	return "草稿"
}

// Analysis fields of an incident report, as 影响, 根因 and 整改 record them.
const (
	FieldImpact     = "impact"
	FieldRootCause  = "root_cause"
	FieldCorrective = "corrective"
)

// IncidentAnalysis is the written part of a major-incident report and its
// approval by the hospital; the timeline and figures come from the tickets.
type IncidentAnalysis struct {
	TicketID    int64 `gorm:"primaryKey;autoIncrement:false"`
	Impact      string
	RootCause   string
	Corrective  string
	Status      string
	Approvers   []string `gorm:"serializer:json"`
	SubmittedBy string
	SubmittedAt *time.Time
	DecidedBy   string
	DecidedAt   *time.Time
	// Comment is the approver's comment on a return (or a confirmation).
	Comment    string
	RemindedAt *time.Time
	UpdatedAt  time.Time
}

// TableName is the incident_reports table.
func (IncidentAnalysis) TableName() string { return "incident_reports" }

// Incident is what a major-incident report is built from: the ticket, the
// reports merged into it, every event of them, and the analysis.
type Incident struct {
	Ticket   *Ticket
	Children []Ticket
	// Events of the ticket and of each merged report, oldest first.
	Events   []TicketEvent
	Analysis IncidentAnalysis
	// Breaches names the missed deadlines ("响应", "到场", "解决").
	Breaches []string
}

// incidentTicket returns the ticket of a report when it is a major incident
// or an incident that merges reports.
func (tx *Tx) incidentTicket(id int64, lock bool) (*Ticket, []Ticket, error) {
	var t *Ticket
	var err error
	if lock {
		t, err = tx.ticketForUpdate(id)
	} else {
		t, err = tx.Ticket(id)
	}
	if err != nil {
		return nil, nil, err
	}
	if t.ParentID != nil {
		return nil, nil, Errorf(EInvalid, "工单 #%d 已并入 #%d，请对 #%d 写事件报告", id, *t.ParentID, *t.ParentID)
	}
	var children []Ticket
	if err := tx.db.Where("parent_id = ?", id).Order("id").Find(&children).Error; err != nil {
		return nil, nil, wrap("merged reports", err)
	}
	if !t.Major && len(children) == 0 {
		return nil, nil, Errorf(EInvalid, "工单 #%d 不是重大事件，也没有合并报修，不需要事件报告（服务主管可发“重大 %d”标记）", id, id)
	}
	return t, children, nil
}

// analysisOf reads the analysis of ticket id, a fresh draft when none.
func (tx *Tx) analysisOf(id int64, lock bool) (*IncidentAnalysis, error) {
	var r IncidentAnalysis
	q := tx.db
	if lock {
		q = tx.forUpdate()
	}
	err := q.Where("ticket_id = ?", id).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return &IncidentAnalysis{TicketID: id, Status: ReportDraft}, nil
	}
	return &r, wrap("incident report", err)
}

func (tx *Tx) saveAnalysis(r *IncidentAnalysis) error {
	r.UpdatedAt = tx.now
	if r.Approvers == nil {
		r.Approvers = []string{}
	}
	return wrap("save incident report", tx.db.Clauses(clause.OnConflict{UpdateAll: true}).Create(r).Error)
}

// Incident gathers what the report of incident id is built from.
func (tx *Tx) Incident(id int64) (*Incident, error) {
	t, children, err := tx.incidentTicket(id, false)
	if err != nil {
		return nil, err
	}
	if err := tx.flush(); err != nil {
		return nil, err
	}
	ids := []int64{id}
	for _, ch := range children {
		ids = append(ids, ch.ID)
	}
	var events []TicketEvent
	if err := tx.db.Where("ticket_id IN ?", ids).Order("at").Order("id").Find(&events).Error; err != nil {
		return nil, wrap("incident events", err)
	}
	a, err := tx.analysisOf(id, false)
	if err != nil {
		return nil, err
	}
	in := &Incident{Ticket: t, Children: children, Events: events, Analysis: *a}
	j := tx.Judge(t)
	if j.ResponseBreached {
		in.Breaches = append(in.Breaches, "响应超时")
	}
	if j.OnsiteBreached {
		in.Breaches = append(in.Breaches, "到场超时")
	}
	if j.ResolutionBreached {
		in.Breaches = append(in.Breaches, "解决超时")
	}
	return in, nil
}

// RecordAnalysis writes one field of an incident's analysis (影响, 根因,
// 整改). Only staff write it, and not while the hospital reviews it or
// after it confirmed it.
func (tx *Tx) RecordAnalysis(id int64, a Actor, field, text string) (*IncidentAnalysis, error) {
	if !a.IsStaff() {
		return nil, Errorf(EForbidden, "只有运维人员可以填写事件报告")
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, Errorf(EInvalid, "内容不能为空")
	}
	if _, _, err := tx.incidentTicket(id, true); err != nil {
		return nil, err
	}
	r, err := tx.analysisOf(id, true)
	if err != nil {
		return nil, err
	}
	switch r.Status {
	case ReportSubmitted:
		return nil, Errorf(EConflict, "工单 #%d 的事件报告已提交信息科，待确认期间不能修改", id)
	case ReportConfirmed:
		return nil, Errorf(EConflict, "工单 #%d 的事件报告已由信息科确认，不能再修改", id)
	}
	switch field {
	case FieldImpact:
		r.Impact = text
	case FieldRootCause:
		r.RootCause = text
	case FieldCorrective:
		r.Corrective = text
	default:
		return nil, Errorf(EInvalid, "未知的报告栏目 %q", field)
	}
	return r, tx.saveAnalysis(r)
}

// SubmitIncidentReport sends the report to approvers: from now on only
// they may confirm or return it. Only supervisors submit.
func (tx *Tx) SubmitIncidentReport(id int64, a Actor, approvers []string) (*IncidentAnalysis, error) {
	if !a.Manages() {
		return nil, Errorf(EForbidden, "只有服务主管可以提交事件报告")
	}
	if len(approvers) == 0 {
		return nil, Errorf(EInvalid, "还没有配置信息科审批人（hospital.approvers），无法提交")
	}
	if _, _, err := tx.incidentTicket(id, true); err != nil {
		return nil, err
	}
	r, err := tx.analysisOf(id, true)
	if err != nil {
		return nil, err
	}
	switch r.Status {
	case ReportSubmitted:
		return nil, Errorf(EConflict, "工单 #%d 的事件报告已提交，正在等待信息科确认", id)
	case ReportConfirmed:
		return nil, Errorf(EConflict, "工单 #%d 的事件报告已确认", id)
	}
	if strings.TrimSpace(r.RootCause) == "" || strings.TrimSpace(r.Corrective) == "" {
		return nil, Errorf(EInvalid, "提交前请先填写根因和整改措施：根因 %d 内容、整改 %d 内容", id, id)
	}
	r.Status = ReportSubmitted
	r.Approvers = slices.Clone(approvers)
	r.SubmittedBy, r.SubmittedAt = a.UserID, tx.at()
	r.DecidedBy, r.DecidedAt, r.Comment = "", nil, ""
	return r, tx.saveAnalysis(r)
}

// DecideIncidentReport records an approver's answer: confirmed, or
// returned with a comment (required). Only the approvers the report was
// sent to may answer, and only while it waits.
func (tx *Tx) DecideIncidentReport(id int64, approverID string, confirm bool, comment string) (*IncidentAnalysis, error) {
	r, err := tx.reportFor(id, approverID, true)
	if err != nil {
		return nil, err
	}
	comment = strings.TrimSpace(comment)
	if !confirm && comment == "" {
		return nil, Errorf(EInvalid, "退回需要写明意见")
	}
	r.Status = ReportConfirmed
	if !confirm {
		r.Status = ReportReturned
	}
	r.DecidedBy, r.DecidedAt, r.Comment = approverID, tx.at(), comment
	return r, tx.saveAnalysis(r)
}

// CheckReportApprover says whether approverID may answer the report of
// incident id now, before a return's comment is asked for.
func (tx *Tx) CheckReportApprover(id int64, approverID string) error {
	_, err := tx.reportFor(id, approverID, false)
	return err
}

func (tx *Tx) reportFor(id int64, approverID string, lock bool) (*IncidentAnalysis, error) {
	r, err := tx.analysisOf(id, lock)
	if err != nil {
		return nil, err
	}
	if r.Status == ReportDraft && len(r.Approvers) == 0 {
		return nil, Errorf(ENotFound, "工单 #%d 没有待确认的事件报告", id)
	}
	if !slices.Contains(r.Approvers, approverID) {
		return nil, Errorf(EForbidden, "工单 #%d 的事件报告没有发给您确认", id)
	}
	if r.Status != ReportSubmitted {
		return nil, Errorf(EConflict, "工单 #%d 的事件报告已处理（%s）", id, ReportStatusLabel(r.Status))
	}
	return r, nil
}

// IncidentReportRow is one incident of a month with its report's outcome,
// for the monthly report.
type IncidentReportRow struct {
	TicketID   int64
	System     string
	Title      string
	CreatedAt  time.Time
	ResolvedAt *time.Time
	Merged     int
	// Status is ReportDraft when no report was written or submitted.
	Status      string
	SubmittedAt *time.Time
	DecidedBy   string
	DecidedAt   *time.Time
	Comment     string
}

// IncidentReportsIn lists the incidents (tickets marked major, and
// tickets other reports were merged into) opened in [from, to), oldest
// first, with their report's outcome.
func (tx *Tx) IncidentReportsIn(from, to time.Time) ([]IncidentReportRow, error) {
	var ts []Ticket
	err := tx.db.Where("created_at >= ? AND created_at < ? AND parent_id IS NULL AND (major = ? OR id IN (SELECT parent_id FROM tickets WHERE parent_id IS NOT NULL))", from.UTC(), to.UTC(), true).
		Order("created_at").Order("id").Find(&ts).Error
	if err != nil {
		return nil, wrap("incidents of period", err)
	}
	out := make([]IncidentReportRow, 0, len(ts))
	for _, t := range ts {
		var merged int64
		if err := tx.db.Model(&Ticket{}).Where("parent_id = ?", t.ID).Count(&merged).Error; err != nil {
			return nil, wrap("merged count", err)
		}
		a, err := tx.analysisOf(t.ID, false)
		if err != nil {
			return nil, err
		}
		out = append(out, IncidentReportRow{TicketID: t.ID, System: t.System, Title: t.Title, CreatedAt: t.CreatedAt, ResolvedAt: t.ResolvedAt,
			Merged: int(merged), Status: a.Status, SubmittedAt: a.SubmittedAt, DecidedBy: a.DecidedBy, DecidedAt: a.DecidedAt, Comment: a.Comment})
	}
	return out, nil
}

// DueIncidentReports lists the major incidents resolved at least workDays
// working days ago whose report was never submitted and whose supervisor
// was not yet reminded.
func (tx *Tx) DueIncidentReports(workDays int) ([]Ticket, error) {
	var ts []Ticket
	err := tx.db.Where("major = ? AND parent_id IS NULL AND resolved_at IS NOT NULL AND status IN ?", true, []Status{StatusResolved, StatusClosed}).
		Where("id NOT IN (SELECT ticket_id FROM incident_reports WHERE status <> ? OR reminded_at IS NOT NULL)", ReportDraft).
		Order("id").Find(&ts).Error
	if err != nil {
		return nil, wrap("due incident reports", err)
	}
	clock := tx.s.sla.Clock()
	var out []Ticket
	for _, t := range ts {
		if due := clock.Add(*t.ResolvedAt, time.Duration(workDays)*clock.DayLength()); !due.After(tx.now) {
			out = append(out, t)
		}
	}
	return out, nil
}

// MarkIncidentReminded records that the supervisors were reminded of the
// missing report of incident id, so that they are reminded once.
func (tx *Tx) MarkIncidentReminded(id int64) error {
	r, err := tx.analysisOf(id, true)
	if err != nil {
		return err
	}
	r.RemindedAt = tx.at()
	return tx.saveAnalysis(r)
}
