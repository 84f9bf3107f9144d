package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"opsbot/configs"
	"opsbot/models"
	"opsbot/models/modelstest"
	"opsbot/reports"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/xuri/excelize/v2"
)

// runCLI runs one opsbot command with env and stdin.
func runCLI(t *testing.T, env map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb, func(k string) string { return env[k] })
	return code, out.String(), errb.String()
}

func cliDatabases(t *testing.T) map[string]map[string]string {
	dbs := map[string]map[string]string{
		"sqlite": {"OPSBOT_DB": filepath.Join(t.TempDir(), "opsbot.db")},
	}
	dsn, drop, err := modelstest.FreshSchema(modelstest.PostgresURL())
	if err != nil {
		modelstest.Unreachable(t, "PostgreSQL", err)
		return dbs
	}
	t.Cleanup(drop)
	dbs["postgres"] = map[string]string{"OPSBOT_DB": dsn}
	return dbs
}

func TestChatReportListClaimAndTicketJSON(t *testing.T) {
	for name, env := range cliDatabases(t) {
		t.Run(name, func(t *testing.T) {
			code, out, errs := runCLI(t, env, "报修 门诊收费 3号窗口打印不了发票\n我的工单\n", "chat", "--user", "nurse01")
			if code != 0 {
				t.Fatalf("chat exit %d: %s", code, errs)
			}
			i := strings.Index(out, "已登记工单 #1")
			j := strings.Index(out, "#1［待接单］门急诊收费")
			if i < 0 || j < i {
				t.Fatalf("chat output:\n%s", out)
			}
			code, out, errs = runCLI(t, env, "", "ticket", "1", "--json")
			if code != 0 {
				t.Fatalf("ticket exit %d: %s", code, errs)
			}
			var tk struct {
				Number   int64  `json:"number"`
				Status   string `json:"status"`
				System   string `json:"system"`
				Reporter string `json:"reporter"`
				Events   []struct {
					Action, Actor, From, To string
				} `json:"events"`
			}
			if err := json.Unmarshal([]byte(out), &tk); err != nil {
				t.Fatalf("ticket json: %v\n%s", err, out)
			}
			if tk.Number != 1 || tk.Status != "new" || tk.System != "OPB" || tk.Reporter != "nurse01" || len(tk.Events) != 1 {
				t.Fatalf("ticket %+v", tk)
			}
			for _, key := range []string{`"due_response"`, `"due_onsite"`, `"due_resolution"`, `"created_at"`, `"priority"`, `"kind"`, `"assignee"`} {
				if !strings.Contains(out, key) {
					t.Errorf("ticket JSON lacks %s", key)
				}
			}
			code, out, _ = runCLI(t, env, "接单 1\n@zhangsan 接单 1\n", "chat", "--user", "nurse01")
			if code != 0 || !strings.Contains(out, "是服务工程师的命令") || !strings.Contains(out, "→ nurse01：您的工单 #1 已由 张三") {
				t.Fatalf("claim output:\n%s", out)
			}
			_, out, _ = runCLI(t, env, "", "ticket", "1", "--json")
			json.Unmarshal([]byte(out), &tk)
			if tk.Status != "claimed" || len(tk.Events) != 2 || tk.Events[1].Action != "claim" || tk.Events[1].Actor != "zhangsan" {
				t.Fatalf("after claim %+v", tk)
			}
			_, out, _ = runCLI(t, env, "", "tickets", "--status", "open")
			if !strings.Contains(out, "#1") || !strings.Contains(out, "claimed") {
				t.Fatalf("tickets:\n%s", out)
			}
		})
	}
}

