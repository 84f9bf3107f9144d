package models

import (
	"fmt"
	"sort"
	"time"

	"opsbot/configs"
)

// Period is a half-open span [From, To) of ticket creation times: a
// period's tickets are those created in it, cancelled ones excluded
// (docs/kpi.md).
type Period struct {
	From, To time.Time
	// Label names it for people: "2026年11月", "2026年", "本周".
	Label string
}

// MonthPeriod is one calendar month in loc.
func MonthPeriod(year int, month time.Month, loc *time.Location) Period {
	from := time.Date(year, month, 1, 0, 0, 0, 0, loc)
	return Period{From: from, To: from.AddDate(0, 1, 0), Label: fmt.Sprintf("%d年%d月", year, month)}
}

// YearPeriod is one calendar year in loc.
func YearPeriod(year int, loc *time.Location) Period {
	from := time.Date(year, 1, 1, 0, 0, 0, 0, loc)
	return Period{From: from, To: from.AddDate(1, 0, 0), Label: fmt.Sprintf("%d年", year)}
}

// Rate is N of Of against a target fraction (0 when the figure has none).
type Rate struct {
	N, Of  int64
	Target float64
}

// Value is N/Of; ok is false when there is nothing to divide.
func (r Rate) Value() (v float64, ok bool) {
	if r.Of == 0 {
		return 0, false
	}
	return float64(r.N) / float64(r.Of), true
}

// Met reports whether the rate reaches its target; an empty rate (nothing
// counted) is not a failure.
func (r Rate) Met() bool {
	v, ok := r.Value()
	return !ok || v+1e-9 >= r.Target
}

// Satisfaction is the mean rating of the rated tickets (unanswered ones
// are not rated, never assumed satisfied).
type Satisfaction struct {
	// Mean is in points (20-100); valid only when Rated > 0.
	Mean float64
	// Rated of Asked answered; Low are rated at or below the alert score.
	Rated, Asked, Low int64
	Target            float64
}

// Met reports whether the mean reaches the target (nothing rated: not a failure).
func (s Satisfaction) Met() bool { return s.Rated == 0 || s.Mean+1e-9 >= s.Target }

// ResponseRate is rated ÷ asked.
func (s Satisfaction) ResponseRate() Rate { return Rate{N: s.Rated, Of: s.Asked} }

// Group is one row of a breakdown (by system, engineer, …).
type Group struct {
	Key      string
	Created  int64
	Resolved int64
	OnTime   int64
	Breached int64
	Rated    int64
	// ScoreSum is the sum of the ratings; Mean() divides it.
	ScoreSum int64
}

// Mean is the group's satisfaction, 0 when nothing is rated.
func (g Group) Mean() float64 {
	if g.Rated == 0 {
		return 0
	}
	return float64(g.ScoreSum) / float64(g.Rated)
}

// Breach is a ticket of the period that missed a deadline.
type Breach struct {
	TicketID  int64
	System    string
	Priority  Priority
	Title     string
	Assignee  string
	Status    Status
	CreatedAt time.Time
	// Clocks lists which deadlines were missed: response, onsite, resolution.
	Clocks []Clock
	// Reason is the recorded 超时原因, "" when none was given.
	Reason string
}

// Figures are the contract's figures for a period (docs/kpi.md), each
// computed by the database with GROUP BY, never by loading the tickets.
type Figures struct {
	Period Period
	// At is the instant open tickets were judged at.
	At time.Time
	// Created counts the period's tickets (cancelled excluded); Cancelled
	// those withdrawn; Open those still being worked.
	Created, Cancelled, Open, Resolved int64
	// OpenBreached are open tickets past a deadline at At.
	OpenBreached int64
	// BreachedTotal counts the period's tickets that missed any deadline.
	BreachedTotal int64

	ResolutionRate     Rate
	OnTimeRate         Rate
	ResponseOnTimeRate Rate
	OnsiteOnTimeRate   Rate
	Satisfaction       Satisfaction
	// AvgResponse is the mean time from report to claim.
	AvgResponse time.Duration
	// Corrected counts the period's tickets whose system an engineer
	// corrected (改系统): how often recognition missed.
	Corrected int64

	BySystem, ByDepartment, ByPriority, ByKind, ByEngineer []Group
	Breaches                                               []Breach
}

