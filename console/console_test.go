package console_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"opsbot/console"
	"opsbot/models"
	"opsbot/reports"
)

// Roles from the example roster.
const (
	engineer   = "zhangsan" // 张三, level 2, HIS and LIS
	engineer3  = "lisi"     // 李四, level 3, all systems
	supervisor = "zhaoliu"  // 赵六
	manager    = "qianqi"   // 钱七, account manager
	nurse      = "nurse1"
	nurse2     = "nurse2"
)

func TestPagesByRole(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		mine := hs.report(nurse, "OPB", "门诊收费打印不了发票", models.PriorityMedium)
		other := hs.report(nurse2, "MIC", "检验结果传不过来", models.PriorityHigh)

		rep := hs.login(nurse)
		q := rep.get("/console/queue")
		mustContain(t, "reporter's queue", q.body, "门诊收费打印不了发票")
		if strings.Contains(q.body, "检验结果传不过来") {
			t.Error("a reporter's queue shows another reporter's ticket")
		}
		if r := rep.get(fmt.Sprintf("/console/tickets/%d", mine)); r.code != http.StatusOK {
			t.Errorf("own ticket: %d", r.code)
		}
		r := rep.get(fmt.Sprintf("/console/tickets/%d", other))
		if r.code != http.StatusForbidden || !strings.Contains(r.body, "不是您报的") {
			t.Errorf("another's ticket: %d %s", r.code, excerpt(r.body))
		}
		for _, p := range []string{"/console/admin", "/console/dashboard", "/console/wall", "/console/reports"} {
			if r := rep.get(p); r.code != http.StatusForbidden {
				t.Errorf("reporter GET %s: %d, want 403", p, r.code)
			}
		}
		if r := rep.act("/console/admin/oncall", url.Values{"from": {"2026-12-01T08:00"}, "to": {"2026-12-01T18:00"}, "users": {"lisi"}}, false); r.code != http.StatusForbidden {
			t.Errorf("reporter POST admin: %d, want 403", r.code)
		}

		eng := hs.login(engineer)
		for p, want := range map[string]int{"/console/queue": 200, "/console/dashboard": 200, "/console/wall": 200, "/console/reports": 403, "/console/admin": 403,
			fmt.Sprintf("/console/tickets/%d", other): 200} {
			if r := eng.get(p); r.code != want {
				t.Errorf("engineer GET %s: %d, want %d", p, r.code, want)
			}
		}
		am := hs.login(manager)
		for p, want := range map[string]int{"/console/reports": 200, "/console/admin": 403, "/console/dashboard?period=2026": 200} {
			if r := am.get(p); r.code != want {
				t.Errorf("account manager GET %s: %d, want %d", p, r.code, want)
			}
		}
		sup := hs.login(supervisor)
		for _, p := range []string{"/console/queue", "/console/queue/rows", "/console/dashboard", "/console/dashboard?period=2026-10", "/console/wall", "/console/wall/body", "/console/reports", "/console/admin", fmt.Sprintf("/console/tickets/%d", mine)} {
			if r := sup.get(p); r.code != http.StatusOK {
				t.Errorf("supervisor GET %s: %d %s", p, r.code, excerpt(r.body))
			}
		}
		mustContain(t, "supervisor's queue", sup.get("/console/queue").body, "门诊收费打印不了发票", "检验结果传不过来", "共 2 单")
	})
}

func TestSignedOutAndExpired(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		anon := &browser{hs: hs, c: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
		r := anon.get("/console/queue")
		if r.code != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/console/login") {
			t.Errorf("signed out: %d %s", r.code, r.header.Get("Location"))
		}
		b := hs.login(engineer)
		hs.clock.Add(90 * time.Minute)
		if r := b.get("/console/queue"); r.code != http.StatusOK || !strings.Contains(r.body, "工单队列") {
			t.Fatalf("within the idle timeout: %d", r.code)
		}
		hs.clock.Add(2*time.Hour + time.Minute)
		req, _ := http.NewRequest(http.MethodGet, hs.srv.URL+"/console/queue/rows", nil)
		req.Header.Set("HX-Request", "true")
		r = b.do(req)
		if r.code != http.StatusUnauthorized || r.header.Get("HX-Redirect") == "" {
			t.Errorf("expired session, htmx poll: %d HX-Redirect=%q", r.code, r.header.Get("HX-Redirect"))
		}
		if r := b.get("/console/queue"); !strings.Contains(r.body, "登录运维服务台") {
			t.Errorf("expired session: want the login page, got %d", r.code)
		}
		if r := b.act("/console/logout", nil, false); r.code != http.StatusUnauthorized {
			t.Errorf("POST with an expired session: %d, want 401", r.code)
		}
	})
}

