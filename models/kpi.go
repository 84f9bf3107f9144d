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
	// Breaches lists the period's first BreachListMax breached tickets in
	// number order; BreachedTotal counts them all.
	Breaches []Breach
}

// BreachListMax bounds Figures.Breaches: a year of a busy hospital may
// hold a hundred thousand breaches, and reading them all cost the annual
// report a second for a list nobody reads past its first pages (the
// reports' ticket sheet marks every ticket's missed deadlines).
const BreachListMax = 5000

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
	dims := `t.system_code, t.department, t.priority, t.kind, t.assignee_id`
	rows, err := tx.figureRows(p, alertAtOrBelow, dims+",", "GROUP BY "+dims)
	if err != nil {
		return nil, err
	}
	f := &Figures{Period: p, At: tx.now}
	var sum figureSums
	groups := []map[string]*Group{{}, {}, {}, {}, {}}
	for _, r := range rows {
		sum.add(f, &r)
		for i, key := range []string{r.SystemCode, r.Department, r.Priority, r.Kind, r.AssigneeID} {
			g := groups[i][key]
			if g == nil {
				g = &Group{Key: key}
				groups[i][key] = g
			}
			g.Created += r.Created
			g.Resolved += r.Resolved
			g.OnTime += r.OnTime
			g.Breached += r.Breached
			g.Rated += r.Rated
			g.ScoreSum += r.ScoreSum
		}
	}
	sum.rates(f, targets)
	from, to := p.From.UTC(), p.To.UTC()
	if err := tx.db.Raw(`SELECT COUNT(*) FROM tickets t WHERE t.created_at >= ? AND t.created_at < ? AND t.status = 'cancelled'`, from, to).Scan(&f.Cancelled).Error; err != nil {
		return nil, wrap("figures: cancelled", err)
	}
	for i, out := range []*[]Group{&f.BySystem, &f.ByDepartment, &f.ByPriority, &f.ByKind, &f.ByEngineer} {
		*out = sortedGroups(groups[i])
	}
	if f.Corrected, err = tx.CorrectedIn(from, to); err != nil {
		return nil, err
	}
	if f.Breaches, err = tx.breaches(tx.now, from, to, BreachListMax); err != nil {
		return nil, err
	}
	return f, nil
}

// Months is the head figures (counts, rates and satisfaction; no
// breakdowns, no breach list) of each calendar month of p in loc, for
// trends: one query grouped by month, not one query a month.
func (tx *Tx) Months(p Period, targets configs.Contract, alertAtOrBelow int, loc *time.Location) ([]*Figures, error) {
	month, key := tx.monthOf(p)
	rows, err := tx.figureRows(p, alertAtOrBelow, month+" AS month,", "GROUP BY 1")
	if err != nil {
		return nil, err
	}
	var out []*Figures
	index := map[int]int{}
	for m := p.From.In(loc); m.Before(p.To); m = m.AddDate(0, 1, 0) {
		index[m.Year()*100+int(m.Month())] = len(out)
		out = append(out, &Figures{Period: MonthPeriod(m.Year(), m.Month(), loc), At: tx.now})
	}
	sums := make([]figureSums, len(out))
	for _, r := range rows {
		if i, ok := index[key(r.Month)]; ok {
			sums[i].add(out[i], &r)
		}
	}
	var cancelled []struct{ Month, N int }
	if err := tx.db.Raw(`SELECT `+month+` AS month, COUNT(*) AS n FROM tickets t WHERE t.created_at >= ? AND t.created_at < ? AND t.status = 'cancelled' GROUP BY 1`,
		p.From.UTC(), p.To.UTC()).Scan(&cancelled).Error; err != nil {
		return nil, wrap("figures: cancelled", err)
	}
	for _, c := range cancelled {
		if i, ok := index[key(c.Month)]; ok {
			out[i].Cancelled = int64(c.N)
		}
	}
	for i := range out {
		sums[i].rates(out[i], targets)
	}
	return out, nil
}

