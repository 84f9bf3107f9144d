package bot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/work"
	workconfig "github.com/silenceper/wechat/v2/work/config"

	"opsbot/kv"
)

// API names, as they appear after /cgi-bin/ in the URL, in APIError.API and
// in the api label of the metrics.
const (
	apiGetToken      = "gettoken"
	apiMessageSend   = "message/send"
	apiUpdateCard    = "message/update_template_card"
	apiAppChatCreate = "appchat/create"
	apiAppChatSend   = "appchat/send"
	apiWebhookSend   = "webhook/send"
	apiUserGet       = "user/get"
	apiDepartmentGet = "department/get"
)

// WeCom errcodes the client acts on.
const (
	codeSystemBusy     = -1
	codeInvalidToken   = 40014
	codeExpiredToken   = 42001
	codeFrequencyLimit = 45009
	codeInvalidUserID  = 40003
	codeUserNotFound   = 60111
	codeBadMemberName  = 46004
)

const (
	// DefaultAPIBase is WeCom's API host.
	DefaultAPIBase = "https://qyapi.weixin.qq.com"
	// maxAnswer bounds how much of an API answer is read.
	maxAnswer = 1 << 20
	// Message text beyond these many bytes is cut by WeCom, possibly inside
	// a character; the client cuts first, at a character boundary.
	maxAppText   = 2048
	maxRobotText = 4096
	// userTTL and deptTTL bound how stale a cached name or department is;
	// missingUserTTL stops a stream of messages for an unknown userid from
	// asking WeCom each time, yet lets a newly added nurse appear soon.
	userTTL        = time.Hour
	deptTTL        = 24 * time.Hour
	missingUserTTL = 5 * time.Minute
	missingUser    = "-"
)

// ClientConfig is what the outbound client needs; zero fields take defaults.
type ClientConfig struct {
	CorpID  string
	AgentID int
	Secret  string
	// APIBase defaults to DefaultAPIBase; tests point it at wecomtest.
	APIBase string
	// Cache holds the access token (shared by all replicas), user lookups
	// and rate windows; nil means an in-process store, fine for one replica.
	Cache      kv.Store
	HTTPClient *http.Client // default: 10 s timeout
	Metrics    *Metrics
	Log        *slog.Logger
	// Limits keeps sends under WeCom's silent-drop thresholds.
	Limits Limits
}

// WeCom's documented send limits, past which it drops messages silently.
// The outbox holds messages back with these same numbers.
const (
	LimitPerUserMinute  = 30   // app messages to one person per minute
	LimitPerUserHour    = 1000 // app messages to one person per hour
	LimitPerRobotMinute = 20   // messages through one group robot per minute
)

// Limits caps sends below the rates past which WeCom silently drops
// messages; zero fields take WeCom's documented limits.
type Limits struct {
	PerUserMinute  int // default 30 app messages per recipient per minute
	PerUserHour    int // default 1000 per recipient per hour
	PerRobotMinute int // default 20 per robot webhook per minute
	// Disabled turns the limits off, for load tests against wecomtest.
	Disabled bool
}

// Client sends messages and reads the address book through WeCom's API.
// It is safe for concurrent use.
type Client struct {
	corpID     string
	agentID    int
	base       *url.URL
	hc         *http.Client
	cache      kv.Store
	tokens     credential.AccessTokenContextHandle
	tokenCache *sdkCache
	tokenKey   string
	metrics    *Metrics
	log        *slog.Logger
	limits     Limits

	// memo keeps the shared token in the process for a little while: the
	// SDK reads it from the shared cache under one process-wide lock on
	// every call, which serialises the outbox's workers on a round trip.
	memoMu    sync.Mutex
	memo      string
	memoUntil time.Time
}

// tokenMemo is how long a token read from the shared cache is reused
// without asking again. Tokens live two hours; one refused after another
// replica refreshed it is dropped and fetched again by call.
const tokenMemo = 30 * time.Second