func TestLoginLinkIsOneTimeAndExpires(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		jar, _ := cookiejar.New(nil)
		b := &browser{hs: hs, c: &http.Client{Jar: jar}}
		link := hs.link(engineer)
		token := strings.TrimPrefix(link, hs.srv.URL+"/console/login/link?token=")
		if r := b.get(strings.TrimPrefix(link, hs.srv.URL)); !strings.Contains(r.body, `id="login"`) {
			t.Errorf("opening the link must not spend it, only offer a button: %s", excerpt(r.body))
		}
		if r := b.post("/console/login/link", url.Values{"token": {token}}, nil); r.code != http.StatusOK || !strings.Contains(r.body, "张三") {
			t.Fatalf("first use: %d", r.code)
		}
		if r := b.post("/console/login/link", url.Values{"token": {token}}, nil); r.code != http.StatusForbidden || !strings.Contains(r.body, "登录链接无效或已过期") {
			t.Errorf("second use: %d %s", r.code, excerpt(r.body))
		}
		late := strings.TrimPrefix(hs.link(engineer), hs.srv.URL+"/console/login/link?token=")
		hs.clock.Add(console.LoginLinkTTL + time.Second)
		if r := b.post("/console/login/link", url.Values{"token": {late}}, nil); r.code != http.StatusForbidden {
			t.Errorf("expired link: %d", r.code)
		}
		if a := hs.audit(); len(a) == 0 || a[len(a)-1].Action != "login_link_created" {
			t.Errorf("link creation is audited: %+v", a)
		}
	})
}

func TestCSRFAndOriginRefused(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		id := hs.report(nurse, "OPB", "挂号机死机", models.PriorityMedium)
		b := hs.login(engineer)
		for name, h := range map[string]map[string]string{
			"no token":    {"HX-Request": "true"},
			"wrong token": {"HX-Request": "true", "X-CSRF-Token": "forged"},
			"other site":  {"HX-Request": "true", "X-CSRF-Token": b.csrf, "Origin": "https://evil.example"},
		} {
			r := b.post(path(id, "claim"), url.Values{}, h)
			if r.code != http.StatusForbidden {
				t.Errorf("%s: %d, want 403", name, r.code)
			}
		}
		if got := hs.ticket(id); got.Status != models.StatusNew || got.AssigneeID != "" {
			t.Errorf("a refused POST changed the ticket: %s %s", got.Status, got.AssigneeID)
		}
		// Another session's token does not fit this one.
		other := hs.login(engineer3)
		if r := b.post(path(id, "claim"), url.Values{"csrf": {other.csrf}}, nil); r.code != http.StatusForbidden {
			t.Errorf("another session's token: %d", r.code)
		}
	})
}

