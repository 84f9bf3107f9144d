package models

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Alert statuses as stored.
const (
	AlertFiring   = "firing"
	AlertResolved = "resolved"
)

// AlertReporter is the reporter of tickets opened by alerts and by
// aggregation: the ops group, so that a ticket's news reaches the people
// who watch the alerts, and nobody's personal queue fills with machines'.
const AlertReporter = OpsGroup

// alertActor acts for monitoring: it opens alert tickets and resolves the
// ones nobody claimed. It manages (supervisor rights) because it acts on
// tickets nobody is assigned to.
var alertActor = Actor{UserID: "opsbot", Name: "监控告警", Role: RoleSupervisor}

// AlertResolvedText is the resolution of an alert ticket that resolved
// before anyone claimed it.
const AlertResolvedText = "告警已恢复"

// AlertIn is one alert notification as the sink hands it over; System is
// already a catalog code when the name could be resolved.
type AlertIn struct {
	Source   string
	Key      string
	Status   string
	System   string
	Severity string
	Summary  string
	Details  string
	URL      string
	Labels   map[string]string
	StartsAt time.Time
	EndsAt   time.Time
	// Priority is the ticket priority the severity maps to.
	Priority Priority
	// Muted: the system is under maintenance; the alert is stored only.
	Muted bool
}

// AlertRecord is one stored notification (table alerts).
type AlertRecord struct {
	ID         int64 `gorm:"primaryKey"`
	Source     string
	Key        string `gorm:"column:alert_key"`
	Status     string
	System     string `gorm:"column:system_code"`
	Severity   string
	Summary    string
	Labels     map[string]string `gorm:"serializer:json"`
	StartsAt   *time.Time
	EndsAt     *time.Time
	ReceivedAt time.Time
	TicketID   *int64
	Repeats    int `gorm:"column:repeat_count"`
	Muted      bool
}

// TableName is the alerts table.
func (AlertRecord) TableName() string { return "alerts" }

// AlertState is the latest word on one fingerprint (table alert_states):
// its status, the ticket of its current episode and how often it repeated.
type AlertState struct {
	Source    string `gorm:"primaryKey"`
	Key       string `gorm:"primaryKey;column:alert_key"`
	Status    string
	TicketID  *int64
	Episodes  int
	Repeats   int `gorm:"column:repeat_count"`
	UpdatedAt time.Time
}

// TableName is the alert state table.
func (AlertState) TableName() string { return "alert_states" }

// AlertOutcome says what one notification did, for the caller to tell people.
type AlertOutcome struct {
	Ticket *Ticket
	// Opened: a new ticket; Repeat: a repeat of an open one.
	Opened, Repeat bool
	// AutoResolved: the alert resolved and nobody had claimed its ticket,
	// so the ticket resolved with it; TellAssignee: it resolved on a
	// claimed ticket, whose engineer should check and resolve it.
	AutoResolved, TellAssignee bool
	Repeats                    int
}