// NewClient checks cfg and returns a Client. Token fetches go through the
// SDK; see installSDKTransport for the process-wide state that involves.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.CorpID == "" || cfg.Secret == "" {
		return nil, errors.New("wecom client: corp id and secret are required")
	}
	if cfg.AgentID <= 0 {
		return nil, errors.New("wecom client: agent id must be positive")
	}
	if cfg.APIBase == "" {
		cfg.APIBase = DefaultAPIBase
	}
	base, err := url.Parse(strings.TrimSuffix(cfg.APIBase, "/"))
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("wecom client: bad API base %q", cfg.APIBase)
	}
	if cfg.Cache == nil {
		cfg.Cache = kv.NewMemory(nil)
	}
	if cfg.HTTPClient == nil {
		// Every call goes to one host (WeCom or the intranet proxy) from
		// the outbox's workers; the default of 2 idle connections per host
		// would open and close connections under load.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 32
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second, Transport: t}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	lim := cfg.Limits
	if lim.PerUserMinute <= 0 {
		lim.PerUserMinute = LimitPerUserMinute
	}
	if lim.PerUserHour <= 0 {
		lim.PerUserHour = LimitPerUserHour
	}
	if lim.PerRobotMinute <= 0 {
		lim.PerRobotMinute = LimitPerRobotMinute
	}
	installSDKTransport()

	agent := strconv.Itoa(cfg.AgentID)
	tc := &sdkCache{store: cfg.Cache, prefix: "wecom:token:", log: cfg.Log}
	wk := work.NewWork(&workconfig.Config{CorpID: cfg.CorpID, CorpSecret: cfg.Secret, AgentID: agent, Cache: tc})
	tokens, ok := wk.GetContext().AccessTokenHandle.(credential.AccessTokenContextHandle)
	if !ok {
		return nil, errors.New("wecom client: SDK token handle does not take a context")
	}
	return &Client{
		corpID:     cfg.CorpID,
		agentID:    cfg.AgentID,
		base:       base,
		hc:         cfg.HTTPClient,
		cache:      cfg.Cache,
		tokens:     tokens,
		tokenCache: tc,
		// The key credential.WorkAccessToken caches the token under; kept in
		// step with the SDK so an invalid token can be dropped (the SDK has
		// no way to). TestTokenExpiry fails if the SDK changes it.
		tokenKey: fmt.Sprintf("%s_access_token_%s_%s", credential.CacheKeyWorkPrefix, cfg.CorpID, agent),
		metrics:  cfg.Metrics,
		log:      cfg.Log,
		limits:   lim,
	}, nil
}

// APIError is a failed WeCom call: an errcode, an HTTP status other than
// 200, or (with both zero) a network failure.
type APIError struct {
	API        string
	Code       int
	Msg        string
	HTTPStatus int
	err        error // transport failure, without the URL
}

func (e *APIError) Error() string {
	switch {
	case e.err != nil:
		return fmt.Sprintf("wecom %s: %s", e.API, e.Msg)
	case e.Code != 0:
		return fmt.Sprintf("wecom %s: errcode %d: %s", e.API, e.Code, e.Msg)
	case e.HTTPStatus != 0 && e.HTTPStatus != http.StatusOK:
		return fmt.Sprintf("wecom %s: HTTP %d", e.API, e.HTTPStatus)
	default:
		return fmt.Sprintf("wecom %s: %s", e.API, e.Msg)
	}
}

// Unwrap returns the transport failure, if any.
func (e *APIError) Unwrap() error { return e.err }

// Retryable reports whether the same call may succeed later: WeCom busy
// (-1), the frequency limit (45009), HTTP 5xx and 429, network failures and
// timeouts. A token still refused after the client's one renewal
// (40014/42001) is retryable too: the next attempt fetches a fresh token.
// Everything else (40003 bad userid, 60020 IP not trusted, …) needs a
// person, not a retry.
func (e *APIError) Retryable() bool {
	switch {
	case e.err != nil:
		return true
	case e.HTTPStatus >= 500 || e.HTTPStatus == http.StatusTooManyRequests:
		return true
	}
	switch e.Code {
	case codeSystemBusy, codeFrequencyLimit, codeInvalidToken, codeExpiredToken:
		return true
	}
	return false
}

