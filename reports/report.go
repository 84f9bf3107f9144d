// Package reports renders the contract's deliverables: the monthly and
// annual service reports (XLSX and a chat summary) and the Word documents
// the hospital signs (重大事件分析报告, 变更申请单). It renders figures that
// models computed and never computes one itself.
package reports

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"opsbot/models"
)

// Kind says which service report is rendered.
type Kind string

// Report kinds.
const (
	Monthly Kind = "monthly"
	Annual  Kind = "annual"
)

// Label is the report's Chinese name.
func (k Kind) Label() string {
	if k == Annual {
		return "服务年报"
	}
	return "服务月报"
}

// Report is everything a monthly or annual service report shows. The
// caller fills it from the database; nothing in it is recomputed here.
type Report struct {
	Kind Kind
	// Title heads the report before its kind, e.g. "XX县人民医院信息系统运维"
	// gives "XX县人民医院信息系统运维服务月报 · 2026年11月"; empty
	// means just the kind and period.
	Title string
	// Figures are the period's figures (models.Tx.Figures).
	Figures *models.Figures
	// Daily is the monthly report's trend, one entry per day.
	Daily []models.DayCount
	// Months is the annual report's trend: the figures of each month in
	// order; nil entries (months not yet begun) are left blank.
	Months []*models.Figures
	// Tickets streams the period's tickets in order; it is called once and
	// must stop and return yield's error when yield fails. Nil writes only
	// the header of the ticket sheet.
	Tickets func(yield func(TicketRow) error) error
	// LowRatings are the period's ratings at or below the alert score, with
	// their follow-up calls.
	LowRatings []LowRating
	// Survey is the yearly survey (annual report only; nil when none ran).
	Survey *Survey
	// Approvals are the hospital approvers' answers to this report.
	Approvals []Approval
	// Records are the period's service records (major-incident reports,
	// changes and their linked incidents, open problems, inspections),
	// each a titled table on the 服务记录 sheet.
	Records []RecordTable
	// SystemName gives a system code's Chinese name; PersonName a userid's
	// name. Nil shows codes and ids as they are.
	SystemName func(code string) string
	PersonName func(userid string) string
	// Location is the time zone times are shown in; nil uses the period's.
	Location *time.Location
}

// RecordTable is one titled table of the 服务记录 sheet; Empty is shown
// when it has no rows.
type RecordTable struct {
	Title  string
	Header []string
	Rows   [][]string
	Empty  string
}

// TicketRow is one ticket as the ticket sheet lists it.
type TicketRow struct {
	Number   int64
	Kind     models.Kind
	System   string // system code; Report.SystemName names it
	Priority models.Priority
	Status   models.Status
	Title    string
	// Department and the reporter: ReporterName as recorded on the ticket,
	// else Report.PersonName(Reporter).
	Department   string
	Reporter     string
	ReporterName string
	Assignee     string // userid; Report.PersonName names it
	Major        bool

	CreatedAt                                 time.Time
	ClaimedAt, OnsiteAt, ResolvedAt, ClosedAt *time.Time
	DueResponse                               time.Time
	DueOnsite                                 *time.Time
	DueResolution                             time.Time

	// The deadlines missed, as models judged them (Judge or its SQL twin).
	ResponseBreached, OnsiteBreached, ResolutionBreached bool
	BreachReason                                         string

	// Rating is 20-100, 0 when not rated.
	Rating        int
	RatingComment string
}

// LowRating is a rating at or below the alert score and its follow-up call
// (回访).
type LowRating struct {
	Ticket   int64
	System   string // system code
	Reporter string // userid
	Score    int
	Comment  string
	RatedAt  time.Time
	// FollowUp is what the 回访 found, "" while none was recorded.
	FollowUp   string
	FollowUpBy string // userid
	FollowUpAt *time.Time
}

