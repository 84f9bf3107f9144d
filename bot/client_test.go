package bot

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"opsbot/bot/wecomtest"
	"opsbot/kv"
)

type clientFixture struct {
	fake    *wecomtest.Server
	client  *Client
	cache   *kv.Memory
	metrics *Metrics
	logs    *bytes.Buffer
}

func newClientFixture(t *testing.T, limits Limits) *clientFixture {
	t.Helper()
	fake := wecomtest.New()
	t.Cleanup(fake.Close)
	f := &clientFixture{fake: fake, cache: kv.NewMemory(nil), metrics: NewMetrics(prometheus.NewRegistry()), logs: &bytes.Buffer{}}
	c, err := NewClient(ClientConfig{
		CorpID: wecomtest.CorpID, AgentID: wecomtest.AgentID, Secret: wecomtest.Secret,
		APIBase: fake.URL, Cache: f.cache, Metrics: f.metrics, Log: newTestLogger(f.logs), Limits: limits,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.client = c
	t.Cleanup(func() {
		if strings.Contains(f.logs.String(), wecomtest.Secret) || strings.Contains(f.logs.String(), "fake-token-") {
			t.Errorf("log holds a secret or token:\n%s", f.logs)
		}
	})
	return f
}

func (f *clientFixture) errcodes(t *testing.T, api, code string) float64 {
	return counterValue(t, f.metrics.apiCodes.WithLabelValues(api, code))
}

var noLimits = Limits{Disabled: true}

func TestSendText(t *testing.T) {
	f := newClientFixture(t, noLimits)
	res, err := f.client.Send(context.Background(), Outgoing{ToUsers: []string{"nurse01", "eng02"}, MsgType: MsgText, Text: "工单 #128 已接单"})
	if err != nil {
		t.Fatal(err)
	}
	if res.ResponseCode != "" || len(res.InvalidUsers) != 0 {
		t.Errorf("result %+v", res)
	}
	msgs := f.fake.Messages()
	if len(msgs) != 1 || !slices.Equal(msgs[0].To, []string{"nurse01", "eng02"}) || msgs[0].MsgType != "text" || msgs[0].Text != "工单 #128 已接单" {
		t.Fatalf("messages %+v", msgs)
	}
	if agent, ok := msgs[0].Body["agentid"].(float64); !ok || agent != wecomtest.AgentID {
		t.Errorf("agentid %#v, want the number %d", msgs[0].Body["agentid"], wecomtest.AgentID)
	}
	call := f.fake.CallsTo("message/send")[0]
	if call.Token == "" || call.Method != http.MethodPost {
		t.Errorf("call %+v", call)
	}
	if f.errcodes(t, "message/send", "0") != 1 || f.errcodes(t, "gettoken", "0") != 1 {
		t.Errorf("errcode metrics not counted")
	}
}

func TestSendMarkdownAndTextCardAndChat(t *testing.T) {
	f := newClientFixture(t, noLimits)
	ctx := context.Background()
	for _, m := range []Outgoing{
		{ToUsers: []string{"sup1"}, MsgType: MsgMarkdown, Text: "**升级** <font color=\"warning\">#12</font>"},
		{ToUsers: []string{"sup1"}, MsgType: MsgTextCard, TextCard: &TextCard{Title: "工单 #12", Description: "<div class=\"gray\">HIS</div>", URL: "https://ops/t/12"}},
		{ChatID: "chat-ops", MsgType: MsgText, Text: "晨检完成"},
		{RobotKey: "robot-key-1", MsgType: MsgMarkdown, Text: "告警：LIS 数据库连接数过高"},
	} {
		if _, err := f.client.Send(ctx, m); err != nil {
			t.Fatalf("%+v: %v", m, err)
		}
	}
	msgs := f.fake.Messages()
	if len(msgs) != 4 {
		t.Fatalf("%d messages", len(msgs))
	}
	if msgs[0].Text != "**升级** <font color=\"warning\">#12</font>" {
		t.Errorf("markdown escaped: %q", msgs[0].Text)
	}
	if msgs[1].Text != "工单 #12\n<div class=\"gray\">HIS</div>" {
		t.Errorf("textcard %q", msgs[1].Text)
	}
	if msgs[2].API != "appchat/send" || msgs[2].ChatID != "chat-ops" {
		t.Errorf("chat %+v", msgs[2])
	}
	if msgs[3].API != "webhook/send" || msgs[3].RobotKey != "robot-key-1" || msgs[3].Text != "告警：LIS 数据库连接数过高" {
		t.Errorf("robot %+v", msgs[3])
	}
	if n := len(f.fake.CallsTo("webhook/send")); n != 1 || f.fake.CallsTo("webhook/send")[0].Token != "" {
		t.Errorf("robot call used a token")
	}
}

func TestSendRefusesBadMessages(t *testing.T) {
	f := newClientFixture(t, noLimits)
	for name, m := range map[string]Outgoing{
		"no recipient":         {MsgType: MsgText, Text: "x"},
		"two recipients":       {ToUsers: []string{"a"}, ChatID: "c", MsgType: MsgText, Text: "x"},
		"empty text":           {ToUsers: []string{"a"}, MsgType: MsgText, Text: "  "},
		"unknown type":         {ToUsers: []string{"a"}, MsgType: "image"},
		"card without buttons": {ToUsers: []string{"a"}, MsgType: MsgTemplateCard, TemplateCard: &TemplateCard{TaskID: "t", MainTitle: CardTitle{Title: "x"}}},
		"card without task":    {ToUsers: []string{"a"}, MsgType: MsgTemplateCard, TemplateCard: &TemplateCard{MainTitle: CardTitle{Title: "x"}, ButtonList: []CardButton{{Text: "a", Key: "a"}}}},
		"robot card":           {RobotKey: "k", MsgType: MsgTemplateCard, TemplateCard: &TemplateCard{}},
		"chat card":            {ChatID: "c", MsgType: MsgTemplateCard, TemplateCard: &TemplateCard{}},
		"textcard without url": {ToUsers: []string{"a"}, MsgType: MsgTextCard, TextCard: &TextCard{Title: "t", Description: "d"}},
	} {
		_, err := f.client.Send(context.Background(), m)
		if !errors.Is(err, ErrBadMessage) || Retryable(err) {
			t.Errorf("%s: err = %v, want non-retryable ErrBadMessage", name, err)
		}
	}
	if n := len(f.fake.Calls()); n != 0 {
		t.Errorf("%d calls reached WeCom", n)
	}
}

func TestSendCutsLongTextAtCharacter(t *testing.T) {
	f := newClientFixture(t, noLimits)
	long := strings.Repeat("工", 1000) // 3000 bytes
	if _, err := f.client.Send(context.Background(), Outgoing{ToUsers: []string{"a"}, MsgType: MsgText, Text: long}); err != nil {
		t.Fatal(err)
	}
	got := f.fake.Messages()[0].Text
	if len(got) != 2046 || got != long[:2046] {
		t.Errorf("cut to %d bytes", len(got))
	}
}

func TestTokenExpiry(t *testing.T) {
	f := newClientFixture(t, noLimits)
	ctx := context.Background()
	send := func() error {
		_, err := f.client.Send(ctx, Outgoing{ToUsers: []string{"eng02"}, MsgType: MsgText, Text: "催办 #7"})
		return err
	}
	if err := send(); err != nil {
		t.Fatal(err)
	}
	f.fake.ExpireTokens()
	if err := send(); err != nil {
		t.Fatalf("send after expiry: %v", err)
	}
	if n := f.fake.TokenFetches(); n != 2 {
		t.Errorf("TokenFetches = %d, want 2", n)
	}
	if n := len(f.fake.Messages()); n != 2 {
		t.Errorf("%d messages delivered, want 2", n)
	}
	sends := f.fake.CallsTo("message/send")
	if len(sends) != 3 || sends[1].ErrCode != 42001 || sends[2].ErrCode != 0 || sends[1].Token == sends[2].Token {
		t.Errorf("calls %+v", sends)
	}
	if f.errcodes(t, "message/send", "42001") != 1 {
		t.Errorf("42001 not counted")
	}
	// The cached token is the new one: a third send fetches nothing.
	if err := send(); err != nil || f.fake.TokenFetches() != 2 {
		t.Errorf("third send: %v, fetches %d", err, f.fake.TokenFetches())
	}
}

func TestTokenSharedThroughCache(t *testing.T) {
	f := newClientFixture(t, noLimits)
	other, err := NewClient(ClientConfig{CorpID: wecomtest.CorpID, AgentID: wecomtest.AgentID, Secret: wecomtest.Secret,
		APIBase: f.fake.URL, Cache: f.cache, Limits: noLimits})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []*Client{f.client, other, f.client, other} {
		if _, err := c.Send(ctx, Outgoing{ToUsers: []string{"a"}, MsgType: MsgText, Text: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.fake.TokenFetches(); n != 1 {
		t.Errorf("two replicas fetched %d tokens, want 1", n)
	}
}

func TestRetryable(t *testing.T) {
	f := newClientFixture(t, noLimits)
	ctx := context.Background()
	send := func() error {
		_, err := f.client.Send(ctx, Outgoing{ToUsers: []string{"a"}, MsgType: MsgText, Text: "x"})
		return err
	}
	if err := send(); err != nil { // warm the token
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		inject    func()
		retryable bool
		code      string
	}{
		{"system busy -1", func() { f.fake.Fail("message/send", -1, 1) }, true, "-1"},
		{"frequency 45009", func() { f.fake.Fail("message/send", 45009, 1) }, true, "45009"},
		{"HTTP 500", func() { f.fake.FailHTTP("message/send", 500, 1) }, true, "http_500"},
		{"HTTP 502", func() { f.fake.FailHTTP("message/send", 502, 1) }, true, "http_502"},
		{"bad userid 40003", func() { f.fake.Fail("message/send", 40003, 1) }, false, "40003"},
		{"IP not trusted 60020", func() { f.fake.Fail("message/send", 60020, 1) }, false, "60020"},
	} {
		tc.inject()
		err := send()
		var ae *APIError
		if !errors.As(err, &ae) || ae.API != "message/send" {
			t.Errorf("%s: err = %v, want *APIError from message/send", tc.name, err)
			continue
		}
		if ae.Retryable() != tc.retryable || Retryable(err) != tc.retryable {
			t.Errorf("%s: Retryable = %v, want %v", tc.name, ae.Retryable(), tc.retryable)
		}
		if f.errcodes(t, "message/send", tc.code) != 1 {
			t.Errorf("%s: errcode %s not counted", tc.name, tc.code)
		}
	}

	// A timeout: the fake holds its answer past the caller's deadline.
	f.fake.Delay("message/send", time.Second)
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err := f.client.Send(tctx, Outgoing{ToUsers: []string{"a"}, MsgType: MsgText, Text: "x"})
	if err == nil || !Retryable(err) {
		t.Errorf("timeout: err = %v, Retryable %v", err, Retryable(err))
	}
	f.fake.Delay("message/send", 0)

	// The network gone: WeCom unreachable.
	f.fake.Close()
	err = send()
	if err == nil || !Retryable(err) {
		t.Errorf("network down: err = %v, Retryable %v", err, Retryable(err))
	}
	if strings.Contains(err.Error(), "fake-token-") {
		t.Errorf("error holds the access token: %v", err)
	}
	if Retryable(nil) || Retryable(errors.New("something else")) {
		t.Error("Retryable of nil or a plain error")
	}
	if !Retryable(&RateLimitError{Scope: "robot", Wait: time.Second}) {
		t.Error("rate limit not retryable")
	}
}

func TestGetTokenErrorsHideSecret(t *testing.T) {
	f := newClientFixture(t, noLimits)
	ctx := context.Background()
	f.fake.Fail("gettoken", 40001, 1)
	_, err := f.client.Send(ctx, Outgoing{ToUsers: []string{"a"}, MsgType: MsgText, Text: "x"})
	var ae *APIError
	if !errors.As(err, &ae) || ae.API != "gettoken" || ae.Code != 40001 || Retryable(err) {
		t.Errorf("bad secret: %v", err)
	}
	f.fake.FailHTTP("gettoken", 503, 1)
	_, err = f.client.Send(ctx, Outgoing{ToUsers: []string{"a"}, MsgType: MsgText, Text: "x"})
	if !errors.As(err, &ae) || ae.HTTPStatus != 503 || !Retryable(err) || strings.Contains(err.Error(), wecomtest.Secret) {
		t.Errorf("gettoken 503: %v", err)
	}
	f.fake.Close()
	_, err = f.client.Send(ctx, Outgoing{ToUsers: []string{"a"}, MsgType: MsgText, Text: "x"})
	if err == nil || !Retryable(err) || strings.Contains(err.Error(), wecomtest.Secret) {
		t.Errorf("gettoken unreachable: %v", err)
	}
}

func TestTemplateCard(t *testing.T) {
	f := newClientFixture(t, noLimits)
	card := &TemplateCard{
		Source:                &CardSource{Desc: "运维服务台"},
		MainTitle:             CardTitle{Title: "请评价工单 #128", Desc: "HIS 登录失败"},
		HorizontalContentList: []CardKeyValue{{KeyName: "工程师", Value: "王工"}, {KeyName: "用时", Value: "2 小时"}},
		TaskID:                "survey-128",
		ButtonList: []CardButton{
			{Text: "5分", Style: ButtonBlue, Key: "rate:5"}, {Text: "4分", Key: "rate:4"}, {Text: "3分", Key: "rate:3"},
			{Text: "2分", Key: "rate:2"}, {Text: "1分", Style: ButtonRed, Key: "rate:1"},
		},
	}
	res, err := f.client.Send(context.Background(), Outgoing{ToUsers: []string{"nurse01"}, MsgType: MsgTemplateCard, TemplateCard: card})
	if err != nil {
		t.Fatal(err)
	}
	msg := f.fake.Messages()[0]
	if res.ResponseCode == "" || res.ResponseCode != msg.ResponseCode {
		t.Errorf("response code %q, fake sent %q", res.ResponseCode, msg.ResponseCode)
	}
	if msg.TaskID != "survey-128" || msg.Text != "请评价工单 #128" {
		t.Errorf("message %+v", msg)
	}
	tc := msg.Body["template_card"].(map[string]any)
	if tc["card_type"] != "button_interaction" {
		t.Errorf("card_type %v", tc["card_type"])
	}
	buttons := tc["button_list"].([]any)
	first := buttons[0].(map[string]any)
	if len(buttons) != 5 || first["key"] != "rate:5" || first["text"] != "5分" || first["style"] != float64(1) {
		t.Errorf("buttons %v", buttons)
	}
	if card.CardType != "" {
		t.Error("Send changed the caller's card")
	}
}

func TestUpdateTemplateCard(t *testing.T) {
	f := newClientFixture(t, noLimits)
	ctx := context.Background()
	if err := f.client.UpdateTemplateCard(ctx, []string{"nurse01"}, "RC-1", "已评价 5分"); err != nil {
		t.Fatal(err)
	}
	if err := f.client.UpdateTemplateCard(ctx, nil, "RC-2", "已处理"); err != nil {
		t.Fatal(err)
	}
	calls := f.fake.CallsTo("message/update_template_card")
	if len(calls) != 2 {
		t.Fatalf("%d calls", len(calls))
	}
	b := calls[0].Body
	users, _ := b["userids"].([]any)
	button, _ := b["button"].(map[string]any)
	if len(users) != 1 || users[0] != "nurse01" || b["agentid"] != float64(wecomtest.AgentID) ||
		b["response_code"] != "RC-1" || button["replace_name"] != "已评价 5分" || b["atall"] != nil {
		t.Errorf("body %v", b)
	}
	if calls[1].Body["atall"] != float64(1) || calls[1].Body["userids"] != nil {
		t.Errorf("body without users %v", calls[1].Body)
	}
	if err := f.client.UpdateTemplateCard(ctx, nil, "", "x"); !errors.Is(err, ErrBadMessage) {
		t.Errorf("missing response code: %v", err)
	}
}

func TestRobotErrcodeChecked(t *testing.T) {
	f := newClientFixture(t, noLimits)
	f.fake.Fail("webhook/send", 93000, 1)
	_, err := f.client.Send(context.Background(), Outgoing{RobotKey: "robot-secret-key", MsgType: MsgText, Text: "告警"})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != 93000 || ae.API != "webhook/send" {
		t.Fatalf("err = %v, want errcode 93000", err)
	}
	if strings.Contains(err.Error(), "robot-secret-key") || strings.Contains(f.logs.String(), "robot-secret-key") {
		t.Error("robot key leaked")
	}
	if len(f.fake.Messages()) != 0 {
		t.Error("failed robot message recorded as sent")
	}
}

func TestCreateAppChat(t *testing.T) {
	f := newClientFixture(t, noLimits)
	id, err := f.client.CreateAppChat(context.Background(), "工单 #128 协同", "sup1", []string{"eng02", "eng03"})
	if err != nil || id == "" {
		t.Fatalf("CreateAppChat = %q, %v", id, err)
	}
	body := f.fake.CallsTo("appchat/create")[0].Body
	if body["name"] != "工单 #128 协同" || body["owner"] != "sup1" || len(body["userlist"].([]any)) != 3 {
		t.Errorf("body %v", body)
	}
	if _, err := f.client.CreateAppChat(context.Background(), "x", "sup1", nil); !errors.Is(err, ErrBadMessage) {
		t.Errorf("one member: %v", err)
	}
}

func TestGetUser(t *testing.T) {
	f := newClientFixture(t, noLimits)
	ctx := context.Background()
	f.fake.AddUser("nurse01", "李护士", 12, 99)
	f.fake.AddDepartment(12, "心内科病区")
	u, err := f.client.GetUser(ctx, "nurse01")
	if err != nil {
		t.Fatal(err)
	}
	if u.UserID != "nurse01" || u.Name != "李护士" || !slices.Equal(u.Departments, []int{12, 99}) ||
		!slices.Equal(u.DepartmentNames, []string{"心内科病区", ""}) {
		t.Errorf("user %+v", u)
	}
	again, err := f.client.GetUser(ctx, "nurse01")
	if err != nil || again.Name != "李护士" {
		t.Fatalf("cached: %+v, %v", again, err)
	}
	if n := len(f.fake.CallsTo("user/get")); n != 1 {
		t.Errorf("user/get called %d times, want 1 (cached)", n)
	}

	for range 2 {
		_, err = f.client.GetUser(ctx, "ghost")
		if !errors.Is(err, ErrUserNotFound) || Retryable(err) {
			t.Errorf("unknown user: %v", err)
		}
	}
	if n := len(f.fake.CallsTo("user/get")); n != 2 {
		t.Errorf("user/get called %d times, want 2 (unknown user cached)", n)
	}

	// Once users are registered, the fake reports strangers as invalid.
	res, err := f.client.Send(ctx, Outgoing{ToUsers: []string{"nurse01", "ghost"}, MsgType: MsgText, Text: "x"})
	if err != nil || !slices.Equal(res.InvalidUsers, []string{"ghost"}) {
		t.Errorf("send with a stranger: %+v, %v", res, err)
	}
}

func TestRateLimits(t *testing.T) {
	f := newClientFixture(t, Limits{PerUserMinute: 2, PerRobotMinute: 1})
	ctx := context.Background()
	for i := range 3 {
		_, err := f.client.Send(ctx, Outgoing{ToUsers: []string{"eng02"}, MsgType: MsgText, Text: "催办"})
		var rl *RateLimitError
		if i < 2 && err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if i == 2 && (!errors.As(err, &rl) || !Retryable(err) || rl.Wait <= 0 || rl.Scope != "user:eng02") {
			t.Fatalf("send %d: err = %v, want a RateLimitError", i, err)
		}
	}
	if _, err := f.client.Send(ctx, Outgoing{ToUsers: []string{"eng03"}, MsgType: MsgText, Text: "x"}); err != nil {
		t.Errorf("other user limited: %v", err)
	}
	if _, err := f.client.Send(ctx, Outgoing{RobotKey: "k", MsgType: MsgText, Text: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.Send(ctx, Outgoing{RobotKey: "k", MsgType: MsgText, Text: "x"}); !Retryable(err) {
		t.Errorf("second robot message: %v", err)
	}
	if n := len(f.fake.Messages()); n != 4 {
		t.Errorf("%d messages delivered, want 4", n)
	}
	if counterValue(t, f.metrics.rateLimited.WithLabelValues("user")) != 1 || counterValue(t, f.metrics.rateLimited.WithLabelValues("robot")) != 1 {
		t.Error("rate limits not counted")
	}
}

// Clients aimed at different fakes work side by side: the SDK's token fetch
// is routed per request, not through a process-wide base URL.
func TestClientsOnSeparateFakes(t *testing.T) {
	var wg sync.WaitGroup
	fakes := make([]*wecomtest.Server, 4)
	for i := range fakes {
		fakes[i] = wecomtest.New()
		defer fakes[i].Close()
	}
	for _, fake := range fakes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := NewClient(ClientConfig{CorpID: wecomtest.CorpID, AgentID: wecomtest.AgentID, Secret: wecomtest.Secret,
				APIBase: fake.URL, Limits: noLimits})
			if err != nil {
				t.Error(err)
				return
			}
			for range 5 {
				if _, err := c.Send(context.Background(), Outgoing{ToUsers: []string{"a"}, MsgType: MsgText, Text: "x"}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	for i, fake := range fakes {
		if fake.TokenFetches() != 1 || len(fake.Messages()) != 5 {
			t.Errorf("fake %d: %d fetches, %d messages", i, fake.TokenFetches(), len(fake.Messages()))
		}
	}
}

func TestNewClientValidates(t *testing.T) {
	for _, cfg := range []ClientConfig{
		{AgentID: 1, Secret: "s"},
		{CorpID: "c", AgentID: 1},
		{CorpID: "c", Secret: "s"},
		{CorpID: "c", AgentID: 1, Secret: "s", APIBase: "not a url"},
	} {
		if _, err := NewClient(cfg); err == nil {
			t.Errorf("NewClient(%+v) accepted", cfg)
		}
	}
}

// countingCache counts reads of the shared cache.
type countingCache struct {
	kv.Store
	gets atomic.Int64
}

func (c *countingCache) Get(ctx context.Context, key string) (string, bool, error) {
	c.gets.Add(1)
	return c.Store.Get(ctx, key)
}

// The token is kept in the process: a burst of sends does not read the
// shared cache (under the SDK's process-wide lock) for each of them. When
// another replica has replaced an expired token, the kept one is refused
// once and the replaced one is read from the cache, not fetched again.
func TestTokenKeptInProcess(t *testing.T) {
	fake := wecomtest.New()
	t.Cleanup(fake.Close)
	cache := &countingCache{Store: kv.NewMemory(nil)}
	newClient := func() *Client {
		c, err := NewClient(ClientConfig{CorpID: wecomtest.CorpID, AgentID: wecomtest.AgentID, Secret: wecomtest.Secret,
			APIBase: fake.URL, Cache: cache, Limits: noLimits})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b := newClient(), newClient()
	ctx := context.Background()
	send := func(c *Client) {
		t.Helper()
		if _, err := c.Send(ctx, Outgoing{ToUsers: []string{"eng02"}, MsgType: MsgText, Text: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	for range 20 {
		send(a)
	}
	if n := cache.gets.Load(); n > 1 {
		t.Errorf("20 sends read the shared cache %d times, want at most once", n)
	}
	fake.ExpireTokens()
	send(b) // refused, fetches and shares a new token
	send(a) // its kept token is refused; the new one comes from the cache
	if n := fake.TokenFetches(); n != 2 {
		t.Errorf("TokenFetches = %d, want 2", n)
	}
	sends := fake.CallsTo("message/send")
	last := sends[len(sends)-1]
	if last.ErrCode != 0 || sends[len(sends)-2].ErrCode != 42001 {
		t.Errorf("last calls %+v", sends[len(sends)-2:])
	}
}
