package models

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
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
// scan of whole tickets cost 8 of its 20 CPU seconds. SQLite pages are
// plain queries (a transaction there would take the write lock).
func (s *Store) EachReportRow(ctx context.Context, p Period, now time.Time, fn func(*ReportRow) error) error {
	e := &kpiExpr
	q := `SELECT t.id, t.kind, t.system_code, t.priority, t.status, t.title, t.department, t.reporter_id, t.reporter_name, t.assignee_id, t.major,
  t.created_at, t.claimed_at, t.onsite_at, t.resolved_at, t.closed_at, t.due_response, t.due_onsite, t.due_resolution, t.breach_reason,
  COALESCE(` + e.responseBreached + `, false), COALESCE(` + e.onsiteBreached + `, false), COALESCE(` + e.resolutionBreached + `, false),
  COALESCE(r.score, 0), COALESCE(r.comment, '')
FROM tickets t LEFT JOIN ratings r ON r.ticket_id = t.id AND r.ticket_id > ?
WHERE t.created_at >= ? AND t.created_at < ? AND t.id > ? ORDER BY t.id LIMIT ?`
	var after int64
	var row ReportRow
	var claimed, onsite, resolved, closed, dueOnsite sql.NullTime
	at := func(n sql.NullTime) *time.Time {
		if !n.Valid {
			return nil
		}
		t := n.Time
		return &t
	}
	page := func(db *gorm.DB) (n int, err error) {
		rows, err := db.Raw(q, now.UTC(), now.UTC(), now.UTC(), after, p.From.UTC(), p.To.UTC(), after, reportRowPage).Rows()
		if err != nil {
			return 0, err
		}
		defer rows.Close()
		for rows.Next() {
			err := rows.Scan(&row.ID, &row.Kind, &row.System, &row.Priority, &row.Status, &row.Title, &row.Department, &row.ReporterID, &row.ReporterName, &row.AssigneeID, &row.Major,
				&row.CreatedAt, &claimed, &onsite, &resolved, &closed, &row.DueResponse, &dueOnsite, &row.DueResolution, &row.BreachReason,
				&row.ResponseB, &row.OnsiteB, &row.ResolutionB, &row.Score, &row.RatingComment)
			if err != nil {
				return n, err
			}
			row.ClaimedAt, row.OnsiteAt, row.ResolvedAt, row.ClosedAt, row.DueOnsite = at(claimed), at(onsite), at(resolved), at(closed), at(dueOnsite)
			if err := fn(&row); err != nil {
				return n, errStop{err}
			}
			after = row.ID
			n++
		}
		return n, rows.Err()
	}
	if s.driver == "postgres" {
		return s.eachReportRowPG(ctx, q, func() []any {
			return []any{now.UTC(), now.UTC(), now.UTC(), after, p.From.UTC(), p.To.UTC(), after, reportRowPage}
		}, func(r *ReportRow) error {
			after = r.ID
			return fn(r)
		})
	}
	for {
		n, err := page(s.db.WithContext(ctx))
		if stop, ok := err.(errStop); ok {
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

// eachReportRowPG is EachReportRow's loop on Postgres, on the pgx
// connection itself: database/sql turns every value into an interface
// and converts it again on Scan, which was half of the reading
// goroutine's time for a year of tickets. Each page is sent as an unnamed
// statement and so planned for its own bounds: a statement prepared once
// and run fifty times gets a generic plan after the fifth, one that
// cannot know where a page starts and hashes every rating per page (21 s
// of database CPU for a year instead of 1).
func (s *Store) eachReportRowPG(ctx context.Context, q string, args func() []any, fn func(*ReportRow) error) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return wrap("report rows", err)
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return wrap("report rows", err)
	}
	defer conn.Close()
	q = numberParams(q)
	var row ReportRow
	var kind, priority, status string
	var stopped error
	err = conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		for {
			rows, err := pc.Query(ctx, q, append([]any{pgx.QueryExecModeDescribeExec}, args()...)...)
			if err != nil {
				return err
			}
			n := 0
			for rows.Next() {
				err := rows.Scan(&row.ID, &kind, &row.System, &priority, &status, &row.Title, &row.Department, &row.ReporterID, &row.ReporterName, &row.AssigneeID, &row.Major,
					&row.CreatedAt, &row.ClaimedAt, &row.OnsiteAt, &row.ResolvedAt, &row.ClosedAt, &row.DueResponse, &row.DueOnsite, &row.DueResolution, &row.BreachReason,
					&row.ResponseB, &row.OnsiteB, &row.ResolutionB, &row.Score, &row.RatingComment)
				if err != nil {
					rows.Close()
					return err
				}
				row.Kind, row.Priority, row.Status = Kind(kind), Priority(priority), Status(status)
				if err := fn(&row); err != nil {
					rows.Close()
					stopped = err
					return nil
				}
				n++
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if n < reportRowPage {
				return nil
			}
		}
	})
	if stopped != nil {
		return stopped
	}
	return wrap("report rows", err)
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
