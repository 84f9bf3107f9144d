package models

import (
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"opsbot/configs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// ImportHeader is the exact header of a ticket history file (docs/import.md).
var ImportHeader = []string{"number", "kind", "system", "priority", "reporter", "assignee",
	"created_at", "claimed_at", "onsite_at", "resolved_at", "closed_at", "status", "rating"}

// ImportRow is one valid ticket of a history file. Zero times mean "none".
type ImportRow struct {
	// Line is the row's line in the file, for messages.
	Line     int
	Number   int64
	Kind     Kind
	System   string // a catalog code, or "" when the file names none
	Priority Priority
	Status   Status
	Reporter string
	Assignee string

	CreatedAt, ClaimedAt, OnsiteAt, ResolvedAt, ClosedAt time.Time
	// Rating is 20-100, 0 when the ticket was not rated.
	Rating int
}

// ImportError is one bad row: its line and every reason, in Chinese.
type ImportError struct {
	Line   int
	Reason string
}

func (e ImportError) String() string { return fmt.Sprintf("第 %d 行：%s", e.Line, e.Reason) }

// ImportResult says what an import did.
type ImportResult struct {
	// Imported are new tickets; Unchanged rows whose number an imported
	// ticket already has (a second import of the same file).
	Imported, Unchanged int
	// Errors lists the bad rows; when there is one, nothing was imported.
	Errors []ImportError
	// NextNumber is the number the next new ticket will get.
	NextNumber int64
}

// importTimeLayouts are the accepted time formats, local time.
var importTimeLayouts = []string{"2006-01-02 15:04:05", "2006-01-02 15:04"}

// ImportParser turns the rows of a history file into ImportRows.
type ImportParser struct {
	// Catalog resolves the system column (code, name or an unambiguous alias).
	Catalog *Catalog
	// Location is the zone the file's times are written in.
	Location *time.Location
	// Now is the import's instant; no time may lie after it.
	Now time.Time

	systems map[string]string // folded token → code, "" when unknown or ambiguous
}

// ReadImport reads a whole history file: the header, then every row. A bad
// row does not stop the reading: every one is reported, with its line. The
// error is for a file that cannot be read at all.
func (p *ImportParser) ReadImport(r io.Reader) ([]ImportRow, []ImportError, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	var rows []ImportRow
	var bad []ImportError
	seen := map[int64]int{}
	header := true
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line, _ := cr.FieldPos(0)
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			bad = append(bad, ImportError{Line: pe.Line, Reason: "CSV 格式错误：" + pe.Err.Error()})
			if pe.Err == csv.ErrQuote || pe.Err == csv.ErrBareQuote {
				continue
			}
			return rows, bad, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("import: read: %w", err)
		}
		if header {
			header = false
			if len(rec) > 0 {
				rec[0] = strings.TrimPrefix(rec[0], "\ufeff")
			}
			if !slices.Equal(rec, ImportHeader) {
				return nil, []ImportError{{Line: line, Reason: "表头必须正好是 " + strings.Join(ImportHeader, ",")}}, nil
			}
			continue
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		row, reasons := p.Parse(rec)
		row.Line = line
		if row.Number > 0 {
			if first, dup := seen[row.Number]; dup {
				reasons = append(reasons, fmt.Sprintf("单号 %d 与第 %d 行重复", row.Number, first))
			} else {
				seen[row.Number] = line
			}
		}
		if len(reasons) > 0 {
			bad = append(bad, ImportError{Line: line, Reason: strings.Join(reasons, "；")})
			continue
		}
		rows = append(rows, row)
	}
	if header {
		return nil, []ImportError{{Line: 1, Reason: "文件是空的，第一行应为表头 " + strings.Join(ImportHeader, ",")}}, nil
	}
	return rows, bad, nil
}

