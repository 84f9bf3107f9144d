package models

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"opsbot/configs"

	"gorm.io/gorm"
)

// HashToken is how a console token is stored: a leaked table row cannot
// be replayed as a cookie or a login link.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// ConsoleSession is one signed-in browser of the web console.
type ConsoleSession struct {
	TokenHash string `gorm:"primaryKey"`
	UserID    string
	// CSRF is the per-session token every POST must carry.
	CSRF string `gorm:"column:csrf"`
	// Via says how the person signed in: link, oauth or qr.
	Via       string
	Addr      string
	CreatedAt time.Time
	SeenAt    time.Time
}

// TableName names the session table.
func (ConsoleSession) TableName() string { return "console_sessions" }

// sessionTouch is how stale SeenAt may get before a request rewrites it:
// one write a minute per session instead of one per request.
const sessionTouch = time.Minute

// CreateConsoleSession stores a new session for the token.
func (tx *Tx) CreateConsoleSession(token, csrf, userID, via, addr string) (*ConsoleSession, error) {
	s := &ConsoleSession{TokenHash: HashToken(token), UserID: userID, CSRF: csrf, Via: via, Addr: shorten(addr, 64), CreatedAt: tx.now, SeenAt: tx.now}
	return s, wrap("create console session", tx.db.Create(s).Error)
}

// ConsoleSession returns the session of token, or nil when there is none
// or it has been idle longer than idle (it is then deleted).
func (tx *Tx) ConsoleSession(token string, idle time.Duration) (*ConsoleSession, error) {
	var s ConsoleSession
	err := tx.db.Take(&s, "token_hash = ?", HashToken(token)).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("console session", err)
	}
	if tx.now.Sub(s.SeenAt) > idle {
		return nil, wrap("expire console session", tx.db.Delete(&ConsoleSession{}, "token_hash = ?", s.TokenHash).Error)
	}
	if tx.now.Sub(s.SeenAt) > sessionTouch {
		s.SeenAt = tx.now
		if err := tx.db.Model(&ConsoleSession{}).Where("token_hash = ?", s.TokenHash).Update("seen_at", tx.now).Error; err != nil {
			return nil, wrap("touch console session", err)
		}
	}
	return &s, nil
}

// DeleteConsoleSession signs a browser out.
func (tx *Tx) DeleteConsoleSession(token string) error {
	return wrap("delete console session", tx.db.Delete(&ConsoleSession{}, "token_hash = ?", HashToken(token)).Error)
}

// PruneConsoleSessions deletes sessions idle longer than idle and used or
// expired login links; it returns how many sessions went.
func (tx *Tx) PruneConsoleSessions(idle time.Duration) (int64, error) {
	res := tx.db.Where("seen_at < ?", tx.now.Add(-idle)).Delete(&ConsoleSession{})
	if res.Error != nil {
		return 0, wrap("prune console sessions", res.Error)
	}
	err := tx.db.Exec(`DELETE FROM console_login_links WHERE expires_at < ?`, tx.now).Error
	return res.RowsAffected, wrap("prune login links", err)
}

