package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"opsbot/bot/wecomtest"
	"opsbot/configs"
)

// doctorEnv is a complete installation against a fresh fake WeCom.
func doctorEnv(t *testing.T) (map[string]string, *wecomtest.Server) {
	t.Helper()
	fake := wecomtest.New()
	t.Cleanup(fake.Close)
	dir := t.TempDir()
	staff := filepath.Join(dir, "staff.yaml")
	os.WriteFile(staff, []byte("staff:\n  - {userid: zhangsan, name: 张三, role: engineer, level: 2}\n  - {userid: zhaoliu, name: 赵六, role: supervisor, level: 3}\n"), 0o600)
	oncall := filepath.Join(dir, "oncall.yaml")
	os.WriteFile(oncall, []byte("rotation: {start: 2026-11-30, handover: \"08:00\", weeks: [[zhangsan]]}\n"), 0o600)
	fake.AddUser("zhangsan", "张三")
	fake.AddUser("zhaoliu", "赵六")
	return map[string]string{
		"OPSBOT_DB":             filepath.Join(dir, "opsbot.db"),
		"OPSBOT_STAFF_FILE":     staff,
		"OPSBOT_ONCALL_FILE":    oncall,
		"OPSBOT_WECOM_CORP_ID":  wecomtest.CorpID,
		"OPSBOT_WECOM_AGENT_ID": fmt.Sprint(wecomtest.AgentID),
		"OPSBOT_WECOM_SECRET":   wecomtest.Secret,
		"OPSBOT_WECOM_TOKEN":    "QDG6eK",
		"OPSBOT_WECOM_AES_KEY":  "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
		"OPSBOT_WECOM_API_BASE": fake.URL,
	}, fake
}