// Parse checks one record (the fields after the header) and returns the
// row and every reason it is wrong (none when it is good).
func (p *ImportParser) Parse(rec []string) (ImportRow, []string) {
	var row ImportRow
	var why []string
	bad := func(format string, args ...any) { why = append(why, fmt.Sprintf(format, args...)) }
	if len(rec) != len(ImportHeader) {
		bad("应有 %d 列，实际 %d 列", len(ImportHeader), len(rec))
		return row, why
	}
	f := make([]string, len(rec))
	for i, v := range rec {
		f[i] = strings.TrimSpace(v)
	}
	if n, err := strconv.ParseInt(f[0], 10, 64); err != nil || n <= 0 {
		bad("number %q 不是正整数", f[0])
	} else {
		row.Number = n
	}
	row.Kind = canonical(f[1], []Kind{KindFault, KindQuestion, KindRequest, KindPolicy})
	if !row.Kind.Valid() {
		bad("kind %q 不对，应为 fault、question、request、policy 之一", f[1])
	}
	if f[2] != "" {
		if code := p.system(f[2]); code != "" {
			row.System = code
		} else {
			bad("system %q 不在系统目录中（可填系统代码或名称）", f[2])
		}
	}
	row.Priority = canonical(f[3], []Priority{PriorityHigh, PriorityMedium, PriorityLow})
	if !row.Priority.Valid() {
		bad("priority %q 不对，应为 high、medium、low 之一", f[3])
	}
	// Cloned: the fields share the record's line, which would stay in memory.
	row.Reporter, row.Assignee = strings.Clone(f[4]), strings.Clone(f[5])
	if row.Reporter == "" {
		bad("reporter 不能为空")
	} else if len(row.Reporter) > 64 {
		bad("reporter 超过 64 个字节")
	}
	if len(row.Assignee) > 64 {
		bad("assignee 超过 64 个字节")
	}
	times := []*time.Time{&row.CreatedAt, &row.ClaimedAt, &row.OnsiteAt, &row.ResolvedAt, &row.ClosedAt}
	for i, dst := range times {
		col, v := ImportHeader[6+i], f[6+i]
		if v == "" {
			continue
		}
		t, ok := p.parseTime(v)
		if !ok {
			bad("%s %q 不是 YYYY-MM-DD HH:MM[:SS] 格式的时间", col, v)
			continue
		}
		if !p.Now.IsZero() && t.After(p.Now) {
			bad("%s %s 晚于现在", col, v)
		}
		*dst = t
	}
	row.Status = canonical(f[11], AllStatuses)
	if !slices.Contains(AllStatuses, row.Status) {
		bad("status %q 不对，应为 new、claimed、onsite、paused、resolved、closed、cancelled 之一", f[11])
	}
	if f[12] != "" {
		if n, err := strconv.Atoi(f[12]); err != nil || n < 20 || n > 100 {
			bad("rating %q 应为 20 到 100 的整数，或留空", f[12])
		} else {
			row.Rating = n
		}
	}
	if row.CreatedAt.IsZero() {
		if f[6] == "" {
			bad("created_at 不能为空")
		}
		return row, why
	}
	why = append(why, row.consistent()...)
	return row, why
}

// canonical returns the constant equal to v, so that a row does not keep
// its whole line in memory through a substring; v itself when none is.
func canonical[T ~string](v string, all []T) T {
	for _, c := range all {
		if string(c) == v {
			return c
		}
	}
	return T(v)
}

