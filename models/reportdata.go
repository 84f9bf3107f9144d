package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// DayCount is one day of a period: tickets created that day (cancelled
// excluded) and tickets resolved that day.
type DayCount struct {
	Day               time.Time
	Created, Resolved int64
}

// DailyCounts counts each day of the period in loc. Two reads of the
// period's times, bucketed here: resolved_at has no index, and a count per
// day meant a scan of every ticket per day.
func (tx *Tx) DailyCounts(p Period, loc *time.Location) ([]DayCount, error) {
	var out []DayCount
	index := map[string]int{}
	for d := p.From.In(loc); d.Before(p.To); d = d.AddDate(0, 0, 1) {
		index[d.Format(time.DateOnly)] = len(out)
		out = append(out, DayCount{Day: d})
	}
	count := func(q string, add func(*DayCount)) error {
		rows, err := tx.db.Raw(q, p.From.UTC(), p.To.UTC()).Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var at time.Time
			if err := rows.Scan(&at); err != nil {
				return err
			}
			if i, ok := index[at.In(loc).Format(time.DateOnly)]; ok {
				add(&out[i])
			}
		}
		return rows.Err()
	}
	if err := count(`SELECT created_at FROM tickets WHERE created_at >= ? AND created_at < ? AND status <> 'cancelled'`, func(d *DayCount) { d.Created++ }); err != nil {
		return nil, wrap("daily counts", err)
	}
	if err := count(`SELECT resolved_at FROM tickets WHERE resolved_at >= ? AND resolved_at < ? AND status IN ('resolved','closed')`, func(d *DayCount) { d.Resolved++ }); err != nil {
		return nil, wrap("daily counts", err)
	}
	return out, nil
}

// ReportRow is one ticket of a period as the reports list it, with the
// deadlines judged by the SQL twin of Judge.
type ReportRow struct {
	ID                                        int64
	Kind                                      Kind
	System                                    string
	Priority                                  Priority
	Status                                    Status
	Title, Department                         string
	ReporterID, ReporterName, AssigneeID      string
	Major                                     bool
	CreatedAt                                 time.Time
	ClaimedAt, OnsiteAt, ResolvedAt, ClosedAt *time.Time
	DueResponse                               time.Time
	DueOnsite                                 *time.Time
	DueResolution                             time.Time
	BreachReason                              string
	ResponseB, OnsiteB, ResolutionB           bool
	// Score is 20-100, 0 when not rated.
	Score         int
	RatingComment string
}

// reportRowPage is how many tickets one query of EachReportRow reads.
var reportRowPage = 10000

// EachReportRow streams the period's tickets (cancelled included, so the
// list is complete; the figures exclude them) in number order, a page at a
// time, judging deadlines at now. It stops at fn's first error.
//
// The ratings joined start after the page's first number too: without
// that bound Postgres merges each page with the ratings from the first
// one on, and a year's fifty pages read eight million of them.
//
// The rows are scanned column by column into typed values: it is the
// annual report's hot loop (half a million tickets), and GORM's reflective
// scan of whole tickets cost 8 of its 20 CPU seconds. On Postgres the
// pages are read through pgx itself: database/sql turns every value into
// an interface and converts it again on Scan, which was half of the
// reading goroutine's time for a year. Each page is sent there as an
// unnamed statement and so planned for its own bounds: a statement
// prepared once and run fifty times gets a generic plan after the fifth,
// one that cannot know where a page starts and hashes every rating per
// page (21 s of database CPU for a year instead of 1). SQLite pages are
// plain queries (a transaction there would take the write lock).
func (s *Store) EachReportRow(ctx context.Context, p Period, now time.Time, fn func(*ReportRow) error) error {
	e := &kpiExpr
	q := `SELECT t.id, t.kind, t.system_code, t.priority, t.status, t.title, t.department, t.reporter_id, t.reporter_name, t.assignee_id, t.major,
  t.created_at, t.claimed_at, t.onsite_at, t.resolved_at, t.closed_at, t.due_response, t.due_onsite, t.due_resolution, t.breach_reason,
  COALESCE(` + e.responseBreached + `, false), COALESCE(` + e.onsiteBreached + `, false), COALESCE(` + e.resolutionBreached + `, false),
  COALESCE(r.score, 0), COALESCE(r.comment, '')
FROM tickets t LEFT JOIN ratings r ON r.ticket_id = t.id AND r.ticket_id > ?
WHERE t.created_at >= ? AND t.created_at < ? AND t.id > ? ORDER BY t.id LIMIT ?`
	var row ReportRow
	// A NULL time is scanned as a nil pointer and a set one into a fresh
	// value (by database/sql and pgx alike): rows handed on never share
	// their times.
	into := []any{&row.ID, &row.Kind, &row.System, &row.Priority, &row.Status, &row.Title, &row.Department, &row.ReporterID, &row.ReporterName, &row.AssigneeID, &row.Major,
		&row.CreatedAt, &row.ClaimedAt, &row.OnsiteAt, &row.ResolvedAt, &row.ClosedAt, &row.DueResponse, &row.DueOnsite, &row.DueResolution, &row.BreachReason,
		&row.ResponseB, &row.OnsiteB, &row.ResolutionB, &row.Score, &row.RatingComment}
	var after int64
	args := func() []any {
		return []any{now.UTC(), now.UTC(), now.UTC(), after, p.From.UTC(), p.To.UTC(), after, reportRowPage}
	}
	// each takes one scanned row; a stop by fn is told apart from a
	// database error by its type.
	each := func() error {
		if err := fn(&row); err != nil {
			return errStop{err}
		}
		after = row.ID
		return nil
	}
	page := func() (int, error) {
		rows, err := s.db.WithContext(ctx).Raw(q, args()...).Rows()
		if err != nil {
			return 0, err
		}
		defer rows.Close()
		n := 0
		for ; rows.Next(); n++ {
			if err := rows.Scan(into...); err != nil {
				return n, err
			}
			if err := each(); err != nil {
				return n, err
			}
		}
		return n, rows.Err()
	}
	if s.driver == "postgres" {
		sqlDB, err := s.db.DB()
		if err != nil {
			return wrap("report rows", err)
		}
		conn, err := sqlDB.Conn(ctx)
		if err != nil {
			return wrap("report rows", err)
		}
		defer conn.Close()
		pq := numberParams(q)
		page = func() (n int, err error) {
			err = conn.Raw(func(dc any) error {
				rows, err := dc.(*stdlib.Conn).Conn().Query(ctx, pq, append([]any{pgx.QueryExecModeDescribeExec}, args()...)...)
				if err != nil {
					return err
				}
				defer rows.Close()
				for ; rows.Next(); n++ {
					if err := rows.Scan(into...); err != nil {
						return err
					}
					if err := each(); err != nil {
						return err
					}
				}
				return rows.Err()
			})
			return n, err
		}
	}
	for {
		n, err := page()
		var stop errStop
		if errors.As(err, &stop) {
			return stop.err
		}
		if err != nil {
			return wrap("report rows", err)
		}
		if n < reportRowPage {
			return nil
		}
	}
}

