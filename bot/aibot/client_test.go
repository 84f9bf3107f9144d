package aibot_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"opsbot/bot/aibot"
	"opsbot/bot/aibot/aibottest"
	"opsbot/kv"
)

const (
	botID  = "aib-test-robot"
	secret = "s3cret"
)

// logBuf collects a client's log for assertions.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// fastConfig shortens every interval so a test runs in well under a second.
func fastConfig(srv *aibottest.Server, logs *logBuf) aibot.Config {
	return aibot.Config{
		BotID: botID, Secret: secret, URL: srv.URL,
		Log:             slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		PingInterval:    50 * time.Millisecond,
		PingTimeout:     150 * time.Millisecond,
		AckTimeout:      time.Second,
		BackoffMin:      10 * time.Millisecond,
		BackoffMax:      80 * time.Millisecond,
		RefusedBackoff:  time.Second,
		ReplacedBackoff: 300 * time.Millisecond,
	}
}

// start runs a client until the test ends and returns it with a stop
// function that cancels Run and waits for it.
func start(t *testing.T, cfg aibot.Config, h aibot.Handler) (*aibot.Client, func()) {
	t.Helper()
	c, err := aibot.New(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return c, stop
}

func newServer(t *testing.T) *aibottest.Server {
	srv := aibottest.New(botID, secret)
	t.Cleanup(srv.Close)
	return srv
}

func timeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// waitStatus polls the client's status until cond holds.
func waitStatus(t *testing.T, c *aibot.Client, d time.Duration, what string, cond func(aibot.Status) bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond(c.Status()) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; status %+v", what, c.Status())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitLog waits for want in the log, which follows a status change by a
// moment.
func waitLog(t *testing.T, logs *logBuf, want string) {
	t.Helper()
	for deadline := time.Now().Add(time.Second); !strings.Contains(logs.String(), want); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

// echo replies to every message with a finished stream quoting its command
// text, and records what it saw.
type echo struct {
	client *aibot.Client
	mu     sync.Mutex
	msgs   []aibot.Message
	events []aibot.Event
}

func (e *echo) HandleMessage(ctx context.Context, m aibot.Message) error {
	e.mu.Lock()
	e.msgs = append(e.msgs, m)
	e.mu.Unlock()
	return e.client.Respond(ctx, m.ReqID, aibot.Stream("s-"+m.MsgID, "收到："+m.CommandText(), true))
}

func (e *echo) HandleEvent(ctx context.Context, ev aibot.Event) error {
	e.mu.Lock()
	e.events = append(e.events, ev)
	e.mu.Unlock()
	switch ev.Type() {
	case aibot.EventTemplateCard:
		card := ev.Card()
		return e.client.UpdateCard(ctx, ev.ReqID, aibot.TemplateCard{
			"card_type":  "text_notice",
			"task_id":    card.TaskID,
			"main_title": map[string]string{"title": "已确认：" + card.EventKey},
		})
	case aibot.EventEnterChat:
		return e.client.RespondWelcome(ctx, ev.ReqID, aibot.Text("您好，我是运维助手"))
	}
	return nil
}

func (e *echo) messages() []aibot.Message {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]aibot.Message(nil), e.msgs...)
}

func startEcho(t *testing.T, cfg aibot.Config) (*aibot.Client, *echo, func()) {
	h := &echo{}
	c, stop := start(t, cfg, h)
	h.client = c
	return c, h, stop
}

func TestRefusedSubscribeIsReportedWithoutRetryStorm(t *testing.T) {
	srv := newServer(t)
	var logs logBuf
	cfg := fastConfig(srv, &logs)
	cfg.Secret = "wrong"
	cfg.RefusedBackoff = 400 * time.Millisecond
	c, _ := start(t, cfg, aibot.HandlerFuncs{})

	waitStatus(t, c, 2*time.Second, "refusal", func(s aibot.Status) bool { return s.Refused })
	st := c.Status()
	if st.RefusedCode != aibot.CodeInvalidCredentials || st.RefusedMsg != "invalid bot_id or secret" || st.Subscribed || st.Ready() {
		t.Fatalf("status after refusal = %+v", st)
	}
	waitLog(t, &logs, "level=ERROR")
	if !strings.Contains(logs.String(), "errcode=853000") {
		t.Fatalf("refusal logged without its errcode:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "wrong") {
		t.Fatal("the secret reached the log")
	}
	// A normal backoff (10..80ms) would dial about ten times in 300 ms.
	time.Sleep(300 * time.Millisecond)
	if n := srv.Dials(); n != 1 {
		t.Fatalf("dials within the refused backoff = %d, want 1", n)
	}
	// After the long backoff it tries once more.
	if err := srv.WaitFor(timeout(t, 2*time.Second), func() bool { return srv.Dials() == 2 }); err != nil {
		t.Fatal(err)
	}
}

func TestSubscribeThenPing(t *testing.T) {
	srv := newServer(t)
	var logs logBuf
	c, _ := start(t, fastConfig(srv, &logs), aibot.HandlerFuncs{})
	ctx := timeout(t, 2*time.Second)
	if _, _, err := srv.WaitFrame(ctx, 0, func(f aibottest.Frame) bool { return f.Cmd == aibot.CmdPing }); err != nil {
		t.Fatal(err)
	}
	fs := srv.Frames()
	if fs[0].Cmd != aibot.CmdSubscribe || fs[0].ReqID == "" {
		t.Fatalf("first frame = %+v, want aibot_subscribe", fs[0])
	}
	var cred map[string]string
	if err := fs[0].Decode(&cred); err != nil || cred["bot_id"] != botID || cred["secret"] != secret {
		t.Fatalf("subscribe body = %s", fs[0].Body)
	}
	// Pings keep coming on the same connection.
	if err := srv.WaitFor(ctx, func() bool { return len(srv.FramesOf(aibot.CmdPing)) >= 3 }); err != nil {
		t.Fatal(err)
	}
	st := c.Status()
	if !st.Leader || !st.Connected || !st.Subscribed || st.Refused || !st.Ready() || srv.Dials() != 1 {
		t.Fatalf("status = %+v, dials %d", st, srv.Dials())
	}
}

func TestGroupMessageIsHandledAndAnswered(t *testing.T) {
	srv := newServer(t)
	var logs logBuf
	_, h, _ := startEcho(t, fastConfig(srv, &logs))
	ctx := timeout(t, 2*time.Second)
	if err := srv.WaitSubscribed(ctx); err != nil {
		t.Fatal(err)
	}
	reqID, err := srv.PushMessage(ctx, aibottest.Msg{MsgID: "m1", ChatID: "wrGroup1", UserID: "nurse01", Content: "@运维助手 收费系统又卡了"})
	if err != nil {
		t.Fatal(err)
	}
	reply, err := srv.WaitReply(ctx, reqID)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		MsgType string           `json:"msgtype"`
		Stream  aibot.StreamBody `json:"stream"`
	}
	if err := reply.Decode(&body); err != nil {
		t.Fatal(err)
	}
	if reply.Cmd != aibot.CmdRespond || body.MsgType != "stream" || !body.Stream.Finish || body.Stream.Content != "收到：收费系统又卡了" {
		t.Fatalf("reply = %s %s", reply.Cmd, reply.Body)
	}
	m := h.messages()[0]
	if m.ReqID != reqID || m.MsgID != "m1" || !m.IsGroup() || m.ChatID != "wrGroup1" || m.From.UserID != "nurse01" || m.AIBotID != botID {
		t.Fatalf("message = %+v", m)
	}
	if strings.Contains(logs.String(), "收费系统") {
		t.Fatal("message text reached the info log")
	}
}

func TestDropMidConversationReconnects(t *testing.T) {
	srv := newServer(t)
	var logs logBuf
	c, h, _ := startEcho(t, fastConfig(srv, &logs))
	ctx := timeout(t, 3*time.Second)
	if err := srv.WaitSubscribed(ctx); err != nil {
		t.Fatal(err)
	}
	r1, _ := srv.PushMessage(ctx, aibottest.Msg{MsgID: "m1", Content: "打印机卡纸"})
	if _, err := srv.WaitReply(ctx, r1); err != nil {
		t.Fatal(err)
	}

	srv.Drop()
	waitStatus(t, c, time.Second, "the drop noticed", func(s aibot.Status) bool { return !s.Subscribed })
	// While the connection is down a push fails fast, retryably.
	err := c.Send(ctx, "nurse01", aibot.Markdown("工单 #12 已受理"))
	if !errors.Is(err, aibot.ErrNotConnected) || !aibot.Retryable(err) {
		t.Fatalf("send while down = %v, want retryable ErrNotConnected", err)
	}

	waitStatus(t, c, 2*time.Second, "reconnection", func(s aibot.Status) bool { return s.Subscribed })
	if err := c.Send(ctx, "nurse01", aibot.Markdown("工单 #12 已受理")); err != nil {
		t.Fatalf("send after reconnect: %v", err)
	}
	sends := srv.FramesOf(aibot.CmdSend)
	if len(sends) != 1 || sends[0].Conn != 2 {
		t.Fatalf("send frames = %+v, want one on the second connection", sends)
	}
	var body map[string]any
	_ = sends[0].Decode(&body)
	if body["chatid"] != "nurse01" || body["msgtype"] != "markdown" {
		t.Fatalf("send body = %s", sends[0].Body)
	}
	r2, _ := srv.PushMessage(ctx, aibottest.Msg{MsgID: "m2", Content: "还是卡"})
	if _, err := srv.WaitReply(ctx, r2); err != nil {
		t.Fatal(err)
	}
	if n := len(h.messages()); n != 2 {
		t.Fatalf("handled %d messages, want 2", n)
	}
	if srv.Dials() != 2 || len(srv.FramesOf(aibot.CmdRespond)) != 2 {
		t.Fatalf("dials %d, replies %d", srv.Dials(), len(srv.FramesOf(aibot.CmdRespond)))
	}
}

func TestSilentConnectionIsReplacedAfterPingTimeout(t *testing.T) {
	srv := newServer(t)
	var logs logBuf
	c, _ := start(t, fastConfig(srv, &logs), aibot.HandlerFuncs{})
	ctx := timeout(t, 2*time.Second)
	if err := srv.WaitSubscribed(ctx); err != nil {
		t.Fatal(err)
	}
	srv.SetPong(false)
	if err := srv.WaitFor(ctx, func() bool { return srv.Dials() >= 2 }); err != nil {
		t.Fatal("no reconnection after unanswered pings")
	}
	srv.SetPong(true)
	waitStatus(t, c, time.Second, "resubscription", func(s aibot.Status) bool { return s.Subscribed })
	if !strings.Contains(logs.String(), "ping not acknowledged") {
		t.Fatalf("ping timeout not logged:\n%s", logs.String())
	}
}

func TestDisconnectedEventStopsTheConnectionAndWaits(t *testing.T) {
	srv := newServer(t)
	var logs logBuf
	cfg := fastConfig(srv, &logs)
	// The replaced state lasts one backoff; a short one could pass unseen
	// while the race detector and a loaded machine keep this goroutine
	// waiting (it did once in CI, at 300 ms).
	cfg.ReplacedBackoff = 2 * time.Second
	c, _ := start(t, cfg, aibot.HandlerFuncs{})
	ctx := timeout(t, 8*time.Second)
	if err := srv.WaitSubscribed(ctx); err != nil {
		t.Fatal(err)
	}
	replacedAt := time.Now()
	srv.Replace()
	waitStatus(t, c, cfg.ReplacedBackoff*3/4, "replaced", func(s aibot.Status) bool { return s.Replaced && !s.Subscribed })
	if err := c.Send(ctx, "nurse01", aibot.Text("x")); !errors.Is(err, aibot.ErrNotConnected) {
		t.Fatalf("send after disconnected_event = %v, want ErrNotConnected", err)
	}
	// No quick reconnection (it would kick the other connection) …
	time.Sleep(cfg.ReplacedBackoff / 2)
	if srv.Dials() != 1 {
		t.Fatalf("reconnected after %v, before the replaced backoff", time.Since(replacedAt))
	}
	// … but one after ReplacedBackoff, as this replica still holds the lock.
	waitStatus(t, c, 5*time.Second, "reconnection", func(s aibot.Status) bool { return s.Subscribed })
	if waited := time.Since(replacedAt); waited < cfg.ReplacedBackoff {
		t.Fatalf("reconnected after %v, want ≥ %v", waited, cfg.ReplacedBackoff)
	}
	if c.Status().Replaced {
		t.Fatal("Replaced not cleared by the new subscription")
	}
}

// crashLocker forgets to unlock, as a killed process would.
type crashLocker struct{ aibot.Locker }

func (crashLocker) Unlock(context.Context, string, string) error { return nil }

func TestOnlyTheLockHolderConnectsAndAnotherTakesOver(t *testing.T) {
	srv := newServer(t)
	store := kv.NewMemory(nil)
	var logsA, logsB logBuf
	cfgA := fastConfig(srv, &logsA)
	cfgA.Locker, cfgA.Owner = crashLocker{store}, "replica-a"
	cfgA.LockTTL, cfgA.LockRetry = 600*time.Millisecond, 100*time.Millisecond
	cfgB := cfgA
	cfgB.Locker, cfgB.Owner, cfgB.Log = store, "replica-b", slog.New(slog.NewTextHandler(&logsB, nil))

	a, stopA := start(t, cfgA, aibot.HandlerFuncs{})
	ctx := timeout(t, 5*time.Second)
	if err := srv.WaitSubscribed(ctx); err != nil {
		t.Fatal(err)
	}
	b, _ := start(t, cfgB, aibot.HandlerFuncs{})
	// Several renewals of A and retries of B pass.
	time.Sleep(2 * cfgA.LockTTL)
	if srv.Dials() != 1 || !a.Status().Leader || !a.Status().Subscribed {
		t.Fatalf("dials %d, A %+v", srv.Dials(), a.Status())
	}
	if st := b.Status(); st.Leader || st.Connected || !st.Ready() {
		t.Fatalf("B status = %+v, want a ready follower", st)
	}

	stopA() // a crash: the connection ends, the lock stays until its TTL
	crashed := time.Now()
	waitStatus(t, b, 3*time.Second, "B takes over", func(s aibot.Status) bool { return s.Subscribed })
	took := time.Since(crashed)
	if limit := cfgA.LockTTL + cfgA.LockRetry + 200*time.Millisecond; took > limit {
		t.Fatalf("takeover took %v, want ≤ %v", took, limit)
	}
	t.Logf("takeover after the holder's crash: %v (lock TTL %v, retry %v)", took, cfgA.LockTTL, cfgA.LockRetry)
	if !b.Status().Leader || srv.Dials() != 2 {
		t.Fatalf("B %+v, dials %d", b.Status(), srv.Dials())
	}
}

func TestLeaderDisconnectsWhenTheLockIsLost(t *testing.T) {
	srv := newServer(t)
	store := kv.NewMemory(nil)
	var logs logBuf
	cfg := fastConfig(srv, &logs)
	cfg.Locker, cfg.Owner, cfg.LockKey = store, "replica-a", "aibot:conn"
	cfg.LockTTL, cfg.LockRetry = 300*time.Millisecond, 50*time.Millisecond
	c, _ := start(t, cfg, aibot.HandlerFuncs{})
	ctx := timeout(t, 3*time.Second)
	if err := srv.WaitSubscribed(ctx); err != nil {
		t.Fatal(err)
	}
	// Someone else holds the lock now (A was partitioned from the store
	// long enough for it to expire, say).
	if err := store.Set(ctx, "aibot:conn", "replica-z", time.Minute); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, time.Second, "A steps down", func(s aibot.Status) bool { return !s.Leader && !s.Connected })
	if err := srv.WaitFor(ctx, func() bool { return !srv.Subscribed() }); err != nil {
		t.Fatal(err)
	}
}