// consistent checks that the times and the status tell one story.
func (r *ImportRow) consistent() []string {
	var why []string
	bad := func(format string, args ...any) { why = append(why, fmt.Sprintf(format, args...)) }
	set := func(t time.Time) bool { return !t.IsZero() }
	for _, c := range []struct {
		col string
		t   time.Time
	}{{"claimed_at", r.ClaimedAt}, {"onsite_at", r.OnsiteAt}, {"resolved_at", r.ResolvedAt}, {"closed_at", r.ClosedAt}} {
		if set(c.t) && c.t.Before(r.CreatedAt) {
			bad("%s 早于 created_at", c.col)
		}
	}
	if set(r.OnsiteAt) && set(r.ClaimedAt) && r.OnsiteAt.Before(r.ClaimedAt) {
		bad("onsite_at 早于 claimed_at")
	}
	if set(r.ClosedAt) && set(r.ResolvedAt) && r.ClosedAt.Before(r.ResolvedAt) {
		bad("closed_at 早于 resolved_at")
	}
	need := func(col string, t time.Time) {
		if !set(t) {
			bad("状态为 %s 时 %s 不能为空", r.Status, col)
		}
	}
	empty := func(col string, t time.Time) {
		if set(t) {
			bad("状态为 %s 时 %s 应为空", r.Status, col)
		}
	}
	switch r.Status {
	case StatusNew:
		empty("claimed_at", r.ClaimedAt)
		empty("onsite_at", r.OnsiteAt)
		empty("resolved_at", r.ResolvedAt)
		empty("closed_at", r.ClosedAt)
	case StatusClaimed, StatusPaused:
		need("claimed_at", r.ClaimedAt)
		empty("resolved_at", r.ResolvedAt)
		empty("closed_at", r.ClosedAt)
	case StatusOnsite:
		need("claimed_at", r.ClaimedAt)
		need("onsite_at", r.OnsiteAt)
		empty("resolved_at", r.ResolvedAt)
		empty("closed_at", r.ClosedAt)
	case StatusResolved:
		need("resolved_at", r.ResolvedAt)
		empty("closed_at", r.ClosedAt)
	case StatusClosed:
		need("resolved_at", r.ResolvedAt)
		need("closed_at", r.ClosedAt)
	case StatusCancelled:
		empty("resolved_at", r.ResolvedAt)
	}
	if r.Status != StatusNew && r.Status != StatusCancelled && r.Assignee == "" {
		bad("状态为 %s 时 assignee（负责工程师）不能为空", r.Status)
	}
	if r.Rating != 0 && r.Status != StatusClosed {
		bad("只有已关闭（closed）的工单才有评价，此行状态为 %s", r.Status)
	}
	return why
}