// numberParams turns a statement's "?" placeholders into Postgres's $1, $2, …
// (GORM does it for the statements it sends; pgx takes them as written).
func numberParams(q string) string {
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// errStop carries the error of EachReportRow's callback out of a page
// untouched.
type errStop struct{ err error }

func (e errStop) Error() string { return e.err.Error() }

// Report confirmation answers (tender 4: the hospital confirms each
// delivered report).
const (
	AnswerConfirmed = "confirmed"
	AnswerObjected  = "objected"
)

// Confirmation is one approver's answer to a delivered report.
type Confirmation struct {
	Kind, Period, ApproverID string
	SentAt                   time.Time
	Answer, Comment          string
	AnsweredAt               *time.Time
}

// TableName is the report_confirmations table.
func (Confirmation) TableName() string { return "report_confirmations" }

// AskConfirmation records that a report went to an approver; asked is
// false when it had been sent to them before.
func (tx *Tx) AskConfirmation(kind, period, approver string) (asked bool, err error) {
	res := tx.db.Exec(`INSERT INTO report_confirmations (kind, period, approver_id, sent_at) VALUES (?, ?, ?, ?) ON CONFLICT (kind, period, approver_id) DO NOTHING`,
		kind, period, approver, tx.now)
	return res.RowsAffected == 1, wrap("ask confirmation", res.Error)
}

// Confirm records an approver's answer; only an approver the report was
// sent to may answer, and an answer may be changed.
func (tx *Tx) Confirm(kind, period, approver, answer, comment string) error {
	res := tx.db.Exec(`UPDATE report_confirmations SET answer = ?, comment = ?, answered_at = ? WHERE kind = ? AND period = ? AND approver_id = ?`,
		answer, comment, tx.now, kind, period, approver)
	if res.Error != nil {
		return wrap("confirm report", res.Error)
	}
	if res.RowsAffected == 0 {
		return Errorf(EForbidden, "这份报告没有发给您确认")
	}
	return nil
}

// Confirmations lists the approvers' answers to one report.
func (tx *Tx) Confirmations(kind, period string) ([]Confirmation, error) {
	var out []Confirmation
	err := tx.db.Where("kind = ? AND period = ?", kind, period).Order("approver_id").Find(&out).Error
	return out, wrap("confirmations", err)
}

// Where a requested report goes.
const (
	DeliverRequester = "requester" // the person who asked (月报/年报)
	DeliverOps       = "ops"       // the ops group (the monthly job)
)

// ReportRequest is a report to build and deliver outside any message's
// transaction (building one takes seconds).
type ReportRequest struct {
	ID          int64 `gorm:"primaryKey"`
	Kind        string
	Period      string
	RequestedBy string
	RequestedAt time.Time
	Deliver     string
	DoneAt      *time.Time
	Error       string
}

// TableName is the report_requests table.
func (ReportRequest) TableName() string { return "report_requests" }

// RequestReport queues a report for the report job.
func (tx *Tx) RequestReport(kind, period, by, deliver string) error {
	r := ReportRequest{Kind: kind, Period: period, RequestedBy: by, RequestedAt: tx.now, Deliver: deliver}
	return wrap("request report", tx.db.Create(&r).Error)
}

// ReportRequested reports whether a report of kind and period was queued
// for deliver already (the monthly job runs once per month and replica).
func (tx *Tx) ReportRequested(kind, period, deliver string) (bool, error) {
	var n int64
	err := tx.db.Model(&ReportRequest{}).Where("kind = ? AND period = ? AND deliver = ?", kind, period, deliver).Count(&n).Error
	return n > 0, wrap("report requested", err)
}

// PendingReports returns queued reports, oldest first.
func (s *Store) PendingReports(ctx context.Context, limit int) ([]ReportRequest, error) {
	var out []ReportRequest
	err := s.db.WithContext(ctx).Where("done_at IS NULL").Order("id").Limit(limit).Find(&out).Error
	return out, wrap("pending reports", err)
}

// FinishReport marks a request done (with the error that stopped it, if
// any); done is false when another run finished it first, and then the
// caller must not deliver it again.
func (tx *Tx) FinishReport(id int64, failure string) (done bool, err error) {
	res := tx.db.Model(&ReportRequest{}).Where("id = ? AND done_at IS NULL", id).Updates(map[string]any{"done_at": tx.now, "error": failure})
	return res.RowsAffected == 1, wrap("finish report", res.Error)
}