// kpiExpr holds the SQL of each clause of docs/kpi.md; "?" is the instant
// open tickets are judged at. Judge (judge.go) is the same rule in Go.
var kpiExpr = kpiClauses{
	resolved:       `t.status IN ('resolved','closed')`,
	onTime:         `(t.status IN ('resolved','closed') AND COALESCE(t.paused_at, t.resolved_at) <= t.due_resolution)`,
	claimed:        `t.claimed_at IS NOT NULL`,
	responseOnTime: `(t.claimed_at IS NOT NULL AND t.claimed_at <= t.due_response)`,
	onsiteStopped:  `(t.due_onsite IS NOT NULL AND COALESCE(t.onsite_at, t.resolved_at) IS NOT NULL)`,
	onsiteOnTime:   `(t.due_onsite IS NOT NULL AND COALESCE(t.onsite_at, t.resolved_at) <= t.due_onsite)`,
	responseBreached: `((t.claimed_at IS NOT NULL AND t.claimed_at > t.due_response) OR
  (t.claimed_at IS NULL AND t.status = 'new' AND ? > t.due_response))`,
	onsiteBreached: `(t.due_onsite IS NOT NULL AND (COALESCE(t.onsite_at, t.resolved_at) > t.due_onsite OR
  (COALESCE(t.onsite_at, t.resolved_at) IS NULL AND t.status IN ('new','claimed') AND ? > t.due_onsite)))`,
	resolutionBreached: `(CASE WHEN t.status IN ('paused','resolved','closed') THEN COALESCE(t.paused_at, t.resolved_at) > t.due_resolution
  ELSE ? > t.due_resolution END)`,
}

type kpiClauses struct {
	resolved, onTime, claimed, responseOnTime, onsiteStopped, onsiteOnTime string
	responseBreached, onsiteBreached, resolutionBreached                   string
}

// anyBreach is true for a ticket that missed any deadline (three "?").
func (e *kpiClauses) anyBreach() string {
	return "(" + e.responseBreached + " OR " + e.onsiteBreached + " OR " + e.resolutionBreached + ")"
}

func sumIf(cond string) string { return "COALESCE(SUM(CASE WHEN " + cond + " THEN 1 ELSE 0 END), 0)" }

// inPeriod selects a period's tickets, cancelled ones excluded.
const inPeriod = `t.created_at >= ? AND t.created_at < ? AND t.status <> 'cancelled'`

// Figures computes the period's figures against the targets, judging open
// tickets at the transaction's instant; alertAtOrBelow marks low ratings.
//
// One query reads the period's tickets once, joined to their ratings, and
// groups them by system, department, priority, kind and engineer
// together; every figure is a sum, so the head figures and the five
// breakdowns are added up from those rows here. (Five GROUP BY queries
// meant five scans and five hash joins of the whole ratings table: a year
// of 500,000 tickets took 9.4-22.7 s on the loaded development machine,
// against 4.5-7.0 s now; docs/kpi.md.)
func (tx *Tx) Figures(p Period, targets configs.Contract, alertAtOrBelow int) (*Figures, error) {
	return tx.figures(p, targets, alertAtOrBelow, true)
}

// Headline is Figures without the breakdowns and the breach list: the
// counts and rates of a period, for trends (each month of a year).
func (tx *Tx) Headline(p Period, targets configs.Contract, alertAtOrBelow int) (*Figures, error) {
	return tx.figures(p, targets, alertAtOrBelow, false)
}

