package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"opsbot/models"
)

// pageSize is how many tickets a queue page shows.
const pageSize = 50

func (c *Console) home(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/console/queue", http.StatusSeeOther)
}

// option is one choice of a filter's select.
type option struct {
	Value, Label string
	Selected     bool
}

// queueFilter is what the queue's filter form asks for.
type queueFilter struct {
	System, Engineer, Priority, Status, Scope string
	Page                                      int
}

func readFilter(r *http.Request) queueFilter {
	q := r.URL.Query()
	f := queueFilter{System: q.Get("system"), Engineer: q.Get("engineer"), Priority: q.Get("priority"), Status: q.Get("status"), Scope: q.Get("scope")}
	f.Page, _ = strconv.Atoi(q.Get("page"))
	if f.Page < 1 {
		f.Page = 1
	}
	return f
}

func (f queueFilter) query(page int) string {
	v := url.Values{}
	for k, s := range map[string]string{"system": f.System, "engineer": f.Engineer, "priority": f.Priority, "status": f.Status, "scope": f.Scope} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	return v.Encode()
}

// queueRow is one ticket of the queue as shown.
type queueRow struct {
	ID                                         int64
	Title, System, Priority, PriorityCode      string
	Status, StatusCode, Assignee, Reporter     string
	Due, Left, Flag                            string
	Breached, SoonDue, CanClaim, Major, Paused bool
}

type queueData struct {
	Rows                           []queueRow
	Total                          int64
	Page, Pages                    int
	Prev, Next, Query              string
	Filter                         queueFilter
	Systems, Engineers, Priorities []option
	Statuses, Scopes               []option
	ShowScope, ShowEngineer, More  bool
	Updated                        string
}

func (c *Console) queuePage(w http.ResponseWriter, r *http.Request) {
	d, err := c.queueData(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "queue", d)
}