// Survey is the result of the yearly satisfaction survey (年度满意度调查).
type Survey struct {
	Year int
	// Overall is the survey's score: Mean over all answers, Rated the
	// people who answered, Asked those asked, Target the contract's.
	Overall   models.Satisfaction
	Questions []SurveyQuestion
	Comments  []SurveyComment
}

// SurveyQuestion is one rated question and its mean score.
type SurveyQuestion struct {
	Text    string
	Mean    float64
	Answers int64
}

// SurveyComment is one free comment of the survey.
type SurveyComment struct {
	By   string // userid, "" when anonymous
	Text string
}

// Answer is a hospital approver's answer to a delivered report.
type Answer string

// Answers to a report.
const (
	AnswerPending   Answer = ""
	AnswerConfirmed Answer = "confirmed"
	AnswerObjected  Answer = "objected"
)

// Label is the answer's Chinese name.
func (a Answer) Label() string {
	switch a {
	case AnswerConfirmed:
		return "已确认"
	case AnswerObjected:
		return "有意见"
	}
	return "待确认"
}

// Approval is one hospital approver's answer to the report.
type Approval struct {
	Approver   string // userid
	SentAt     time.Time
	Answer     Answer
	Comment    string
	AnsweredAt *time.Time
}

// ConfirmationState sums up the approvers' answers in a few words:
// 未送确认, 待确认（1/2）, 有意见, 已确认.
func ConfirmationState(as []Approval) string {
	if len(as) == 0 {
		return "未送确认"
	}
	confirmed := 0
	for _, a := range as {
		switch a.Answer {
		case AnswerObjected:
			return "有意见"
		case AnswerConfirmed:
			confirmed++
		}
	}
	if confirmed == len(as) {
		return "已确认"
	}
	return fmt.Sprintf("待确认（已确认 %d/%d）", confirmed, len(as))
}

func (r *Report) loc() *time.Location {
	if r.Location != nil {
		return r.Location
	}
	if r.Figures != nil && r.Figures.Period.From.Location() != nil {
		return r.Figures.Period.From.Location()
	}
	return time.UTC
}

func (r *Report) system(code string) string {
	if code == "" {
		return "未指定系统"
	}
	if r.SystemName != nil {
		if n := r.SystemName(code); n != "" {
			return n
		}
	}
	return code
}

func (r *Report) person(id string) string {
	if id == "" {
		return ""
	}
	if r.PersonName != nil {
		if n := r.PersonName(id); n != "" {
			return n
		}
	}
	return id
}

// heading is "服务月报 · 2026年11月", prefixed by the title when set.
func (r *Report) heading() string {
	h := r.Kind.Label()
	if r.Title != "" {
		h = r.Title + h
	}
	if r.Figures != nil && r.Figures.Period.Label != "" {
		h += " · " + r.Figures.Period.Label
	}
	return h
}

// mark is ✅ or ❌ for a figure with a target; "—" when there is nothing to
// judge (no target, or nothing counted).
func mark(met bool) string {
	if met {
		return "✅"
	}
	return "❌"
}

func rateMark(x models.Rate) string {
	if _, ok := x.Value(); !ok {
		return "—"
	}
	return mark(x.Met())
}

func satMark(s models.Satisfaction) string {
	if s.Rated == 0 {
		return "—"
	}
	return mark(s.Met())
}

// clockLabel names a missed deadline.
func clockLabel(c models.Clock) string {
	switch c {
	case models.ClockResponse:
		return "响应"
	case models.ClockOnsite:
		return "到场"
	case models.ClockResolution:
		return "解决"
	}
	return string(c)
}

// percentText writes a rate for chat: "96.5%", "—" when empty.
func percentText(x models.Rate) string {
	v, ok := x.Value()
	if !ok {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", v*100)
}

// targetText writes a target fraction: "95%", "92.5%".
func targetText(t float64) string {
	return strconv.FormatFloat(math.Round(t*1000)/10, 'f', -1, 64) + "%"
}
