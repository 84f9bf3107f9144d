// Package configs holds opsbot's typed configuration: defaults in code, then
// a YAML file, then OPSBOT_* environment variables, then Validate. It also
// loads the roster and catalog files the operators maintain.
package configs

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// DefaultConfigFile is read when OPSBOT_CONFIG is unset and the file exists.
const DefaultConfigFile = "configs/config.yaml"

// DefaultSQLitePath is the embedded database used when OPSBOT_DB is unset.
const DefaultSQLitePath = "data/opsbot.db"

// Config is everything opsbot can be told; it is passed around as a value.
type Config struct {
	// DB is a postgres:// URL or a SQLite file path (sqlite:path also works).
	DB string `yaml:"db"`
	// Redis is a redis:// URL; empty means the in-process store (one instance only).
	Redis string `yaml:"redis"`
	// RedisPrefix starts every key opsbot keeps in Redis, so that several
	// deployments (or tests) can share one server.
	RedisPrefix string `yaml:"redis_prefix"`
	// HTTPAddr is the public listener of `opsbot serve`: the WeCom
	// callback, the webhooks, /healthz and the console.
	HTTPAddr string `yaml:"http_addr"`
	// AdminAddr is the admin listener: /metrics, the detailed /readyz and,
	// when enabled, pprof. It defaults to loopback: error text and metrics
	// never go to the public side.
	AdminAddr string `yaml:"admin_addr"`
	// Pprof serves net/http/pprof on the admin listener.
	Pprof bool `yaml:"pprof"`
	// TZ is the time zone of the hospital; deadlines and reports use it.
	TZ string `yaml:"tz"`
	// StaffFile is the roster; empty means configs/staff.yaml when present,
	// else (only without WeCom) the example roster, for demos.
	StaffFile string `yaml:"staff_file"`
	// SystemsFile is the system catalog; empty means the embedded 48 systems.
	SystemsFile string `yaml:"systems_file"`
	// DepartmentsFile is the department dictionary; empty means the embedded one.
	DepartmentsFile string `yaml:"departments_file"`
	// OnCallFile is the on-call rota; empty means configs/oncall.yaml when
	// present, else (only without WeCom) the example rota.
	OnCallFile string `yaml:"oncall_file"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log_level"`

	WeCom     WeCom     `yaml:"wecom"`
	Phone     Phone     `yaml:"phone"`
	SLA       SLA       `yaml:"sla"`
	Reminders Reminders `yaml:"reminders"`
	Intake    Intake    `yaml:"intake"`
	Ticket    Ticket    `yaml:"ticket"`
	Inbox     Inbox     `yaml:"inbox"`
	Outbox    Outbox    `yaml:"outbox"`
	Contract  Contract  `yaml:"contract"`
	Rating    Rating    `yaml:"rating"`
	Hospital  Hospital  `yaml:"hospital"`
	Webhook   Webhook   `yaml:"webhook"`
	// Jobs overrides the cron spec of jobs of the job table by name, e.g.
	// {monthly-report: "0 8 1 * *"}; unknown names stop the start.
	Jobs map[string]string `yaml:"jobs"`
	// Dispatch and Attachments: issue 11 (dispatch.go).
	Dispatch    Dispatch    `yaml:"dispatch"`
	Attachments Attachments `yaml:"attachments"`
	Records     Records     `yaml:"records"`
	// Monitoring turns alerts into tickets (docs/alerts.md).
	Monitoring Monitoring `yaml:"monitoring"`
	Console    Console    `yaml:"console"`
}

// Records tunes the service records (issue 13): change approvals, problem
// suggestions, incident report reminders and emergency plans.
type Records struct {
	// ChangeApprovalSteps is 1 (服务主管 only) or 2 (服务主管, then the
	// hospital approvers).
	ChangeApprovalSteps int `yaml:"change_approval_steps"`
	// ChangeNoticeBefore is how long before a change's window the
	// departments affected are told.
	ChangeNoticeBefore Duration `yaml:"change_notice_before"`
	// ProblemTickets similar tickets of one system within ProblemWindow make
	// opsbot suggest a problem record to the supervisors.
	ProblemTickets int      `yaml:"problem_tickets"`
	ProblemWindow  Duration `yaml:"problem_window"`
	// ReportDueDays is how many working days after its resolution a major
	// incident may go without a submitted report before the supervisors
	// are reminded.
	ReportDueDays int `yaml:"report_due_days"`
	// RunbooksDir holds the emergency plans, <system or category code>.md;
	// empty means the built-in examples.
	RunbooksDir string `yaml:"runbooks_dir"`
	// DepartmentContacts maps a department to the userids told of changes
	// that affect it.
	DepartmentContacts map[string][]string `yaml:"department_contacts"`
}

