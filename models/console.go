package models

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

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
		return "maintenance_windows"
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
	w.UsersText = strings.Join(w.Users, ",")
	q := tx.db.Table(windowTable(maintenance))
	if !maintenance {
		q = q.Omit("system_code")
	} else {
		q = q.Omit("users")
	}
	return &w, wrap("add window", q.Create(&w).Error)
}

// DeleteWindow ends a window early; the row stays for the record.
func (tx *Tx) DeleteWindow(maintenance bool, id int64) error {
	res := tx.db.Table(windowTable(maintenance)).Where("id = ? AND deleted_at IS NULL", id).Update("deleted_at", tx.now)
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
	q := tx.db.Table(windowTable(maintenance)).Where("deleted_at IS NULL AND to_at > ?", tx.now).Order("from_at").Order("id")
	if !maintenance {
		q = q.Omit("system_code")
	} else {
		q = q.Omit("users")
	}
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
	var n int64
	err := tx.db.Table("maintenance_windows").Where("system_code = ? AND deleted_at IS NULL AND from_at <= ? AND to_at > ?", system, tx.now, tx.now).Count(&n).Error
	return n > 0, wrap("in maintenance", err)
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

// QueuePage returns one page of tickets by resolution deadline, nearest
// first, and how many match in all.
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
	var total int64
	if err := db.Session(&gorm.Session{}).Count(&total).Error; err != nil {
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

// Trend counts each month of a year with the clauses of docs/kpi.md, one
// query a month over the creation-time index.
func (tx *Tx) Trend(year int, months int, loc *time.Location) ([]TrendPoint, error) {
	e := &kpiExpr
	q := `SELECT COUNT(*) AS created, ` + sumIf(e.resolved) + ` AS resolved, ` + sumIf(e.onTime) + ` AS on_time, ` + sumIf(e.anyBreach()) + ` AS breached
FROM tickets t WHERE ` + inPeriod
	out := make([]TrendPoint, 0, months)
	for m := 1; m <= months; m++ {
		p := MonthPeriod(year, time.Month(m), loc)
		var r struct{ Created, Resolved, OnTime, Breached int64 }
		if err := tx.db.Raw(q, tx.now, tx.now, tx.now, p.From.UTC(), p.To.UTC()).Scan(&r).Error; err != nil {
			return nil, wrap("trend", err)
		}
		out = append(out, TrendPoint{Period: p, Created: r.Created, Resolved: r.Resolved, OnTime: r.OnTime, Breached: r.Breached})
	}
	return out, nil
}

// OpenMajor lists open major incidents, newest first.
func (tx *Tx) OpenMajor(limit int) ([]Ticket, error) {
	var out []Ticket
	err := tx.db.Where("major = ? AND status IN ?", true, OpenStatuses).Order("id DESC").Limit(limit).Find(&out).Error
	return out, wrap("open major", err)
}