// queueRows is the live part of the queue, polled by htmx.
func (c *Console) queueRows(w http.ResponseWriter, r *http.Request) {
	secureHeaders(w)
	d, err := c.queueData(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.renderFrom(w, "queue", "rows", d)
}

// queueData reads one page of the queue as the viewer may see it: a
// reporter their own tickets, an engineer theirs and the untaken ones (or
// all), supervisors and the account manager everything.
func (c *Console) queueData(r *http.Request) (*queueData, error) {
	v := viewerOf(r)
	a := v.actor
	f := readFilter(r)
	q := models.QueueQuery{System: f.System, Priority: models.Priority(f.Priority), Offset: (f.Page - 1) * pageSize, Limit: pageSize}
	switch {
	case f.Status == "" || f.Status == "open":
		q.Statuses = models.OpenStatuses
	case f.Status == "all":
	case slices.Contains(models.AllStatuses, models.Status(f.Status)):
		q.Statuses = []models.Status{models.Status(f.Status)}
	default:
		q.Statuses = models.OpenStatuses
	}
	switch {
	case !a.IsStaff():
		q.Reporter = a.UserID
	case a.Role == models.RoleEngineer && f.Scope != "all":
		q.MineOrFree = a.UserID
	}
	if a.IsStaff() {
		q.Assignee = f.Engineer
	}
	d := &queueData{Filter: f, Page: f.Page, ShowScope: a.Role == models.RoleEngineer, ShowEngineer: a.IsStaff()}
	now := c.d.Now()
	err := c.d.Store.View(r.Context(), func(tx *models.Tx) error {
		team, err := tx.Team()
		if err != nil {
			return err
		}
		tickets, total, err := tx.QueuePage(q)
		if err != nil {
			return err
		}
		d.Total, d.More = total, total >= models.QueueCountCap
		for i := range tickets {
			d.Rows = append(d.Rows, c.row(&tickets[i], team, a, now))
		}
		if a.IsStaff() {
			d.Engineers = []option{{Value: "", Label: "全部工程师"}, {Value: "-", Label: "未接单", Selected: f.Engineer == "-"}}
			for _, s := range team.Active(models.RoleEngineer) {
				d.Engineers = append(d.Engineers, option{Value: s.UserID, Label: s.Name, Selected: f.Engineer == s.UserID})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	d.Pages = int((d.Total + pageSize - 1) / pageSize)
	if d.Page > 1 {
		d.Prev = f.query(d.Page - 1)
	}
	if d.Page < d.Pages {
		d.Next = f.query(d.Page + 1)
	}
	d.Query = f.query(d.Page)
	d.Systems = []option{{Value: "", Label: "全部系统"}}
	for _, s := range c.d.Catalog.Systems() {
		d.Systems = append(d.Systems, option{Value: s.Code, Label: s.Name, Selected: f.System == s.Code})
	}
	d.Priorities = []option{{Value: "", Label: "全部优先级"}}
	for _, p := range []models.Priority{models.PriorityHigh, models.PriorityMedium, models.PriorityLow} {
		d.Priorities = append(d.Priorities, option{Value: string(p), Label: p.Label(), Selected: f.Priority == string(p)})
	}
	d.Statuses = []option{{Value: "open", Label: "未完成"}, {Value: "all", Label: "全部状态", Selected: f.Status == "all"}}
	for _, s := range models.AllStatuses {
		d.Statuses = append(d.Statuses, option{Value: string(s), Label: s.Label(), Selected: f.Status == string(s)})
	}
	d.Scopes = []option{{Value: "", Label: "我的和待接单"}, {Value: "all", Label: "全部工单", Selected: f.Scope == "all"}}
	d.Updated = now.In(c.loc).Format("15:04:05")
	return d, nil
}

func (c *Console) row(t *models.Ticket, team *models.Team, a models.Actor, now time.Time) queueRow {
	rw := queueRow{ID: t.ID, Title: t.Title, System: c.d.Catalog.Name(t.System), Priority: t.Priority.Label(), PriorityCode: string(t.Priority),
		Status: t.Status.Label(), StatusCode: string(t.Status), Due: c.clock(t.DueResolution), Left: c.timeLeft(t, now),
		Major: t.Major, Paused: t.Status == models.StatusPaused}
	if s, ok := team.Member(t.AssigneeID); ok {
		rw.Assignee = s.Name
	} else {
		rw.Assignee = t.AssigneeID
	}
	rw.Reporter = t.ReporterName
	if rw.Reporter == "" {
		rw.Reporter = t.ReporterID
	}
	if t.Status.Open() {
		j := c.d.Store.Judge(t, now)
		switch {
		case j.ResponseBreached && t.Status == models.StatusNew:
			rw.Flag, rw.Breached = "响应超时", true
		case j.ResolutionBreached:
			rw.Flag, rw.Breached = "已超时", true
		case j.OnsiteBreached && t.OnsiteAt == nil:
			rw.Flag, rw.Breached = "到场超时", true
		case j.SoonDue:
			rw.Flag, rw.SoonDue = "即将到期", true
		}
	}
	rw.CanClaim = a.Role == models.RoleEngineer && t.Status == models.StatusNew && t.AssigneeID == "" && models.Authorize(a, t, models.ActClaim) == nil
	return rw
}

// ticketData is the ticket page.
type ticketData struct {
	T                              *models.Ticket
	Kind, System, Priority, Status string
	Reporter, Assignee, Flag, Left string
	Created, DueResponse, DueRes   string
	Events                         []eventView
	Rating                         *models.Rating
	RatingLabel                    string
	Parent                         *models.Ticket
	Children                       []models.Ticket
	CanClaim, CanAssign, CanPause  bool
	CanPriority                    bool
	Engineers, Priorities          []option
	Notice                         string
}

type eventView struct {
	At, Who, Action, Note string
}

func ticketID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, models.Errorf(models.ENotFound, "工单号不对：%s", r.PathValue("id"))
	}
	return id, nil
}

func (c *Console) ticketPage(w http.ResponseWriter, r *http.Request) {
	id, err := ticketID(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	a := viewerOf(r).actor
	now := c.d.Now()
	d := &ticketData{Notice: r.URL.Query().Get("ok")}
	err = c.d.Store.View(r.Context(), func(tx *models.Tx) error {
		t, err := tx.Ticket(id)
		if err != nil {
			return err
		}
		if !a.IsStaff() && t.ReporterID != a.UserID {
			return models.Errorf(models.EForbidden, "工单 #%d 不是您报的，无法查看", id)
		}
		team, err := tx.Team()
		if err != nil {
			return err
		}
		rw := c.row(t, team, a, now)
		d.T, d.Kind, d.System, d.Priority, d.Status = t, t.Kind.Label(), rw.System, rw.Priority, rw.Status
		d.Reporter, d.Assignee, d.Flag, d.Left = rw.Reporter, rw.Assignee, rw.Flag, rw.Left
		d.Created, d.DueResponse, d.DueRes = c.clock(t.CreatedAt), c.clock(t.DueResponse), c.clock(t.DueResolution)
		events, err := tx.Events(id)
		if err != nil {
			return err
		}
		for _, e := range events {
			who := e.Actor
			switch {
			case e.Actor == t.ReporterID && t.ReporterName != "":
				who = t.ReporterName
			case e.Actor == models.SystemActor:
				who = "系统"
			default:
				if s, ok := team.Member(e.Actor); ok {
					who = s.Name
				}
			}
			d.Events = append(d.Events, eventView{At: c.clock(e.At), Who: who, Action: e.Action.Label(), Note: e.Note})
		}
		if d.Rating, err = tx.RatingOf(id); err != nil {
			return err
		}
		if d.Rating != nil && d.Rating.Score != nil {
			d.RatingLabel = models.ScoreLabel(*d.Rating.Score)
		}
		if t.ParentID != nil {
			if d.Parent, err = tx.Ticket(*t.ParentID); err != nil {
				return err
			}
		}
		if d.Children, err = tx.Tickets(models.TicketFilter{ParentID: id}); err != nil {
			return err
		}
		if t.Status.Open() {
			d.CanClaim = rw.CanClaim
			d.CanAssign = a.Manages() || (a.Role == models.RoleEngineer && t.AssigneeID == a.UserID)
			d.CanPause = t.Status != models.StatusPaused && models.Authorize(a, t, models.ActPause) == nil && (a.Role == models.RoleEngineer || a.Manages())
			d.CanPriority = a.Manages()
		}
		if d.CanAssign {
			for _, s := range team.Active(models.RoleEngineer) {
				if s.UserID != t.AssigneeID {
					d.Engineers = append(d.Engineers, option{Value: s.UserID, Label: fmt.Sprintf("%s（%d级）", s.Name, s.Level)})
				}
			}
		}
		for _, p := range []models.Priority{models.PriorityHigh, models.PriorityMedium, models.PriorityLow} {
			d.Priorities = append(d.Priorities, option{Value: string(p), Label: p.Label(), Selected: p == t.Priority})
		}
		return nil
	})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "ticket", d)
}

// dashboard shows a month's or a year's figures against the contract,
// with the trend and the per-system and per-engineer breakdowns.
func (c *Console) dashboard(w http.ResponseWriter, r *http.Request) {
	now := c.d.Now().In(c.loc)
	period := r.URL.Query().Get("period")
	year, month := now.Year(), int(now.Month())
	annual := false
	switch {
	case period == "":
	case len(period) == 4:
		y, err := strconv.Atoi(period)
		if err != nil || y < 2000 || y > 2100 {
			c.fail(w, r, models.Errorf(models.EInvalid, "期间写法不对：%s", period))
			return
		}
		year, annual = y, true
	default:
		t, err := time.Parse("2006-01", period)
		if err != nil {
			c.fail(w, r, models.Errorf(models.EInvalid, "期间写法不对：%s（例如 2026-11 或 2026）", period))
			return
		}
		year, month = t.Year(), int(t.Month())
	}
	p := models.MonthPeriod(year, time.Month(month), c.loc)
	if annual {
		p = models.YearPeriod(year, c.loc)
	}
	cfg := c.d.Config
	var f *models.Figures
	var trend []models.TrendPoint
	var names map[string]string
	err := c.d.Store.View(r.Context(), func(tx *models.Tx) error {
		var focus *models.Period
		if !annual {
			focus = &p
		}
		d, err := tx.Dashboard(models.YearPeriod(year, c.loc), focus, cfg.Contract, cfg.Rating.AlertAtOrBelow, c.loc)
		if err != nil {
			return err
		}
		f, trend = d.Figures, d.Trend
		team, err := tx.Team()
		if err != nil {
			return err
		}
		names = map[string]string{}
		for _, g := range f.ByEngineer {
			if s, ok := team.Member(g.Key); ok {
				names[g.Key] = s.Name
			}
		}
		return nil
	})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	charts := chartData{}
	for _, tp := range trend {
		charts.Trend.Labels = append(charts.Trend.Labels, fmt.Sprintf("%d月", tp.Period.From.Month()))
		charts.Trend.Created = append(charts.Trend.Created, tp.Created)
		charts.Trend.Resolved = append(charts.Trend.Resolved, tp.Resolved)
		charts.Trend.Breached = append(charts.Trend.Breached, tp.Breached)
	}
	for i, g := range f.BySystem {
		if i == 12 {
			break
		}
		name := c.d.Catalog.Name(g.Key)
		if name == "" {
			name = "未指明系统"
		}
		charts.Systems.Labels = append(charts.Systems.Labels, name)
		charts.Systems.Created = append(charts.Systems.Created, g.Created)
		charts.Systems.Breached = append(charts.Systems.Breached, g.Breached)
	}
	for _, g := range f.ByEngineer {
		if g.Key == "" {
			continue
		}
		name := names[g.Key]
		if name == "" {
			name = g.Key
		}
		charts.Engineers.Labels = append(charts.Engineers.Labels, name)
		charts.Engineers.Resolved = append(charts.Engineers.Resolved, g.Resolved)
		charts.Engineers.OnTime = append(charts.Engineers.OnTime, g.OnTime)
	}
	blob, err := json.Marshal(charts)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	var periods []option
	for i := 0; i < 12; i++ {
		m := time.Date(now.Year(), now.Month()-time.Month(i), 1, 0, 0, 0, 0, c.loc)
		v := m.Format("2006-01")
		periods = append(periods, option{Value: v, Label: fmt.Sprintf("%d年%d月", m.Year(), m.Month()), Selected: !annual && v == fmt.Sprintf("%04d-%02d", year, month)})
	}
	for y := now.Year(); y >= now.Year()-2; y-- {
		periods = append(periods, option{Value: strconv.Itoa(y), Label: fmt.Sprintf("%d年全年", y), Selected: annual && y == year})
	}
	c.render(w, r, http.StatusOK, "dashboard", map[string]any{"F": f, "Charts": string(blob), "Periods": periods, "Label": p.Label})
}

// chartData feeds console.js's ECharts.
type chartData struct {
	Trend struct {
		Labels                      []string
		Created, Resolved, Breached []int64
	}
	Systems struct {
		Labels            []string
		Created, Breached []int64
	}
	Engineers struct {
		Labels           []string
		Resolved, OnTime []int64
	}
}

// wallData is the monitoring wall.
type wallData struct {
	Major                    []queueRow
	Open, OpenBreached       int64
	Alerts                   []Alert
	Probes                   []Probe
	Inspections              []Inspection
	Monitoring               bool
	MonitorError, Updated    string
	ProbesDown, ProbesUp     int
	AlertsText, InspectTitle string
}

func (c *Console) wall(w http.ResponseWriter, r *http.Request) {
	d, err := c.wallData(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "wall", d)
}

func (c *Console) wallBody(w http.ResponseWriter, r *http.Request) {
	secureHeaders(w)
	d, err := c.wallData(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.renderFrom(w, "wall", "wallbody", d)
}

func (c *Console) wallData(r *http.Request) (*wallData, error) {
	now := c.d.Now()
	d := &wallData{Updated: now.In(c.loc).Format("15:04:05")}
	err := c.d.Store.View(r.Context(), func(tx *models.Tx) error {
		team, err := tx.Team()
		if err != nil {
			return err
		}
		major, err := tx.OpenMajor(20)
		if err != nil {
			return err
		}
		for i := range major {
			d.Major = append(d.Major, c.row(&major[i], team, viewerOf(r).actor, now))
		}
		d.Open, d.OpenBreached, err = tx.OpenCounts()
		return err
	})
	if err != nil {
		return nil, err
	}
	if m := c.d.Monitor; m != nil {
		d.Monitoring = true
		var errs []string
		if a, err := m.Firing(r.Context()); err != nil {
			errs = append(errs, "告警")
		} else {
			d.Alerts = a
		}
		if p, err := m.Probes(r.Context()); err != nil {
			errs = append(errs, "探测")
		} else {
			d.Probes = p
			for _, x := range p {
				if x.Up {
					d.ProbesUp++
				} else {
					d.ProbesDown++
				}
			}
		}
		if in, err := m.Inspections(r.Context(), now.In(c.loc)); err != nil {
			errs = append(errs, "巡检")
		} else {
			d.Inspections = in
		}
		if len(errs) > 0 {
			d.MonitorError = strings.Join(errs, "、") + "数据暂时读不到"
			c.d.Log.Warn("console: monitoring data unavailable", "parts", d.MonitorError)
		}
	}
	return d, nil
}
