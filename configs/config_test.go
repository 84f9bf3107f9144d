package configs

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestExampleConfigIsTheDefaults(t *testing.T) {
	cfg, err := Load(env(map[string]string{"OPSBOT_CONFIG": "config.example.yaml"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	def := Default()
	def.DB = "data/opsbot.db"
	if !reflect.DeepEqual(cfg, def) {
		t.Fatalf("config.example.yaml differs from the defaults:\n%+v\n%+v", cfg, def)
	}
}

func TestEnvironmentWinsAndSecretsComeFromFiles(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, []byte("s3cr3t\n"), 0o600)
	cfg, err := Load(env(map[string]string{
		"OPSBOT_CONFIG":            "config.example.yaml",
		"OPSBOT_HTTP_ADDR":         ":9090",
		"OPSBOT_WECOM_AGENT_ID":    "1000002",
		"OPSBOT_WECOM_SECRET_FILE": secret,
		"OPSBOT_DB":                "postgres://u@db:5432/opsbot",
		"OPSBOT_WECOM_API_BASE":    "http://proxy.hospital.local:8081",
		"OPSBOT_PHONE_GATEWAY_URL": "https://sms.example/api",
		"OPSBOT_STAFF_FILE":        "/etc/opsbot/staff.yaml",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != ":9090" || cfg.WeCom.AgentID != 1000002 || cfg.WeCom.Secret != "s3cr3t" || cfg.WeCom.APIBase != "http://proxy.hospital.local:8081" || cfg.StaffFile != "/etc/opsbot/staff.yaml" {
		t.Fatalf("%+v", cfg)
	}
	if d, _ := cfg.DBDriver(); d != "postgres" {
		t.Fatalf("driver %q", d)
	}
}

func TestValidateNamesTheBadKey(t *testing.T) {
	cases := []struct {
		mutate func(*Config)
		want   string
	}{
		{func(c *Config) { c.AdminAddr = c.HTTPAddr }, "admin_addr (OPSBOT_ADMIN_ADDR)"},
		{func(c *Config) { c.TZ = "Nowhere/City" }, "tz (OPSBOT_TZ)"},
		{func(c *Config) { c.DB = "mysql://x" }, "db (OPSBOT_DB)"},
		{func(c *Config) { c.Redis = "http://x" }, "redis (OPSBOT_REDIS)"},
		{func(c *Config) { c.HTTPAddr = "8080" }, "http_addr"},
		{func(c *Config) { c.WeCom.APIBase = "ftp://x" }, "wecom.api_base"},
		{func(c *Config) { c.WeCom.CorpID = "ww1" }, "wecom.agent_id"},
		{func(c *Config) { c.Intake.Expiry = 0 }, "intake.expiry"},
		{func(c *Config) { c.Inbox.Keep = Duration(time.Hour) }, "inbox.keep"},
		{func(c *Config) { c.Ticket.AutoClose = 0 }, "ticket.auto_close"},
		{func(c *Config) { c.SLA.ResolutionDays.High = 0 }, "sla.resolution_days"},
		{func(c *Config) { c.Reminders.Response[0].To = []string{"boss"} }, "reminders.response[0].to"},
		{func(c *Config) { c.Phone.GatewayURL = "sms" }, "phone.gateway_url"},
	}
	for _, c := range cases {
		cfg := Default()
		c.mutate(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want an error naming %q, got %v", c.want, err)
		}
	}
}

func TestUnknownKeyIsAnError(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(p, []byte("wecom:\n  corpid: x\n"), 0o644)
	_, err := Load(env(map[string]string{"OPSBOT_CONFIG": p}))
	if err == nil || !strings.Contains(err.Error(), "corpid") || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("got %v", err)
	}
}

func TestStaffFileErrorsNameTheLine(t *testing.T) {
	p := filepath.Join(t.TempDir(), "staff.yaml")
	os.WriteFile(p, []byte(`staff:
  - userid: a
    name: 甲
    role: engineer
    level: 2
  - userid: a
    name: 乙
    role: engineer
    level: 5
    phone: call me
    team: x
`), 0o644)
	_, err := LoadStaff(p)
	if err == nil {
		t.Fatal("bad roster accepted")
	}
	for _, w := range []string{"staff.yaml", "line 6", "level 5", "line 11", "unknown key \"team\""} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q: %v", w, err)
		}
	}
	r, err := LoadStaff("")
	if err != nil || len(r.Staff) != 7 || r.Staff[0].UserID != "zhangsan" || r.Staff[0].Line != 14 {
		t.Fatalf("example roster: %+v %v", r, err)
	}
}

func TestOnCallFile(t *testing.T) {
	o, err := LoadOnCall("oncall.example.yaml")
	if err != nil || o.Hotline == "" || len(o.Rotation.Weeks) != 3 {
		t.Fatalf("%+v %v", o, err)
	}
	p := filepath.Join(t.TempDir(), "o.yaml")
	os.WriteFile(p, []byte("rotation:\n  start: 2026-12-01\n  handover: \"8点\"\n  weeks: [[a]]\n"), 0o644)
	_, err = LoadOnCall(p)
	if err == nil || !strings.Contains(err.Error(), "must be a Monday") || !strings.Contains(err.Error(), "handover") {
		t.Fatalf("got %v", err)
	}
}

func TestAESKeyMustDecodeTo32Bytes(t *testing.T) {
	cfg := Default()
	cfg.WeCom = WeCom{CorpID: "ww1", AgentID: 1000002, Secret: "s", Token: "t", APIBase: cfg.WeCom.APIBase, BotWSURL: cfg.WeCom.BotWSURL,
		AESKey: "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"}
	cfg.StaffFile = "staff.example.yaml"
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Tencent's sample key refused: %v", err)
	}
	cfg.WeCom.AESKey = "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" // 43 characters, not base64
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "wecom.aes_key") || !strings.Contains(err.Error(), "base64") {
		t.Fatalf("a non-base64 key of the right length passed: %v", err)
	}
}