// CreateLoginLink stores a one-time login token for userID valid for ttl.
func (tx *Tx) CreateLoginLink(token, userID string, ttl time.Duration) (expires time.Time, err error) {
	expires = tx.now.Add(ttl)
	err = tx.db.Exec(`INSERT INTO console_login_links (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		HashToken(token), userID, tx.now, expires).Error
	return expires, wrap("create login link", err)
}

// UseLoginLink spends a login token and returns whose it was. A used,
// expired or unknown token is refused with the same message: which of the
// three is nobody's business.
func (tx *Tx) UseLoginLink(token string) (string, error) {
	h := HashToken(token)
	res := tx.db.Exec(`UPDATE console_login_links SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?`, tx.now, h, tx.now)
	if res.Error != nil {
		return "", wrap("use login link", res.Error)
	}
	if res.RowsAffected == 0 {
		return "", Errorf(EForbidden, "登录链接无效或已过期，请重新获取")
	}
	var user string
	err := tx.db.Raw(`SELECT user_id FROM console_login_links WHERE token_hash = ?`, h).Scan(&user).Error
	return user, wrap("use login link", err)
}

// AuditEntry is one console action: who did what, when, from where.
type AuditEntry struct {
	ID       int64 `gorm:"primaryKey"`
	At       time.Time
	UserID   string
	Action   string
	TicketID *int64
	Detail   string
	Addr     string
}

// TableName names the audit table.
func (AuditEntry) TableName() string { return "console_audit" }

// Audit records a console action at the transaction's instant, in the
// transaction of the change it describes.
func (tx *Tx) Audit(userID, action string, ticketID int64, detail, addr string) error {
	e := AuditEntry{At: tx.now, UserID: userID, Action: action, Detail: detail, Addr: shorten(addr, 64)}
	if ticketID != 0 {
		e.TicketID = &ticketID
	}
	return wrap("audit", tx.db.Create(&e).Error)
}

// AuditLog returns the newest audit entries.
func (tx *Tx) AuditLog(limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	return out, wrap("audit log", tx.db.Order("id DESC").Limit(limit).Find(&out).Error)
}

// Window is an on-call override or a maintenance window kept in the
// database (edited in the console).
type Window struct {
	ID int64 `gorm:"primaryKey"`
	// System is the system code of a maintenance window ("" for on call).
	System string    `gorm:"column:system_code"`
	From   time.Time `gorm:"column:from_at"`
	To     time.Time `gorm:"column:to_at"`
	// Users are who is on call (on-call overrides only).
	Users     []string `gorm:"-"`
	UsersText string   `gorm:"column:users"`
	Note      string
	CreatedBy string
	CreatedAt time.Time
	DeletedAt *time.Time
}

// windowTable is where each kind of window lives.
func windowTable(maintenance bool) string {
	if maintenance {
		return Maintenance{}.TableName()
	}
	return "oncall_overrides"
}

// AddWindow stores an on-call override (maintenance=false) or a
// maintenance window after checking it makes sense.
func (tx *Tx) AddWindow(maintenance bool, w Window) (*Window, error) {
	switch {
	case !w.To.After(w.From):
		return nil, Errorf(EInvalid, "结束时间必须晚于开始时间")
	case w.To.Before(tx.now):
		return nil, Errorf(EInvalid, "结束时间已经过去")
	case w.To.Sub(w.From) > 92*24*time.Hour:
		return nil, Errorf(EInvalid, "时段不能超过 92 天")
	case maintenance && w.System == "":
		return nil, Errorf(EInvalid, "请选择系统")
	case !maintenance && len(w.Users) == 0:
		return nil, Errorf(EInvalid, "请填写值班人员")
	}
	w.From, w.To, w.CreatedAt, w.DeletedAt = w.From.UTC(), w.To.UTC(), tx.now, nil
	w.Note = shorten(w.Note, 200)
	if maintenance {
		// The same windows as 维护 in chat: one table, one mute.
		m := Maintenance{System: shorten(w.System, 32), StartsAt: w.From, EndsAt: w.To, Reason: w.Note, CreatedBy: w.CreatedBy}
		if err := tx.db.Create(&m).Error; err != nil {
			return nil, wrap("add window", err)
		}
		w.ID = m.ID
		return &w, nil
	}
	w.UsersText = strings.Join(w.Users, ",")
	return &w, wrap("add window", tx.db.Table(windowTable(false)).Omit("system_code").Create(&w).Error)
}

// DeleteWindow ends a window early; the row stays for the record.
func (tx *Tx) DeleteWindow(maintenance bool, id int64) error {
	res := tx.db.Table(windowTable(false)).Where("id = ? AND deleted_at IS NULL", id).Update("deleted_at", tx.now)
	if maintenance {
		res = tx.db.Model(&Maintenance{}).Where("id = ? AND cancelled_at IS NULL", id).Update("cancelled_at", tx.now)
	}
	if res.Error != nil {
		return wrap("delete window", res.Error)
	}
	if res.RowsAffected == 0 {
		return Errorf(ENotFound, "未找到该时段")
	}
	return nil
}

// Windows lists the windows not deleted that have not ended at the
// transaction's instant, earliest first.
func (tx *Tx) Windows(maintenance bool) ([]Window, error) {
	var out []Window
	if maintenance {
		var ms []Maintenance
		if err := tx.db.Where("cancelled_at IS NULL AND ends_at > ?", tx.now).Order("starts_at").Order("id").Find(&ms).Error; err != nil {
			return nil, wrap("windows", err)
		}
		for _, m := range ms {
			out = append(out, Window{ID: m.ID, System: m.System, From: m.StartsAt, To: m.EndsAt, Note: m.Reason, CreatedBy: m.CreatedBy})
		}
		return out, nil
	}
	q := tx.db.Table(windowTable(false)).Where("deleted_at IS NULL AND to_at > ?", tx.now).Order("from_at").Order("id").Omit("system_code")
	if err := q.Find(&out).Error; err != nil {
		return nil, wrap("windows", err)
	}
	for i := range out {
		if out[i].UsersText != "" {
			out[i].Users = strings.Split(out[i].UsersText, ",")
		}
	}
	return out, nil
}

// InMaintenance reports whether system has a maintenance window open at
// the transaction's instant (for the monitors' mute).
func (tx *Tx) InMaintenance(system string) (bool, error) {
	ms, err := tx.ActiveMaintenance([]string{system})
	return len(ms) > 0, err
}

// QueueQuery selects a page of the console's queue.
type QueueQuery struct {
	Statuses []Status
	System   string
	Priority Priority
	// Assignee filters by engineer; "-" means nobody.
	Assignee string
	// Reporter limits to one reporter's tickets (a reporter's own view).
	Reporter string
	// MineOrFree limits to the engineer's own tickets and those nobody
	// has taken (an engineer's view).
	MineOrFree string
	Offset     int
	Limit      int
}

// QueueCountCap is where QueuePage stops counting.
const QueueCountCap = 10000

// QueuePage returns one page of tickets by resolution deadline, nearest
// first, and how many match in all (at most QueueCountCap).
func (tx *Tx) QueuePage(q QueueQuery) ([]Ticket, int64, error) {
	db := tx.db.Model(&Ticket{})
	if len(q.Statuses) > 0 {
		db = db.Where("status IN ?", q.Statuses)
	}
	if q.System != "" {
		db = db.Where("system_code = ?", q.System)
	}
	if q.Priority != "" {
		db = db.Where("priority = ?", q.Priority)
	}
	switch q.Assignee {
	case "":
	case "-":
		db = db.Where("assignee_id = ''")
	default:
		db = db.Where("assignee_id = ?", q.Assignee)
	}
	if q.Reporter != "" {
		db = db.Where("reporter_id = ?", q.Reporter)
	}
	if q.MineOrFree != "" {
		db = db.Where("(assignee_id = ? OR assignee_id = '')", q.MineOrFree)
	}
	// Counting stops at QueueCountCap: an exact count of 100,000 open
	// tickets costs more than the page itself, and nobody pages that far.
	var total int64
	sub := db.Session(&gorm.Session{}).Select("1").Limit(QueueCountCap)
	if err := tx.db.Raw(`SELECT COUNT(*) FROM (?) AS x`, sub).Scan(&total).Error; err != nil {
		return nil, 0, wrap("queue count", err)
	}
	if q.Limit <= 0 {
		q.Limit = 50
	}
	var out []Ticket
	err := db.Order("due_resolution").Order("id").Offset(q.Offset).Limit(q.Limit).Find(&out).Error
	return out, total, wrap("queue", err)
}

// TrendPoint is one month of a year's trend.
type TrendPoint struct {
	Period                              Period
	Created, Resolved, OnTime, Breached int64
}

// OpenMajor lists open major incidents, newest first.
func (tx *Tx) OpenMajor(limit int) ([]Ticket, error) {
	var out []Ticket
	err := tx.db.Where("major = ? AND status IN ?", true, OpenStatuses).Order("id DESC").Limit(limit).Find(&out).Error
	return out, wrap("open major", err)
}

// monthOf is the SQL of each ticket's month of p, and the function that
// turns its value into year*100+month. On Postgres it is the bucket among
// the period's month starts (width_bucket is five times cheaper per row
// than AT TIME ZONE), on SQLite the local year and month.
func (tx *Tx) monthOf(p Period) (expr string, key func(int) int) {
	if tx.s.driver == "sqlite" {
		_, off := p.From.Zone()
		return fmt.Sprintf(`CAST(strftime('%%Y%%m', t.created_at, '%+d seconds') AS INTEGER)`, off), func(v int) int { return v }
	}
	var starts []string
	for m := p.From; m.Before(p.To); m = m.AddDate(0, 1, 0) {
		starts = append(starts, `"`+m.Format(time.RFC3339)+`"`)
	}
	return `width_bucket(t.created_at, CAST('{` + strings.Join(starts, ",") + `}' AS timestamptz[]))`, func(v int) int {
		m := p.From.AddDate(0, v-1, 0)
		return m.Year()*100 + int(m.Month())
	}
}

// DashboardFigures are the figures of the console's dashboard: the
// period's Figures (without the breach list and the department, priority
// and kind breakdowns, which the reports show) and the month-by-month
// trend, all from the clauses of docs/kpi.md.
type DashboardFigures struct {
	*Figures
	Trend []TrendPoint
}

// Dashboard computes the dashboard in one pass over the period's tickets:
// the database counts each (system, engineer, month) group with the
// clauses Figures uses, and the headline, the breakdowns and the trend are
// sums of those groups. A year of 200,000 tickets is one hash aggregate
// instead of Figures' seven scans and its breach list.
// With focus set (a month of p), the figures and breakdowns are the
// focus month's while the trend still covers p: one scan serves a month's
// dashboard and its year's trend.
func (tx *Tx) Dashboard(p Period, focus *Period, targets configs.Contract, alertAtOrBelow int, loc *time.Location) (*DashboardFigures, error) {
	now := tx.now
	from, to := p.From.UTC(), p.To.UTC()
	e := &kpiExpr
	epoch := `EXTRACT(EPOCH FROM (t.claimed_at - t.created_at))`
	month, monthKey := tx.monthOf(p)
	if tx.s.driver == "sqlite" {
		epoch = `((julianday(t.claimed_at) - julianday(t.created_at)) * 86400.0)`
	} else if err := tx.db.Exec(`SET LOCAL jit = off; SET LOCAL work_mem = '32MB'; SET LOCAL enable_sort = off;
SET LOCAL parallel_setup_cost = 10; SET LOCAL parallel_tuple_cost = 0.001; SET LOCAL plan_cache_mode = force_custom_plan`).Error; err != nil {
		// Compiling this query costs more than running it. And Postgres
		// cannot know there are only a few hundred (system, engineer,
		// month) groups: it estimates one per row, so it sorts every row
		// by two text columns (collation-aware, the dearest part) instead
		// of hashing them, and it thinks handing a partial aggregate from
		// each worker to the leader would cost a row per ticket, so it
		// never splits the scan between cores. Sorting is off and workers
		// are cheap for this transaction only; nothing else runs in it but
		// the cancelled count (a year of 490,000 tickets: 1.1 s in one
		// process, 0.7 s with two workers). The plan is made for each
		// call: after five calls the statement cache's generic plan, blind
		// to the instant and the period, took half as long again (the
		// console benchmark's year: p95 590 ms before, 250 ms after).
		return nil, wrap("dashboard", err)
	}
	var rows []struct {
		SystemCode, AssigneeID                                                          string
		Month                                                                           int
		IsOpen                                                                          bool
		Created, Resolved, OnTime, Claimed, ResponseOnTime, OnsiteStopped, OnsiteOnTime int64
		Breached, Asked, Rated, Low, ScoreSum                                           int64
		ResponseSecs                                                                    float64
	}
	// COUNT(*) FILTER instead of Figures' SUM(CASE …): the same clauses,
	// with no addition for the rows that do not match.
	count := func(cond string) string { return "COUNT(*) FILTER (WHERE " + cond + ")" }
	secsExpr := `COALESCE(EXTRACT(EPOCH FROM SUM(t.claimed_at - t.created_at)), 0)`
	if tx.s.driver == "sqlite" {
		secsExpr = `COALESCE(SUM(CASE WHEN t.claimed_at IS NOT NULL THEN ` + epoch + ` END), 0)`
	}
	// Open tickets are a group of their own (is_open), so that "open and
	// breached" needs no second evaluation of the breach clause per row.
	q := `SELECT t.system_code, t.assignee_id, ` + month + ` AS month, t.status IN ('new','claimed','onsite','paused') AS is_open, COUNT(*) AS created,
  ` + count(e.resolved) + ` AS resolved,
  ` + count(e.onTime) + ` AS on_time,
  ` + count(e.claimed) + ` AS claimed,
  ` + count(e.responseOnTime) + ` AS response_on_time,
  ` + count(e.onsiteStopped) + ` AS onsite_stopped,
  ` + count(e.onsiteOnTime) + ` AS onsite_on_time,
  ` + count(e.anyBreach()) + ` AS breached,
  COUNT(r.ticket_id) AS asked, COUNT(r.score) AS rated, ` + count(`r.score <= ?`) + ` AS low, COALESCE(SUM(r.score), 0) AS score_sum,
  ` + secsExpr + ` AS response_secs
FROM tickets t LEFT JOIN ratings r ON r.ticket_id = t.id
WHERE ` + inPeriod + ` GROUP BY 1, 2, 3, 4`
	if err := tx.db.Raw(q, now, now, now, alertAtOrBelow, from, to).Scan(&rows).Error; err != nil {
		return nil, wrap("dashboard", err)
	}
	f := &Figures{Period: p, At: now}
	focusKey := 0
	if focus != nil {
		f.Period = *focus
		focusKey = focus.From.Year()*100 + int(focus.From.Month())
	}
	var head struct{ claimed, onTime, responseOnTime, onsiteStopped, onsiteOnTime, scoreSum int64 }
	var secs float64
	bySys, byEng := map[string]*Group{}, map[string]*Group{}
	byMonth := map[int]*TrendPoint{}
	add := func(m map[string]*Group, key string) *Group {
		g := m[key]
		if g == nil {
			g = &Group{Key: key}
			m[key] = g
		}
		return g
	}
	for _, r := range rows {
		tp := byMonth[monthKey(r.Month)]
		if tp == nil {
			tp = &TrendPoint{}
			byMonth[monthKey(r.Month)] = tp
		}
		tp.Created += r.Created
		tp.Resolved += r.Resolved
		tp.OnTime += r.OnTime
		tp.Breached += r.Breached
		if focusKey != 0 && monthKey(r.Month) != focusKey {
			continue
		}
		f.Created += r.Created
		if r.IsOpen {
			f.Open += r.Created
			f.OpenBreached += r.Breached
		}
		f.Resolved += r.Resolved
		f.BreachedTotal += r.Breached
		head.claimed += r.Claimed
		head.onTime += r.OnTime
		head.responseOnTime += r.ResponseOnTime
		head.onsiteStopped += r.OnsiteStopped
		head.onsiteOnTime += r.OnsiteOnTime
		head.scoreSum += r.ScoreSum
		f.Satisfaction.Asked += r.Asked
		f.Satisfaction.Rated += r.Rated
		f.Satisfaction.Low += r.Low
		secs += r.ResponseSecs
		for _, g := range []*Group{add(bySys, r.SystemCode), add(byEng, r.AssigneeID)} {
			g.Created += r.Created
			g.Resolved += r.Resolved
			g.OnTime += r.OnTime
			g.Breached += r.Breached
			g.Rated += r.Rated
			g.ScoreSum += r.ScoreSum
		}
	}
	f.ResolutionRate = Rate{N: f.Resolved, Of: f.Created, Target: targets.ResolutionRate}
	f.OnTimeRate = Rate{N: head.onTime, Of: f.Resolved, Target: targets.OnTimeRate}
	f.ResponseOnTimeRate = Rate{N: head.responseOnTime, Of: head.claimed, Target: targets.ResponseOnTimeRate}
	f.OnsiteOnTimeRate = Rate{N: head.onsiteOnTime, Of: head.onsiteStopped, Target: targets.OnsiteOnTimeRate}
	f.Satisfaction.Target = targets.Satisfaction
	if f.Satisfaction.Rated > 0 {
		f.Satisfaction.Mean = float64(head.scoreSum) / float64(f.Satisfaction.Rated)
	}
	if head.claimed > 0 {
		f.AvgResponse = time.Duration(secs / float64(head.claimed) * float64(time.Second)).Round(time.Second)
	}
	cf, ct := from, to
	if focus != nil {
		cf, ct = focus.From.UTC(), focus.To.UTC()
	}
	if err := tx.db.Raw(`SELECT COUNT(*) FROM tickets t WHERE t.created_at >= ? AND t.created_at < ? AND t.status = 'cancelled'`, cf, ct).Scan(&f.Cancelled).Error; err != nil {
		return nil, wrap("dashboard: cancelled", err)
	}
	f.BySystem, f.ByEngineer = sortedGroups(bySys), sortedGroups(byEng)
	d := &DashboardFigures{Figures: f}
	for m := p.From; m.Before(p.To) && !m.After(now.In(loc)); m = m.AddDate(0, 1, 0) {
		tp := TrendPoint{Period: MonthPeriod(m.Year(), m.Month(), loc)}
		if got := byMonth[m.Year()*100+int(m.Month())]; got != nil {
			tp.Created, tp.Resolved, tp.OnTime, tp.Breached = got.Created, got.Resolved, got.OnTime, got.Breached
		}
		d.Trend = append(d.Trend, tp)
	}
	return d, nil
}
