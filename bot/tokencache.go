package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/util"

	"opsbot/kv"
)

// sdkCache adapts kv.Store to the SDK's four-method cache.Cache so that all
// replicas share one access token through Redis.
type sdkCache struct {
	store  kv.Store
	prefix string
	log    *slog.Logger
}

var _ cache.Cache = (*sdkCache)(nil)

// kvTimeout bounds each cache call: the SDK's interface has no context.
const kvTimeout = 2 * time.Second

func (c *sdkCache) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), kvTimeout)
}

// Get returns the string stored under key, or nil (never ""): the SDK
// type-asserts any non-nil value to string and would use "" as a token.
func (c *sdkCache) Get(key string) interface{} {
	ctx, cancel := c.ctx()
	defer cancel()
	v, ok, err := c.store.Get(ctx, c.prefix+key)
	if err != nil {
		c.log.Warn("wecom token cache read failed; fetching a token", "err", err)
		return nil
	}
	if !ok || v == "" {
		return nil
	}
	return v
}

// Set stores a string. A store failure is logged and swallowed: the SDK
// turns a Set error into a failed token fetch, and a Redis outage must not
// stop outbound messages (each call then fetches a token, which WeCom
// answers with the same one while it is valid).
func (c *sdkCache) Set(key string, val interface{}, timeout time.Duration) error {
	s, ok := val.(string)
	if !ok {
		return fmt.Errorf("wecom token cache: %T is not a string", val)
	}
	// The SDK subtracts 1500 s from expires_in; a short-lived token would
	// give a ttl <= 0, which the kv stores read as "never expires".
	if timeout <= 0 {
		return nil
	}
	ctx, cancel := c.ctx()
	defer cancel()
	if err := c.store.Set(ctx, c.prefix+key, s, timeout); err != nil {
		c.log.Warn("wecom token cache write failed", "err", err)
	}
	return nil
}

// IsExist reports whether key holds a value.
func (c *sdkCache) IsExist(key string) bool { return c.Get(key) != nil }

// Delete removes key.
func (c *sdkCache) Delete(key string) error {
	ctx, cancel := c.ctx()
	defer cancel()
	return c.store.Del(ctx, c.prefix+key)
}

// The SDK fetches tokens through util.HTTPGetContext, which rewrites URLs
// with the process-wide util.SetURIModifier and sends them with the
// process-wide util.DefaultHTTPClient. Rather than point that global at one
// base URL, bot installs once a client whose transport reads the target
// from the request's context: every Client puts its own base URL and
// http.Client there, so Clients aimed at different servers (tests with
// their own httptest fakes) coexist in one process. Requests without that
// context value pass through to http.DefaultTransport unchanged.
//
// Caveat (process-wide): bot owns util.DefaultHTTPClient; code that replaces
// it, or sets a URI modifier, would send token fetches to the real
// qyapi.weixin.qq.com instead of the configured APIBase.
var installSDKTransport = sync.OnceFunc(func() {
	util.DefaultHTTPClient = &http.Client{Transport: sdkRouter{}}
})

type sdkRouteKey struct{}

// sdkRoute carries one token fetch's target and brings back what the
// transport saw, because the SDK's own errors embed the request URL, and
// with it the corp secret, in their text.
type sdkRoute struct {
	api  string
	base *url.URL
	hc   *http.Client

	used    bool
	status  int
	errcode int
	errmsg  string
	netErr  error
}

type sdkRouter struct{}

func (sdkRouter) RoundTrip(req *http.Request) (*http.Response, error) {
	rt, ok := req.Context().Value(sdkRouteKey{}).(*sdkRoute)
	if !ok {
		return http.DefaultTransport.RoundTrip(req)
	}
	rt.used = true
	out := req.Clone(req.Context())
	u := *req.URL
	u.Scheme, u.Host = rt.base.Scheme, rt.base.Host
	u.Path = strings.TrimSuffix(rt.base.Path, "/") + req.URL.Path
	u.RawPath = ""
	out.URL, out.Host, out.RequestURI = &u, "", ""
	resp, err := rt.hc.Do(out)
	if err != nil {
		rt.netErr = stripURL(err)
		return nil, rt.netErr
	}
	rt.status = resp.StatusCode
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	resp.Body.Close()
	if err != nil {
		rt.netErr = stripURL(err)
		return nil, rt.netErr
	}
	var ce struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if json.Unmarshal(body, &ce) == nil {
		rt.errcode, rt.errmsg = ce.ErrCode, ce.ErrMsg
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// stripURL drops the URL from a *url.Error: ours carry access tokens, corp
// secrets and robot keys in the query.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// token returns the shared access token, fetching one through the SDK when
// the cache has none.
func (c *Client) token(ctx context.Context) (string, error) {
	c.memoMu.Lock()
	tok, until := c.memo, c.memoUntil
	c.memoMu.Unlock()
	if tok != "" && time.Now().Before(until) {
		return tok, nil
	}
	tok, err := c.sharedToken(ctx)
	if err == nil {
		c.memoMu.Lock()
		c.memo, c.memoUntil = tok, time.Now().Add(tokenMemo)
		c.memoMu.Unlock()
	}
	return tok, err
}

// sharedToken reads the token through the SDK: from the shared cache, or
// fetched from WeCom when the cache has none.
func (c *Client) sharedToken(ctx context.Context) (string, error) {
	rt := &sdkRoute{api: apiGetToken, base: c.base, hc: c.hc}
	tok, err := c.tokens.GetAccessTokenContext(context.WithValue(ctx, sdkRouteKey{}, rt))
	switch {
	case rt.netErr != nil:
		c.metrics.apiOutcome(apiGetToken, "network")
		return "", &APIError{API: apiGetToken, Msg: rt.netErr.Error(), err: rt.netErr}
	case rt.used && rt.status != http.StatusOK:
		c.metrics.apiOutcome(apiGetToken, fmt.Sprintf("http_%d", rt.status))
		return "", &APIError{API: apiGetToken, HTTPStatus: rt.status, Msg: http.StatusText(rt.status)}
	case rt.used:
		c.metrics.apiCode(apiGetToken, rt.errcode)
		if rt.errcode != 0 {
			return "", &APIError{API: apiGetToken, Code: rt.errcode, Msg: rt.errmsg, HTTPStatus: rt.status}
		}
		if err == nil {
			c.log.Info("wecom access token fetched", "api", apiGetToken)
		}
	}
	if err != nil {
		// Not from the wire (the cache, or a body the SDK could not decode);
		// its text holds no URL.
		return "", fmt.Errorf("wecom gettoken: %w", err)
	}
	if tok == "" {
		return "", &APIError{API: apiGetToken, Msg: "empty access_token"}
	}
	return tok, nil
}

// dropToken forgets the cached token after WeCom called it invalid or
// expired, unless another replica has already replaced it.
func (c *Client) dropToken(ctx context.Context, bad string) {
	c.memoMu.Lock()
	if c.memo == bad {
		c.memo = ""
	}
	c.memoMu.Unlock()
	// Deleted only while it still holds the bad token, in one step: a
	// fresh token another replica stored meanwhile stays.
	if err := c.cache.Unlock(ctx, c.tokenCache.prefix+c.tokenKey, bad); err != nil {
		c.log.Warn("wecom token cache delete failed", "api", apiGetToken, "err", err)
	}
}
