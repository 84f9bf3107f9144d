package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"opsbot/models"
)

const (
	sessionCookie = "opsbot_console"
	stateCookie   = "opsbot_console_state"
)

// viewer is who is looking: the session and the actor as chat knows them.
type viewer struct {
	sess  *models.ConsoleSession
	actor models.Actor
	token string
}

// Name, RoleLabel, IsStaff, Manages and IsSupervisor serve the layout.
func (v *viewer) Name() string      { return v.actor.DisplayName() }
func (v *viewer) RoleLabel() string { return v.actor.Role.Label() }
func (v *viewer) IsStaff() bool     { return v.actor.IsStaff() }
func (v *viewer) Manages() bool     { return v.actor.Manages() }
func (v *viewer) IsSupervisor() bool {
	return v.actor.Role == models.RoleSupervisor
}

type viewerKey struct{}

func viewerOf(r *http.Request) *viewer {
	v, _ := r.Context().Value(viewerKey{}).(*viewer)
	return v
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("console: random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func trimSlash(s string) string { return strings.TrimRight(s, "/") }

// clientAddr is the address the request came from, for the audit. Behind
// a reverse proxy the first X-Forwarded-For hop is the browser's; the
// proxy's own address is kept too, so a forged header is visible.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
		first, _, _ := strings.Cut(xff, ",")
		return strings.TrimSpace(first) + " via " + host
	}
	return host
}

// signedIn admits requests with a live session, checks the CSRF token and
// origin of every POST, and puts the viewer on the request.
func (c *Console) signedIn(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secureHeaders(w)
		ck, err := r.Cookie(sessionCookie)
		if err != nil || ck.Value == "" {
			c.toLogin(w, r)
			return
		}
		var v viewer
		err = c.d.Store.Update(r.Context(), func(tx *models.Tx) error {
			s, err := tx.ConsoleSession(ck.Value, c.d.Config.Console.SessionIdle.D())
			if err != nil || s == nil {
				return err
			}
			v.sess, v.token = s, ck.Value
			v.actor, err = tx.ActorFor(s.UserID, "")
			return err
		})
		if err != nil {
			c.fail(w, r, err)
			return
		}
		if v.sess == nil {
			c.clearCookie(w, sessionCookie)
			c.toLogin(w, r)
			return
		}
		if r.Method == http.MethodPost {
			if !sameOrigin(r) || !c.csrfOK(r, v.sess.CSRF) {
				c.d.Log.Warn("console: POST refused: bad CSRF token or origin", "wecom_user", v.sess.UserID, "path", r.URL.Path)
				http.Error(w, "请求已过期或来源不明，请刷新页面后重试。", http.StatusForbidden)
				return
			}
		}
		next(w, r.WithContext(context.WithValue(r.Context(), viewerKey{}, &v)))
	})
}

// csrfOK compares the request's token (htmx sends a header, plain forms a
// field) with the session's in constant time.
func (c *Console) csrfOK(r *http.Request, want string) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// sameOrigin refuses a POST whose Origin names another site (browsers send
// it with every POST); a request without one passes to the CSRF check.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return o == ""
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

func secureHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	// same-origin, not no-referrer: with no-referrer browsers send
	// "Origin: null" on form posts, which sameOrigin must refuse.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// toLogin sends a signed-out browser to the login page; an htmx request
// is told to load it as a whole page.
func (c *Console) toLogin(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Redirect", "/console/login?expired=1")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodGet {
		http.Error(w, "登录已过期，请重新登录。", http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, "/console/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
}

func (c *Console) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/console/", MaxAge: maxAge,
		HttpOnly: true, Secure: c.d.Config.Console.CookieSecure, SameSite: http.SameSiteLaxMode})
}

func (c *Console) clearCookie(w http.ResponseWriter, name string) { c.setCookie(w, name, "", -1) }

// startSession signs userID in and sends the browser on.
func (c *Console) startSession(w http.ResponseWriter, r *http.Request, userID, via string, spend func(tx *models.Tx) (string, error)) {
	token, err := randomToken()
	if err != nil {
		c.fail(w, r, err)
		return
	}
	csrf, err := randomToken()
	if err != nil {
		c.fail(w, r, err)
		return
	}
	addr := clientAddr(r)
	err = c.d.Store.Update(r.Context(), func(tx *models.Tx) error {
		if spend != nil {
			if userID, err = spend(tx); err != nil {
				return err
			}
		}
		if _, err := tx.CreateConsoleSession(token, csrf, userID, via, addr); err != nil {
			return err
		}
		// Abandoned sessions and spent links go at each login: no job
		// needed, and the indexed delete costs little.
		if _, err := tx.PruneConsoleSessions(c.d.Config.Console.SessionIdle.D()); err != nil {
			return err
		}
		return tx.Audit(userID, "login", 0, via, addr)
	})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.setCookie(w, sessionCookie, token, 0)
	http.Redirect(w, r, safeNext(r.FormValue("next")), http.StatusSeeOther)
}

// safeNext keeps a redirect after login inside the console.
func safeNext(next string) string {
	if strings.HasPrefix(next, "/console/") && !strings.HasPrefix(next, "//") && !strings.Contains(next, "\\") {
		return next
	}
	return "/console/queue"
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	secureHeaders(w)
	cc := c.d.Config.Console
	c.render(w, r, http.StatusOK, "login", map[string]any{
		"Expired": r.URL.Query().Get("expired") != "",
		"Error":   r.URL.Query().Get("error"),
		"OAuth":   cc.OAuth && c.d.WeCom != nil,
		"QR":      cc.QRLogin && c.d.WeCom != nil,
		"Next":    r.URL.Query().Get("next"),
	})
}