func (tx *Tx) figures(p Period, targets configs.Contract, alertAtOrBelow int, full bool) (*Figures, error) {
	now := tx.now
	from, to := p.From.UTC(), p.To.UTC()
	f := &Figures{Period: p, At: now}
	e := &kpiExpr
	epoch := `EXTRACT(EPOCH FROM (t.claimed_at - t.created_at))`
	if tx.s.driver == "sqlite" {
		epoch = `((julianday(t.claimed_at) - julianday(t.created_at)) * 86400.0)`
	}
	var rows []struct {
		SystemCode, Department, Priority, Kind, AssigneeID                                    string
		Created, Open, Resolved, OnTime, Claimed, ResponseOnTime, OnsiteStopped, OnsiteOnTime int64
		OpenBreached, Breached, Asked, Rated, Low, ScoreSum                                   int64
		ResponseSeconds                                                                       float64
	}
	dimCols, groupBy := `t.system_code, t.department, t.priority, t.kind, t.assignee_id,`, `
GROUP BY t.system_code, t.department, t.priority, t.kind, t.assignee_id`
	if !full {
		dimCols, groupBy = "", ""
	}
	// The ratings joined are only those of the period's ticket numbers:
	// without the range the planner hashes every rating ever given (a
	// year's 300,000 for one month's figures).
	var span struct{ Lo, Hi *int64 }
	if err := tx.db.Raw(`SELECT MIN(id) AS lo, MAX(id) AS hi FROM tickets WHERE created_at >= ? AND created_at < ?`, from, to).Scan(&span).Error; err != nil {
		return nil, wrap("figures", err)
	}
	var lo, hi int64
	if span.Lo != nil {
		lo, hi = *span.Lo, *span.Hi
	}
	q := `SELECT ` + dimCols + ` COUNT(*) AS created,
  ` + sumIf(`t.status IN ('new','claimed','onsite','paused')`) + ` AS open,
  ` + sumIf(e.resolved) + ` AS resolved,
  ` + sumIf(e.onTime) + ` AS on_time,
  ` + sumIf(e.claimed) + ` AS claimed,
  ` + sumIf(e.responseOnTime) + ` AS response_on_time,
  ` + sumIf(e.onsiteStopped) + ` AS onsite_stopped,
  ` + sumIf(e.onsiteOnTime) + ` AS onsite_on_time,
  ` + sumIf(`t.status IN ('new','claimed','onsite','paused') AND `+e.anyBreach()) + ` AS open_breached,
  ` + sumIf(e.anyBreach()) + ` AS breached,
  COUNT(r.ticket_id) AS asked, COUNT(r.score) AS rated, ` + sumIf(`r.score <= ?`) + ` AS low, COALESCE(SUM(r.score), 0) AS score_sum,
  COALESCE(SUM(CASE WHEN t.claimed_at IS NOT NULL THEN ` + epoch + ` END), 0) AS response_seconds
FROM tickets t LEFT JOIN ratings r ON r.ticket_id = t.id AND r.ticket_id >= ? AND r.ticket_id <= ?
WHERE ` + inPeriod + groupBy
	if err := tx.db.Raw(q, now, now, now, now, now, now, alertAtOrBelow, lo, hi, from, to).Scan(&rows).Error; err != nil {
		return nil, wrap("figures", err)
	}
	if err := tx.db.Raw(`SELECT COUNT(*) FROM tickets t WHERE t.created_at >= ? AND t.created_at < ? AND t.status = 'cancelled'`, from, to).Scan(&f.Cancelled).Error; err != nil {
		return nil, wrap("figures: cancelled", err)
	}
	var head struct{ OnTime, Claimed, ResponseOnTime, OnsiteStopped, OnsiteOnTime, Asked, Rated, Low, ScoreSum int64 }
	var responseSeconds float64
	dims := []map[string]*Group{{}, {}, {}, {}, {}}
	for _, r := range rows {
		f.Created += r.Created
		f.Open += r.Open
		f.Resolved += r.Resolved
		f.OpenBreached += r.OpenBreached
		f.BreachedTotal += r.Breached
		head.OnTime += r.OnTime
		head.Claimed += r.Claimed
		head.ResponseOnTime += r.ResponseOnTime
		head.OnsiteStopped += r.OnsiteStopped
		head.OnsiteOnTime += r.OnsiteOnTime
		head.Asked += r.Asked
		head.Rated += r.Rated
		head.Low += r.Low
		head.ScoreSum += r.ScoreSum
		responseSeconds += r.ResponseSeconds
		for i, key := range []string{r.SystemCode, r.Department, r.Priority, r.Kind, r.AssigneeID} {
			g := dims[i][key]
			if g == nil {
				g = &Group{Key: key}
				dims[i][key] = g
			}
			g.Created += r.Created
			g.Resolved += r.Resolved
			g.OnTime += r.OnTime
			g.Breached += r.Breached
			g.Rated += r.Rated
			g.ScoreSum += r.ScoreSum
		}
	}
	f.ResolutionRate = Rate{N: f.Resolved, Of: f.Created, Target: targets.ResolutionRate}
	f.OnTimeRate = Rate{N: head.OnTime, Of: f.Resolved, Target: targets.OnTimeRate}
	f.ResponseOnTimeRate = Rate{N: head.ResponseOnTime, Of: head.Claimed, Target: targets.ResponseOnTimeRate}
	f.OnsiteOnTimeRate = Rate{N: head.OnsiteOnTime, Of: head.OnsiteStopped, Target: targets.OnsiteOnTimeRate}
	if head.Claimed > 0 {
		f.AvgResponse = time.Duration(responseSeconds / float64(head.Claimed) * float64(time.Second)).Round(time.Second)
	}
	f.Satisfaction = Satisfaction{Rated: head.Rated, Asked: head.Asked, Low: head.Low, Target: targets.Satisfaction}
	if head.Rated > 0 {
		f.Satisfaction.Mean = float64(head.ScoreSum) / float64(head.Rated)
	}
	if !full {
		return f, nil
	}
	for i, out := range []*[]Group{&f.BySystem, &f.ByDepartment, &f.ByPriority, &f.ByKind, &f.ByEngineer} {
		*out = sortedGroups(dims[i])
	}
	var err error
	if f.Corrected, err = tx.CorrectedIn(from, to); err != nil {
		return nil, err
	}
	if f.Breaches, err = tx.breaches(now, from, to, 0); err != nil {
		return nil, err
	}
	return f, nil
}