func TestClaimFromQueueLikeChat(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		id := hs.report(nurse, "OPB", "门诊收费打印不了发票", models.PriorityMedium)
		b := hs.login(engineer)
		q := b.get("/console/queue")
		mustContain(t, "queue", q.body, fmt.Sprintf(`hx-post="/console/tickets/%d/claim"`, id), "待接单", "还剩 24工作小时")
		r := b.act(path(id, "claim"), url.Values{"system": {""}, "page": {"1"}}, true)
		if r.code != http.StatusOK {
			t.Fatalf("claim: %d %s", r.code, r.body)
		}
		mustContain(t, "rows after claim", r.body, `id="queue-rows"`, "处理中", "张三", "已接单 #", `hx-swap-oob="true"`)
		got := hs.ticket(id)
		if got.Status != models.StatusClaimed || got.AssigneeID != engineer || got.ClaimedAt == nil {
			t.Errorf("ticket after claim: %s %q", got.Status, got.AssigneeID)
		}
		ev := hs.events(id)
		if last := ev[len(ev)-1]; last.Action != models.ActClaim || last.Actor != engineer {
			t.Errorf("claim event: %+v", last)
		}
		msgs := hs.outbox()
		if len(msgs[nurse]) != 1 || !strings.Contains(msgs[nurse][0], fmt.Sprintf("您的工单 #%d 已由 张三", id)) {
			t.Errorf("the reporter hears of the claim as from chat: %q", msgs[nurse])
		}
		a := hs.audit()
		if a[0].Action != "claim" || a[0].UserID != engineer || a[0].TicketID == nil || *a[0].TicketID != id || a[0].Addr != "127.0.0.1" {
			t.Errorf("audit: %+v", a[0])
		}
		// Claiming again: the chat's conflict message, as a flash.
		r = hs.login(engineer3).act(path(id, "claim"), nil, true)
		if r.code != http.StatusConflict || !strings.Contains(r.body, "已由 张三 接单") || r.header.Get("HX-Retarget") != "#flash" {
			t.Errorf("second claim: %d %q %s", r.code, r.header.Get("HX-Retarget"), r.body)
		}
	})
}

func TestAssignPriorityPause(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		id := hs.report(nurse, "OPB", "住院医嘱下达不了", models.PriorityMedium)
		eng := hs.login(engineer)
		if r := eng.act(path(id, "priority"), url.Values{"priority": {"high"}}, false); r.code != http.StatusForbidden || !strings.Contains(r.body, "只有服务主管") {
			t.Errorf("engineer sets priority: %d %s", r.code, excerpt(r.body))
		}
		sup := hs.login(supervisor)
		r := sup.act(path(id, "assign"), url.Values{"to": {engineer3}, "reason": {"需要数据库权限"}}, false)
		if r.code != http.StatusOK || !strings.Contains(r.body, "已交给") {
			t.Fatalf("assign: %d %s", r.code, excerpt(r.body))
		}
		if got := hs.ticket(id); got.AssigneeID != engineer3 {
			t.Errorf("assignee after assign: %q", got.AssigneeID)
		}
		r = sup.act(path(id, "priority"), url.Values{"priority": {"high"}, "reason": {"影响全院"}}, false)
		if r.code != http.StatusOK || !strings.Contains(r.body, "优先级改为高") {
			t.Fatalf("priority: %d %s", r.code, excerpt(r.body))
		}
		lisi := hs.login(engineer3)
		if r := lisi.act(path(id, "pause"), url.Values{"reason": {""}}, false); r.code != http.StatusUnprocessableEntity {
			t.Errorf("pause without a reason: %d", r.code)
		}
		if r := eng.act(path(id, "pause"), url.Values{"reason": {"等厂家"}}, false); r.code != http.StatusForbidden {
			t.Errorf("pausing another engineer's ticket: %d", r.code)
		}
		if r := lisi.act(path(id, "pause"), url.Values{"reason": {"等待厂家补丁"}}, false); r.code != http.StatusOK || !strings.Contains(r.body, "已挂起") {
			t.Fatalf("pause: %d %s", r.code, excerpt(r.body))
		}
		var acts []models.Action
		for _, e := range hs.events(id) {
			acts = append(acts, e.Action)
		}
		want := []models.Action{models.ActCreate, models.ActTransfer, models.ActPriority, models.ActPause}
		if fmt.Sprint(acts) != fmt.Sprint(want) {
			t.Errorf("events: %v, want %v", acts, want)
		}
		msgs := hs.outbox()
		mustContain(t, "to the new engineer", strings.Join(msgs[engineer3], "\n"), "【新工单】赵六 把工单", "需要数据库权限", "优先级改为高")
		mustContain(t, "to the reporter", strings.Join(msgs[nurse], "\n"), "改由 李四", "暂时挂起：等待厂家补丁")
		if n := len(hs.audit()); n < 4 {
			t.Errorf("audit rows: %d", n)
		}
	})
}

