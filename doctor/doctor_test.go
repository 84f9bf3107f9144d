package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"opsbot/bot"
	"opsbot/bot/wecomtest"
	"opsbot/models"
	"opsbot/models/modelstest"
)

// validAESKey is Tencent's sample EncodingAESKey.
const validAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"

// install is a test installation: a folder with a config, a roster and a
// rota, and the fake WeCom its config points at.
type install struct {
	dir  string
	vars map[string]string
	fake *wecomtest.Server
	api  string // the API base the config names (the fake, or a front of it)
}

const testStaff = `staff:
  - {userid: zhangsan, name: 张三, role: engineer, level: 2, systems: []}
  - {userid: lisi, name: 李四, role: engineer, level: 3, systems: [HIS]}
  - {userid: zhaoliu, name: 赵六, role: supervisor, level: 3}
`

const testRota = `rotation:
  start: 2026-11-30
  handover: "08:00"
  weeks:
    - [zhangsan]
    - [lisi]
`

// newInstall writes a complete, valid installation against a fresh fake.
func newInstall(t *testing.T) *install {
	t.Helper()
	fake := wecomtest.New()
	t.Cleanup(fake.Close)
	in := &install{dir: t.TempDir(), fake: fake, api: fake.URL}
	for _, id := range []string{"zhangsan", "lisi", "zhaoliu"} {
		fake.AddUser(id, id)
	}
	in.write("staff.yaml", testStaff)
	in.write("oncall.yaml", testRota)
	in.vars = map[string]string{
		"OPSBOT_DB":             filepath.Join(in.dir, "opsbot.db"),
		"OPSBOT_STAFF_FILE":     filepath.Join(in.dir, "staff.yaml"),
		"OPSBOT_ONCALL_FILE":    filepath.Join(in.dir, "oncall.yaml"),
		"OPSBOT_WECOM_CORP_ID":  wecomtest.CorpID,
		"OPSBOT_WECOM_AGENT_ID": fmt.Sprint(wecomtest.AgentID),
		"OPSBOT_WECOM_SECRET":   wecomtest.Secret,
		"OPSBOT_WECOM_TOKEN":    "QDG6eK",
		"OPSBOT_WECOM_AES_KEY":  validAESKey,
		"OPSBOT_WECOM_API_BASE": fake.URL,
	}
	return in
}

func (in *install) write(name, content string) string {
	p := filepath.Join(in.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		panic(err)
	}
	return p
}