func TestBadFramesAreSkippedAndTheConnectionSurvives(t *testing.T) {
	srv := newServer(t)
	var logs logBuf
	cfg := fastConfig(srv, &logs)
	cfg.MaxFrame = 4 << 10
	_, h, _ := startEcho(t, cfg)
	ctx := timeout(t, 3*time.Second)
	if err := srv.WaitSubscribed(ctx); err != nil {
		t.Fatal(err)
	}
	push := func(data string) {
		t.Helper()
		if err := srv.PushRaw(ctx, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	push(`{"cmd":"aibot_msg_callback","headers":{"req_id":"r1"},"body":{"text":"患者张三的病历`) // cut off
	push(`not json at all 患者张三`)
	push(`{"cmd":"aibot_msg_callback","headers":{"req_id":"r2"},"body":{"msgid":"big","aibotid":"` + botID +
		`","chattype":"single","from":{"userid":"u"},"msgtype":"text","text":{"content":"` + strings.Repeat("长", 3000) + `"}}}`)
	if _, err := srv.PushMessage(ctx, aibottest.Msg{MsgID: "other", AIBotID: "aib-someone-else", Content: "患者张三"}); err != nil {
		t.Fatal(err)
	}
	push(`{"cmd":"aibot_future_cmd","headers":{"req_id":"r3"},"body":{"x":"患者张三"}}`)
	push(`{"cmd":"aibot_msg_callback","headers":{"req_id":"r4"},"body":{"msgtype":"text","text":{"content":"患者张三"}}}`) // no msgid
	push(`{"cmd":"aibot_event_callback","headers":{"req_id":"r5"},"body":{"event":{}}}`)                               // no eventtype

	good, err := srv.PushMessage(ctx, aibottest.Msg{MsgID: "good", Content: "内网断了"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.WaitReply(ctx, good); err != nil {
		t.Fatal(err)
	}
	if ms := h.messages(); len(ms) != 1 || ms[0].MsgID != "good" {
		t.Fatalf("handled %+v, want only the good message", ms)
	}
	if srv.Dials() != 1 {
		t.Fatalf("dials = %d, the connection did not survive", srv.Dials())
	}
	log := logs.String()
	for _, want := range []string{"malformed frame skipped", "oversize frame skipped", "another robot", "unexpected frame skipped", "malformed message callback", "malformed event callback"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if strings.Contains(log, "患者") || strings.Contains(log, "长长") {
		t.Errorf("frame bodies reached the info log:\n%s", log)
	}
}

func TestCardClickIsAnsweredWithACardUpdate(t *testing.T) {
	srv := newServer(t)
	var logs logBuf
	_, _, _ = startEcho(t, fastConfig(srv, &logs))
	ctx := timeout(t, 2*time.Second)
	if err := srv.WaitSubscribed(ctx); err != nil {
		t.Fatal(err)
	}
	reqID, err := srv.PushCardClick(ctx, "nurse01", "confirm-T128", "resolved")
	if err != nil {
		t.Fatal(err)
	}
	f, err := srv.WaitReply(ctx, reqID)
	if err != nil {
		t.Fatal(err, logs.String(), srv.Frames())
	}
	var body struct {
		ResponseType string         `json:"response_type"`
		TemplateCard map[string]any `json:"template_card"`
	}
	if err := f.Decode(&body); err != nil {
		t.Fatal(err)
	}
	if f.Cmd != aibot.CmdRespondUpdate || body.ResponseType != "update_template_card" || body.TemplateCard["task_id"] != "confirm-T128" {
		t.Fatalf("update = %s %s", f.Cmd, f.Body)
	}
	title, _ := body.TemplateCard["main_title"].(map[string]any)
	if title["title"] != "已确认：resolved" {
		t.Fatalf("card title = %v", title)
	}
}

func TestEnterChatIsWelcomed(t *testing.T) {
	srv := newServer(t)
	var logs logBuf
	startEcho(t, fastConfig(srv, &logs))
	ctx := timeout(t, 2*time.Second)
	if err := srv.WaitSubscribed(ctx); err != nil {
		t.Fatal(err)
	}
	reqID, _ := srv.PushEvent(ctx, "nurse01", map[string]any{"eventtype": "enter_chat"})
	f, err := srv.WaitReply(ctx, reqID)
	if err != nil {
		t.Fatal(err)
	}
	if f.Cmd != aibot.CmdRespondWelcome || !strings.Contains(string(f.Body), "您好") {
		t.Fatalf("welcome = %s %s", f.Cmd, f.Body)
	}
}

func TestRefusedFramesSayWhetherToRetry(t *testing.T) {
	srv := newServer(t)
	var logs logBuf
	c, _ := start(t, fastConfig(srv, &logs), aibot.HandlerFuncs{})
	ctx := timeout(t, 2*time.Second)
	waitStatus(t, c, time.Second, "subscription", func(s aibot.Status) bool { return s.Subscribed })
	for _, tc := range []struct {
		code      int
		retryable bool
	}{{45009, true}, {-1, true}, {40058, false}, {846605, false}} {
		srv.FailAcks(aibot.CmdSend, tc.code, "fake failure")
		err := c.Send(ctx, "nurse01", aibot.Text("x"))
		var e *aibot.Error
		if !errors.As(err, &e) || e.ErrCode != tc.code || e.Retryable() != tc.retryable || errors.Is(err, aibot.ErrNotConnected) {
			t.Errorf("errcode %d: err %v, retryable %v", tc.code, err, aibot.Retryable(err))
		}
	}
	srv.FailAcks(aibot.CmdSend, 0, "")
	if err := c.Send(ctx, "nurse01", aibot.Text("x")); err != nil {
		t.Fatal(err)
	}
}

func TestStreamFramesOfOneReplyGoInOrder(t *testing.T) {
	srv := newServer(t)
	var logs logBuf
	var c *aibot.Client
	c, _ = start(t, fastConfig(srv, &logs), aibot.HandlerFuncs{Message: func(ctx context.Context, m aibot.Message) error {
		// Concurrent frames with one req_id: each must find its own ack.
		var wg sync.WaitGroup
		errs := make(chan error, 5)
		for i := range 5 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- c.Respond(ctx, m.ReqID, aibot.Stream("s1", strings.Repeat("。", i+1), false))
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				return err
			}
		}
		return c.Respond(ctx, m.ReqID, aibot.Stream("s1", "完成", true))
	}})
	ctx := timeout(t, 2*time.Second)
	if err := srv.WaitSubscribed(ctx); err != nil {
		t.Fatal(err)
	}
	reqID, _ := srv.PushMessage(ctx, aibottest.Msg{Content: "查一下"})
	if err := srv.WaitFor(ctx, func() bool { return len(srv.FramesOf(aibot.CmdRespond)) == 6 }); err != nil {
		t.Fatal(err)
	}
	fs := srv.FramesOf(aibot.CmdRespond)
	if !strings.Contains(string(fs[5].Body), `"finish":true`) || fs[5].ReqID != reqID {
		t.Fatalf("last frame = %s", fs[5].Body)
	}
	if strings.Contains(logs.String(), "handler failed") {
		t.Fatalf("a stream frame failed:\n%s", logs.String())
	}
}

func TestANewSubscriptionKicksTheOldConnection(t *testing.T) {
	srv := newServer(t)
	var logsA, logsB logBuf
	cfgA := fastConfig(srv, &logsA)
	cfgA.ReplacedBackoff = time.Minute
	a, _ := start(t, cfgA, aibot.HandlerFuncs{})
	waitStatus(t, a, time.Second, "A subscribed", func(s aibot.Status) bool { return s.Subscribed })
	// A second process outside the lock, with the same robot.
	b, _ := start(t, fastConfig(srv, &logsB), aibot.HandlerFuncs{})
	waitStatus(t, b, time.Second, "B subscribed", func(s aibot.Status) bool { return s.Subscribed })
	waitStatus(t, a, time.Second, "A replaced", func(s aibot.Status) bool { return s.Replaced && !s.Subscribed })
	waitLog(t, &logsA, "connection replaced by another")
	// A waits its ReplacedBackoff instead of kicking B back at once.
	time.Sleep(200 * time.Millisecond)
	if !b.Status().Subscribed || srv.Dials() != 2 {
		t.Fatalf("B %+v, dials %d", b.Status(), srv.Dials())
	}
}

func TestCallbacksQueuedAtShutdownAreStillHandled(t *testing.T) {
	srv := newServer(t)
	var logs logBuf
	var mu sync.Mutex
	var handled []string
	started := make(chan struct{}, 10)
	c, stop := start(t, fastConfig(srv, &logs), aibot.HandlerFuncs{Message: func(ctx context.Context, m aibot.Message) error {
		started <- struct{}{}
		time.Sleep(50 * time.Millisecond) // a slow inbox write
		if ctx.Err() != nil {
			return ctx.Err()
		}
		mu.Lock()
		handled = append(handled, m.MsgID)
		mu.Unlock()
		return nil
	}})
	ctx := timeout(t, 2*time.Second)
	waitStatus(t, c, time.Second, "subscription", func(s aibot.Status) bool { return s.Subscribed })
	for _, id := range []string{"m1", "m2", "m3"} {
		if _, err := srv.PushMessage(ctx, aibottest.Msg{MsgID: id, Content: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	<-started
	time.Sleep(10 * time.Millisecond) // m2 and m3 have arrived and wait in the queue
	stop()
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(handled, ",") != "m1,m2,m3" {
		t.Fatalf("handled %v, want m1 finished and the queued m2 and m3 handled after the stop", handled)
	}
}