func TestTicketTextIsEscaped(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		evil := `<script>alert("x")</script><img src=x onerror=alert(1)>`
		id := hs.report(nurse, "OPB", evil, models.PriorityMedium)
		b := hs.login(nurse)
		for _, p := range []string{"/console/queue", fmt.Sprintf("/console/tickets/%d", id)} {
			body := b.get(p).body
			if strings.Contains(body, `<script>alert`) || strings.Contains(body, `<img src=x`) {
				t.Errorf("%s: ticket text reached the page as markup", p)
			}
			mustContain(t, p, body, `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`)
		}
	})
}

func TestQueueFiltersAndPages(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		for i := 0; i < 55; i++ {
			hs.report(nurse, "OPB", fmt.Sprintf("HIS故障%02d", i), models.PriorityLow)
		}
		hs.report(nurse, "MIC", "检验系统慢", models.PriorityHigh)
		b := hs.login(supervisor)
		p1 := b.get("/console/queue").body
		if n := strings.Count(p1, `<tr id="t`); n != 50 {
			t.Errorf("first page: %d rows, want 50", n)
		}
		mustContain(t, "page 1", p1, "第 1 / 2 页", "共 56 单")
		if n := strings.Count(b.get("/console/queue?page=2").body, `<tr id="t`); n != 6 {
			t.Errorf("second page: %d rows, want 6", n)
		}
		high := b.get("/console/queue?priority=high").body
		if n := strings.Count(high, `<tr id="t`); n != 1 || !strings.Contains(high, "检验系统慢") {
			t.Errorf("priority filter: %d rows", n)
		}
		if n := strings.Count(b.get("/console/queue?system=MIC").body, `<tr id="t`); n != 1 {
			t.Errorf("system filter: %d rows", n)
		}
		if n := strings.Count(b.get("/console/queue?engineer=-&status=new").body, `<tr id="t`); n != 50 {
			t.Errorf("unassigned filter: %d rows", n)
		}
		// Late tickets are marked by the one rule (Judge).
		hs.clock.Add(70 * time.Minute)
		late := b.get("/console/queue/rows?priority=high").body
		mustContain(t, "breached", late, `class="breached`, "响应超时")
	})
}

func TestAdminWindows(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		b := hs.login(supervisor)
		r := b.act("/console/admin/oncall", url.Values{"from": {"2026-12-01T18:00"}, "to": {"2026-12-02T08:00"}, "users": {"李四, wangwu"}, "note": {"替班"}}, false)
		if r.code != http.StatusOK || !strings.Contains(r.body, "已保存") {
			t.Fatalf("add override: %d %s", r.code, excerpt(r.body))
		}
		mustContain(t, "admin page", r.body, "李四、王五", "替班", "oncall_override_added", "configs/oncall.example.yaml", "configs/staff.example.yaml")
		for name, form := range map[string]url.Values{
			"to before from": {"from": {"2026-12-02T08:00"}, "to": {"2026-12-01T18:00"}, "users": {"lisi"}},
			"unknown person": {"from": {"2026-12-01T18:00"}, "to": {"2026-12-02T08:00"}, "users": {"nobody"}},
			"nobody":         {"from": {"2026-12-01T18:00"}, "to": {"2026-12-02T08:00"}, "users": {""}},
		} {
			r := b.act("/console/admin/oncall", form, false)
			if !strings.Contains(r.body, `class="error"`) {
				t.Errorf("%s: no error shown", name)
			}
		}
		r = b.act("/console/admin/maintenance", url.Values{"system": {"OPB"}, "from": {"2026-11-30T08:00"}, "to": {"2026-11-30T12:00"}, "note": {"升级"}}, false)
		mustContain(t, "maintenance", r.body, "已保存", "maintenance_added")
		var in bool
		hs.store.View(context.Background(), func(tx *models.Tx) error { in, _ = tx.InMaintenance("OPB"); return nil })
		if !in {
			t.Error("OPB is in maintenance at 09:00")
		}
		var ws []models.Window
		hs.store.View(context.Background(), func(tx *models.Tx) error { ws, _ = tx.Windows(false); return nil })
		if len(ws) != 1 {
			t.Fatalf("overrides: %d", len(ws))
		}
		merged := models.WithOverrides(hs.deps.OnCall, ws, hs.store.SLA().Clock().Location())
		at := time.Date(2026, 12, 1, 20, 0, 0, 0, hs.store.SLA().Clock().Location())
		if got := models.OnCallAt(merged, at, hs.store.SLA().Clock().Location()); fmt.Sprint(got) != "[lisi wangwu]" {
			t.Errorf("on call with the console's override: %v", got)
		}
		r = b.act(fmt.Sprintf("/console/admin/oncall/%d/delete", ws[0].ID), nil, false)
		mustContain(t, "delete", r.body, "已删除", "oncall_override_deleted")
		if eng := hs.login(engineer); eng.act("/console/admin/maintenance", url.Values{"system": {"OPB"}}, false).code != http.StatusForbidden {
			t.Error("an engineer may not add maintenance windows")
		}
	})
}