// RecordAlert stores one notification and moves its ticket: a firing alert
// opens one ticket per fingerprint and episode, or counts a repeat on the
// open one; a resolved one adds an event and resolves an unclaimed ticket.
// The fingerprint's state row is locked first, so concurrent deliveries of
// one alert (Alertmanager retries) never open two tickets.
func (tx *Tx) RecordAlert(in AlertIn) (AlertOutcome, error) {
	var out AlertOutcome
	in.Key = fitKey(in.Key)
	in.System = shorten(in.System, 32)
	rec := AlertRecord{Source: in.Source, Key: in.Key, Status: in.Status, System: in.System, Severity: shorten(in.Severity, 16),
		Summary: in.Summary, Labels: in.Labels, ReceivedAt: tx.now, Muted: in.Muted}
	if rec.Labels == nil {
		rec.Labels = map[string]string{}
	}
	if !in.StartsAt.IsZero() {
		s := in.StartsAt.UTC()
		rec.StartsAt = &s
	}
	if !in.EndsAt.IsZero() {
		e := in.EndsAt.UTC()
		rec.EndsAt = &e
	}
	if in.Muted {
		return out, wrap("store alert", tx.db.Create(&rec).Error)
	}
	st, err := tx.lockAlertState(in.Source, in.Key)
	if err != nil {
		return out, err
	}
	var t *Ticket
	if st.TicketID != nil {
		if t, err = tx.ticketForUpdate(*st.TicketID); err != nil {
			return out, err
		}
	}
	switch in.Status {
	case AlertFiring:
		if t != nil && t.Status.Open() {
			st.Repeats++
			out.Repeat = true
		} else {
			st.Episodes++
			st.Repeats = 1
			t, err = tx.openAlertTicket(in, st.Episodes)
			if err != nil {
				return out, err
			}
			id := t.ID
			st.TicketID = &id
			out.Opened = true
		}
		st.Status = AlertFiring
	case AlertResolved:
		wasFiring := st.Status == AlertFiring
		st.Status = AlertResolved
		if t == nil || !wasFiring || !t.Status.Open() {
			break // a repeated resolution, or none was open
		}
		if t.AssigneeID == "" && t.Status == StatusNew {
			if t, err = tx.moveLocked(t, ActResolve, alertActor, AlertResolvedText, tx.resolving(AlertResolvedText, "")); err != nil {
				return out, err
			}
			if err := tx.resolveChildren(t, alertActor); err != nil {
				return out, err
			}
			// The recovery is the confirmation: waiting for the ops group
			// to confirm would only end in one auto-close message per
			// alert ticket, a storm's worth three days later.
			if t, err = tx.moveLocked(t, ActClose, alertActor, "告警恢复，自动关闭", func(t *Ticket, _ Status) error {
				t.ClosedAt = tx.at()
				return nil
			}); err != nil {
				return out, err
			}
			out.AutoResolved = true
		} else {
			if err := tx.addEvent(t.ID, alertActor, ActNote, t.Status, t.Status, AlertResolvedText); err != nil {
				return out, err
			}
			out.TellAssignee = true
		}
	default:
		return out, fmt.Errorf("store: alert %s: unknown status %q", in.Key, in.Status)
	}
	st.UpdatedAt = tx.now
	if err := tx.db.Save(st).Error; err != nil {
		return out, wrap("save alert state", err)
	}
	if t != nil {
		id := t.ID
		rec.TicketID = &id
	}
	rec.Repeats = st.Repeats
	if err := tx.db.Create(&rec).Error; err != nil {
		return out, wrap("store alert", err)
	}
	out.Ticket, out.Repeats = t, st.Repeats
	return out, nil
}

// lockAlertState returns the fingerprint's state row, created when new,
// locked for the transaction.
func (tx *Tx) lockAlertState(source, key string) (*AlertState, error) {
	fresh := AlertState{Source: source, Key: key, Status: AlertResolved, UpdatedAt: tx.now}
	if err := tx.db.Clauses(clause.OnConflict{DoNothing: true}).Create(&fresh).Error; err != nil {
		return nil, wrap("alert state", err)
	}
	var st AlertState
	err := tx.forUpdate().Where("source = ? AND alert_key = ?", source, key).Take(&st).Error
	return &st, wrap("alert state", err)
}

func (tx *Tx) openAlertTicket(in AlertIn, episode int) (*Ticket, error) {
	title := strings.TrimSpace(in.Summary)
	if title == "" {
		title = firstNonBlank(in.Labels["alertname"], in.Key)
	}
	desc := title
	if in.Details != "" {
		desc += "\n" + in.Details
	}
	if in.URL != "" {
		desc += "\n" + in.URL
	}
	p := in.Priority
	if !p.Valid() {
		p = PriorityMedium
	}
	t, _, err := tx.CreateTicket(NewTicket{
		Kind: KindFault, System: in.System, Priority: p, Title: "【告警】" + title, Description: desc,
		ReporterID: AlertReporter, ReporterName: "监控告警", Source: SourceAlert,
		SourceKey: fmt.Sprintf("alert:%s:%s:%d", in.Source, in.Key, episode),
	}, alertActor)
	return t, err
}