// Monitoring tunes what opsbot does with alerts, probes, inspections and
// bursts of reports about one system (docs/alerts.md).
type Monitoring struct {
	// SystemLabels are the Alertmanager labels that name the system, first
	// non-empty wins; SystemValues maps a label value to a system name.
	SystemLabels []string          `yaml:"system_labels"`
	SystemValues map[string]string `yaml:"system_values"`
	// SeverityPriority maps an alert's severity to a ticket priority
	// (high, medium, low); an unknown severity gets medium.
	SeverityPriority map[string]string `yaml:"severity_priority"`
	// ProbesFile lists the built-in probes; empty: configs/probes.yaml when present.
	ProbesFile string `yaml:"probes_file"`
	// InspectionsFile holds the inspection checklists and times; empty:
	// configs/inspections.yaml when present, else the example.
	InspectionsFile string `yaml:"inspections_file"`
	// Aggregation turns a burst of reports about one system into one
	// major incident.
	Aggregation Aggregation `yaml:"aggregation"`
	// Storm groups the alerts of one system: one message per system per
	// window, then a summary at most every SummaryEvery.
	Storm Storm `yaml:"storm"`
}

// Aggregation is how many reports about one system, within how long, make
// a major incident.
type Aggregation struct {
	Reports int      `yaml:"reports"`
	Window  Duration `yaml:"window"`
}

// Storm is how alerts of one system are grouped for people.
type Storm struct {
	Window       Duration `yaml:"window"`
	SummaryEvery Duration `yaml:"summary_every"`
}

// Outbox tunes how long delivered messages are kept.
type Outbox struct {
	// Keep is how long a sent or failed message stays in the outbox: its
	// text may name patients (个人信息保护法 asks for minimum retention),
	// and the ticket's timeline is the record, not the message.
	Keep Duration `yaml:"keep"`
}

// Contract holds the service levels the vendor is paid against (tender
// 5.1, 5.2); every figure shown against a target reads it from here.
type Contract struct {
	// ResolutionRate, OnTimeRate and ResponseOnTimeRate are fractions 0-1.
	ResolutionRate     float64 `yaml:"resolution_rate"`
	OnTimeRate         float64 `yaml:"on_time_rate"`
	ResponseOnTimeRate float64 `yaml:"response_on_time_rate"`
	OnsiteOnTimeRate   float64 `yaml:"onsite_on_time_rate"`
	// Satisfaction is the least mean rating (points, 20-100).
	Satisfaction float64 `yaml:"satisfaction"`
}

// Rating tunes the satisfaction survey after closure.
type Rating struct {
	// ChangeWindow is how long a given rating may still be changed.
	ChangeWindow Duration `yaml:"change_window"`
	// RemindAfter is when the one reminder goes to a reporter who has not
	// rated; ExpireAfter is when the survey closes unrated.
	RemindAfter Duration `yaml:"remind_after"`
	ExpireAfter Duration `yaml:"expire_after"`
	// AlertAtOrBelow is the score at or below which supervisors are told.
	AlertAtOrBelow int `yaml:"alert_at_or_below"`
	// SurveyFile is the yearly satisfaction survey (questions, recipients).
	SurveyFile string `yaml:"survey_file"`
}

// Hospital names the hospital and its people who confirm deliverables.
type Hospital struct {
	// Name heads the reports, e.g. "XX县人民医院信息系统运维".
	Name string `yaml:"name"`
	// Approvers are the 信息科 userids who confirm reports, incident
	// reports and change requests.
	Approvers []string `yaml:"approvers"`
}