// fakeReports serves a report with figures from the store.
type fakeReports struct{ hs *harness }

func (f *fakeReports) XLSX(ctx context.Context, kind reports.Kind, p models.Period, w io.Writer) error {
	if kind == reports.Annual {
		return errors.New("annual report broke")
	}
	var fig *models.Figures
	err := f.hs.store.View(ctx, func(tx *models.Tx) error {
		var err error
		fig, err = tx.Figures(p, f.hs.deps.Config.Contract, 60)
		return err
	})
	if err != nil {
		return err
	}
	return reports.WriteXLSX(w, &reports.Report{Kind: reports.Monthly, Figures: fig})
}

func (f *fakeReports) Confirmations(ctx context.Context, kind reports.Kind, period string) ([]reports.Approval, error) {
	if period == "2026-10" {
		return []reports.Approval{{Approver: "xinxike", Answer: reports.AnswerConfirmed}}, nil
	}
	return nil, nil
}

func TestReports(t *testing.T) {
	fr := &fakeReports{}
	hs := newHarness(t, sqliteStore, func(d *console.Deps) { d.Reports = fr })
	fr.hs = hs
	b := hs.login(manager)
	page := b.get("/console/reports").body
	mustContain(t, "reports page", page, "2026年10月 服务月报", "已确认", "未送确认", "/console/reports/monthly/2026-10.xlsx")
	r := b.get("/console/reports/monthly/2026-10.xlsx")
	if r.code != http.StatusOK || !bytes.HasPrefix([]byte(r.body), []byte("PK")) || !strings.Contains(r.header.Get("Content-Disposition"), "opsbot-monthly-2026-10.xlsx") {
		t.Errorf("monthly download: %d %q", r.code, r.header.Get("Content-Disposition"))
	}
	if r := b.get("/console/reports/annual/2025.xlsx"); r.code != http.StatusInternalServerError || strings.Contains(r.body, "broke") {
		t.Errorf("a failing report is an apology, not the error text: %d", r.code)
	}
	if a := hs.audit(); a[0].Action != "report_download" || a[0].Detail != "monthly 2026-10" {
		t.Errorf("download audit: %+v", a[0])
	}
}

// fakeMonitor is monitoring as the wall will see it.
type fakeMonitor struct{}

func (fakeMonitor) Firing(context.Context) ([]console.Alert, error) {
	return []console.Alert{{Name: "DiskFull", System: "HIS", Severity: "critical", Summary: "<b>磁盘</b> 95%"}}, nil
}
func (fakeMonitor) Probes(context.Context) ([]console.Probe, error) {
	return []console.Probe{{Name: "his-web", System: "HIS", Up: true}, {Name: "lis-db", System: "LIS", Detail: "连接超时"}}, nil
}
func (fakeMonitor) Inspections(context.Context, time.Time) ([]console.Inspection, error) {
	return nil, errors.New("not yet")
}