func firstNonBlank(vs ...string) string {
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// AlertState returns the state of one fingerprint; ok is false when never seen.
func (tx *Tx) AlertState(source, key string) (st AlertState, ok bool, err error) {
	err = tx.db.Where("source = ? AND alert_key = ?", source, fitKey(key)).Take(&st).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return st, false, nil
	}
	return st, err == nil, wrap("alert state", err)
}

// AlertCounts are the figures of the alerts table.
type AlertCounts struct {
	Stored, Muted int64
	// Tickets counts the tickets alerts opened.
	Tickets int64
}

// AlertCounts counts stored alerts and the tickets they opened.
func (tx *Tx) AlertCounts() (AlertCounts, error) {
	var c AlertCounts
	if err := tx.db.Model(&AlertRecord{}).Count(&c.Stored).Error; err != nil {
		return c, wrap("alert counts", err)
	}
	if err := tx.db.Model(&AlertRecord{}).Where("muted").Count(&c.Muted).Error; err != nil {
		return c, wrap("alert counts", err)
	}
	err := tx.db.Model(&Ticket{}).Where("source = ?", SourceAlert).Count(&c.Tickets).Error
	return c, wrap("alert counts", err)
}

// FiringAlertTicket returns the oldest open ticket of a firing alert on one
// of systems, nil when none.
func (tx *Tx) FiringAlertTicket(systems []string) (*Ticket, error) {
	if len(systems) == 0 {
		return nil, nil
	}
	var ts []Ticket
	err := tx.db.Model(&Ticket{}).Joins("JOIN alert_states s ON s.ticket_id = tickets.id").
		Where("s.status = ? AND tickets.status IN ? AND tickets.system_code IN ? AND tickets.parent_id IS NULL", AlertFiring, OpenStatuses, systems).
		Order("tickets.id").Limit(1).Find(&ts).Error
	if err != nil || len(ts) == 0 {
		return nil, wrap("firing alert ticket", err)
	}
	return &ts[0], nil
}

// AlertDigest groups the alerts of one system in one window of time, so
// that people hear of a storm once, then in summaries (table alert_digests).
type AlertDigest struct {
	System      string    `gorm:"primaryKey;column:system_code"`
	WindowStart time.Time `gorm:"primaryKey"`
	FirstTicket *int64    `gorm:"column:first_ticket_id"`
	Opened      int
	Repeats     int
	Resolved    int
	ChangedAt   time.Time
	NotifiedAt  *time.Time
	Summaries   int
}

// TableName is the digest table.
func (AlertDigest) TableName() string { return "alert_digests" }

// NoteAlert counts an alert outcome in its system's digest for the window
// [now truncated to window, +window). first is true for the first alert
// ticket of the system in the window: the caller tells people about it at
// once; everything after it waits for the summary.
func (tx *Tx) NoteAlert(system string, window time.Duration, out AlertOutcome) (first bool, d AlertDigest, err error) {
	start := tx.now.Truncate(window)
	d = AlertDigest{System: shorten(system, 32), WindowStart: start, ChangedAt: tx.now}
	if out.Opened && out.Ticket != nil {
		id := out.Ticket.ID
		d.FirstTicket, d.NotifiedAt = &id, tx.at()
	}
	if out.Opened {
		// Only an alert that opened a ticket may start a digest with a
		// message; the unique key lets one transaction win.
		res := tx.db.Clauses(clause.OnConflict{DoNothing: true}).Create(&d)
		if res.Error != nil {
			return false, d, wrap("alert digest", res.Error)
		}
		first = res.RowsAffected == 1
	}
	// Repeats are counted but are no news: a long-lived alert repeating
	// every few hours must not bring a summary each time.
	upd := map[string]any{"changed_at": tx.now}
	switch {
	case out.Opened:
		upd["opened"] = gorm.Expr("opened + 1")
	case out.Repeat:
		upd = map[string]any{"repeats": gorm.Expr("repeats + 1")}
	case out.AutoResolved || out.TellAssignee:
		upd["resolved"] = gorm.Expr("resolved + 1")
	default:
		return first, d, nil
	}
	res := tx.db.Model(&AlertDigest{}).Where("system_code = ? AND window_start = ?", d.System, start).Updates(upd)
	if res.Error != nil {
		return first, d, wrap("alert digest", res.Error)
	}
	if res.RowsAffected == 0 && !out.Opened && !out.Repeat {
		// Resolutions in a window that opened nothing still reach the
		// summary, in a digest that has no first message.
		d.NotifiedAt = tx.at()
		if err := tx.db.Clauses(clause.OnConflict{DoNothing: true}).Create(&d).Error; err != nil {
			return first, d, wrap("alert digest", err)
		}
		return first, d, wrap("alert digest", tx.db.Model(&AlertDigest{}).Where("system_code = ? AND window_start = ?", d.System, start).Updates(upd).Error)
	}
	return first, d, nil
}