// Webhook authenticates monitoring webhooks (Alertmanager, generic).
type Webhook struct {
	// Token is the bearer token senders must present.
	Token string `yaml:"token"`
}

// WeCom is the self-built app (自建应用) opsbot speaks through.
type WeCom struct {
	CorpID  string `yaml:"corp_id"`
	AgentID int    `yaml:"agent_id"`
	Secret  string `yaml:"secret"`
	Token   string `yaml:"token"`
	AESKey  string `yaml:"aes_key"`
	// APIBase lets a hospital route API calls through an intranet proxy.
	APIBase string `yaml:"api_base"`
	// OpsChatID is the app group chat of the operations team (created with
	// `opsbot wecom create-group`); RobotKey is a group robot webhook key used
	// instead when the app cannot own a chat.
	OpsChatID string `yaml:"ops_chat_id"`
	RobotKey  string `yaml:"robot_key"`
	// BotID and BotSecret are the smart robot (智能机器人) in long-connection
	// mode; BotWSURL is its WebSocket address.
	BotID     string `yaml:"bot_id"`
	BotSecret string `yaml:"bot_secret"`
	BotWSURL  string `yaml:"bot_ws_url"`
	// BotChatID is a group chat of the robot that serves as the ops group.
	BotChatID string `yaml:"bot_chat_id"`
}

// BotEnabled reports whether the smart robot channel is configured.
func (w WeCom) BotEnabled() bool { return w.BotID != "" }

// Enabled reports whether a WeCom app is configured at all.
func (w WeCom) Enabled() bool { return w.CorpID != "" }

// Phone is the SMS/phone gateway urgent out-of-hours tickets also go to.
type Phone struct {
	// GatewayURL receives a JSON POST {"to","text","ticket"}; empty: off.
	GatewayURL string `yaml:"gateway_url"`
	Token      string `yaml:"token"`
}

// Intake tunes the conversational fault intake.
type Intake struct {
	// Expiry ends a half-done intake that gets no answer.
	Expiry Duration `yaml:"expiry"`
}

// Inbox tunes how long accepted WeCom messages are kept.
type Inbox struct {
	// Keep is how long a processed message stays in the inbox. Its text
	// may name patients, and its only later use is to recognise a WeCom
	// retry, which comes within minutes (the Redis dedupe keys live 24 h).
	Keep Duration `yaml:"keep"`
}

// Ticket tunes ticket rules that are the hospital's choice.
type Ticket struct {
	// AutoClose closes a resolved ticket the reporter did not confirm.
	AutoClose Duration `yaml:"auto_close"`
	// HurryInterval is the least time between two 催办 of one ticket.
	HurryInterval Duration `yaml:"hurry_interval"`
}

// Default returns the configuration opsbot runs with when told nothing.
func Default() Config {
	return Config{
		HTTPAddr:    ":8080",
		AdminAddr:   "127.0.0.1:9090",
		RedisPrefix: "opsbot:",
		TZ:          "Asia/Shanghai",
		LogLevel:    "info",
		WeCom:       WeCom{APIBase: "https://qyapi.weixin.qq.com", BotWSURL: "wss://openws.work.weixin.qq.com"},
		SLA:         DefaultSLA(),
		Reminders:   DefaultReminders(),
		Console:     DefaultConsole(),
		Intake:      Intake{Expiry: Duration(30 * time.Minute)},
		Ticket: Ticket{
			AutoClose:     Duration(72 * time.Hour),
			HurryInterval: Duration(30 * time.Minute),
		},
		Inbox:    Inbox{Keep: Duration(7 * 24 * time.Hour)},
		Outbox:   Outbox{Keep: Duration(7 * 24 * time.Hour)},
		Contract: Contract{ResolutionRate: 0.95, OnTimeRate: 0.90, ResponseOnTimeRate: 0.90, OnsiteOnTimeRate: 0.90, Satisfaction: 90},
		Rating: Rating{
			ChangeWindow:   Duration(12 * time.Hour),
			RemindAfter:    Duration(24 * time.Hour),
			ExpireAfter:    Duration(7 * 24 * time.Hour),
			AlertAtOrBelow: 60,
		},
		Dispatch:    Dispatch{Mode: DispatchAnnounce, MinLevel: LevelByPriority{High: 2, Medium: 1, Low: 1}},
		Attachments: Attachments{MaxBytes: 10 << 20, Keep: Duration(30 * 24 * time.Hour)},
		Records: Records{
			ChangeApprovalSteps: 2,
			ChangeNoticeBefore:  Duration(24 * time.Hour),
			ProblemTickets:      3,
			ProblemWindow:       Duration(30 * 24 * time.Hour),
			ReportDueDays:       3,
		},
		Monitoring: Monitoring{
			SystemLabels:     []string{"system"},
			SystemValues:     map[string]string{},
			SeverityPriority: map[string]string{"critical": "high", "warning": "medium", "info": "low"},
			Aggregation:      Aggregation{Reports: 3, Window: Duration(10 * time.Minute)},
			Storm:            Storm{Window: Duration(10 * time.Minute), SummaryEvery: Duration(5 * time.Minute)},
		},
	}
}