func TestWall(t *testing.T) {
	hs := newHarness(t, sqliteStore, func(d *console.Deps) { d.Monitor = fakeMonitor{} })
	id := hs.report(nurse, "OPB", "全院 HIS 无法登录", models.PriorityHigh)
	hs.store.Update(context.Background(), func(tx *models.Tx) error {
		_, err := tx.MarkMajor(id, models.Actor{UserID: supervisor, Role: models.RoleSupervisor})
		return err
	})
	b := hs.login(supervisor)
	body := b.get("/console/wall").body
	mustContain(t, "wall", body, "全院 HIS 无法登录", "&lt;b&gt;磁盘&lt;/b&gt; 95%", "正常 1 · 异常 <b class=\"breached\">1</b>", "lis-db", "巡检数据暂时读不到", `hx-trigger="every 30s"`)
	plain := newHarness(t, sqliteStore)
	mustContain(t, "wall without monitoring", plain.login(supervisor).get("/console/wall").body, "监控尚未接入")
}

// fakeWeCom exchanges codes like WeCom's auth/getuserinfo.
type fakeWeCom map[string]string

func (f fakeWeCom) UserIDFromCode(_ context.Context, code string) (string, error) {
	if u, ok := f[code]; ok {
		return u, nil
	}
	return "", errors.New("invalid code")
}

func TestWeComLogin(t *testing.T) {
	hs := newHarness(t, sqliteStore, func(d *console.Deps) {
		d.WeCom = fakeWeCom{"good": supervisor}
		d.Config.Console.OAuth, d.Config.Console.QRLogin = true, true
		d.Config.Console.BaseURL = "https://ops.example.cn"
		d.Config.WeCom.CorpID, d.Config.WeCom.AgentID = "ww123", 1000002
	})
	b := hs.login(nurse) // a jar; the WeCom login replaces the session
	b.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	mustContain(t, "login page", b.get("/console/login").body, "在企业微信中登录", "企业微信扫码登录")
	r := b.get("/console/login/wecom")
	loc, _ := url.Parse(r.header.Get("Location"))
	if r.code != http.StatusFound || loc.Host != "open.weixin.qq.com" || loc.Query().Get("appid") != "ww123" || loc.Query().Get("agentid") != "1000002" ||
		loc.Query().Get("redirect_uri") != "https://ops.example.cn/console/login/callback" || loc.Fragment != "wechat_redirect" {
		t.Fatalf("OAuth redirect: %d %s", r.code, r.header.Get("Location"))
	}
	if r := b.get("/console/login/callback?code=good&state=forged"); !strings.Contains(r.header.Get("Location"), "error=state") {
		t.Errorf("forged state: %s", r.header.Get("Location"))
	}
	r = b.get("/console/login/qr")
	qr, _ := url.Parse(r.header.Get("Location"))
	if qr.Host != "login.work.weixin.qq.com" || qr.Query().Get("login_type") != "CorpApp" {
		t.Errorf("QR redirect: %s", r.header.Get("Location"))
	}
	state := qr.Query().Get("state")
	if r := b.get("/console/login/callback?code=bad&state=" + state); !strings.Contains(r.header.Get("Location"), "error=code") {
		t.Errorf("bad code: %s", r.header.Get("Location"))
	}
	b.get("/console/login/qr")
	r = b.get("/console/login/qr")
	qr, _ = url.Parse(r.header.Get("Location"))
	r = b.get("/console/login/callback?code=good&state=" + qr.Query().Get("state"))
	if r.code != http.StatusSeeOther || r.header.Get("Location") != "/console/queue" {
		t.Fatalf("callback: %d %s", r.code, r.header.Get("Location"))
	}
	if page := b.get("/console/admin"); page.code != http.StatusOK {
		t.Errorf("signed in by WeCom as the supervisor: %d", page.code)
	}
	if a := hs.audit(); a[0].Action != "login" || a[0].UserID != supervisor || a[0].Detail != "wecom" {
		t.Errorf("login audit: %+v", a[0])
	}
}

func TestLogout(t *testing.T) {
	hs := newHarness(t, sqliteStore)
	b := hs.login(engineer)
	if r := b.act("/console/logout", nil, false); !strings.Contains(r.body, "登录运维服务台") {
		t.Errorf("logout: %d", r.code)
	}
	if r := b.get("/console/queue"); !strings.Contains(r.body, "登录运维服务台") {
		t.Error("the session survived the logout")
	}
}