// DueDigests returns the digests with news not yet summarised whose last
// message is at least every old, and marks them summarised now. News is a
// change after the last message, or, before the first summary, anything
// beyond the one alert the first message named (alerts of the same
// request share its instant).
func (tx *Tx) DueDigests(every time.Duration) ([]AlertDigest, error) {
	var ds []AlertDigest
	err := tx.forUpdate().Where("notified_at IS NOT NULL AND notified_at <= ? AND (changed_at > notified_at OR (summaries = 0 AND opened + resolved > 1))", tx.now.Add(-every)).
		Order("window_start").Order("system_code").Limit(200).Find(&ds).Error
	if err != nil {
		return nil, wrap("due digests", err)
	}
	for i := range ds {
		ds[i].Summaries++
		ds[i].NotifiedAt = tx.at()
		if err := tx.db.Model(&AlertDigest{}).Where("system_code = ? AND window_start = ?", ds[i].System, ds[i].WindowStart).
			Updates(map[string]any{"notified_at": tx.now, "summaries": ds[i].Summaries}).Error; err != nil {
			return nil, wrap("due digests", err)
		}
	}
	return ds, nil
}

// OpenAlertTickets counts the open alert tickets of a system.
func (tx *Tx) OpenAlertTickets(system string) (int64, error) {
	var n int64
	err := tx.db.Model(&Ticket{}).Where("source = ? AND system_code = ? AND status IN ?", SourceAlert, system, OpenStatuses).Count(&n).Error
	return n, wrap("open alert tickets", err)
}

// OutageReport is one report about a system that may be part of an outage
// (table outage_reports): kept so that a burst of them opens one incident.
type OutageReport struct {
	ID         int64  `gorm:"primaryKey"`
	Key        string `gorm:"column:outage_key"`
	UserID     string
	UserName   string
	Department string
	Text       string
	At         time.Time
	IncidentID *int64
}

// TableName is the outage report table.
func (OutageReport) TableName() string { return "outage_reports" }

type outageRow struct {
	Key        string `gorm:"primaryKey;column:outage_key"`
	IncidentID *int64
	UpdatedAt  time.Time
}

func (outageRow) TableName() string { return "outages" }

// Outage is the state of one system's reports: the open incident, if any,
// and the reports not yet linked to one. It holds the system's lock for the
// transaction, so concurrent reports see each other and open one incident.
type Outage struct {
	Key string
	// Systems are the system codes the key covers.
	Systems  []string
	Incident *Ticket
	// Pending are this window's reports not linked to an incident yet,
	// oldest first, including the one just noted.
	Pending []OutageReport
	tx      *Tx
}