func TestBadSetupExitsWithAClearMessage(t *testing.T) {
	dir := t.TempDir()
	badStaff := filepath.Join(dir, "staff.yaml")
	os.WriteFile(badStaff, []byte("staff:\n  - userid: a\n    name: 甲\n    role: boss\n    level: 2\n"), 0o644)
	badConfig := filepath.Join(dir, "config.yaml")
	os.WriteFile(badConfig, []byte("http_adr: \":8080\"\n"), 0o644)
	db := filepath.Join(dir, "x.db")
	cases := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"unknown config key", map[string]string{"OPSBOT_CONFIG": badConfig}, []string{"config.yaml", "http_adr"}},
		{"missing config file", map[string]string{"OPSBOT_CONFIG": filepath.Join(dir, "none.yaml")}, []string{"none.yaml"}},
		{"bad DSN scheme", map[string]string{"OPSBOT_DB": "mysql://root@localhost/x"}, []string{"OPSBOT_DB", "mysql"}},
		{"unreachable postgres", map[string]string{"OPSBOT_DB": "postgres://nobody:hunter2@127.0.0.1:1/x?sslmode=disable"}, []string{"postgres", "127.0.0.1:1", "connection refused"}},
		{"bad staff file", map[string]string{"OPSBOT_DB": db, "OPSBOT_STAFF_FILE": badStaff}, []string{"staff.yaml", "line 2", "role \"boss\""}},
		{"missing staff file", map[string]string{"OPSBOT_DB": db, "OPSBOT_STAFF_FILE": filepath.Join(dir, "no.yaml")}, []string{"no.yaml"}},
		{"bad time zone", map[string]string{"OPSBOT_TZ": "Mars/Olympus"}, []string{"OPSBOT_TZ", "Mars/Olympus"}},
		{"half a WeCom setup", map[string]string{"OPSBOT_DB": db, "OPSBOT_WECOM_CORP_ID": "ww1"}, []string{"OPSBOT_WECOM_AGENT_ID", "OPSBOT_WECOM_AES_KEY"}},
		{"bad agent id", map[string]string{"OPSBOT_WECOM_AGENT_ID": "abc"}, []string{"OPSBOT_WECOM_AGENT_ID", "abc"}},
		{"AES key of the right length but not base64", map[string]string{"OPSBOT_DB": db, "OPSBOT_WECOM_CORP_ID": "ww1", "OPSBOT_WECOM_AGENT_ID": "1000002",
			"OPSBOT_WECOM_SECRET": "s", "OPSBOT_WECOM_TOKEN": "t", "OPSBOT_WECOM_AES_KEY": strings.Repeat("!", 43), "OPSBOT_STAFF_FILE": "configs/staff.example.yaml"},
			[]string{"OPSBOT_WECOM_AES_KEY", "base64"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errs := runCLI(t, c.env, "", "chat", "--user", "nurse01")
			if code == 0 {
				t.Fatal("exit 0")
			}
			for _, w := range c.want {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
			if strings.Contains(errs, "goroutine") || strings.Contains(errs, "panic") || strings.Contains(errs, "hunter2") {
				t.Errorf("stderr shows a stack trace or a secret:\n%s", errs)
			}
		})
	}
}

func TestUsageAndVersion(t *testing.T) {
	code, out, _ := runCLI(t, nil, "")
	if code != 2 || !strings.Contains(out, "opsbot chat --user") {
		t.Fatalf("no args: %d %s", code, out)
	}
	code, out, _ = runCLI(t, nil, "", "version")
	if code != 0 || !strings.HasPrefix(out, "opsbot ") {
		t.Fatalf("version: %d %s", code, out)
	}
	code, _, errs := runCLI(t, nil, "", "frobnicate")
	if code != 2 || !strings.Contains(errs, "未知命令") {
		t.Fatalf("unknown command: %d %s", code, errs)
	}
	env := map[string]string{"OPSBOT_DB": filepath.Join(t.TempDir(), "m.db")}
	code, out, _ = runCLI(t, env, "", "migrate")
	if code != 0 || !strings.Contains(out, "本次升级 ") || strings.Contains(out, "本次升级 0 步") {
		t.Fatalf("migrate: %d %s", code, out)
	}
	code, out, _ = runCLI(t, env, "", "migrate")
	if code != 0 || !strings.Contains(out, "本次升级 0 步") {
		t.Fatalf("second migrate: %d %s", code, out)
	}
}