// TestDashboardAgreesWithFigures: the dashboard's one-pass figures equal
// Figures' for the same period (the one rule of docs/kpi.md).
func TestDashboardAgreesWithFigures(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		ctx := context.Background()
		loc := hs.store.SLA().Clock().Location()
		eng := models.Actor{UserID: engineer, Name: "张三", Role: models.RoleEngineer, Level: 2}
		rep := models.Actor{UserID: nurse, Role: models.RoleReporter}
		var ids []int64
		for i, p := range []models.Priority{models.PriorityHigh, models.PriorityMedium, models.PriorityLow, models.PriorityHigh, models.PriorityMedium, models.PriorityLow} {
			ids = append(ids, hs.report(nurse, []string{"OPB", "REG", "MIC"}[i%3], fmt.Sprintf("故障%d", i), p))
		}
		policy := models.RatingPolicy{ChangeWindow: time.Hour, RemindAfter: time.Hour, ExpireAfter: 48 * time.Hour, AlertAtOrBelow: 60}
		step := func(fn func(tx *models.Tx) error) {
			t.Helper()
			if err := hs.store.Update(ctx, fn); err != nil {
				t.Fatal(err)
			}
		}
		hs.clock.Add(30 * time.Minute)
		step(func(tx *models.Tx) error { _, err := tx.Claim(ids[0], eng); return err })
		hs.clock.Add(2 * time.Hour)
		step(func(tx *models.Tx) error { _, err := tx.Claim(ids[1], eng); return err })
		step(func(tx *models.Tx) error { _, err := tx.Resolve(ids[0], eng, "重启服务"); return err })
		step(func(tx *models.Tx) error {
			tk, err := tx.Close(ids[0], rep, true, "")
			if err != nil {
				return err
			}
			if _, err := tx.AskRating(tk, policy); err != nil {
				return err
			}
			score, _ := models.ScoreFor("满意")
			_, _, err = tx.Rate(ids[0], rep, score, "", policy)
			return err
		})
		step(func(tx *models.Tx) error { _, err := tx.Pause(ids[1], eng, "等厂家"); return err })
		step(func(tx *models.Tx) error { _, err := tx.Cancel(ids[5], rep, "重复"); return err })
		hs.clock.Add(30 * time.Hour)
		for _, p := range []models.Period{models.MonthPeriod(2026, 11, loc), models.YearPeriod(2026, loc), models.MonthPeriod(2026, 10, loc)} {
			var f *models.Figures
			var d *models.DashboardFigures
			step(func(tx *models.Tx) error {
				var err error
				if f, err = tx.Figures(p, hs.deps.Config.Contract, 60); err != nil {
					return err
				}
				var focus *models.Period
				if p.Label != "2026年" {
					focus = &p
				}
				d, err = tx.Dashboard(models.YearPeriod(2026, loc), focus, hs.deps.Config.Contract, 60, loc)
				return err
			})
			want := fmt.Sprint(f.Created, f.Cancelled, f.Open, f.Resolved, f.OpenBreached, f.BreachedTotal, f.ResolutionRate, f.OnTimeRate, f.ResponseOnTimeRate, f.OnsiteOnTimeRate, f.Satisfaction, f.AvgResponse, f.BySystem, f.ByEngineer)
			got := fmt.Sprint(d.Created, d.Cancelled, d.Open, d.Resolved, d.OpenBreached, d.BreachedTotal, d.ResolutionRate, d.OnTimeRate, d.ResponseOnTimeRate, d.OnsiteOnTimeRate, d.Satisfaction, d.AvgResponse, d.BySystem, d.ByEngineer)
			if got != want {
				t.Errorf("%s: dashboard\n %s\nfigures\n %s", p.Label, got, want)
			}
			if p.Label == "2026年" && (len(d.Trend) != 12 || d.Trend[10].Created != 5 || d.Trend[9].Created != 0) {
				t.Errorf("trend: %+v", d.Trend)
			}
		}
	})
}
