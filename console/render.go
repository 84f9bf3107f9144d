package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"opsbot/models"
)

// pageTemplate is one page: the layout, the shared fragments and the
// page's own "content".
type pageTemplate struct{ t *template.Template }

// pageNames are the templates with a whole page each.
var pageNames = []string{"login", "link", "error", "queue", "ticket", "dashboard", "wall", "reports", "admin"}

var funcs = template.FuncMap{
	"pct": func(r models.Rate) string {
		v, ok := r.Value()
		if !ok {
			return "—"
		}
		return strings.TrimSuffix(fmt.Sprintf("%.1f", v*100), ".0") + "%"
	},
	"target": func(f float64) string { return strings.TrimSuffix(fmt.Sprintf("%.1f", f*100), ".0") + "%" },
	"score":  func(f float64) string { return fmt.Sprintf("%.1f", f) },
	"json": func(v any) (template.JS, error) {
		b, err := json.Marshal(v)
		return template.JS(b), err
	},
	"add": func(a, b int) int { return a + b },
	"dict": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, fmt.Errorf("dict: odd arguments")
		}
		m := make(map[string]any, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
}

func parsePages() (map[string]*pageTemplate, error) {
	out := make(map[string]*pageTemplate, len(pageNames))
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/fragments.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		out[name] = &pageTemplate{t: t}
	}
	return out, nil
}

// page is what the layout needs besides the page's own data.
type page struct {
	Title  string
	Nav    string
	Viewer *viewer
	CSRF   string
	Data   any
	// Refresh makes the layout reload a page that cannot poll.
	Wide bool
}

// render writes a whole page; data is the page's own.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	p := page{Title: titles[name], Nav: name, Data: data, Wide: name == "wall"}
	if v := viewerOf(r); v != nil {
		p.Viewer, p.CSRF = v, v.sess.CSRF
	}
	var buf bytes.Buffer
	if err := c.pages[name].t.Execute(&buf, p); err != nil {
		c.d.Log.Error("console: render", "page", name, "err", err)
		http.Error(w, "抱歉，页面生成出错。", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// renderFragment writes one named template of the shared fragments (or
// of page when given) without the layout.
func (c *Console) renderFragment(w http.ResponseWriter, name string, data any) {
	c.renderFrom(w, "error", name, data)
}

func (c *Console) renderFrom(w http.ResponseWriter, pageName, name string, data any) {
	var buf bytes.Buffer
	if err := c.pages[pageName].t.ExecuteTemplate(&buf, name, data); err != nil {
		c.d.Log.Error("console: render fragment", "fragment", name, "err", err)
		http.Error(w, "抱歉，页面生成出错。", http.StatusInternalServerError)
		return
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	}
	w.Write(buf.Bytes())
}

var titles = map[string]string{
	"login": "登录", "link": "登录", "error": "出错了", "queue": "工单队列", "ticket": "工单",
	"dashboard": "服务指标", "wall": "监控大屏", "reports": "服务报告", "admin": "系统管理",
}

// clock shows an instant in the hospital's zone.
func (c *Console) clock(t time.Time) string { return t.In(c.loc).Format("01-02 15:04") }

// timeLeft is how much business time a ticket's running clock has left,
// or how far past the deadline it is ("" when its clock stands still).
func (c *Console) timeLeft(t *models.Ticket, now time.Time) string {
	sla := c.d.Store.SLA()
	switch t.Status {
	case models.StatusNew, models.StatusClaimed, models.StatusOnsite:
	case models.StatusPaused:
		return "已挂起，计时暂停"
	default:
		return ""
	}
	if now.After(t.DueResolution) {
		return "已超时 " + workHours(sla.Used(t.DueResolution, now, 0))
	}
	return "还剩 " + workHours(sla.Used(now, t.DueResolution, 0))
}

// workHours writes business time in working hours ("13工作小时20分"):
// days would read as calendar days, and a working day is not 24 hours.
func workHours(d time.Duration) string {
	d = d.Round(time.Minute)
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h == 0 && m == 0:
		return "不到1分钟"
	case h == 0:
		return fmt.Sprintf("%d分（工作时间）", m)
	case m == 0:
		return fmt.Sprintf("%d工作小时", h)
	}
	return fmt.Sprintf("%d工作小时%d分", h, m)
}