// envVar binds one environment variable to a field; secret ones also accept
// NAME_FILE, the path of a file holding the value (Docker/K8s secrets).
type envVar struct {
	name   string
	secret bool
	set    func(c *Config, v string) error
}

func str(p func(c *Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *p(c) = v; return nil }
}

func envVars() []envVar {
	return []envVar{
		{"OPSBOT_DB", true, str(func(c *Config) *string { return &c.DB })},
		{"OPSBOT_REDIS", true, str(func(c *Config) *string { return &c.Redis })},
		{"OPSBOT_REDIS_PREFIX", false, str(func(c *Config) *string { return &c.RedisPrefix })},
		{"OPSBOT_HTTP_ADDR", false, str(func(c *Config) *string { return &c.HTTPAddr })},
		{"OPSBOT_ADMIN_ADDR", false, str(func(c *Config) *string { return &c.AdminAddr })},
		{"OPSBOT_PPROF", false, func(c *Config, v string) error {
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("OPSBOT_PPROF: %q is not true or false", v)
			}
			c.Pprof = b
			return nil
		}},
		{"OPSBOT_TZ", false, str(func(c *Config) *string { return &c.TZ })},
		{"OPSBOT_STAFF_FILE", false, str(func(c *Config) *string { return &c.StaffFile })},
		{"OPSBOT_SYSTEMS_FILE", false, str(func(c *Config) *string { return &c.SystemsFile })},
		{"OPSBOT_DEPARTMENTS_FILE", false, str(func(c *Config) *string { return &c.DepartmentsFile })},
		{"OPSBOT_ONCALL_FILE", false, str(func(c *Config) *string { return &c.OnCallFile })},
		{"OPSBOT_LOG_LEVEL", false, str(func(c *Config) *string { return &c.LogLevel })},
		{"OPSBOT_WECOM_CORP_ID", false, str(func(c *Config) *string { return &c.WeCom.CorpID })},
		{"OPSBOT_WECOM_AGENT_ID", false, func(c *Config, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("OPSBOT_WECOM_AGENT_ID: %q is not a number", v)
			}
			c.WeCom.AgentID = n
			return nil
		}},
		{"OPSBOT_WECOM_SECRET", true, str(func(c *Config) *string { return &c.WeCom.Secret })},
		{"OPSBOT_WECOM_TOKEN", true, str(func(c *Config) *string { return &c.WeCom.Token })},
		{"OPSBOT_WECOM_AES_KEY", true, str(func(c *Config) *string { return &c.WeCom.AESKey })},
		{"OPSBOT_WECOM_API_BASE", false, str(func(c *Config) *string { return &c.WeCom.APIBase })},
		{"OPSBOT_WECOM_OPS_CHAT_ID", false, str(func(c *Config) *string { return &c.WeCom.OpsChatID })},
		{"OPSBOT_WECOM_ROBOT_KEY", true, str(func(c *Config) *string { return &c.WeCom.RobotKey })},
		{"OPSBOT_WECOM_BOT_ID", false, str(func(c *Config) *string { return &c.WeCom.BotID })},
		{"OPSBOT_WECOM_BOT_SECRET", true, str(func(c *Config) *string { return &c.WeCom.BotSecret })},
		{"OPSBOT_WECOM_BOT_WS_URL", false, str(func(c *Config) *string { return &c.WeCom.BotWSURL })},
		{"OPSBOT_WECOM_BOT_CHAT_ID", false, str(func(c *Config) *string { return &c.WeCom.BotChatID })},
		{"OPSBOT_CONSOLE_BASE_URL", false, str(func(c *Config) *string { return &c.Console.BaseURL })},
		{"OPSBOT_CONSOLE_COOKIE_SECURE", false, func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			c.Console.CookieSecure = b
			if err != nil {
				return fmt.Errorf("OPSBOT_CONSOLE_COOKIE_SECURE: %q is not true or false", v)
			}
			return nil
		}},
		{"OPSBOT_WEBHOOK_TOKEN", true, str(func(c *Config) *string { return &c.Webhook.Token })},
		{"OPSBOT_PHONE_GATEWAY_URL", true, str(func(c *Config) *string { return &c.Phone.GatewayURL })},
		{"OPSBOT_PHONE_GATEWAY_TOKEN", true, str(func(c *Config) *string { return &c.Phone.Token })},
		{"OPSBOT_S3_ENDPOINT", false, str(func(c *Config) *string { return &c.Attachments.S3.Endpoint })},
		{"OPSBOT_S3_BUCKET", false, str(func(c *Config) *string { return &c.Attachments.S3.Bucket })},
		{"OPSBOT_S3_ACCESS_KEY", true, str(func(c *Config) *string { return &c.Attachments.S3.AccessKey })},
		{"OPSBOT_S3_SECRET_KEY", true, str(func(c *Config) *string { return &c.Attachments.S3.SecretKey })},
	}
}