// RateLimitError means a send was held back because it would pass one of
// WeCom's limits; retry after Wait.
type RateLimitError struct {
	Scope string // user:<userid> or robot
	Wait  time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("wecom rate limit %s: retry in %s", e.Scope, e.Wait.Round(time.Second))
}

// ErrBadMessage marks an Outgoing the client refuses to send as is.
var ErrBadMessage = errors.New("wecom: bad outgoing message")

// ErrUserNotFound means WeCom does not know the userid.
var ErrUserNotFound = errors.New("wecom: user not found")

// Retryable reports whether err, from any Client method, may go away when
// the same call is made again later.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Retryable()
	}
	var rl *RateLimitError
	if errors.As(err, &rl) {
		return true
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// Outgoing is one message to people, an app group chat or a robot webhook;
// exactly one of ToUsers, ChatID and RobotKey is set.
type Outgoing struct {
	ToUsers      []string // app message to people
	ChatID       string   // app group chat (appchat/send) instead of people
	RobotKey     string   // group robot webhook key instead of people
	MsgType      string   // text | markdown | textcard | template_card
	Text         string   // content for text and markdown
	TextCard     *TextCard
	TemplateCard *TemplateCard
	// MediaID is the uploaded file of a file message (UploadMedia).
	MediaID string
}

// Message types the client sends.
const (
	MsgText         = "text"
	MsgMarkdown     = "markdown"
	MsgTextCard     = "textcard"
	MsgTemplateCard = "template_card"
	MsgFile         = "file"
)

// SendResult is what WeCom answered to a send.
type SendResult struct {
	// ResponseCode updates an interactive card sent to people (72 h, once).
	ResponseCode string
	// InvalidUsers are recipients WeCom did not know; the others got it.
	InvalidUsers []string
}

// Send delivers m. Errors say through Retryable whether to try again.
func (c *Client) Send(ctx context.Context, m Outgoing) (SendResult, error) {
	targets := 0
	for _, set := range []bool{len(m.ToUsers) > 0, m.ChatID != "", m.RobotKey != ""} {
		if set {
			targets++
		}
	}
	if targets != 1 {
		return SendResult{}, fmt.Errorf("%w: set exactly one of ToUsers, ChatID, RobotKey", ErrBadMessage)
	}
	switch {
	case m.RobotKey != "":
		return SendResult{}, c.sendRobot(ctx, m)
	case m.ChatID != "":
		return SendResult{}, c.sendChat(ctx, m)
	default:
		return c.sendApp(ctx, m)
	}
}

func (c *Client) sendApp(ctx context.Context, m Outgoing) (SendResult, error) {
	if len(m.ToUsers) > 1000 {
		return SendResult{}, fmt.Errorf("%w: %d recipients, WeCom takes at most 1000", ErrBadMessage, len(m.ToUsers))
	}
	req := appMessage{ToUser: strings.Join(m.ToUsers, "|"), MsgType: m.MsgType, AgentID: c.agentID}
	switch m.MsgType {
	case MsgText, MsgMarkdown:
		body, err := textBody(m, maxAppText)
		if err != nil {
			return SendResult{}, err
		}
		req.Text, req.Markdown = body.split(m.MsgType)
	case MsgTextCard:
		if err := checkTextCard(m.TextCard); err != nil {
			return SendResult{}, err
		}
		req.TextCard = m.TextCard
	case MsgTemplateCard:
		card, err := checkTemplateCard(m.TemplateCard)
		if err != nil {
			return SendResult{}, err
		}
		req.TemplateCard = card
	case MsgFile:
		if m.MediaID == "" {
			return SendResult{}, fmt.Errorf("%w: file message without media_id", ErrBadMessage)
		}
		req.File = &mediaBody{MediaID: m.MediaID}
	default:
		return SendResult{}, fmt.Errorf("%w: msgtype %q", ErrBadMessage, m.MsgType)
	}
	if err := c.allowUsers(ctx, m.ToUsers); err != nil {
		return SendResult{}, err
	}
	var ans struct {
		InvalidUser  string `json:"invaliduser"`
		ResponseCode string `json:"response_code"`
	}
	if err := c.call(ctx, apiMessageSend, http.MethodPost, nil, req, &ans); err != nil {
		return SendResult{}, err
	}
	res := SendResult{ResponseCode: ans.ResponseCode}
	for _, u := range strings.Split(ans.InvalidUser, "|") {
		if u != "" {
			res.InvalidUsers = append(res.InvalidUsers, u)
		}
	}
	if len(res.InvalidUsers) > 0 {
		c.log.Warn("wecom recipients unknown", "api", apiMessageSend, "wecom_user", strings.Join(res.InvalidUsers, "|"))
	}
	return res, nil
}

func (c *Client) sendChat(ctx context.Context, m Outgoing) error {
	req := chatMessage{ChatID: m.ChatID, MsgType: m.MsgType}
	switch m.MsgType {
	case MsgText, MsgMarkdown:
		body, err := textBody(m, maxAppText)
		if err != nil {
			return err
		}
		req.Text, req.Markdown = body.split(m.MsgType)
	case MsgTextCard:
		if err := checkTextCard(m.TextCard); err != nil {
			return err
		}
		req.TextCard = m.TextCard
	case MsgFile:
		if m.MediaID == "" {
			return fmt.Errorf("%w: file message without media_id", ErrBadMessage)
		}
		req.File = &mediaBody{MediaID: m.MediaID}
	default:
		return fmt.Errorf("%w: app group chats take text, markdown, textcard or file, not %q", ErrBadMessage, m.MsgType)
	}
	return c.call(ctx, apiAppChatSend, http.MethodPost, nil, req, nil)
}

// sendRobot posts to a group robot. The SDK's RobotBroadcast returns a nil
// error for a non-zero errcode; do() checks it.
func (c *Client) sendRobot(ctx context.Context, m Outgoing) error {
	req := robotMessage{MsgType: m.MsgType}
	switch m.MsgType {
	case MsgText, MsgMarkdown:
		body, err := textBody(m, maxRobotText)
		if err != nil {
			return err
		}
		req.Text, req.Markdown = body.split(m.MsgType)
	default:
		return fmt.Errorf("%w: robots take text or markdown, not %q", ErrBadMessage, m.MsgType)
	}
	if !c.limits.Disabled {
		// The key is a credential; the rate window is named by its hash.
		sum := sha256.Sum256([]byte(m.RobotKey))
		if err := c.allow(ctx, "robot", kv.Window{Key: "wecom:rate:robot:" + hex.EncodeToString(sum[:8]), Limit: c.limits.PerRobotMinute, Span: time.Minute}); err != nil {
			return err
		}
	}
	q := url.Values{"key": {m.RobotKey}}
	return c.do(ctx, apiWebhookSend, http.MethodPost, q, req, nil)
}

func checkTextCard(tc *TextCard) error {
	if tc == nil || tc.Title == "" || tc.Description == "" || tc.URL == "" {
		return fmt.Errorf("%w: textcard needs title, description and url", ErrBadMessage)
	}
	return nil
}

// checkTemplateCard returns a copy with defaults filled, so the caller's
// card is not changed.
func checkTemplateCard(tc *TemplateCard) (*TemplateCard, error) {
	if tc == nil {
		return nil, fmt.Errorf("%w: template_card without card", ErrBadMessage)
	}
	card := *tc
	if card.CardType == "" {
		card.CardType = CardButtonInteraction
	}
	switch {
	case card.TaskID == "" || len(card.TaskID) > 128:
		return nil, fmt.Errorf("%w: template card task_id must have 1 to 128 bytes", ErrBadMessage)
	case card.MainTitle.Title == "" && card.SubTitleText == "":
		return nil, fmt.Errorf("%w: template card needs main_title.title or sub_title_text", ErrBadMessage)
	case card.CardType == CardButtonInteraction && (len(card.ButtonList) == 0 || len(card.ButtonList) > 6):
		return nil, fmt.Errorf("%w: button_interaction card needs 1 to 6 buttons, got %d", ErrBadMessage, len(card.ButtonList))
	case len(card.HorizontalContentList) > 6:
		return nil, fmt.Errorf("%w: at most 6 horizontal_content_list lines", ErrBadMessage)
	}
	return &card, nil
}

// cut shortens s to at most n bytes without splitting a character.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// allowUsers spends one slot of each recipient's minute and hour windows.
// A refusal leaves the slots already spent for other recipients spent: the
// limits err on the slow side, never on the dropped side.
func (c *Client) allowUsers(ctx context.Context, users []string) error {
	if c.limits.Disabled {
		return nil
	}
	for _, u := range users {
		if u == "@all" {
			continue
		}
		if err := c.allow(ctx, "user:"+u,
			kv.Window{Key: "wecom:rate:user:" + u + ":m", Limit: c.limits.PerUserMinute, Span: time.Minute},
			kv.Window{Key: "wecom:rate:user:" + u + ":h", Limit: c.limits.PerUserHour, Span: time.Hour}); err != nil {
			return err
		}
	}
	return nil
}

// allow fails open when the store is down: a message possibly dropped by
// WeCom beats a message certainly not sent.
func (c *Client) allow(ctx context.Context, scope string, windows ...kv.Window) error {
	ok, wait, err := c.cache.Allow(ctx, windows...)
	if err != nil {
		c.log.Warn("wecom rate window unavailable; sending anyway", "err", err)
		return nil
	}
	if !ok {
		kind, _, _ := strings.Cut(scope, ":")
		c.metrics.limited(kind)
		return &RateLimitError{Scope: scope, Wait: wait}
	}
	return nil
}

// UpdateTemplateCard turns the clicked button of the card behind
// responseCode into a grey, unclickable replaceName for userIDs (all
// recipients when userIDs is empty). A response code works once, for 72 h.
func (c *Client) UpdateTemplateCard(ctx context.Context, userIDs []string, responseCode, replaceName string) error {
	if responseCode == "" || replaceName == "" {
		return fmt.Errorf("%w: update_template_card needs response_code and replace_name", ErrBadMessage)
	}
	req := updateCardRequest{UserIDs: userIDs, AgentID: c.agentID, ResponseCode: responseCode, Button: &updateButton{ReplaceName: replaceName}}
	if len(userIDs) == 0 {
		req.AtAll = 1
	}
	return c.call(ctx, apiUpdateCard, http.MethodPost, nil, req, nil)
}

// ReplaceTemplateCard replaces the whole card behind responseCode for
// userIDs (all recipients when empty), e.g. a confirmation card that turns
// into the rating card once clicked. card.TaskID must be the clicked
// card's task id. A response code works once, for 72 h.
func (c *Client) ReplaceTemplateCard(ctx context.Context, userIDs []string, responseCode string, card *TemplateCard) error {
	if responseCode == "" {
		return fmt.Errorf("%w: update_template_card needs response_code", ErrBadMessage)
	}
	checked, err := checkTemplateCard(card)
	if err != nil {
		return err
	}
	req := updateCardRequest{UserIDs: userIDs, AgentID: c.agentID, ResponseCode: responseCode, TemplateCard: checked}
	if len(userIDs) == 0 {
		req.AtAll = 1
	}
	return c.call(ctx, apiUpdateCard, http.MethodPost, nil, req, nil)
}

// CreateAppChat creates an app group chat (the app must be visible to the
// root department) and returns its chat id. owner joins if not in users;
// WeCom wants at least two members.
func (c *Client) CreateAppChat(ctx context.Context, name, owner string, users []string) (chatID string, err error) {
	members := append([]string(nil), users...)
	if owner != "" && !contains(members, owner) {
		members = append(members, owner)
	}
	if name == "" || len(members) < 2 {
		return "", fmt.Errorf("%w: a group chat needs a name and two members", ErrBadMessage)
	}
	var ans struct {
		ChatID string `json:"chatid"`
	}
	if err := c.call(ctx, apiAppChatCreate, http.MethodPost, nil, createChatRequest{Name: name, Owner: owner, UserList: members}, &ans); err != nil {
		return "", err
	}
	return ans.ChatID, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// User is a member of the corp's address book.
type User struct {
	UserID      string `json:"userid"`
	Name        string `json:"name"`
	Departments []int  `json:"departments"`
	// DepartmentNames[i] names Departments[i]; "" when WeCom would not say.
	DepartmentNames []string `json:"department_names"`
	// Mobile is empty for apps created after mid-2022: WeCom no longer hands
	// it to new self-built apps through user/get.
	Mobile string `json:"mobile,omitempty"`
}

// GetUser reads a member, cached for an hour. An unknown userid gives an
// error matching ErrUserNotFound; callers then go on with the bare userid.
func (c *Client) GetUser(ctx context.Context, userID string) (User, error) {
	if userID == "" {
		return User{}, fmt.Errorf("%w: empty userid", ErrUserNotFound)
	}
	key := "wecom:user:" + userID
	if v, ok, err := c.cache.Get(ctx, key); err == nil && ok {
		if v == missingUser {
			return User{}, fmt.Errorf("wecom user %q: %w", userID, ErrUserNotFound)
		}
		var u User
		if json.Unmarshal([]byte(v), &u) == nil {
			return u, nil
		}
	}
	var ans struct {
		UserID     string `json:"userid"`
		Name       string `json:"name"`
		Department []int  `json:"department"`
		Mobile     string `json:"mobile"`
	}
	err := c.call(ctx, apiUserGet, http.MethodGet, url.Values{"userid": {userID}}, nil, &ans)
	var ae *APIError
	if errors.As(err, &ae) && (ae.Code == codeUserNotFound || ae.Code == codeInvalidUserID || ae.Code == codeBadMemberName) {
		c.setCache(ctx, key, missingUser, missingUserTTL)
		return User{}, fmt.Errorf("wecom user %q: %w (%w)", userID, ErrUserNotFound, err)
	}
	if err != nil {
		return User{}, err
	}
	u := User{UserID: ans.UserID, Name: ans.Name, Departments: ans.Department, Mobile: ans.Mobile}
	if u.UserID == "" {
		u.UserID = userID
	}
	u.DepartmentNames = make([]string, len(u.Departments))
	for i, id := range u.Departments {
		u.DepartmentNames[i] = c.departmentName(ctx, id)
	}
	if data, err := json.Marshal(u); err == nil {
		c.setCache(ctx, key, string(data), userTTL)
	}
	return u, nil
}

// departmentName is best effort: a department the app may not read stays
// unnamed rather than failing the user lookup.
func (c *Client) departmentName(ctx context.Context, id int) string {
	key := "wecom:dept:" + strconv.Itoa(id)
	if v, ok, err := c.cache.Get(ctx, key); err == nil && ok {
		return v
	}
	var ans struct {
		Department struct {
			Name string `json:"name"`
		} `json:"department"`
	}
	if err := c.call(ctx, apiDepartmentGet, http.MethodGet, url.Values{"id": {strconv.Itoa(id)}}, nil, &ans); err != nil {
		c.log.Debug("wecom department name unavailable", "api", apiDepartmentGet, "err", err)
		return ""
	}
	c.setCache(ctx, key, ans.Department.Name, deptTTL)
	return ans.Department.Name
}

func (c *Client) setCache(ctx context.Context, key, value string, ttl time.Duration) {
	if err := c.cache.Set(ctx, key, value, ttl); err != nil {
		c.log.Warn("wecom lookup cache write failed", "err", err)
	}
}

// call makes one API request with the access token. When WeCom calls the
// token invalid or expired (40014/42001) it drops the cached token, fetches
// a new one and tries once more.
func (c *Client) call(ctx context.Context, api, method string, query url.Values, body, out any) error {
	for attempt := 0; ; attempt++ {
		tok, err := c.token(ctx)
		if err != nil {
			return err
		}
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		q.Set("access_token", tok)
		err = c.do(ctx, api, method, q, body, out)
		var ae *APIError
		if attempt == 0 && errors.As(err, &ae) && (ae.Code == codeInvalidToken || ae.Code == codeExpiredToken) {
			c.log.Info("wecom access token refused; fetching a new one", "api", api, "errcode", ae.Code)
			c.dropToken(ctx, tok)
			continue
		}
		return err
	}
}

// do sends one request to base/cgi-bin/<api> and decodes the answer into
// out after checking HTTP status and errcode.
func (c *Client) do(ctx context.Context, api, method string, query url.Values, body, out any) error {
	var rd io.Reader
	if body != nil {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // markdown and card text keep their < and &
		if err := enc.Encode(body); err != nil {
			return fmt.Errorf("wecom %s: encode: %w", api, err)
		}
		rd = &buf
	}
	u := *c.base
	u.Path = strings.TrimSuffix(c.base.Path, "/") + "/cgi-bin/" + api
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return fmt.Errorf("wecom %s: %w", api, stripURL(err))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		err = stripURL(err)
		c.metrics.apiOutcome(api, "network")
		c.log.Warn("wecom call failed", "api", api, "err", err)
		return &APIError{API: api, Msg: err.Error(), err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if resp.StatusCode != http.StatusOK {
		c.metrics.apiOutcome(api, "http_"+strconv.Itoa(resp.StatusCode))
		c.log.Warn("wecom call failed", "api", api, "status", resp.StatusCode)
		return &APIError{API: api, HTTPStatus: resp.StatusCode, Msg: http.StatusText(resp.StatusCode)}
	}
	if err != nil {
		c.metrics.apiOutcome(api, "network")
		return &APIError{API: api, HTTPStatus: resp.StatusCode, Msg: err.Error(), err: err}
	}
	var ce struct {
		ErrCode *int   `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(data, &ce); err != nil || ce.ErrCode == nil {
		// A 200 that is not WeCom's JSON is a proxy or gateway talking;
		// treated as a transport failure, retryable.
		c.metrics.apiOutcome(api, "bad_answer")
		return &APIError{API: api, HTTPStatus: resp.StatusCode, Msg: "answer is not WeCom JSON", err: errBadAnswer}
	}
	c.metrics.apiCode(api, *ce.ErrCode)
	if *ce.ErrCode != 0 {
		c.log.Warn("wecom call refused", "api", api, "errcode", *ce.ErrCode, "errmsg", ce.ErrMsg)
		return &APIError{API: api, Code: *ce.ErrCode, Msg: ce.ErrMsg, HTTPStatus: resp.StatusCode}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("wecom %s: decode answer: %w", api, err)
		}
	}
	return nil
}

var errBadAnswer = errors.New("answer is not WeCom JSON")

// textBody is the content of a text or markdown message, cut to limit bytes.
func textBody(m Outgoing, limit int) (*contentBody, error) {
	if strings.TrimSpace(m.Text) == "" {
		return nil, fmt.Errorf("%w: empty %s", ErrBadMessage, m.MsgType)
	}
	return &contentBody{Content: cut(m.Text, limit)}, nil
}

// split puts the body in the text or the markdown field by message type.
func (b *contentBody) split(msgType string) (text, markdown *contentBody) {
	if msgType == MsgMarkdown {
		return nil, b
	}
	return b, nil
}
