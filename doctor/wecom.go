package doctor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"opsbot/bot"
	"opsbot/configs"
)

// WeCom errcodes the doctor explains.
const (
	codeBadCorpID     = 40013
	codeBadSecret     = 40001
	codeBadSecret2    = 40091
	codeIPNotTrusted  = 60020
	codeUserNotFound  = 60111
	codeBadUserID     = 40003
	codeNoPrivilege   = 60011
	codeBadBotAccount = 853000
)

// seenIP finds the address WeCom saw in a 60020 errmsg, e.g. "not allow to
// access from your ip, hint: [...], from ip: 1.2.3.4, more info at ...".
var seenIP = regexp.MustCompile(`from ip:\s*([0-9A-Fa-f.:]+[0-9A-Fa-f])`)

// explainAPIError turns a failed WeCom call into a summary and a fix.
func explainAPIError(err error, base string) (summary, fix string) {
	var ae *bot.APIError
	if !errors.As(err, &ae) {
		return "调用失败：" + err.Error(), "检查网络后重试"
	}
	switch {
	case ae.Code == codeBadCorpID:
		return "企业ID 不对（errcode 40013）", "在管理后台「我的企业 → 企业信息」最下方复制企业ID，填入 wecom.corp_id（OPSBOT_WECOM_CORP_ID）"
	case ae.Code == codeBadSecret || ae.Code == codeBadSecret2:
		return fmt.Sprintf("应用 Secret 不对（errcode %d）", ae.Code),
			"在管理后台「应用管理 → 自建应用 → opsbot → Secret 查看」取得 Secret（会发到管理员的企业微信），填入 wecom.secret（OPSBOT_WECOM_SECRET）；注意不是「通讯录同步」的 Secret，重置后旧的立即失效"
	case ae.Code == codeIPNotTrusted:
		where := "在管理后台「应用管理 → opsbot → 开发者接口 → 企业可信IP」中加入"
		if m := seenIP.FindStringSubmatch(ae.Msg); m != nil {
			return fmt.Sprintf("本服务器的 IP 不在应用的企业可信IP 中（errcode 60020，企业微信看到的来源 IP：%s）", m[1]),
				fmt.Sprintf("%s %s（经代理或 NAT 出网时就是出口 IP）", where, m[1])
		}
		return "本服务器的 IP 不在应用的企业可信IP 中（errcode 60020）",
			where + "本机的出口 IP（经代理或 NAT 出网时填代理或 NAT 的公网 IP；可在本机 curl ifconfig.me 查看）"
	case ae.Code != 0:
		return fmt.Sprintf("企业微信返回错误码 %d：%s", ae.Code, ae.Msg),
			fmt.Sprintf("按错误码查原因：https://developer.work.weixin.qq.com/devtool/query?e=%d", ae.Code)
	case ae.HTTPStatus != 0 && ae.HTTPStatus != http.StatusOK:
		return fmt.Sprintf("%s 返回 HTTP %d：不像企业微信的接口", base, ae.HTTPStatus),
			"检查 wecom.api_base（OPSBOT_WECOM_API_BASE）：应为 https://qyapi.weixin.qq.com 或把 /cgi-bin/ 原样转发过去的内网代理"
	case ae.Msg == "answer is not WeCom JSON":
		return fmt.Sprintf("%s 的回答不是企业微信的 JSON（代理或网关的页面？）", base),
			"检查 wecom.api_base 指向的代理是否把 /cgi-bin/ 原样转发到 qyapi.weixin.qq.com"
	}
	return fmt.Sprintf("连不上 %s：%s", base, ae.Msg),
		"检查本机能否访问 qyapi.weixin.qq.com:443（防火墙、DNS、出网代理）；院内只能经代理出网时，把代理填入 wecom.api_base"
}

// checkWeComApp fetches an access token with the corp ID and secret.
func checkWeComApp(ctx context.Context, env *Env) Result {
	if r, ok := needConfig(env); !ok {
		env.tokenWhy = r.Summary
		return r
	}
	w := env.cfg.WeCom
	if !w.Enabled() {
		env.tokenWhy = "未配置企业微信"
		return Result{Status: Warn, Summary: "未配置企业微信（wecom.corp_id 为空）", Skipped: true, Fix: "填写 wecom.* 或运行 opsbot init"}
	}
	if w.Secret == "" {
		env.tokenWhy = "没有应用 Secret"
		return Result{Status: Fail, Summary: "wecom.secret 为空", Fix: "填入自建应用的 Secret（OPSBOT_WECOM_SECRET）"}
	}
	tok, err := env.probe().GetToken(ctx, w.CorpID, w.Secret)
	if !tok.ServerDate.IsZero() {
		a := tok.ProbeAnswer
		env.answer = &a
	}
	if err != nil {
		env.tokenWhy = "未取得 access_token"
		summary, fix := explainAPIError(err, w.APIBase)
		return Result{Status: Fail, Summary: "gettoken 失败：" + summary, Fix: fix, Detail: err.Error()}
	}
	env.token = tok.Value
	return Result{Status: OK, Summary: fmt.Sprintf("企业ID 和 Secret 正确，已取得 access_token（有效 %d 秒）", tok.ExpiresIn)}
}