// LockOutage locks the outage row of key (a system code or category) and
// returns its open incident. Every report about a system passes here, in
// the report's transaction.
func (tx *Tx) LockOutage(key string, systems []string) (*Outage, error) {
	key = shorten(key, 32)
	row := outageRow{Key: key, UpdatedAt: tx.now}
	if err := tx.db.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
		return nil, wrap("outage", err)
	}
	if err := tx.forUpdate().Where("outage_key = ?", key).Take(&row).Error; err != nil {
		return nil, wrap("outage", err)
	}
	o := &Outage{Key: key, Systems: systems, tx: tx}
	if row.IncidentID != nil {
		t, err := tx.Ticket(*row.IncidentID)
		if err != nil && !IsNotFound(err) {
			return nil, err
		}
		if t != nil && t.Status.Open() {
			o.Incident = t
		}
	}
	return o, nil
}

// IsNotFound reports whether err is a user-facing "not found".
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == ENotFound
}

// Note records a report and loads the window's reports not yet linked.
func (o *Outage) Note(r OutageReport, window time.Duration) error {
	tx := o.tx
	r.Key, r.At = o.Key, tx.now
	r.UserName, r.Department, r.Text = shorten(r.UserName, 64), shorten(r.Department, 64), strings.TrimSpace(r.Text)
	if err := tx.db.Create(&r).Error; err != nil {
		return wrap("outage report", err)
	}
	err := tx.db.Where("outage_key = ? AND at >= ? AND incident_id IS NULL", o.Key, tx.now.Add(-window)).Order("id").Find(&o.Pending).Error
	return wrap("outage reports", err)
}

// Reporters counts the distinct people among the pending reports.
func (o *Outage) Reporters() int {
	seen := map[string]bool{}
	for _, r := range o.Pending {
		seen[r.UserID] = true
	}
	return len(seen)
}

// Open makes t the outage's incident: marked major (an event, once) and
// remembered for the reports that follow. became says it was not major before.
func (o *Outage) Open(t *Ticket) (became bool, err error) {
	tx := o.tx
	if !t.Major {
		t.Major = true
		t.UpdatedAt = tx.now
		if err := tx.save(t); err != nil {
			return false, err
		}
		if err := tx.addEvent(t.ID, alertActor, ActMajor, t.Status, t.Status, "多人报告同一系统故障，自动聚合"); err != nil {
			return false, err
		}
		became = true
	}
	o.Incident = t
	id := t.ID
	return became, wrap("outage", tx.db.Model(&outageRow{}).Where("outage_key = ?", o.Key).
		Updates(map[string]any{"incident_id": id, "updated_at": tx.now}).Error)
}

// OpenIncident creates a new major incident ticket for the outage.
func (o *Outage) OpenIncident(in NewTicket) (*Ticket, error) {
	in.ReporterID, in.ReporterName = AlertReporter, "故障聚合"
	in.Priority = PriorityHigh
	in.SourceKey = fmt.Sprintf("outage:%s:%d", o.Key, o.tx.now.UnixNano())
	t, _, err := o.tx.CreateTicket(in, alertActor)
	if err != nil {
		return nil, err
	}
	if _, err := o.Open(t); err != nil {
		return nil, err
	}
	return t, nil
}

// Link makes ticket id a child of the incident (as 合并 does) and marks
// the pending reports of its reporter as linked. A linked report's own
// reminders stop: the incident carries the deadlines, and thirty
// reminders about one outage would be the flood aggregation prevents.
func (o *Outage) Link(id int64, reporterID string) error {
	tx := o.tx
	if o.Incident == nil || id == o.Incident.ID {
		return nil
	}
	ch, err := tx.ticketForUpdate(id)
	if err != nil {
		return err
	}
	if ch.ParentID == nil {
		p := o.Incident.ID
		ch.ParentID = &p
		ch.UpdatedAt = tx.now
		if err := tx.save(ch); err != nil {
			return err
		}
		if err := tx.db.Model(&Ticket{}).Where("id = ?", id).Update("next_check_at", nil).Error; err != nil {
			return wrap("link report", err)
		}
		note := fmt.Sprintf("并入 #%d", o.Incident.ID)
		if err := tx.addEvent(id, alertActor, ActMerge, ch.Status, ch.Status, note); err != nil {
			return err
		}
		if err := tx.addEvent(o.Incident.ID, alertActor, ActMerge, o.Incident.Status, o.Incident.Status, fmt.Sprintf("并入 #%d", id)); err != nil {
			return err
		}
	}
	iid := o.Incident.ID
	return wrap("link report", tx.db.Model(&OutageReport{}).Where("outage_key = ? AND user_id = ? AND incident_id IS NULL", o.Key, reporterID).
		Update("incident_id", iid).Error)
}