func (p *ImportParser) parseTime(v string) (time.Time, bool) {
	loc := p.Location
	if loc == nil {
		loc = time.Local
	}
	for _, l := range importTimeLayouts {
		if t, err := time.ParseInLocation(l, v, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// system maps a code, a name or an unambiguous alias to a catalog code.
func (p *ImportParser) system(token string) string {
	if p.Catalog == nil {
		return ""
	}
	if p.systems == nil {
		p.systems = map[string]string{}
		for _, s := range p.Catalog.Systems() {
			p.systems[configs.FoldKey(s.Name)] = s.Code
		}
		for _, s := range p.Catalog.Systems() {
			p.systems[configs.FoldKey(s.Code)] = s.Code // a code wins over a name
		}
	}
	key := configs.FoldKey(token)
	if code, ok := p.systems[key]; ok {
		return code
	}
	code := ""
	if codes := p.Catalog.Resolve(token); len(codes) == 1 {
		code = codes[0]
	}
	p.systems[key] = code
	return code
}

// importedRating is the ratings row of an imported rating.
type importedRating struct {
	TicketID   int64
	ReporterID string
	AskedAt    time.Time
	Status     string
	Score      int
	RatedAt    time.Time
}

func (importedRating) TableName() string { return "ratings" }

// importWriter is where an import writes: GORM's multi-row INSERTs on
// SQLite, COPY on Postgres.
type importWriter interface {
	// existing returns the source of each of ids that is already a ticket.
	existing(ids []int64) (map[int64]Source, error)
	insert(tickets []Ticket, ratings []importedRating) error
	// finish makes new tickets continue after the highest number and returns it.
	finish() (maxID int64, err error)
}

// ImportTickets writes history rows as tickets (source import) with their
// numbers kept, deadlines from the SLA clock and a rated ratings row for
// each rating, all in one transaction. A number an imported ticket
// already has is left alone (Unchanged), so importing a file twice changes
// nothing; a number a ticket of opsbot's own already has is an error.
// When any row is wrong nothing is written and the result lists the rows.
// Afterwards new tickets continue after the highest number. rows is
// sorted by number in place.
//
// It writes no events: the history has none to give, the ticket's own
// times are its record, and an event per row halved the import's speed
// (each event's foreign key check locks its ticket).
func (s *Store) ImportTickets(ctx context.Context, rows []ImportRow) (ImportResult, error) {
	slices.SortFunc(rows, func(a, b ImportRow) int { return cmp.Compare(a.Number, b.Number) })
	var res ImportResult
	var err error
	if s.driver == "postgres" {
		err = s.importPostgres(ctx, func(w importWriter, b *Tx) error { return importAll(w, b, rows, 5000, &res) })
	} else {
		err = s.Update(ctx, func(tx *Tx) error { return importAll(gormImport{tx}, tx, rows, 25, &res) })
	}
	if errors.Is(err, errImportRejected) {
		res.Imported, res.Unchanged = 0, 0
		return res, Errorf(EInvalid, "有 %d 行不能导入，所有工单均未导入", len(res.Errors))
	}
	if err != nil {
		return ImportResult{}, wrap("import tickets", err)
	}
	return res, nil
}

var errImportRejected = errors.New("import rejected")

// importAll writes rows in batches through w; b builds the tickets (its
// clock and policies). It returns errImportRejected, after looking at
// every row, when a number is taken by a ticket that was not imported.
func importAll(w importWriter, b *Tx, rows []ImportRow, batch int, res *ImportResult) error {
	for start := 0; start < len(rows); start += batch {
		part := rows[start:min(start+batch, len(rows))]
		ids := make([]int64, len(part))
		for i, r := range part {
			ids[i] = r.Number
		}
		src, err := w.existing(ids)
		if err != nil {
			return err
		}
		fresh := part
		if len(src) > 0 {
			fresh = make([]ImportRow, 0, len(part))
			for _, r := range part {
				switch s, ok := src[r.Number]; {
				case !ok:
					fresh = append(fresh, r)
				case s == SourceImport:
					res.Unchanged++
				default:
					res.Errors = append(res.Errors, ImportError{Line: r.Line, Reason: fmt.Sprintf("单号 %d 已被系统中的工单 #%d 使用（不是导入的工单）", r.Number, r.Number)})
				}
			}
		}
		if len(res.Errors) > 0 || len(fresh) == 0 {
			continue
		}
		tickets := make([]Ticket, len(fresh))
		var ratings []importedRating
		for i := range fresh {
			r := &fresh[i]
			tickets[i] = b.importedTicket(r)
			if r.Rating != 0 {
				at := r.ClosedAt.UTC()
				ratings = append(ratings, importedRating{TicketID: r.Number, ReporterID: r.Reporter, AskedAt: at, Status: "rated", Score: r.Rating, RatedAt: at})
			}
		}
		if err := w.insert(tickets, ratings); err != nil {
			return err
		}
		res.Imported += len(fresh)
	}
	if len(res.Errors) > 0 {
		return errImportRejected
	}
	maxID, err := w.finish()
	res.NextNumber = maxID + 1
	return err
}

// gormImport writes through GORM on SQLite: one multi-row INSERT per
// table and batch. Batches are small (25 rows, 900 parameters) because the
// SQLite driver binds parameters in time quadratic in their number: with
// 500 rows a statement binding took three quarters of the import's CPU,
// and 50,000 rows went in at 612 rows/s instead of about 2,600.
type gormImport struct{ tx *Tx }

func (g gormImport) existing(ids []int64) (map[int64]Source, error) {
	var rows []struct {
		ID     int64
		Source Source
	}
	if err := g.tx.db.Raw(`SELECT id, source FROM tickets WHERE id IN ?`, ids).Scan(&rows).Error; err != nil {
		return nil, wrap("import: existing numbers", err)
	}
	out := make(map[int64]Source, len(rows))
	for _, r := range rows {
		out[r.ID] = r.Source
	}
	return out, nil
}

func (g gormImport) insert(tickets []Ticket, ratings []importedRating) error {
	if err := g.tx.db.Create(&tickets).Error; err != nil {
		return wrap("import: insert tickets", err)
	}
	if len(ratings) > 0 {
		if err := g.tx.db.Create(&ratings).Error; err != nil {
			return wrap("import: insert ratings", err)
		}
	}
	return nil
}

// finish needs nothing more on SQLite: AUTOINCREMENT (sqlite_sequence)
// follows the largest id inserted.
func (g gormImport) finish() (int64, error) {
	var maxID *int64
	if err := g.tx.db.Raw(`SELECT MAX(id) FROM tickets`).Scan(&maxID).Error; err != nil || maxID == nil {
		return 0, wrap("import: highest number", err)
	}
	return *maxID, nil
}

// importedTicket builds the ticket of a row as if it had lived in opsbot:
// deadlines from the SLA clock at creation (as CreateTicket sets them),
// the resolution clock stopped at the resolution (or, for a paused ticket,
// at the last recorded step), and the reminders already past marked sent
// so an old open ticket does not set off a burst of them.
func (tx *Tx) importedTicket(r *ImportRow) Ticket {
	utc := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		u := t.UTC()
		return &u
	}
	due := tx.s.sla.Deadlines(r.CreatedAt, r.Priority, r.Kind)
	t := Ticket{
		ID: r.Number, Kind: r.Kind, System: r.System, Priority: r.Priority, Status: r.Status,
		Title: fmt.Sprintf("导入工单 #%d", r.Number), ReporterID: r.Reporter, ReporterName: r.Reporter,
		AssigneeID: r.Assignee, Source: SourceImport,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: tx.now,
		ClaimedAt: utc(r.ClaimedAt), OnsiteAt: utc(r.OnsiteAt), ResolvedAt: utc(r.ResolvedAt), ClosedAt: utc(r.ClosedAt),
		DueResponse: due.Response.UTC(), DueOnsite: utc(due.Onsite), DueResolution: due.Resolution.UTC(),
	}
	switch r.Status {
	case StatusResolved, StatusClosed:
		// Resolving from new claims the ticket too (Tx.resolving).
		if t.ClaimedAt == nil {
			t.ClaimedAt = t.ResolvedAt
		}
		t.PausedAt = t.ResolvedAt
	case StatusPaused:
		t.PausedAt = utc(latest(r.ClaimedAt, r.OnsiteAt))
	}
	if t.Status.Open() || t.Status == StatusResolved {
		due, _ := tx.s.rem.Check(&t, tx.now)
		for _, d := range due {
			if d.Clock != ClockConfirm {
				markSent(&t, d.Clock, d.Level)
			}
		}
		tx.setNextCheck(&t)
	}
	return t
}

func latest(ts ...time.Time) time.Time {
	var l time.Time
	for _, t := range ts {
		if t.After(l) {
			l = t
		}
	}
	return l
}

// importPostgres runs fn in one transaction of its own on one connection,
// writing with COPY: multi-row INSERTs of 1,000 tickets reached about
// 6,000 rows/s on the benchmark machine, COPY about twice that (see
// docs/import.md).
func (s *Store) importPostgres(ctx context.Context, fn func(w importWriter, b *Tx) error) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("import: connection: %w", err)
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("import: driver connection is %T, not pgx", dc)
		}
		return pgx.BeginFunc(ctx, sc.Conn(), func(ptx pgx.Tx) error {
			return fn(copyImport{ctx: ctx, tx: ptx}, &Tx{s: s, now: s.now().UTC()})
		})
	})
}

