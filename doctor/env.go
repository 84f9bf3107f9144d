package doctor

import (
	"net/http"
	"os"
	"time"

	"opsbot/bot"
	"opsbot/configs"
)

// Env is what the checks of All read and, in order, fill in: the config
// loaded by the first check is the one the others examine, the token of
// the WeCom check serves the user lookups, its answer's Date the clock
// check. The runner runs checks one at a time, so no lock is needed.
type Env struct {
	// Getenv reads the environment (os.Getenv; a map in tests).
	Getenv func(string) string
	// Now is the local clock; nil means time.Now.
	Now func() time.Time
	// CallbackURL, when set, is the public callback address to verify end
	// to end (opsbot doctor --url).
	CallbackURL string
	// HTTP makes the WeCom and callback requests; nil means a client with
	// a 10 s timeout.
	HTTP *http.Client
	// Calendar, when set, replaces the calendar built from the config
	// (tests use it to lack a year).
	Calendar YearKnower

	cfg       configs.Config
	cfgParsed bool   // the config file and environment could be read
	cfgWhy    string // why not, for the checks that skip

	token    string           // access token from the WeCom check
	tokenWhy string           // why there is none
	answer   *bot.ProbeAnswer // WeCom's Date and our clock at that moment
}

func (e *Env) now() time.Time {
	if e == nil || e.Now == nil {
		return time.Now()
	}
	return e.Now()
}

func (e *Env) getenv(k string) string {
	if e.Getenv == nil {
		return os.Getenv(k)
	}
	return e.Getenv(k)
}

func (e *Env) httpClient() *http.Client {
	if e.HTTP != nil {
		return e.HTTP
	}
	return &http.Client{Timeout: 10 * time.Second}
}

func (e *Env) probe() bot.Probe {
	return bot.Probe{Base: e.cfg.WeCom.APIBase, HTTP: e.httpClient(), Now: e.Now}
}

// anyOpsbotEnv reports whether any OPSBOT_* variable that configures
// opsbot is set.
func (e *Env) anyOpsbotEnv() bool {
	for _, name := range configEnvNames {
		if e.getenv(name) != "" || e.getenv(name+"_FILE") != "" {
			return true
		}
	}
	return false
}

// configEnvNames are the variables configs.Load reads (besides
// OPSBOT_CONFIG), to tell "no configuration at all" from a config made of
// environment variables only.
var configEnvNames = []string{
	"OPSBOT_DB", "OPSBOT_REDIS", "OPSBOT_REDIS_PREFIX", "OPSBOT_HTTP_ADDR", "OPSBOT_ADMIN_ADDR", "OPSBOT_TZ",
	"OPSBOT_STAFF_FILE", "OPSBOT_SYSTEMS_FILE", "OPSBOT_DEPARTMENTS_FILE", "OPSBOT_ONCALL_FILE", "OPSBOT_LOG_LEVEL",
	"OPSBOT_WECOM_CORP_ID", "OPSBOT_WECOM_AGENT_ID", "OPSBOT_WECOM_SECRET", "OPSBOT_WECOM_TOKEN", "OPSBOT_WECOM_AES_KEY",
	"OPSBOT_WECOM_API_BASE", "OPSBOT_WECOM_OPS_CHAT_ID", "OPSBOT_WECOM_ROBOT_KEY", "OPSBOT_WECOM_BOT_ID",
	"OPSBOT_WECOM_BOT_SECRET", "OPSBOT_WECOM_BOT_WS_URL", "OPSBOT_WECOM_BOT_CHAT_ID", "OPSBOT_WEBHOOK_TOKEN",
	"OPSBOT_PHONE_GATEWAY_URL", "OPSBOT_PHONE_GATEWAY_TOKEN",
}

// All is the checks of `opsbot doctor`, in the order they run.
func All() []Check {
	return []Check{
		{Name: "config", Title: "配置", Timeout: 5 * time.Second, Run: checkConfig},
		{Name: "database", Title: "数据库", Timeout: 15 * time.Second, Run: checkDatabase},
		{Name: "redis", Title: "Redis", Timeout: 5 * time.Second, Run: checkRedis},
		{Name: "wecom_app", Title: "企业微信应用", Timeout: 10 * time.Second, Run: checkWeComApp},
		{Name: "wecom_users", Title: "应用可见范围", Timeout: 15 * time.Second, Run: checkWeComUsers},
		{Name: "callback", Title: "回调", Timeout: 10 * time.Second, Run: checkCallback},
		{Name: "robot", Title: "智能机器人", Timeout: 10 * time.Second, Run: checkRobot},
		{Name: "calendar", Title: "节假日日历", Timeout: 5 * time.Second, Run: checkCalendar},
		{Name: "roster", Title: "人员与值班", Timeout: 5 * time.Second, Run: checkRoster},
		{Name: "clock", Title: "服务器时间", Timeout: 5 * time.Second, Run: checkClock},
	}
}