func TestDoctorJSONAndExitCode(t *testing.T) {
	env, fake := doctorEnv(t)
	code, out, errs := runCLI(t, env, "", "doctor", "--json")
	// The SQLite file does not exist yet: a warning, not a failure.
	if code != 0 {
		t.Fatalf("healthy doctor exit %d: %s\n%s", code, errs, out)
	}
	var rep struct {
		OK      bool `json:"ok"`
		Results []struct {
			Name, Title, Status, Summary, Fix string
		} `json:"results"`
		Counts struct{ OK, Warn, Fail int } `json:"counts"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	names := []string{}
	for _, r := range rep.Results {
		names = append(names, r.Name)
	}
	if want := "config database redis wecom_app wecom_users callback robot calendar roster clock"; strings.Join(names, " ") != want || !rep.OK {
		t.Errorf("checks %v ok=%v, want %s", names, rep.OK, want)
	}

	fake.Fail("gettoken", 40013, 1)
	code, out, errs = runCLI(t, env, "", "doctor")
	if code != 1 || !strings.Contains(out, "❌ 企业微信应用") || !strings.Contains(out, "企业ID 不对") || !strings.Contains(errs, "有检查未通过") {
		t.Errorf("failed doctor exit %d\nstdout:\n%s\nstderr: %s", code, out, errs)
	}
	if code, _, _ := runCLI(t, env, "", "doctor", "--bogus"); code != 2 {
		t.Errorf("bad flag exit %d, want 2", code)
	}
}

func TestDoctorWithoutAnyConfig(t *testing.T) {
	t.Chdir(t.TempDir())
	code, out, errs := runCLI(t, map[string]string{}, "", "doctor")
	if code != 0 || !strings.Contains(out, "⚠️ 配置") || !strings.Contains(out, "opsbot init") {
		t.Errorf("exit %d\n%s\n%s", code, out, errs)
	}
}

func TestInitWritesAndNeverOverwrites(t *testing.T) {
	_, fake := doctorEnv(t)
	dir := filepath.Join(t.TempDir(), "configs")
	args := []string{"init", "--dir", dir, "--non-interactive", "--corp-id", wecomtest.CorpID, "--agent-id", "1000002",
		"--secret", wecomtest.Secret, "--supervisor", "zhaoliu", "--supervisor-name", "赵六", "--api-base", fake.URL,
		"--db", filepath.Join(t.TempDir(), "opsbot.db")}
	code, out, errs := runCLI(t, map[string]string{}, "", args...)
	if code != 0 {
		t.Fatalf("init exit %d: %s\n%s", code, errs, out)
	}
	// It ends with the doctor, which reaches the fake.
	if !strings.Contains(out, "opsbot doctor") || !strings.Contains(out, "✅ 企业微信应用") || !strings.Contains(out, "Token ") {
		t.Errorf("init output:\n%s", out)
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	for _, p := range []string{cfgPath, filepath.Join(dir, "staff.yaml")} {
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v mode %v, want 0600", p, err, st.Mode().Perm())
		}
	}
	cfg, err := configs.Load(func(k string) string { return map[string]string{"OPSBOT_CONFIG": cfgPath}[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("written config does not validate: %v", err)
	}
	if cfg.WeCom.CorpID != wecomtest.CorpID || len(cfg.WeCom.Token) != 32 || len(cfg.WeCom.AESKey) != 43 || cfg.StaffFile != filepath.Join(dir, "staff.yaml") {
		t.Errorf("written config: %+v", cfg.WeCom)
	}
	roster, err := configs.LoadStaff(cfg.StaffFile)
	if err != nil || len(roster.Staff) != 1 || roster.Staff[0].Role != configs.RoleSupervisor || roster.Staff[0].Name != "赵六" {
		t.Errorf("written roster: %+v %v", roster, err)
	}

	before, _ := os.ReadFile(cfgPath)
	code, _, errs = runCLI(t, map[string]string{}, "", append(args, "--secret", "other")...)
	after, _ := os.ReadFile(cfgPath)
	if code != 1 || !strings.Contains(errs, "不会覆盖") || string(before) != string(after) {
		t.Errorf("second init exit %d (%s); file changed: %v", code, errs, string(before) != string(after))
	}
	code, _, errs = runCLI(t, map[string]string{}, "", append(args, "--force", "--no-doctor", "--token", "mytoken")...)
	after, _ = os.ReadFile(cfgPath)
	if code != 0 || !strings.Contains(string(after), `token: "mytoken"`) {
		t.Errorf("--force exit %d (%s):\n%s", code, errs, after)
	}
}

func TestInitInteractive(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "configs")
	answers := strings.Join([]string{
		wecomtest.CorpID, "abc", "1000002", // a wrong AgentId is asked again
		"s3cret", "", "too-short", "", // generated token; a bad key, then generated
		"", "redis://127.0.0.1:6379/0", "zhaoliu", "赵六",
	}, "\n") + "\n"
	code, out, errs := runCLI(t, map[string]string{}, answers, "init", "--dir", dir, "--no-doctor")
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errs, out)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "config.yaml"))
	var doc struct {
		Redis string
		WeCom struct {
			AgentID int    `yaml:"agent_id"`
			Secret  string `yaml:"secret"`
			AESKey  string `yaml:"aes_key"`
		} `yaml:"wecom"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.WeCom.AgentID != 1000002 || doc.WeCom.Secret != "s3cret" || len(doc.WeCom.AESKey) != 43 || doc.Redis != "redis://127.0.0.1:6379/0" {
		t.Errorf("config from answers:\n%s", data)
	}
	if !strings.Contains(out, "AgentId 是一串数字") || !strings.Contains(out, "不是有效的 EncodingAESKey") || !strings.Contains(out, "设置API接收") {
		t.Errorf("dialogue:\n%s", out)
	}
	if !validAESKey(doc.WeCom.AESKey) || strings.ContainsAny(doc.WeCom.AESKey, "+/=") {
		t.Errorf("generated key %q is not an alphanumeric EncodingAESKey", doc.WeCom.AESKey)
	}
}

func TestStaffImportWritesDraftRoster(t *testing.T) {
	env, fake := doctorEnv(t)
	fake.AddDepartment(1, "某县人民医院")
	fake.AddDepartment(5, "信息科")
	fake.AddDepartment(6, "信息科驻场组")
	fake.AddUser("wangwu", "王五", 5)
	fake.AddUser("chenba", "陈八", 5, 6)
	fake.AddUser("nurse01", "护士甲", 1)
	out := filepath.Join(t.TempDir(), "staff.imported.yaml")
	code, stdout, errs := runCLI(t, env, "", "staff", "import", "--department", "信息科", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errs, stdout)
	}
	data, _ := os.ReadFile(out)
	text := string(data)
	for _, want := range []string{
		"企业微信部门「信息科」（ID 5）的 2 人",
		"企业微信没有返回：手机（mobile）、邮箱（email）",
		"  - userid: \"chenba\"\n    name: \"陈八\"\n    role:",
		"  - userid: \"wangwu\"\n    name: \"王五\"\n",
		"    phone: \"\"\n    systems: []",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("%q missing from:\n%s", want, text)
		}
	}
	if strings.Contains(text, "nurse01") {
		t.Errorf("member of another department imported:\n%s", text)
	}
	// The draft is YAML of the roster's shape, refused until roles are set.
	if _, err := configs.LoadStaff(out); err == nil || !strings.Contains(err.Error(), "role") {
		t.Errorf("draft accepted as a roster without roles: %v", err)
	}
	filled := strings.ReplaceAll(strings.ReplaceAll(text, "role:  ", "role: engineer"), "level:  ", "level: 2")
	os.WriteFile(out, []byte(filled), 0o600)
	if r, err := configs.LoadStaff(out); err != nil || len(r.Staff) != 2 {
		t.Errorf("filled draft: %v %v\n%s", r, err, filled)
	}

	// Never overwrites; an ambiguous or unknown name says what exists.
	if code, _, errs := runCLI(t, env, "", "staff", "import", "--department", "5", "--out", out); code != 1 || !strings.Contains(errs, "不会覆盖") {
		t.Errorf("overwrite: exit %d %s", code, errs)
	}
	if code, _, errs := runCLI(t, env, "", "staff", "import", "--department", "设备科", "--out", "-"); code != 1 || !strings.Contains(errs, "信息科（5）") {
		t.Errorf("unknown department: exit %d %s", code, errs)
	}
	code, stdout, _ = runCLI(t, env, "", "staff", "import", "--department", "6", "--out", "-")
	if code != 0 || !strings.Contains(stdout, "chenba") || strings.Contains(stdout, "wangwu") {
		t.Errorf("by id to stdout: exit %d\n%s", code, stdout)
	}
	// An app refused the detailed list gets the simple one, and says so.
	fake.Fail("user/list", 48002, 1)
	code, stdout, _ = runCLI(t, env, "", "staff", "import", "--department", "信息科", "--out", "-")
	if code != 0 || !strings.Contains(stdout, "改用了 user/simplelist") || !strings.Contains(stdout, "wangwu") {
		t.Errorf("simplelist fallback: exit %d\n%s", code, stdout)
	}
	if n := len(fake.CallsTo("user/simplelist")); n != 1 {
		t.Errorf("user/simplelist calls: %d", n)
	}
}