func TestSLACommands(t *testing.T) {
	code, out, errs := runCLI(t, nil, "", "sla", "due", "--priority", "high", "--at", "2026-09-30 17:00", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, w := range []string{`"response": "2026-09-30T18:00:00+08:00"`, `"onsite": "2026-09-30T19:00:00+08:00"`, `"resolve": "2026-10-08T17:00:00+08:00"`} {
		if !strings.Contains(strings.ReplaceAll(out, `":"`, `": "`), w) {
			t.Errorf("want %s in\n%s", w, out)
		}
	}
	code, out, _ = runCLI(t, nil, "", "sla", "calendar", "2026-10")
	if code != 0 || !strings.Contains(out, "2026-10-09") || !strings.Contains(out, "2026-10-10") || strings.Contains(out, "2026-10-05") {
		t.Fatalf("calendar %d:\n%s", code, out)
	}
	code, _, errs = runCLI(t, nil, "", "sla", "due", "--priority", "urgent", "--at", "2026-09-30 17:00")
	if code != 2 || !strings.Contains(errs, "例如") {
		t.Fatalf("bad priority: %d %s", code, errs)
	}
}

func TestCalendarWarningFromDecember(t *testing.T) {
	cfg := configs.Default()
	sla, err := models.LoadSLA(cfg.SLA, cfg.Location())
	if err != nil {
		t.Fatal(err)
	}
	gauge := prometheus.NewGauge(prometheus.GaugeOpts{Name: "g"})
	s := &server{app: &app{cfg: cfg, sla: sla}, calWarn: gauge}
	s.clock = func() time.Time { return time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC) }
	if w := s.calendarWarning(); w != "" || testutil.ToFloat64(gauge) != 0 {
		t.Fatalf("2027 is known, yet: %q", w)
	}
	s.clock = func() time.Time { return time.Date(2027, 12, 5, 9, 0, 0, 0, time.UTC) }
	if w := s.calendarWarning(); !strings.Contains(w, "2028 年法定节假日未知") || testutil.ToFloat64(gauge) != 1 {
		t.Fatalf("December 2027 without 2028 data: %q", w)
	}
}

// TestChatRefusesAProductionConfig: opsbot chat on a host wired to WeCom
// would process the real inbox and mark real messages as sent; it refuses
// unless --force, and with --force it touches only its own messages.
func TestChatRefusesAProductionConfig(t *testing.T) {
	db := filepath.Join(t.TempDir(), "prod.db")
	env := map[string]string{"OPSBOT_DB": db, "OPSBOT_WECOM_CORP_ID": "ww1", "OPSBOT_WECOM_AGENT_ID": "1000002",
		"OPSBOT_WECOM_SECRET": "s", "OPSBOT_WECOM_TOKEN": "t", "OPSBOT_WECOM_AES_KEY": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
		"OPSBOT_STAFF_FILE": "configs/staff.example.yaml", "OPSBOT_ONCALL_FILE": "configs/oncall.example.yaml"}
	code, out, errs := runCLI(t, env, "报修 门诊收费打印不了发票\n", "chat", "--user", "nurse01")
	if code == 0 || !strings.Contains(errs, "生产环境") || !strings.Contains(errs, "--force") || strings.Contains(out, "已登记") {
		t.Fatalf("chat on a WeCom config: exit %d\n%s\n%s", code, out, errs)
	}
	// Real traffic waiting in the production database.
	ctx := context.Background()
	sla, _ := models.LoadSLA(configs.DefaultSLA(), modelstest.Shanghai)
	s, err := models.Open(ctx, "sqlite", db, models.Options{SLA: sla})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	s.Update(ctx, func(tx *models.Tx) error {
		return tx.Send(models.Message{To: "lisi", Text: "真实的提醒", Key: "rem:real"})
	})
	s.AcceptInbox(ctx, []models.InboxItem{{Key: "msg:real", User: "nurse09", MsgType: "text", Payload: []byte(`{"Key":"msg:real","User":"nurse09","Type":"text","Text":"HIS打不开"}`)}})
	s.Close()

	code, out, errs = runCLI(t, env, "报修 门诊收费 3号窗口打印不了发票\n", "chat", "--user", "nurse01", "--force")
	if code != 0 || !strings.Contains(out, "已登记工单 #1") {
		t.Fatalf("chat --force: exit %d\n%s\n%s", code, out, errs)
	}
	if strings.Contains(out, "真实的提醒") || strings.Contains(out, "nurse09") {
		t.Fatalf("chat --force showed someone else's traffic:\n%s", out)
	}
	s, _ = models.Open(ctx, "sqlite", db, models.Options{SLA: sla})
	defer s.Close()
	m, err := s.OutboxByKey(ctx, "rem:real")
	if err != nil || m.Status != models.OutboxPending {
		t.Fatalf("the real reminder was touched: %+v %v", m, err)
	}
	pending, err := s.PendingInbox(ctx, time.Now().Add(time.Hour), 0, 10)
	if err != nil || len(pending) != 1 || pending[0].Key != "msg:real" {
		t.Fatalf("the real message was processed: %+v %v", pending, err)
	}
}