// RecentOpenTicket returns the reporter's newest open ticket created since
// since, about one of systems or about no system, that is not linked to an
// incident; nil when none: a report made before the burst was recognised.
func (tx *Tx) RecentOpenTicket(reporterID string, since time.Time, systems []string) (*Ticket, error) {
	var ts []Ticket
	err := tx.db.Where("reporter_id = ? AND created_at >= ? AND status IN ? AND parent_id IS NULL AND NOT major AND (system_code = '' OR system_code IN ?)",
		reporterID, since, OpenStatuses, append([]string{""}, systems...)).
		Order("id DESC").Limit(1).Find(&ts).Error
	if err != nil || len(ts) == 0 {
		return nil, wrap("recent ticket", err)
	}
	return &ts[0], nil
}

// Split unlinks a wrongly linked report from its incident (拆分): it gets
// its own deadlines and reminders back.
func (tx *Tx) Split(id int64, a Actor) (child *Ticket, parentID int64, err error) {
	if !a.IsStaff() {
		return nil, 0, Errorf(EForbidden, "只有服务工程师或服务主管可以拆分工单")
	}
	t, err := tx.ticketForUpdate(id)
	if err != nil {
		return nil, 0, err
	}
	if t.ParentID == nil {
		return nil, 0, Errorf(EInvalid, "工单 #%d 没有并入其他工单，无需拆分", id)
	}
	if !t.Status.Open() {
		return nil, 0, Errorf(EConflict, "工单 #%d %s，不能再拆分", id, statusPhrases[t.Status])
	}
	parentID = *t.ParentID
	t.ParentID = nil
	t.UpdatedAt = tx.now
	if err := tx.save(t); err != nil {
		return nil, 0, err
	}
	if err := tx.addEvent(id, a, ActMerge, t.Status, t.Status, fmt.Sprintf("从 #%d 拆出，单独处理", parentID)); err != nil {
		return nil, 0, err
	}
	if err := tx.addEvent(parentID, a, ActMerge, "", "", fmt.Sprintf("#%d 拆出", id)); err != nil {
		return nil, 0, err
	}
	return t, parentID, nil
}

// AlertRecords returns the newest stored notifications, newest first.
func (tx *Tx) AlertRecords(limit int) ([]AlertRecord, error) {
	var out []AlertRecord
	return out, wrap("alert records", tx.db.Order("id DESC").Limit(limit).Find(&out).Error)
}

// FiringAlert is an alert still firing, with its ticket, for the wall.
type FiringAlert struct {
	Source, Key string
	Ticket      Ticket
	Since       time.Time
}

// FiringAlerts lists the alerts firing now with their open tickets, the
// newest first.
func (tx *Tx) FiringAlerts(limit int) ([]FiringAlert, error) {
	var states []AlertState
	if err := tx.db.Where("status = ? AND ticket_id IS NOT NULL", "firing").Order("updated_at DESC").Limit(limit).Find(&states).Error; err != nil {
		return nil, wrap("firing alerts", err)
	}
	var out []FiringAlert
	for _, st := range states {
		t, err := tx.Ticket(*st.TicketID)
		if err != nil {
			return nil, err
		}
		if !t.Status.Open() {
			continue
		}
		out = append(out, FiringAlert{Source: st.Source, Key: st.Key, Ticket: *t, Since: t.CreatedAt})
	}
	return out, nil
}