// rosterPath is the staff file `opsbot serve` would read, "" for the
// embedded example.
func rosterPath(cfg configs.Config) string {
	if cfg.StaffFile != "" {
		return cfg.StaffFile
	}
	if _, err := os.Stat(configs.DefaultStaffFile); err == nil {
		return configs.DefaultStaffFile
	}
	return ""
}

// sampleSize is how many roster members the visibility check looks up.
const sampleSize = 3

// checkWeComUsers looks up a few roster members with user/get: a member
// outside the app's visible range gets no message.
func checkWeComUsers(ctx context.Context, env *Env) Result {
	if r, ok := needConfig(env); !ok {
		return r
	}
	if env.token == "" {
		return skipped(env.tokenWhy)
	}
	path := rosterPath(env.cfg)
	if path == "" {
		return skipped("没有人员名单（staff_file），示例名单的账号不在贵单位的通讯录里")
	}
	roster, err := configs.LoadStaff(path)
	if err != nil {
		return skipped("人员名单无法读取（见「人员与值班」）")
	}
	if len(roster.Staff) == 0 {
		return skipped("人员名单是空的")
	}
	sample := sampleStaff(roster.Staff, sampleSize)
	var bad, good []string
	status := OK
	var fix string
	for _, e := range sample {
		m, err := env.probe().GetUser(ctx, env.token, e.UserID)
		var ae *bot.APIError
		switch {
		case err == nil:
			good = append(good, fmt.Sprintf("%s（%s）", e.UserID, m.Name))
		case errors.As(err, &ae) && (ae.Code == codeUserNotFound || ae.Code == codeBadUserID || ae.Code == codeNoPrivilege):
			status = Fail
			bad = append(bad, fmt.Sprintf("%s（%s）：errcode %d，账号不存在或不在应用的可见范围内", e.UserID, e.Name, ae.Code))
			fix = "在管理后台「应用管理 → opsbot → 可见范围」加入这些人所在的部门；并核对 staff.yaml 的 userid 是通讯录里的「账号」，不是姓名或手机号"
		default:
			status = Fail
			s, f := explainAPIError(err, env.cfg.WeCom.APIBase)
			bad = append(bad, fmt.Sprintf("%s：%s", e.UserID, s))
			fix = f
		}
	}
	if status == OK {
		return Result{Status: OK, Summary: fmt.Sprintf("应用能看到名单里的人（抽查 %d 人：%s）", len(sample), strings.Join(good, "、"))}
	}
	return Result{Status: status, Summary: fmt.Sprintf("抽查 %d 人，%d 人查不到", len(sample), len(bad)), Fix: fix, Detail: strings.Join(bad, "\n")}
}

// sampleStaff picks up to n members, supervisors first (they receive the
// escalations), then engineers, then the rest, in file order.
func sampleStaff(staff []configs.StaffEntry, n int) []configs.StaffEntry {
	var out []configs.StaffEntry
	for _, role := range []string{configs.RoleSupervisor, configs.RoleEngineer, configs.RoleAccountManager} {
		for _, e := range staff {
			if e.Role == role && len(out) < n {
				out = append(out, e)
			}
		}
	}
	return out
}

// checkCallback checks the token and the EncodingAESKey by sealing and
// opening a probe, and with a URL sends WeCom's verification request
// through it.
func checkCallback(ctx context.Context, env *Env) Result {
	if r, ok := needConfig(env); !ok {
		return r
	}
	w := env.cfg.WeCom
	if !w.Enabled() {
		return Result{Status: Warn, Summary: "未配置企业微信，没有回调可查", Skipped: true}
	}
	c, err := bot.NewCrypto(w.Token, w.AESKey, w.CorpID)
	if err != nil {
		return Result{Status: Fail, Summary: "Token 或 EncodingAESKey 无效", Detail: err.Error(),
			Fix: "在「应用管理 → opsbot → 接收消息 → 设置API接收」重新复制 Token 和 EncodingAESKey（43 位），填入 wecom.token 和 wecom.aes_key"}
	}
	echo := randomDigits()
	ts := strconv.FormatInt(env.now().Unix(), 10)
	q, err := c.EchoRequest(echo, ts, randomDigits())
	if err != nil {
		return Result{Status: Fail, Summary: "无法用 EncodingAESKey 加密", Detail: err.Error(), Fix: "重新复制 EncodingAESKey"}
	}
	if got, err := c.VerifyURL(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), q.Get("echostr")); err != nil || got != echo {
		return Result{Status: Fail, Summary: "Token 与 EncodingAESKey 不能互相验证", Detail: fmt.Sprint(err), Fix: "重新复制 Token 和 EncodingAESKey"}
	}
	if env.CallbackURL == "" {
		return Result{Status: OK, Summary: "Token 和 EncodingAESKey 有效（加上 --url https://…/wecom/callback 可检查公网到本服务的整条路径）"}
	}
	return verifyCallbackURL(ctx, env, q, echo)
}