// linkPage asks for one click before spending the link: chat apps open
// links to preview them, which must not use up a one-time login.
func (c *Console) linkPage(w http.ResponseWriter, r *http.Request) {
	secureHeaders(w)
	c.render(w, r, http.StatusOK, "link", map[string]any{"Token": r.URL.Query().Get("token")})
}

func (c *Console) linkLogin(w http.ResponseWriter, r *http.Request) {
	secureHeaders(w)
	if !sameOrigin(r) {
		http.Error(w, "来源不明的登录请求。", http.StatusForbidden)
		return
	}
	token := r.PostFormValue("token")
	c.startSession(w, r, "", "link", func(tx *models.Tx) (string, error) { return tx.UseLoginLink(token) })
}

// wecomStart redirects to WeCom's web authorisation (inside WeCom).
func (c *Console) wecomStart(w http.ResponseWriter, r *http.Request) {
	cc, wc := c.d.Config.Console, c.d.Config.WeCom
	if !cc.OAuth || c.d.WeCom == nil {
		http.NotFound(w, r)
		return
	}
	state := c.newState(w)
	q := url.Values{"appid": {wc.CorpID}, "redirect_uri": {trimSlash(cc.BaseURL) + "/console/login/callback"},
		"response_type": {"code"}, "scope": {"snsapi_base"}, "state": {state}, "agentid": {strconv.Itoa(wc.AgentID)}}
	http.Redirect(w, r, cc.OAuthURL+"?"+q.Encode()+"#wechat_redirect", http.StatusFound)
}

// qrStart redirects to WeCom's QR-code login for a PC browser.
func (c *Console) qrStart(w http.ResponseWriter, r *http.Request) {
	cc, wc := c.d.Config.Console, c.d.Config.WeCom
	if !cc.QRLogin || c.d.WeCom == nil {
		http.NotFound(w, r)
		return
	}
	state := c.newState(w)
	q := url.Values{"login_type": {"CorpApp"}, "appid": {wc.CorpID}, "agentid": {strconv.Itoa(wc.AgentID)},
		"redirect_uri": {trimSlash(cc.BaseURL) + "/console/login/callback"}, "state": {state}}
	http.Redirect(w, r, cc.QRURL+"?"+q.Encode(), http.StatusFound)
}

// newState binds the login round trip to this browser: the callback must
// bring back the state its cookie holds.
func (c *Console) newState(w http.ResponseWriter) string {
	s, err := randomToken()
	if err != nil {
		s = "x"
	}
	c.setCookie(w, stateCookie, s, 600)
	return s
}

func (c *Console) wecomCallback(w http.ResponseWriter, r *http.Request) {
	secureHeaders(w)
	if c.d.WeCom == nil {
		http.NotFound(w, r)
		return
	}
	ck, err := r.Cookie(stateCookie)
	state := r.URL.Query().Get("state")
	if err != nil || state == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(state)) != 1 {
		http.Redirect(w, r, "/console/login?error=state", http.StatusSeeOther)
		return
	}
	c.clearCookie(w, stateCookie)
	code := r.URL.Query().Get("code")
	if code == "" {
		http.Redirect(w, r, "/console/login?error=denied", http.StatusSeeOther)
		return
	}
	userID, err := c.d.WeCom.UserIDFromCode(r.Context(), code)
	if err != nil {
		c.d.Log.Warn("console: WeCom login code refused", "err", err)
		http.Redirect(w, r, "/console/login?error=code", http.StatusSeeOther)
		return
	}
	c.startSession(w, r, userID, "wecom", nil)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	err := c.d.Store.Update(r.Context(), func(tx *models.Tx) error {
		if err := tx.DeleteConsoleSession(v.token); err != nil {
			return err
		}
		return tx.Audit(v.actor.UserID, "logout", 0, "", clientAddr(r))
	})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.clearCookie(w, sessionCookie)
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}

// staffOnly, managersOnly and supervisorOnly refuse a page to roles that
// do not see it in chat either.
func (c *Console) staffOnly(next http.HandlerFunc) http.HandlerFunc {
	return c.requireRole(func(a models.Actor) bool { return a.IsStaff() }, next)
}

func (c *Console) managersOnly(next http.HandlerFunc) http.HandlerFunc {
	return c.requireRole(func(a models.Actor) bool { return a.Manages() }, next)
}

func (c *Console) supervisorOnly(next http.HandlerFunc) http.HandlerFunc {
	return c.requireRole(func(a models.Actor) bool { return a.Role == models.RoleSupervisor }, next)
}

func (c *Console) requireRole(ok func(models.Actor) bool, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !ok(viewerOf(r).actor) {
			c.fail(w, r, models.Errorf(models.EForbidden, "您是%s，无权查看此页。", viewerOf(r).actor.Role.Label()))
			return
		}
		next(w, r)
	}
}

// fail answers an error: a user-facing one with its message and status,
// an internal one with an apology (and a log line).
func (c *Console) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	msg := models.ErrorMessage(err)
	switch models.ErrorCode(err) {
	case models.ENotFound:
		status = http.StatusNotFound
	case models.EForbidden:
		status = http.StatusForbidden
	case models.EConflict:
		status = http.StatusConflict
	case models.EInvalid:
		status = http.StatusUnprocessableEntity
	}
	if msg == "" {
		if errors.Is(err, context.Canceled) {
			return
		}
		c.d.Log.Error("console request failed", "path", r.URL.Path, "err", err)
		msg = "抱歉，系统暂时出错，请稍后再试。"
	}
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("HX-Retarget", "#flash")
		w.Header().Set("HX-Reswap", "innerHTML")
		w.WriteHeader(status)
		c.renderFragment(w, "flash", map[string]any{"Error": msg})
		return
	}
	c.render(w, r, status, "error", map[string]any{"Message": msg, "Status": status})
}
