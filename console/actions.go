package console

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"opsbot/configs"
	"opsbot/handlers"
	"opsbot/models"
	"opsbot/reports"
)

// ticketAction is one console action on a ticket: it runs in the
// transaction with the audit row and returns the notice to show.
type ticketAction func(c *Console, tx *models.Tx, w handlers.WebAction, id int64, r *http.Request) (name, notice string, err error)

func actClaim(c *Console, tx *models.Tx, w handlers.WebAction, id int64, _ *http.Request) (string, string, error) {
	_, err := c.d.Handlers.WebClaim(tx, w, id)
	return "claim", fmt.Sprintf("已接单 #%d，已通知报修人。", id), err
}

func actAssign(c *Console, tx *models.Tx, w handlers.WebAction, id int64, r *http.Request) (string, string, error) {
	to := strings.TrimSpace(r.PostFormValue("to"))
	if to == "" {
		return "assign", "", models.Errorf(models.EInvalid, "请选择工程师")
	}
	t, err := c.d.Handlers.WebAssign(tx, w, id, to, strings.TrimSpace(r.PostFormValue("reason")))
	if err != nil {
		return "assign", "", err
	}
	return "assign", fmt.Sprintf("工单 #%d 已交给 %s。", id, t.AssigneeID), nil
}

func actPriority(c *Console, tx *models.Tx, w handlers.WebAction, id int64, r *http.Request) (string, string, error) {
	p := models.Priority(r.PostFormValue("priority"))
	if !p.Valid() {
		return "priority", "", models.Errorf(models.EInvalid, "优先级只能是 高、中、低")
	}
	t, err := c.d.Handlers.WebPriority(tx, w, id, p, strings.TrimSpace(r.PostFormValue("reason")))
	if err != nil {
		return "priority", "", err
	}
	return "priority", fmt.Sprintf("工单 #%d 优先级改为%s，解决时限：%s。", id, p.Label(), models.ClockText(t.DueResolution, c.loc)), nil
}

func actPause(c *Console, tx *models.Tx, w handlers.WebAction, id int64, r *http.Request) (string, string, error) {
	_, err := c.d.Handlers.WebPause(tx, w, id, strings.TrimSpace(r.PostFormValue("reason")))
	return "pause", fmt.Sprintf("工单 #%d 已挂起，计时暂停。", id), err
}

// act runs a ticket action with its audit row in one transaction. From
// the queue (htmx) it answers with the refreshed rows and a notice; from
// the ticket page's forms with a redirect back to the ticket.
func (c *Console) act(do ticketAction) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := ticketID(r)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		v := viewerOf(r)
		key, err := randomToken()
		if err != nil {
			c.fail(w, r, err)
			return
		}
		var notice string
		err = c.d.Store.Update(r.Context(), func(tx *models.Tx) error {
			name, n, err := do(c, tx, handlers.WebAction{Actor: v.actor, Key: "console:" + key}, id, r)
			if err != nil {
				return err
			}
			notice = n
			detail := strings.TrimSpace(strings.Join([]string{r.PostFormValue("to"), r.PostFormValue("priority"), r.PostFormValue("reason")}, " "))
			return tx.Audit(v.actor.UserID, name, id, detail, clientAddr(r))
		})
		if err != nil {
			c.fail(w, r, err)
			return
		}
		c.d.Log.Info("console action", "wecom_user", v.actor.UserID, "ticket", id, "path", r.URL.Path)
		if r.Header.Get("HX-Request") == "true" {
			// The queue's filters come along (hx-include), so the rows
			// answer the same question the page asked.
			r.URL.RawQuery = r.PostForm.Encode()
			d, err := c.queueData(r)
			if err != nil {
				c.fail(w, r, err)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			c.renderFrom(w, "queue", "rows", d)
			c.renderFrom(w, "queue", "flash-oob", map[string]any{"Notice": notice})
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/console/tickets/%d?ok=%s", id, url.QueryEscape(notice)), http.StatusSeeOther)
	}
}

// reportRow is one downloadable report.
type reportRow struct {
	Kind, Period, Label, State string
}