// Load builds the configuration: defaults, then the YAML file named by
// OPSBOT_CONFIG (or configs/config.yaml when present), then the environment.
// getenv is os.Getenv in production and a map in tests.
func Load(getenv func(string) string) (Config, error) {
	cfg := Default()
	path := getenv("OPSBOT_CONFIG")
	explicit := path != ""
	if !explicit {
		path = DefaultConfigFile
	}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := decodeStrict(data, &cfg); err != nil {
			return cfg, fmt.Errorf("config %s: %w", path, err)
		}
	case explicit || !errors.Is(err, os.ErrNotExist):
		return cfg, fmt.Errorf("config: %w", err)
	}
	for _, e := range envVars() {
		v := getenv(e.name)
		if e.secret {
			if f := getenv(e.name + "_FILE"); f != "" {
				b, err := os.ReadFile(f)
				if err != nil {
					return cfg, fmt.Errorf("%s_FILE: %w", e.name, err)
				}
				v = strings.TrimSpace(string(b))
			}
		}
		if v == "" {
			continue
		}
		if err := e.set(&cfg, v); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// decodeStrict refuses unknown keys so that a typo is an error, not a
// silently ignored setting.
func decodeStrict(data []byte, out any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// Validate checks the configuration and names the bad key and why.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	errs = append(errs, c.Console.validate(c.WeCom)...)
	if _, err := time.LoadLocation(c.TZ); err != nil || c.TZ == "" {
		bad("tz (OPSBOT_TZ)", "unknown time zone %q, e.g. Asia/Shanghai", c.TZ)
	}
	if _, err := c.DBDriver(); err != nil {
		bad("db (OPSBOT_DB)", "%v", err)
	}
	if c.Redis != "" {
		if u, err := url.Parse(c.Redis); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			bad("redis (OPSBOT_REDIS)", "must be a redis:// URL, e.g. redis://127.0.0.1:6379/0")
		}
	}
	if c.HTTPAddr == "" || !strings.Contains(c.HTTPAddr, ":") {
		bad("http_addr (OPSBOT_HTTP_ADDR)", "must be host:port or :port, got %q", c.HTTPAddr)
	}
	if c.AdminAddr == "" || !strings.Contains(c.AdminAddr, ":") {
		bad("admin_addr (OPSBOT_ADMIN_ADDR)", "must be host:port or :port, got %q", c.AdminAddr)
	} else if c.AdminAddr == c.HTTPAddr {
		bad("admin_addr (OPSBOT_ADMIN_ADDR)", "must differ from http_addr: metrics and error details stay off the public port")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log_level", "must be debug, info, warn or error, got %q", c.LogLevel)
	}
	if u, err := url.Parse(c.WeCom.APIBase); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("wecom.api_base (OPSBOT_WECOM_API_BASE)", "must be an http(s) URL, got %q", c.WeCom.APIBase)
	}
	if c.Phone.GatewayURL != "" {
		if u, err := url.Parse(c.Phone.GatewayURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("phone.gateway_url (OPSBOT_PHONE_GATEWAY_URL)", "must be an http(s) URL")
		}
	}
	if c.WeCom.Enabled() {
		if c.WeCom.AgentID <= 0 {
			bad("wecom.agent_id (OPSBOT_WECOM_AGENT_ID)", "required when wecom.corp_id is set")
		}
		if c.WeCom.Secret == "" {
			bad("wecom.secret (OPSBOT_WECOM_SECRET)", "required when wecom.corp_id is set")
		}
		if c.WeCom.Token == "" {
			bad("wecom.token (OPSBOT_WECOM_TOKEN)", "required when wecom.corp_id is set")
		}
		if len(c.WeCom.AESKey) != 43 {
			bad("wecom.aes_key (OPSBOT_WECOM_AES_KEY)", "the EncodingAESKey has 43 characters, got %d", len(c.WeCom.AESKey))
		} else if k, err := base64.StdEncoding.DecodeString(c.WeCom.AESKey + "="); err != nil || len(k) != 32 {
			bad("wecom.aes_key (OPSBOT_WECOM_AES_KEY)", "not a valid EncodingAESKey: it must be base64 of 32 bytes (copy it again from 接收消息)")
		}
		if c.StaffFile == "" {
			if _, err := os.Stat(DefaultStaffFile); err != nil {
				bad("staff_file (OPSBOT_STAFF_FILE)", "required with WeCom: name the real roster (the example roster is for demos only)")
			}
		}
	}
	if err := c.SLA.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Reminders.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Intake.Expiry.D() < time.Minute {
		bad("intake.expiry", "must be at least 1m, got %s", c.Intake.Expiry)
	}
	if c.Ticket.AutoClose.D() < time.Hour {
		bad("ticket.auto_close", "must be at least 1h, got %s", c.Ticket.AutoClose)
	}
	if c.Ticket.HurryInterval.D() < 0 {
		bad("ticket.hurry_interval", "must not be negative")
	}
	if c.WeCom.BotEnabled() {
		if c.WeCom.BotSecret == "" {
			bad("wecom.bot_secret (OPSBOT_WECOM_BOT_SECRET)", "required when wecom.bot_id is set")
		}
		if u, err := url.Parse(c.WeCom.BotWSURL); err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
			bad("wecom.bot_ws_url (OPSBOT_WECOM_BOT_WS_URL)", "must be a ws(s):// URL, got %q", c.WeCom.BotWSURL)
		}
	}
	if c.Records.ChangeApprovalSteps != 1 && c.Records.ChangeApprovalSteps != 2 {
		bad("records.change_approval_steps", "must be 1 (服务主管) or 2 (服务主管, then hospital.approvers), got %d", c.Records.ChangeApprovalSteps)
	}
	if c.Records.ProblemTickets < 2 {
		bad("records.problem_tickets", "must be at least 2, got %d", c.Records.ProblemTickets)
	}
	if c.Records.ProblemWindow.D() < 24*time.Hour {
		bad("records.problem_window", "must be at least 24h, got %s", c.Records.ProblemWindow)
	}
	if c.Records.ReportDueDays < 1 {
		bad("records.report_due_days", "must be at least 1, got %d", c.Records.ReportDueDays)
	}
	if c.Records.ChangeNoticeBefore.D() < 0 {
		bad("records.change_notice_before", "must not be negative")
	}
	if c.Outbox.Keep.D() < 24*time.Hour {
		bad("outbox.keep", "must be at least 24h (delivery retries), got %s", c.Outbox.Keep)
	}
	for key, v := range map[string]float64{"contract.resolution_rate": c.Contract.ResolutionRate, "contract.on_time_rate": c.Contract.OnTimeRate,
		"contract.response_on_time_rate": c.Contract.ResponseOnTimeRate, "contract.onsite_on_time_rate": c.Contract.OnsiteOnTimeRate} {
		if v < 0 || v > 1 {
			bad(key, "must be a fraction between 0 and 1 (0.95 is 95%%), got %v", v)
		}
	}
	if c.Contract.Satisfaction < 0 || c.Contract.Satisfaction > 100 {
		bad("contract.satisfaction", "must be points between 0 and 100, got %v", c.Contract.Satisfaction)
	}
	if c.Rating.ChangeWindow.D() < 0 || c.Rating.RemindAfter.D() <= 0 || c.Rating.ExpireAfter.D() <= c.Rating.RemindAfter.D() {
		bad("rating", "change_window ≥ 0, remind_after > 0 and expire_after > remind_after, got %s/%s/%s", c.Rating.ChangeWindow, c.Rating.RemindAfter, c.Rating.ExpireAfter)
	}
	if c.Rating.AlertAtOrBelow < 0 || c.Rating.AlertAtOrBelow > 100 {
		bad("rating.alert_at_or_below", "must be between 0 and 100, got %d", c.Rating.AlertAtOrBelow)
	}
	if err := c.Dispatch.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Attachments.Validate(); err != nil {
		errs = append(errs, err)
	}
	for sev, p := range c.Monitoring.SeverityPriority {
		if p != "high" && p != "medium" && p != "low" {
			bad("monitoring.severity_priority."+sev, "must be high, medium or low, got %q", p)
		}
	}
	if c.Monitoring.Aggregation.Reports < 2 || c.Monitoring.Aggregation.Window.D() < time.Minute {
		bad("monitoring.aggregation", "reports ≥ 2 and window ≥ 1m, got %d/%s", c.Monitoring.Aggregation.Reports, c.Monitoring.Aggregation.Window)
	}
	if c.Monitoring.Storm.Window.D() < time.Minute || c.Monitoring.Storm.SummaryEvery.D() < time.Minute {
		bad("monitoring.storm", "window and summary_every must be at least 1m, got %s/%s", c.Monitoring.Storm.Window, c.Monitoring.Storm.SummaryEvery)
	}
	if c.Inbox.Keep.D() < 24*time.Hour {
		bad("inbox.keep", "must be at least 24h (WeCom retries and the dedupe keys), got %s", c.Inbox.Keep)
	}
	return errors.Join(errs...)
}