// sortedGroups lists a breakdown biggest first, then by key.
func sortedGroups(m map[string]*Group) []Group {
	out := make([]Group, 0, len(m))
	for _, g := range m {
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Created != out[j].Created {
			return out[i].Created > out[j].Created
		}
		return out[i].Key < out[j].Key
	})
	return out
}

// breaches lists the period's tickets that missed a deadline, oldest
// first; limit 0 means all of them.
func (tx *Tx) breaches(now, from, to time.Time, limit int) ([]Breach, error) {
	e := &kpiExpr
	var rows []struct {
		ID                              int64
		SystemCode, Title, AssigneeID   string
		Priority                        Priority
		Status                          Status
		CreatedAt                       time.Time
		BreachReason                    string
		ResponseB, OnsiteB, ResolutionB bool
	}
	q := `SELECT t.id, t.system_code, t.title, t.assignee_id, t.priority, t.status, t.created_at, t.breach_reason,
  ` + e.responseBreached + ` AS response_b, ` + e.onsiteBreached + ` AS onsite_b, ` + e.resolutionBreached + ` AS resolution_b
FROM tickets t WHERE ` + inPeriod + ` AND ` + e.anyBreach() + ` ORDER BY t.id`
	args := []any{now, now, now, from, to, now, now, now}
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	if err := tx.db.Raw(q, args...).Scan(&rows).Error; err != nil {
		return nil, wrap("figures: breaches", err)
	}
	out := make([]Breach, len(rows))
	for i, r := range rows {
		b := Breach{TicketID: r.ID, System: r.SystemCode, Priority: r.Priority, Title: r.Title, Assignee: r.AssigneeID, Status: r.Status, CreatedAt: r.CreatedAt, Reason: r.BreachReason}
		if r.ResponseB {
			b.Clocks = append(b.Clocks, ClockResponse)
		}
		if r.OnsiteB {
			b.Clocks = append(b.Clocks, ClockOnsite)
		}
		if r.ResolutionB {
			b.Clocks = append(b.Clocks, ClockResolution)
		}
		out[i] = b
	}
	return out, nil
}

// OpenCounts counts open tickets and those of them breached at the
// transaction's instant, with the same rule as Figures (队列's headline).
func (tx *Tx) OpenCounts() (open, breached int64, err error) {
	var r struct{ Open, Breached int64 }
	q := `SELECT COUNT(*) AS open, ` + sumIf(kpiExpr.anyBreach()) + ` AS breached FROM tickets t WHERE t.status IN ('new','claimed','onsite','paused')`
	err = tx.db.Raw(q, tx.now, tx.now, tx.now).Scan(&r).Error
	return r.Open, r.Breached, wrap("open counts", err)
}