// front puts a handler before the fake: answer returns false to let the
// fake answer.
func (in *install) front(t *testing.T, answer func(w http.ResponseWriter, r *http.Request) bool) {
	t.Helper()
	target, _ := url.Parse(in.fake.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !answer(w, r) {
			proxy.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	in.api = srv.URL
	in.vars["OPSBOT_WECOM_API_BASE"] = srv.URL
}

// run runs All with the installation's environment at now.
func (in *install) run(t *testing.T, now time.Time, mod func(*Env)) Report {
	t.Helper()
	env := &Env{Getenv: func(k string) string { return in.vars[k] }, Now: func() time.Time { return now }}
	if mod != nil {
		mod(env)
	}
	return Runner{Checks: All()}.Run(context.Background(), env)
}

// result finds one check's result.
func result(t *testing.T, rep Report, name string) Result {
	t.Helper()
	for _, r := range rep.Results {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no result %q in %+v", name, rep.Results)
	return Result{}
}

func wantStatus(t *testing.T, r Result, want Status, words ...string) {
	t.Helper()
	text := r.Summary + "\n" + r.Fix + "\n" + r.Detail
	if r.Status != want {
		t.Errorf("%s: status %s, want %s: %s", r.Name, r.Status, want, text)
	}
	for _, w := range words {
		if !strings.Contains(text, w) {
			t.Errorf("%s: %q missing from %q", r.Name, w, text)
		}
	}
}

// migrated creates and migrates the installation's SQLite database.
func (in *install) migrated(t *testing.T) {
	t.Helper()
	s, err := models.Open(context.Background(), "sqlite", in.vars["OPSBOT_DB"], models.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// realNow is the wall clock, for the checks compared with the fake's Date.
func realNow() time.Time { return time.Now() }

func TestHealthyInstallationPasses(t *testing.T) {
	in := newInstall(t)
	in.migrated(t)
	rep := in.run(t, realNow(), nil)
	for _, r := range rep.Results {
		switch r.Name {
		case "redis": // no Redis configured: a warning by design
			wantStatus(t, r, Warn, "一个副本")
		case "roster":
			wantStatus(t, r, OK, "2 名工程师、1 名主管", "今晚值班：")
		default:
			wantStatus(t, r, OK)
		}
	}
	if !rep.OK || rep.Counts.OK != 9 || rep.Counts.Warn != 1 {
		t.Errorf("report ok=%v counts=%+v", rep.OK, rep.Counts)
	}
	if len(in.fake.CallsTo("user/get")) != 3 {
		t.Errorf("user/get calls: %d, want a sample of 3", len(in.fake.CallsTo("user/get")))
	}
}

func TestRunnerSurvivesPanicAndTimeout(t *testing.T) {
	ran := false
	checks := []Check{
		{Name: "boom", Title: "崩溃", Run: func(context.Context, *Env) Result { panic("nil map") }},
		{Name: "slow", Title: "超时", Timeout: 20 * time.Millisecond, Run: func(ctx context.Context, _ *Env) Result {
			time.Sleep(5 * time.Second) // ignores its context: the runner must move on anyway
			return Result{Status: OK}
		}},
		{Name: "next", Title: "下一项", Run: func(context.Context, *Env) Result { ran = true; return Result{Status: OK, Summary: "好"} }},
	}
	start := time.Now()
	rep := Runner{Checks: checks}.Run(context.Background(), &Env{})
	if time.Since(start) > 3*time.Second {
		t.Errorf("runner waited %s for a stuck check", time.Since(start))
	}
	wantStatus(t, result(t, rep, "boom"), Fail, "panic", "nil map")
	wantStatus(t, result(t, rep, "slow"), Fail, "超过 20ms")
	if !ran || rep.OK || rep.Counts.Fail != 2 {
		t.Errorf("ran=%v ok=%v counts=%+v", ran, rep.OK, rep.Counts)
	}
	var b bytes.Buffer
	rep.WriteText(&b)
	if !strings.Contains(b.String(), "❌ 崩溃") || !strings.Contains(b.String(), "✅ 下一项") || !strings.Contains(b.String(), "2 项未通过") {
		t.Errorf("text:\n%s", b.String())
	}
}

func TestNoConfigAtAllIsAReport(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	rep := Runner{Checks: All()}.Run(context.Background(), &Env{Getenv: func(string) string { return "" }})
	wantStatus(t, result(t, rep, "config"), Warn, "没有配置文件", "opsbot init")
	wantStatus(t, result(t, rep, "database"), Warn, "还不存在")
	wantStatus(t, result(t, rep, "wecom_app"), Warn, "未配置企业微信")
	if !rep.OK {
		t.Errorf("defaults must not fail: %+v", rep.Results)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Errorf("doctor created the database folder: %v", err)
	}
}

func TestUnknownKeyIsNamedAndLaterChecksSkip(t *testing.T) {
	in := newInstall(t)
	in.vars["OPSBOT_CONFIG"] = in.write("config.yaml", "tz: Asia/Shanghai\nwecom:\n  agentid: 5\n")
	rep := in.run(t, realNow(), nil)
	wantStatus(t, result(t, rep, "config"), Fail, "wecom.agentid", "第 3 行", "config.example.yaml")
	for _, name := range []string{"database", "wecom_app", "callback", "roster", "clock"} {
		r := result(t, rep, name)
		if r.Status != Warn || !r.Skipped {
			t.Errorf("%s after an unreadable config: %s %q, want skipped", name, r.Status, r.Summary)
		}
	}
}

func TestGetTokenErrcodesAreExplained(t *testing.T) {
	for _, tc := range []struct {
		code  int
		msg   string
		words []string
	}{
		{40013, "invalid corpid", []string{"企业ID 不对", "40013", "我的企业"}},
		{40001, "invalid credential", []string{"Secret 不对", "40001", "Secret 查看"}},
		{40091, "secret is invalid", []string{"Secret 不对", "40091"}},
		{60020, "not allow to access from your ip, hint: [1700000000_11_abc], from ip: 203.0.113.7, more info at https://open.work.weixin.qq.com/devtool/query?e=60020",
			[]string{"60020", "203.0.113.7", "企业可信IP", "加入 203.0.113.7"}},
		{60020, "not allow to access from your ip", []string{"60020", "加入本机的出口 IP"}},
		{48002, "api forbidden", []string{"错误码 48002", "devtool/query?e=48002"}},
	} {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			in := newInstall(t)
			in.front(t, func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != "/cgi-bin/gettoken" {
					return false
				}
				fmt.Fprintf(w, `{"errcode":%d,"errmsg":%q}`, tc.code, tc.msg)
				return true
			})
			rep := in.run(t, realNow(), nil)
			wantStatus(t, result(t, rep, "wecom_app"), Fail, tc.words...)
			// The next checks still run: the callback needs no token.
			wantStatus(t, result(t, rep, "callback"), OK)
			if r := result(t, rep, "wecom_users"); !r.Skipped {
				t.Errorf("users without a token: %+v", r)
			}
			if rep.OK {
				t.Error("report OK with a failed gettoken")
			}
		})
	}
	t.Run("fake", func(t *testing.T) {
		in := newInstall(t)
		in.fake.Fail("gettoken", 40001, 1)
		wantStatus(t, result(t, in.run(t, realNow(), nil), "wecom_app"), Fail, "Secret 不对")
	})
	t.Run("unreachable", func(t *testing.T) {
		in := newInstall(t)
		in.vars["OPSBOT_WECOM_API_BASE"] = "http://127.0.0.1:1"
		r := result(t, in.run(t, realNow(), nil), "wecom_app")
		wantStatus(t, r, Fail, "连不上", "api_base")
		if strings.Contains(r.Detail, wecomtest.Secret) {
			t.Errorf("secret in the report: %s", r.Detail)
		}
	})
}

func TestUsersOutsideTheVisibleRange(t *testing.T) {
	in := newInstall(t)
	in.fake = wecomtest.New()
	t.Cleanup(in.fake.Close)
	in.vars["OPSBOT_WECOM_API_BASE"] = in.fake.URL
	in.fake.AddUser("zhaoliu", "赵六")
	in.fake.AddUser("zhangsan", "张三")
	rep := in.run(t, realNow(), nil)
	wantStatus(t, result(t, rep, "wecom_users"), Fail, "lisi（李四）", "60111", "可见范围", "1 人查不到")
}

// stubInbox satisfies bot.NewReceiver; URL verification stores nothing.
type stubInbox struct{}

func (stubInbox) Accept(context.Context, bot.Incoming) (bool, error) { return false, nil }

// receiverServer runs opsbot's callback receiver with token and key.
func receiverServer(t *testing.T, token, key string) string {
	t.Helper()
	c, err := bot.NewCrypto(token, key, wecomtest.CorpID)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/wecom/callback", bot.NewReceiver(bot.ReceiverConfig{Crypto: c, Inbox: stubInbox{}}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestCallback(t *testing.T) {
	t.Run("bad key", func(t *testing.T) {
		in := newInstall(t)
		in.vars["OPSBOT_WECOM_AES_KEY"] = strings.Repeat("!", 43)
		rep := in.run(t, realNow(), nil)
		wantStatus(t, result(t, rep, "config"), Fail, "aes_key")
		wantStatus(t, result(t, rep, "callback"), Fail, "EncodingAESKey", "接收消息")
	})
	t.Run("url answers", func(t *testing.T) {
		in := newInstall(t)
		base := receiverServer(t, "QDG6eK", validAESKey)
		rep := in.run(t, realNow(), func(e *Env) { e.CallbackURL = base + "/wecom/callback" })
		wantStatus(t, result(t, rep, "callback"), OK, "得到正确回答")
	})
	t.Run("url with another pair", func(t *testing.T) {
		in := newInstall(t)
		base := receiverServer(t, "another-token", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
		rep := in.run(t, realNow(), func(e *Env) { e.CallbackURL = base + "/wecom/callback" })
		wantStatus(t, result(t, rep, "callback"), Fail, "403", "Token、EncodingAESKey")
	})
	t.Run("url wrong path", func(t *testing.T) {
		in := newInstall(t)
		base := receiverServer(t, "QDG6eK", validAESKey)
		rep := in.run(t, realNow(), func(e *Env) { e.CallbackURL = base + "/callback" })
		wantStatus(t, result(t, rep, "callback"), Fail, "404", "/wecom/callback")
	})
}

// knows is a calendar that knows the listed years.
type knows []int

func (k knows) KnowsYear(y int) bool {
	for _, x := range k {
		if x == y {
			return true
		}
	}
	return false
}

func TestCalendar(t *testing.T) {
	at := func(s string) time.Time {
		tm, _ := time.ParseInLocation(time.DateOnly, s, modelstest.Shanghai)
		return tm.Add(10 * time.Hour)
	}
	wantStatus(t, calendarResult(knows{2026}, at("2026-10-31")), OK, "10–11 月公布")
	wantStatus(t, calendarResult(knows{2026}, at("2026-11-15")), Warn, "2027 年", "configs/calendar.yaml", "docs/sla.md")
	wantStatus(t, calendarResult(knows{2026}, at("2026-12-20")), Warn, "2027 年")
	wantStatus(t, calendarResult(knows{2025}, at("2026-01-05")), Fail, "2026 年（今年）")
	wantStatus(t, calendarResult(knows{2026, 2027}, at("2026-11-15")), OK)

	// Through the whole doctor, with a calendar that lacks 2027.
	in := newInstall(t)
	rep := in.run(t, at("2026-11-15"), func(e *Env) { e.Calendar = knows{2026} })
	wantStatus(t, result(t, rep, "calendar"), Warn, "2027")
	// The calendar opsbot ships (lunar-go v1.4.7) knows 2027 but not 2028.
	rep = in.run(t, at("2027-11-15"), nil)
	wantStatus(t, result(t, rep, "calendar"), Warn, "2028", "configs/calendar.yaml")
}

func TestRosterHoles(t *testing.T) {
	in := newInstall(t)
	in.write("staff.yaml", `staff:
  - {userid: zhangsan, name: 张三, role: engineer, level: 2, systems: [HIS]}
  - {userid: lisi, name: 李四, role: engineer, level: 3, systems: [不存在的系统XYZ]}
  - {userid: qianqi, name: 钱七, role: account_manager, level: 3}
`)
	in.write("oncall.yaml", `rotation:
  start: 2026-11-30
  handover: "08:00"
  weeks:
    - [wangwu]
`)
	rep := in.run(t, modelstest.Monday9, nil)
	wantStatus(t, result(t, rep, "roster"), Fail,
		"lisi（李四，第 3 行）：系统目录里没有 不存在的系统XYZ，此人不负责任何系统",
		"没有服务主管",
		"没有工程师负责：",
		"今晚值班的 wangwu 不在人员名单里")

	in.write("oncall.yaml", `overrides:
  - {from: "2026-11-01 08:00", to: "2026-11-02 08:00", users: [zhangsan]}
`)
	rep = in.run(t, modelstest.Monday9, nil)
	wantStatus(t, result(t, rep, "roster"), Fail, "今晚 11-30 22:00 没有人值班")
}

func TestClockSkew(t *testing.T) {
	for _, tc := range []struct {
		skew  time.Duration
		want  Status
		words []string
	}{
		{0, OK, nil},
		{20 * time.Second, Warn, []string{"快 20s"}},
		{-2 * time.Minute, Fail, []string{"慢 2m0s", "拒收", "ntp"}},
	} {
		in := newInstall(t)
		rep := in.run(t, time.Time{}, func(e *Env) { e.Now = func() time.Time { return time.Now().Add(tc.skew) } })
		wantStatus(t, result(t, rep, "clock"), tc.want, tc.words...)
	}
	// A fake Date header: WeCom's clock an hour behind ours.
	in := newInstall(t)
	in.front(t, func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Date", time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat))
		return false
	})
	rep := in.run(t, realNow(), nil)
	wantStatus(t, result(t, rep, "clock"), Fail, "快 1h0m0s")
}

func TestDatabaseLeavesNothingBehind(t *testing.T) {
	dbs := map[string]string{"sqlite": ""}
	if dsn, drop, err := modelstest.FreshSchema(modelstest.PostgresURL()); err != nil {
		modelstest.Unreachable(t, "PostgreSQL", err)
	} else {
		t.Cleanup(drop)
		dbs["postgres"] = dsn
	}
	for name, dsn := range dbs {
		t.Run(name, func(t *testing.T) {
			in := newInstall(t)
			if dsn != "" {
				in.vars["OPSBOT_DB"] = dsn
			}
			driver := name
			path := in.vars["OPSBOT_DB"]
			open := func() *models.Store {
				s, err := models.Open(context.Background(), driver, path, models.Options{})
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			s := open()
			defer s.Close()
			// Not migrated yet: a failure that says what to run.
			rep := in.run(t, realNow(), nil)
			wantStatus(t, result(t, rep, "database"), Fail, "opsbot migrate")
			if _, err := s.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			before, err := s.Columns(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var rowsBefore int64
			s.Raw(context.Background(), &rowsBefore, "SELECT COUNT(*) FROM schema_migrations")
			rep = in.run(t, realNow(), nil)
			wantStatus(t, result(t, rep, "database"), OK, driver, "结构版本", "往返")
			after, _ := s.Columns(context.Background())
			var rowsAfter int64
			s.Raw(context.Background(), &rowsAfter, "SELECT COUNT(*) FROM schema_migrations")
			if strings.Join(before, ",") != strings.Join(after, ",") || rowsBefore != rowsAfter {
				t.Errorf("doctor changed the database:\nbefore %v\nafter  %v\nrows %d → %d", before, after, rowsBefore, rowsAfter)
			}
			// An old schema is reported as such.
			if err := s.Exec(context.Background(), "DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)"); err != nil {
				t.Fatal(err)
			}
			rep = in.run(t, realNow(), nil)
			wantStatus(t, result(t, rep, "database"), Fail, "本程序需要", "opsbot migrate")
		})
	}
}

func TestRedis(t *testing.T) {
	in := newInstall(t)
	in.vars["OPSBOT_REDIS"] = "redis://127.0.0.1:1/0"
	wantStatus(t, result(t, in.run(t, realNow(), nil), "redis"), Fail, "连不上 Redis")

	if _, _, err := redisVersion(context.Background(), modelstest.RedisURL()); err != nil {
		modelstest.Unreachable(t, "Redis", err)
		return
	}
	in.vars["OPSBOT_REDIS"] = modelstest.RedisURL()
	wantStatus(t, result(t, in.run(t, realNow(), nil), "redis"), OK, "Redis ", "往返")
}

func TestReportJSONShape(t *testing.T) {
	in := newInstall(t)
	in.fake.Fail("gettoken", 40013, 1)
	rep := in.run(t, realNow(), nil)
	var b bytes.Buffer
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OK      bool `json:"ok"`
		Counts  map[string]int
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OK || doc.Counts["fail"] != 1 || len(doc.Results) != len(All()) {
		t.Fatalf("json: %s", b.String())
	}
	first := doc.Results[3]
	if first["name"] != "wecom_app" || first["status"] != "fail" || !strings.Contains(first["fix"].(string), "企业ID") {
		t.Errorf("wecom_app in json: %v", first)
	}
}

func TestCheapForReadyz(t *testing.T) {
	okPing := pingFunc(func(context.Context) error { return nil })
	down := pingFunc(func(context.Context) error { return fmt.Errorf("connection refused") })
	now := func() time.Time { return time.Date(2026, 11, 15, 10, 0, 0, 0, modelstest.Shanghai) }
	rep := Runner{Checks: Cheap(ReadyDeps{DB: okPing, KV: okPing, Calendar: knows{2026}, Now: now})}.Run(context.Background(), nil)
	if !rep.OK || rep.Counts.Warn != 1 {
		t.Errorf("cheap, calendar lacking next year: %+v", rep)
	}
	rep = Runner{Checks: Cheap(ReadyDeps{DB: down, InProcessKV: true, Calendar: knows{2026, 2027}, Now: now,
		Robot: func(context.Context) error { return fmt.Errorf("disconnected") }})}.Run(context.Background(), nil)
	wantStatus(t, result(t, rep, "database"), Fail, "connection refused")
	wantStatus(t, result(t, rep, "redis"), Warn, "一个副本")
	wantStatus(t, result(t, rep, "robot"), Warn, "disconnected")
	if rep.OK {
		t.Error("readyz report OK with the database down")
	}
}

type pingFunc func(context.Context) error

func (f pingFunc) Ping(ctx context.Context) error { return f(ctx) }
