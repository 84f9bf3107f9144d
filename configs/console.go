package configs

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Console is the web console under /console/ on the public listener.
type Console struct {
	// BaseURL is the console's address as people's browsers reach it, e.g.
	// https://ops.example-hospital.cn; login links and the WeCom login
	// redirects are built from it. Empty: login links are printed with
	// http://localhost and WeCom login is off.
	BaseURL string `yaml:"base_url"`
	// SessionIdle signs a browser out after this long without a request.
	SessionIdle Duration `yaml:"session_idle"`
	// CookieSecure sends the session cookie over HTTPS only. Turn it off
	// only for a console served over plain http (local tests).
	CookieSecure bool `yaml:"cookie_secure"`
	// OAuth lets people open the console from the app's menu inside WeCom
	// (web authorisation, code → userid); it uses wecom.corp_id,
	// wecom.agent_id and wecom.secret, and needs the BaseURL's host set as
	// the app's trusted domain (可信域名) in the WeCom admin console.
	OAuth bool `yaml:"oauth"`
	// QRLogin offers WeCom's QR-code web login on a PC browser; it needs
	// the same host as the app's authorised login callback domain.
	QRLogin bool `yaml:"qr_login"`
	// OAuthURL and QRURL are WeCom's authorisation pages (a hospital may
	// reach them through a proxy).
	OAuthURL string `yaml:"oauth_url"`
	QRURL    string `yaml:"qr_url"`
}

// DefaultConsole is the console's configuration when told nothing.
func DefaultConsole() Console {
	return Console{
		SessionIdle:  Duration(2 * time.Hour),
		CookieSecure: true,
		OAuthURL:     "https://open.weixin.qq.com/connect/oauth2/authorize",
		QRURL:        "https://login.work.weixin.qq.com/wwlogin/sso/login",
	}
}

// validate checks the console's settings against the rest.
func (c Console) validate(w WeCom) []error {
	var errs []error
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.TrimSuffix(u.Path, "/") != "" {
			errs = append(errs, fmt.Errorf("console.base_url (OPSBOT_CONSOLE_BASE_URL): must be like https://ops.example.cn, got %q", c.BaseURL))
		}
	}
	if c.SessionIdle.D() < time.Minute {
		errs = append(errs, fmt.Errorf("console.session_idle: at least 1m, got %s", c.SessionIdle))
	}
	if (c.OAuth || c.QRLogin) && (c.BaseURL == "" || !w.Enabled() || w.AgentID == 0) {
		errs = append(errs, fmt.Errorf("console.oauth / console.qr_login: need console.base_url, wecom.corp_id and wecom.agent_id"))
	}
	return errs
}