// TestReportCLI: opsbot report writes the figures as JSON (rates as
// fractions) and the XLSX with its sheets, on both databases.
func TestReportCLI(t *testing.T) {
	for name, env := range cliDatabases(t) {
		t.Run(name, func(t *testing.T) {
			code, out, errs := runCLI(t, env, "报修 门诊收费 3号窗口打印不了发票\n@zhangsan 接单 1\n@zhangsan 解决 1 重装驱动\n/click confirm:1:yes\n/click rate:1:80\n报修 检验系统打不开 检验科\n", "chat", "--user", "nurse01")
			if code != 0 {
				t.Fatalf("chat: %d %s %s", code, out, errs)
			}
			month := time.Now().In(modelstest.Shanghai).Format("2006-01")
			code, out, errs = runCLI(t, env, "", "report", "monthly", "--month", month, "--json")
			if code != 0 {
				t.Fatalf("report --json: %d %s", code, errs)
			}
			var f map[string]any
			if err := json.Unmarshal([]byte(out), &f); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, out)
			}
			if f["created"] != 2.0 || f["resolved"] != 1.0 || f["resolution_rate"] != 0.5 || f["rated"] != 1.0 || f["satisfaction"] != 80.0 {
				t.Fatalf("figures %v", f)
			}
			for _, k := range []string{"on_time_rate", "response_on_time_rate"} {
				if _, ok := f[k]; !ok {
					t.Errorf("key %s missing", k)
				}
			}
			xlsx := filepath.Join(t.TempDir(), "m.xlsx")
			code, _, errs = runCLI(t, env, "", "report", "monthly", "--month", month, "--out", xlsx)
			if code != 0 {
				t.Fatalf("report --out: %d %s", code, errs)
			}
			x, err := excelize.OpenFile(xlsx)
			if err != nil {
				t.Fatal(err)
			}
			if rows, _ := x.GetRows(reports.SheetTickets); len(rows) != 3 {
				t.Fatalf("ticket sheet rows %d", len(rows))
			}
			// The figures were computed beside the streaming ticket sheet
			// and still reached the summary: 2 tickets, 1 rated 80.
			summary, _ := x.GetRows(reports.SheetSummary)
			var total, satisfaction string
			for _, row := range summary {
				if len(row) > 1 && row[0] == "工单总数" {
					total = row[1]
				}
				if len(row) > 4 && row[0] == "满意度" {
					satisfaction = row[4]
				}
			}
			if total != "2" || satisfaction != "已评价 1 / 邀请 1" {
				t.Errorf("summary sheet: 工单总数 %q, 满意度 %q", total, satisfaction)
			}
			code, _, errs = runCLI(t, env, "", "report", "weekly")
			if code != 2 || !strings.Contains(errs, "opsbot report monthly") {
				t.Fatalf("bad kind: %d %s", code, errs)
			}
		})
	}
}