// verifyCallbackURL sends the verification request to the public URL and
// expects the decrypted echo back, as WeCom does when the URL is saved.
func verifyCallbackURL(ctx context.Context, env *Env, q url.Values, echo string) Result {
	u, err := url.Parse(env.CallbackURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Result{Status: Fail, Summary: fmt.Sprintf("--url %q 不是 http(s) 地址", env.CallbackURL), Fix: "例如 --url https://opsbot.example-hospital.cn/wecom/callback"}
	}
	all := u.Query()
	for k, v := range q {
		all[k] = v
	}
	u.RawQuery = all.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Result{Status: Fail, Summary: "无法构造请求", Detail: err.Error()}
	}
	resp, err := env.httpClient().Do(req)
	if err != nil {
		return Result{Status: Fail, Summary: "访问不到 " + env.CallbackURL, Detail: stripQuery(err.Error()),
			Fix: "检查域名解析、证书、防火墙和反向代理是否把该地址转发到 opsbot serve 的 http_addr"}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	got := strings.TrimSpace(string(body))
	switch {
	case resp.StatusCode == http.StatusOK && got == echo:
		return Result{Status: OK, Summary: "Token 和 EncodingAESKey 有效；经 " + env.CallbackURL + " 的验证请求得到正确回答"}
	case resp.StatusCode == http.StatusForbidden:
		return Result{Status: Fail, Summary: fmt.Sprintf("%s 拒绝了签名（HTTP 403）：那边运行的 opsbot 用的 Token、EncodingAESKey 或企业ID 与本配置不同", env.CallbackURL),
			Fix: "让服务端和本机使用同一份配置，并与管理后台「接收消息」中的 Token、EncodingAESKey 一致"}
	case resp.StatusCode == http.StatusNotFound:
		return Result{Status: Fail, Summary: fmt.Sprintf("%s 返回 HTTP 404", env.CallbackURL), Fix: "回调路径应为 /wecom/callback；检查反向代理的路径转发"}
	case resp.StatusCode == http.StatusOK:
		return Result{Status: Fail, Summary: "回调地址返回 200，但内容不是解密后的 echostr", Detail: "得到：" + cutText(got, 200),
			Fix: "该地址不是 opsbot（或被代理改写了回答）：检查反向代理是否转发到 opsbot serve"}
	}
	return Result{Status: Fail, Summary: fmt.Sprintf("%s 返回 HTTP %d", env.CallbackURL, resp.StatusCode), Detail: cutText(got, 200),
		Fix: "检查反向代理和 opsbot serve 是否在运行"}
}

// stripQuery drops a URL's query (the signed echostr) from an error text.
func stripQuery(s string) string {
	if i := strings.Index(s, "?"); i >= 0 {
		if j := strings.IndexAny(s[i:], "\": "); j >= 0 {
			return s[:i] + s[i+j:]
		}
		return s[:i]
	}
	return s
}

func cutText(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// randomDigits is a nonce or echo like WeCom's: a decimal number.
func randomDigits() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	var n uint64
	for _, x := range b {
		n = n<<8 | uint64(x)
	}
	return strconv.FormatUint(n%1e18, 10)
}

// Clock skew limits: callbacks carry a timestamp the receiver refuses when
// it is off by more than bot.DefaultMaxSkew; a minute is well inside that
// yet already wrong for SLA times.
const (
	skewWarn = 5 * time.Second
	skewFail = 60 * time.Second
)

// checkClock compares the local clock with WeCom's Date header of the
// gettoken answer.
func checkClock(_ context.Context, env *Env) Result {
	if env.answer == nil || env.answer.ServerDate.IsZero() {
		why := env.tokenWhy
		if why == "" {
			why = "没有企业微信的回答可对时"
		}
		return skipped(why)
	}
	// Date has whole seconds: WeCom's clock was somewhere in the second
	// after it, so compare with the middle of that second.
	skew := env.answer.LocalAt.Sub(env.answer.ServerDate.Add(500 * time.Millisecond))
	abs := skew.Abs()
	dir := "快"
	if skew < 0 {
		dir = "慢"
	}
	shown := fmt.Sprintf("本机比企业微信%s %s", dir, abs.Round(time.Second))
	fix := "开启时间同步：timedatectl set-ntp true，或让 chrony 指向医院的 NTP 服务器（容器跟随宿主机时间）"
	switch {
	case abs > skewFail:
		return Result{Status: Fail, Summary: shown + "：时间戳偏差大的回调会被拒收，SLA 计时也会错", Fix: fix}
	case abs > skewWarn:
		return Result{Status: Warn, Summary: shown, Fix: fix}
	}
	return Result{Status: OK, Summary: fmt.Sprintf("与企业微信相差 %s 以内", skewWarn)}
}

// randomHex names a request.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ExplainWeComError says in Chinese what a failed WeCom call means and
// how to fix it (corp ID, secret, trusted IP, network), for other commands
// that call WeCom (opsbot staff import); base is the API base.
func ExplainWeComError(err error, base string) (summary, fix string) {
	return explainAPIError(err, base)
}