// figureRow is one group of the period's tickets with the sums of
// docs/kpi.md's clauses; the grouping columns present depend on the query.
type figureRow struct {
	SystemCode, Department, Priority, Kind, AssigneeID                                    string
	Month                                                                                 int
	Created, Open, Resolved, OnTime, Claimed, ResponseOnTime, OnsiteStopped, OnsiteOnTime int64
	OpenBreached, Breached, Asked, Rated, Low, ScoreSum                                   int64
	ResponseSeconds                                                                       float64
}

// figureRows runs the figures' query over p's tickets (cancelled ones
// excluded) with the given grouping columns (each followed by a comma)
// and GROUP BY clause.
func (tx *Tx) figureRows(p Period, alertAtOrBelow int, groupCols, groupBy string) ([]figureRow, error) {
	now := tx.now
	from, to := p.From.UTC(), p.To.UTC()
	e := &kpiExpr
	epoch := `EXTRACT(EPOCH FROM (t.claimed_at - t.created_at))`
	if tx.s.driver == "sqlite" {
		epoch = `((julianday(t.claimed_at) - julianday(t.created_at)) * 86400.0)`
	}
	// The ratings joined are only those of the period's ticket numbers:
	// without the range the planner hashes every rating ever given (a
	// year's 300,000 for one month's figures).
	var span struct{ Lo, Hi *int64 }
	// MIN(id + 0), not MIN(id): Postgres answers MIN(id) by walking the
	// primary key from 1 until a ticket of the period turns up (130 ms for
	// a month at the end of a year of tickets); the sum makes it read the
	// period's tickets by their creation index instead (18 ms).
	if err := tx.db.Raw(`SELECT MIN(id + 0) AS lo, MAX(id + 0) AS hi FROM tickets WHERE created_at >= ? AND created_at < ?`, from, to).Scan(&span).Error; err != nil {
		return nil, wrap("figures", err)
	}
	var lo, hi int64
	if span.Lo != nil {
		lo, hi = *span.Lo, *span.Hi
	}
	q := `SELECT ` + groupCols + ` COUNT(*) AS created,
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
WHERE ` + inPeriod + ` ` + groupBy
	var rows []figureRow
	if err := tx.db.Raw(q, now, now, now, now, now, now, alertAtOrBelow, lo, hi, from, to).Scan(&rows).Error; err != nil {
		return nil, wrap("figures", err)
	}
	return rows, nil
}

// figureSums adds up figure rows into one Figures.
type figureSums struct {
	onTime, claimed, responseOnTime, onsiteStopped, onsiteOnTime, asked, rated, low, scoreSum int64
	responseSeconds                                                                           float64
}

func (s *figureSums) add(f *Figures, r *figureRow) {
	f.Created += r.Created
	f.Open += r.Open
	f.Resolved += r.Resolved
	f.OpenBreached += r.OpenBreached
	f.BreachedTotal += r.Breached
	s.onTime += r.OnTime
	s.claimed += r.Claimed
	s.responseOnTime += r.ResponseOnTime
	s.onsiteStopped += r.OnsiteStopped
	s.onsiteOnTime += r.OnsiteOnTime
	s.asked += r.Asked
	s.rated += r.Rated
	s.low += r.Low
	s.scoreSum += r.ScoreSum
	s.responseSeconds += r.ResponseSeconds
}

// rates sets f's rates, satisfaction and mean response from the sums.
func (s *figureSums) rates(f *Figures, targets configs.Contract) {
	f.ResolutionRate = Rate{N: f.Resolved, Of: f.Created, Target: targets.ResolutionRate}
	f.OnTimeRate = Rate{N: s.onTime, Of: f.Resolved, Target: targets.OnTimeRate}
	f.ResponseOnTimeRate = Rate{N: s.responseOnTime, Of: s.claimed, Target: targets.ResponseOnTimeRate}
	f.OnsiteOnTimeRate = Rate{N: s.onsiteOnTime, Of: s.onsiteStopped, Target: targets.OnsiteOnTimeRate}
	if s.claimed > 0 {
		f.AvgResponse = time.Duration(s.responseSeconds / float64(s.claimed) * float64(time.Second)).Round(time.Second)
	}
	f.Satisfaction = Satisfaction{Rated: s.rated, Asked: s.asked, Low: s.low, Target: targets.Satisfaction}
	if s.rated > 0 {
		f.Satisfaction.Mean = float64(s.scoreSum) / float64(s.rated)
	}
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