func (c *Console) reportsPage(w http.ResponseWriter, r *http.Request) {
	now := c.d.Now().In(c.loc)
	var rows []reportRow
	for i := 1; i <= 12; i++ {
		m := time.Date(now.Year(), now.Month()-time.Month(i), 1, 0, 0, 0, 0, c.loc)
		rows = append(rows, reportRow{Kind: string(reports.Monthly), Period: m.Format("2006-01"), Label: fmt.Sprintf("%d年%d月 服务月报", m.Year(), m.Month())})
	}
	for y := now.Year() - 1; y >= now.Year()-2; y-- {
		rows = append(rows, reportRow{Kind: string(reports.Annual), Period: strconv.Itoa(y), Label: fmt.Sprintf("%d年 服务年报", y)})
	}
	cs, _ := c.d.Reports.(ConfirmationSource)
	for i := range rows {
		rows[i].State = "—"
		if cs == nil {
			continue
		}
		as, err := cs.Confirmations(r.Context(), reports.Kind(rows[i].Kind), rows[i].Period)
		if err != nil {
			c.d.Log.Warn("console: report confirmations unavailable", "period", rows[i].Period, "err", err)
			rows[i].State = "暂时读不到"
			continue
		}
		rows[i].State = reports.ConfirmationState(as)
	}
	c.render(w, r, http.StatusOK, "reports", map[string]any{"Rows": rows, "Ready": c.d.Reports != nil, "States": cs != nil})
}

// reportDownload builds the XLSX of a month or a year.
func (c *Console) reportDownload(w http.ResponseWriter, r *http.Request) {
	if c.d.Reports == nil {
		c.fail(w, r, models.Errorf(models.EConflict, "报告服务尚未接入，请联系管理员。"))
		return
	}
	kind, period := r.PathValue("kind"), strings.TrimSuffix(r.PathValue("period"), ".xlsx")
	var p models.Period
	switch kind {
	case string(reports.Monthly):
		t, perr := time.Parse("2006-01", period)
		if perr != nil {
			c.fail(w, r, models.Errorf(models.EInvalid, "月份写法不对：%s", period))
			return
		}
		p = models.MonthPeriod(t.Year(), t.Month(), c.loc)
	case string(reports.Annual):
		y, perr := strconv.Atoi(period)
		if perr != nil || y < 2000 || y > 2100 {
			c.fail(w, r, models.Errorf(models.EInvalid, "年份写法不对：%s", period))
			return
		}
		p = models.YearPeriod(y, c.loc)
	default:
		c.fail(w, r, models.Errorf(models.ENotFound, "没有这种报告：%s", kind))
		return
	}
	var buf bytes.Buffer
	if err := c.d.Reports.XLSX(r.Context(), reports.Kind(kind), p, &buf); err != nil {
		c.fail(w, r, err)
		return
	}
	v := viewerOf(r)
	if err := c.d.Store.Update(r.Context(), func(tx *models.Tx) error {
		return tx.Audit(v.actor.UserID, "report_download", 0, kind+" "+period, clientAddr(r))
	}); err != nil {
		c.fail(w, r, err)
		return
	}
	name := fmt.Sprintf("opsbot-%s-%s.xlsx", kind, period)
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Write(buf.Bytes())
}

// adminData is the administration page: each setting with where it
// comes from.
type adminData struct {
	Staff                                   []models.Staff
	StaffSource, SystemsSource, CalSource   string
	OnCallSource, RemSource                 string
	Systems                                 []models.System
	Calendar                                []configs.CalendarDay
	CalendarErr                             string
	Reminders                               configs.Reminders
	OnCall                                  configs.OnCall
	OnCallDB, Maintenance                   []models.Window
	Audit                                   []models.AuditEntry
	Names                                   map[string]string
	Notice, Error                           string
	SystemOptions                           []option
	DefaultFrom, DefaultTo, CalendarExample string
	loc                                     *time.Location
}

// Clock shows an instant in the hospital's zone.
func (d *adminData) Clock(t time.Time) string { return t.In(d.loc).Format("2006-01-02 15:04") }

func sourceOr(path, fallback string) string {
	if path == "" {
		return fallback
	}
	return path
}

// fileIfExists names the default file when it is there, else the fallback.
func fileIfExists(path, fallback string) string {
	if _, err := os.Stat(path); err == nil {
		return path
	}
	return fallback
}