// copyImport writes with COPY on a pgx transaction.
type copyImport struct {
	ctx context.Context
	tx  pgx.Tx
}

func (c copyImport) existing(ids []int64) (map[int64]Source, error) {
	rows, err := c.tx.Query(c.ctx, `SELECT id, source FROM tickets WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, wrap("import: existing numbers", err)
	}
	defer rows.Close()
	out := map[int64]Source{}
	for rows.Next() {
		var id int64
		var src string
		if err := rows.Scan(&id, &src); err != nil {
			return nil, wrap("import: existing numbers", err)
		}
		out[id] = Source(src)
	}
	return out, wrap("import: existing numbers", rows.Err())
}

// ticketColumns are the columns COPY fills; the rest keep their defaults.
var ticketColumns = []string{"id", "kind", "system_code", "priority", "status", "title", "description", "reporter_id", "reporter_name",
	"department", "location", "phone", "assignee_id", "source", "created_at", "updated_at", "claimed_at", "onsite_at", "resolved_at",
	"closed_at", "due_response", "due_onsite", "due_resolution", "paused_business", "paused_at", "major", "resolution", "pause_reason",
	"breach_reason", "confirmed", "remind_response", "remind_onsite", "remind_resolution", "next_check_at"}

func (c copyImport) insert(tickets []Ticket, ratings []importedRating) error {
	_, err := c.tx.CopyFrom(c.ctx, pgx.Identifier{"tickets"}, ticketColumns, pgx.CopyFromSlice(len(tickets), func(i int) ([]any, error) {
		t := &tickets[i]
		return []any{t.ID, string(t.Kind), t.System, string(t.Priority), string(t.Status), t.Title, t.Description, t.ReporterID, t.ReporterName,
			t.Department, t.Location, t.Phone, t.AssigneeID, string(t.Source), t.CreatedAt, t.UpdatedAt, t.ClaimedAt, t.OnsiteAt, t.ResolvedAt,
			t.ClosedAt, t.DueResponse, t.DueOnsite, t.DueResolution, int64(t.PausedBusiness), t.PausedAt, t.Major, t.Resolution, t.PauseReason,
			t.BreachReason, t.Confirmed, t.RemindResponse, t.RemindOnsite, t.RemindResolution, t.NextCheckAt}, nil
	}))
	if err != nil {
		return wrap("import: copy tickets", err)
	}
	if len(ratings) == 0 {
		return nil
	}
	_, err = c.tx.CopyFrom(c.ctx, pgx.Identifier{"ratings"}, []string{"ticket_id", "reporter_id", "asked_at", "status", "score", "rated_at"},
		pgx.CopyFromSlice(len(ratings), func(i int) ([]any, error) {
			r := &ratings[i]
			return []any{r.TicketID, r.ReporterID, r.AskedAt, r.Status, r.Score, r.RatedAt}, nil
		}))
	return wrap("import: copy ratings", err)
}

// finish moves the identity sequence: explicit ids do not advance it, and
// the next ticket would otherwise be #1 again.
func (c copyImport) finish() (int64, error) {
	var maxID *int64
	if err := c.tx.QueryRow(c.ctx, `SELECT MAX(id) FROM tickets`).Scan(&maxID); err != nil || maxID == nil {
		return 0, wrap("import: highest number", err)
	}
	// Never backwards: a ticket being reported meanwhile may hold a higher
	// number that MAX(id) cannot see yet.
	_, err := c.tx.Exec(c.ctx, `SELECT setval(pg_get_serial_sequence('tickets', 'id'),
  GREATEST($1, COALESCE(pg_sequence_last_value(pg_get_serial_sequence('tickets', 'id')::regclass), 0)))`, *maxID)
	return *maxID, wrap("import: move the ticket sequence", err)
}