// Location returns the configured time zone; call after Validate.
func (c Config) Location() *time.Location {
	loc, err := time.LoadLocation(c.TZ)
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}

// DBDriver names the database the DSN points at: "postgres" or "sqlite".
func (c Config) DBDriver() (string, error) {
	dsn := c.DB
	switch {
	case dsn == "":
		return "sqlite", nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("not a valid postgres URL: %v", redactURLError(err))
		}
		if u.Host == "" {
			return "", errors.New("postgres URL has no host, e.g. postgres://user@127.0.0.1:5432/opsbot?sslmode=disable")
		}
		return "postgres", nil
	case strings.HasPrefix(dsn, "sqlite:"):
		return "sqlite", nil
	case strings.Contains(dsn, "://"):
		return "", fmt.Errorf("unsupported database %q: use postgres://… or a SQLite file path", strings.SplitN(dsn, "://", 2)[0])
	default:
		return "sqlite", nil
	}
}

// Database is the driver and the DSN to open, for a validated config:
// the SQLite file path, or the postgres URL as given.
func (c Config) Database() (driver, dsn string) {
	driver, _ = c.DBDriver()
	if driver == "sqlite" {
		return driver, c.SQLitePath()
	}
	return driver, c.DB
}

// SQLitePath is the file of the embedded database.
func (c Config) SQLitePath() string {
	p := strings.TrimPrefix(strings.TrimPrefix(c.DB, "sqlite://"), "sqlite:")
	if p == "" {
		return DefaultSQLitePath
	}
	return p
}

// redactURLError keeps a password in a DSN out of error messages.
func redactURLError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return "malformed URL"
}