func (c *Console) admin(w http.ResponseWriter, r *http.Request) {
	cfg := c.d.Config
	now := c.d.Now().In(c.loc)
	d := &adminData{
		StaffSource:   sourceOr(cfg.StaffFile, fileIfExists("configs/staff.yaml", "内置示例名单 configs/staff.example.yaml")),
		SystemsSource: sourceOr(cfg.SystemsFile, "内置目录 configs/systems.yaml（48 个合同系统）"),
		CalSource:     sourceOr(cfg.SLA.CalendarFile, "内置法定节假日 + configs/calendar.yaml"),
		OnCallSource:  c.d.OnCall.Source,
		RemSource:     "配置文件 reminders 段（OPSBOT_CONFIG）或默认值",
		Systems:       c.d.Catalog.Systems(),
		Reminders:     cfg.Reminders,
		OnCall:        c.d.OnCall,
		Notice:        r.URL.Query().Get("ok"),
		Error:         r.URL.Query().Get("err"),
		DefaultFrom:   now.Truncate(time.Hour).Add(time.Hour).Format("2006-01-02T15:04"),
		DefaultTo:     now.Truncate(time.Hour).Add(3 * time.Hour).Format("2006-01-02T15:04"),
		Names:         map[string]string{},
		loc:           c.loc,
	}
	if cal, err := configs.LoadCalendar(cfg.SLA.CalendarFile); err != nil {
		d.CalendarErr = err.Error()
	} else {
		d.Calendar = cal.Days
	}
	for _, s := range d.Systems {
		d.SystemOptions = append(d.SystemOptions, option{Value: s.Code, Label: s.Name})
	}
	err := c.d.Store.View(r.Context(), func(tx *models.Tx) error {
		team, err := tx.Team()
		if err != nil {
			return err
		}
		if d.Staff, err = tx.ListStaff(""); err != nil {
			return err
		}
		for _, s := range d.Staff {
			d.Names[s.UserID] = s.Name
		}
		_ = team
		if d.OnCallDB, err = tx.Windows(false); err != nil {
			return err
		}
		if d.Maintenance, err = tx.Windows(true); err != nil {
			return err
		}
		d.Audit, err = tx.AuditLog(50)
		return err
	})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "admin", d)
}

// windowLayout is how datetime-local inputs send an instant.
const windowLayout = "2006-01-02T15:04"

// addWindow stores an on-call override or a maintenance window, checked,
// with its audit row.
func (c *Console) addWindow(maintenance bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := viewerOf(r)
		from, err1 := time.ParseInLocation(windowLayout, r.PostFormValue("from"), c.loc)
		to, err2 := time.ParseInLocation(windowLayout, r.PostFormValue("to"), c.loc)
		win := models.Window{From: from, To: to, Note: strings.TrimSpace(r.PostFormValue("note")), CreatedBy: v.actor.UserID}
		err := c.d.Store.Update(r.Context(), func(tx *models.Tx) error {
			if err1 != nil || err2 != nil {
				return models.Errorf(models.EInvalid, "请填写开始和结束时间")
			}
			if maintenance {
				win.System = r.PostFormValue("system")
				if _, ok := c.d.Catalog.System(win.System); !ok {
					return models.Errorf(models.EInvalid, "请选择系统")
				}
			} else {
				for _, u := range strings.FieldsFunc(r.PostFormValue("users"), func(r rune) bool { return r == ',' || r == '，' || r == ' ' || r == '、' }) {
					s, err := tx.FindStaff(u)
					if err != nil {
						return err
					}
					win.Users = append(win.Users, s.UserID)
				}
			}
			saved, err := tx.AddWindow(maintenance, win)
			if err != nil {
				return err
			}
			what := "oncall_override_added"
			detail := fmt.Sprintf("#%d %s—%s %s %s", saved.ID, from.Format("2006-01-02 15:04"), to.Format("2006-01-02 15:04"), strings.Join(win.Users, ","), win.Note)
			if maintenance {
				what = "maintenance_added"
				detail = fmt.Sprintf("#%d %s %s—%s %s", saved.ID, win.System, from.Format("2006-01-02 15:04"), to.Format("2006-01-02 15:04"), win.Note)
			}
			return tx.Audit(v.actor.UserID, what, 0, detail, clientAddr(r))
		})
		c.adminBack(w, r, err, "已保存。")
	}
}

func (c *Console) deleteWindow(maintenance bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := viewerOf(r)
		id, perr := strconv.ParseInt(r.PathValue("wid"), 10, 64)
		err := c.d.Store.Update(r.Context(), func(tx *models.Tx) error {
			if perr != nil {
				return models.Errorf(models.ENotFound, "未找到该时段")
			}
			if err := tx.DeleteWindow(maintenance, id); err != nil {
				return err
			}
			what := "oncall_override_deleted"
			if maintenance {
				what = "maintenance_deleted"
			}
			return tx.Audit(v.actor.UserID, what, 0, fmt.Sprintf("#%d", id), clientAddr(r))
		})
		c.adminBack(w, r, err, "已删除。")
	}
}

// adminBack returns to the admin page with the outcome; a mistake the
// supervisor can fix is shown there, status 303 either way.
func (c *Console) adminBack(w http.ResponseWriter, r *http.Request, err error, ok string) {
	if err != nil {
		msg := models.ErrorMessage(err)
		if msg == "" {
			c.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/console/admin?err="+url.QueryEscape(msg)+"#windows", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/console/admin?ok="+url.QueryEscape(ok)+"#windows", http.StatusSeeOther)
}
