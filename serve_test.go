package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"opsbot/bot"
	"opsbot/bot/wecomtest"
	"opsbot/handlers"
	"opsbot/kv"
	"opsbot/models"
	"opsbot/models/modelstest"
)

const (
	testToken  = "QDG6eK"
	testAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
)

// servedOpsbot is `opsbot serve` running in-process against a fake WeCom.
type servedOpsbot struct {
	t      *testing.T
	base   string
	admin  string
	fake   *wecomtest.Server
	crypto *bot.Crypto
	env    map[string]string
	stop   func() int
	// logs is everything serve wrote to stderr (its JSON log).
	logs *syncBuffer
}

// syncBuffer is a bytes.Buffer safe to write from serve's goroutines while
// a test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// testEnv is the configuration of a served opsbot on SQLite and real Redis.
func testEnv(t *testing.T, fake *wecomtest.Server) map[string]string {
	ctx := context.Background()
	r, err := kv.OpenRedis(ctx, modelstest.RedisURL(), "probe:")
	if err != nil {
		modelstest.Unreachable(t, "Redis", err)
	}
	r.Close()
	b := make([]byte, 6)
	rand.Read(b)
	return map[string]string{
		"OPSBOT_DB":             filepath.Join(t.TempDir(), "opsbot.db"),
		"OPSBOT_REDIS":          modelstest.RedisURL(),
		"OPSBOT_REDIS_PREFIX":   "test:" + hex.EncodeToString(b) + ":",
		"OPSBOT_HTTP_ADDR":      freeAddr(t),
		"OPSBOT_ADMIN_ADDR":     freeAddr(t),
		"OPSBOT_LOG_LEVEL":      "warn",
		"OPSBOT_WECOM_CORP_ID":  wecomtest.CorpID,
		"OPSBOT_WECOM_AGENT_ID": fmt.Sprint(wecomtest.AgentID),
		"OPSBOT_WECOM_SECRET":   wecomtest.Secret,
		"OPSBOT_WECOM_TOKEN":    testToken,
		"OPSBOT_WECOM_AES_KEY":  testAESKey,
		"OPSBOT_WECOM_API_BASE": fake.URL,
		"OPSBOT_STAFF_FILE":     "configs/staff.example.yaml",
		"OPSBOT_ONCALL_FILE":    "configs/oncall.example.yaml",
	}
}

func startServe(t *testing.T, env map[string]string, fake *wecomtest.Server) *servedOpsbot {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out bytes.Buffer
	errb := &syncBuffer{}
	go func() {
		done <- run(ctx, []string{"serve"}, strings.NewReader(""), &out, errb, func(k string) string { return env[k] })
	}()
	s := &servedOpsbot{t: t, base: "http://" + env["OPSBOT_HTTP_ADDR"], admin: "http://" + env["OPSBOT_ADMIN_ADDR"], fake: fake, env: env, logs: errb}
	s.crypto, _ = bot.NewCrypto(testToken, testAESKey, wecomtest.CorpID)
	stopped := false
	s.stop = func() int {
		if stopped {
			return 0
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(20 * time.Second):
			t.Fatal("serve did not stop within 20s of SIGTERM")
			return -1
		}
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			// What serve saw (warnings and errors; no message bodies at
			// that level) is what explains a timed-out wait.
			t.Logf("serve's log:\n%s", errb.String())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(s.admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d: %s", code, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready: %v %s", err, errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// post delivers one encrypted callback and returns the status.
func (s *servedOpsbot) post(plain []byte) int {
	s.t.Helper()
	ts := fmt.Sprint(time.Now().Unix())
	body, sig, err := s.crypto.Seal(plain, ts, "nonce1")
	if err != nil {
		s.t.Fatal(err)
	}
	q := url.Values{"msg_signature": {sig}, "timestamp": {ts}, "nonce": {"nonce1"}}
	resp, err := http.Post(s.base+"/wecom/callback?"+q.Encode(), "text/xml", bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// messagesTo returns the texts the fake WeCom got for user.
func (s *servedOpsbot) messagesTo(user string) []wecomtest.SentMessage {
	var out []wecomtest.SentMessage
	for _, m := range s.fake.Messages() {
		for _, to := range m.To {
			if to == user {
				out = append(out, m)
			}
		}
	}
	return out
}

// waitFor polls until cond holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

func openTestStore(t *testing.T, env map[string]string) *models.Store {
	t.Helper()
	s, err := models.Open(context.Background(), "sqlite", env["OPSBOT_DB"], models.Options{SLA: modelstest.DefaultSLA(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func countTickets(t *testing.T, s *models.Store) int {
	var ts []models.Ticket
	if err := s.View(context.Background(), func(tx *models.Tx) error {
		var err error
		ts, err = tx.Tickets(models.TicketFilter{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return len(ts)
}

func TestServeEndToEnd(t *testing.T) {
	fake := wecomtest.New()
	defer fake.Close()
	fake.AddDepartment(7, "门诊收费处")
	fake.AddUser("nurse01", "王小红", 7)
	for _, u := range []string{"nurse02", "zhangsan", "lisi", "wangwu", "zhaoliu", "qianqi"} {
		fake.AddUser(u, u)
	}
	env := testEnv(t, fake)

	// A message accepted before a crash and never processed.
	pre := openTestStore(t, env)
	if _, err := pre.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	orphan := bot.Incoming{Key: "msg:900", User: "nurse02", Type: "text", Text: "检验系统打不开，检验科", MsgID: "900", CreateTime: time.Now()}
	inboxCtx, stopInbox := context.WithCancel(context.Background())
	inbox := handlers.NewInbox(inboxCtx, pre, 1)
	if _, err := inbox.Accept(inboxCtx, orphan); err != nil {
		t.Fatal(err)
	}
	// More left behind than the recovery reads at a time: all of them are
	// processed at start, not one page per sweep ten seconds apart.
	defer func(p int) { recoveryPage = p }(recoveryPage)
	recoveryPage = 4
	for i := range 10 {
		fake.AddUser(fmt.Sprintf("bulk%d", i), "护士")
		m := bot.Incoming{Key: fmt.Sprintf("msg:%d", 910+i), User: fmt.Sprintf("bulk%d", i), Type: "text", Text: "你好", MsgID: fmt.Sprint(910 + i), CreateTime: time.Now()}
		if _, err := inbox.Accept(inboxCtx, m); err != nil {
			t.Fatal(err)
		}
	}
	stopInbox()

	s := startServe(t, env, fake)

	// The crashed messages are processed at start.
	waitFor(t, "the reply to the message left by the crash", func() bool { return len(s.messagesTo("nurse02")) == 1 })
	start := time.Now()
	waitFor(t, "the replies to the backlog left by the crash", func() bool {
		for i := range 10 {
			if len(s.messagesTo(fmt.Sprintf("bulk%d", i))) == 0 {
				return false
			}
		}
		return true
	})
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("a backlog of 3 pages took %v, as if one page per sweep", d)
	}
	if got := s.messagesTo("nurse02")[0].Text; !strings.Contains(got, "已登记工单 #1") {
		t.Fatalf("reply to the recovered message: %q", got)
	}

	// One report delivered four times, two of them at once.
	report := wecomtest.TextXML("nurse01", wecomtest.AgentID, 1001, "报修 门诊收费 3号窗口打印不了发票", time.Now())
	var wg sync.WaitGroup
	codes := make([]int, 4)
	for i := range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); codes[i] = s.post(report) }()
	}
	wg.Wait()
	codes[2] = s.post(report)
	time.Sleep(300 * time.Millisecond)
	codes[3] = s.post(report)
	for i, c := range codes {
		if c != 200 {
			t.Fatalf("delivery %d answered %d", i, c)
		}
	}
	waitFor(t, "the reply to nurse01", func() bool { return len(s.messagesTo("nurse01")) >= 1 })
	time.Sleep(500 * time.Millisecond)
	replies := s.messagesTo("nurse01")
	if len(replies) != 1 || !strings.Contains(replies[0].Text, "已登记工单 #2") {
		t.Fatalf("nurse01 got %d replies: %+v", len(replies), replies)
	}
	if n := countTickets(t, pre); n != 2 {
		t.Fatalf("%d tickets, want 2", n)
	}
	var second *models.Ticket
	pre.View(context.Background(), func(tx *models.Tx) error { second, _ = tx.Ticket(2); return nil })
	// Name and department come from the address list.
	if second.ReporterName != "王小红" || second.Department != "门诊收费处" || second.Source != models.SourceWeCom {
		t.Fatalf("reporter from the address list: %+v", second)
	}

	// The engineer claims and resolves; the reporter gets a card and clicks it.
	if c := s.post(wecomtest.TextXML("zhangsan", wecomtest.AgentID, 1002, "接单 2", time.Now())); c != 200 {
		t.Fatal(c)
	}
	if c := s.post(wecomtest.TextXML("zhangsan", wecomtest.AgentID, 1003, "解决 2 重装打印驱动", time.Now())); c != 200 {
		t.Fatal(c)
	}
	var card wecomtest.SentMessage
	waitFor(t, "the confirmation card", func() bool {
		for _, m := range s.messagesTo("nurse01") {
			if m.MsgType == "template_card" {
				card = m
				return true
			}
		}
		return false
	})
	if card.ResponseCode == "" || !strings.Contains(card.Text, "工单 #2 已处理") {
		t.Fatalf("card %+v", card)
	}
	click := wecomtest.CardEventXML("nurse01", wecomtest.AgentID, time.Now(), card.TaskID, "confirm:2:yes", card.ResponseCode)
	if c := s.post(click); c != 200 {
		t.Fatal(c)
	}
	s.post(click) // WeCom's retry of the click changes nothing
	// The claim above updated the engineer's announce card too (issue 11);
	// the click updates the reporter's card, once.
	confirmUpdates := func() int {
		n := 0
		for _, up := range fake.CallsTo("message/update_template_card") {
			if up.Body["response_code"] == card.ResponseCode {
				n++
			}
		}
		return n
	}
	waitFor(t, "update_template_card", func() bool { return confirmUpdates() >= 1 })
	time.Sleep(200 * time.Millisecond)
	if n := confirmUpdates(); n != 1 {
		t.Fatalf("the confirmation card was updated %d times", n)
	}
	waitFor(t, "the closing reply", func() bool {
		for _, m := range s.messagesTo("nurse01") {
			if strings.Contains(m.Text, "工单 #2 已关闭") {
				return true
			}
		}
		return false
	})
	var closed *models.Ticket
	pre.View(context.Background(), func(tx *models.Tx) error { closed, _ = tx.Ticket(2); return nil })
	if closed.Status != models.StatusClosed || !closed.Confirmed {
		t.Fatalf("ticket after the click: %+v", closed)
	}

	// Health on the public port; metrics and readiness only on the admin one.
	for _, u := range []string{s.base + "/healthz", s.admin + "/healthz", s.admin + "/metrics", s.admin + "/readyz"} {
		resp, err := http.Get(u)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", u, err, resp)
		}
		resp.Body.Close()
	}
	for _, path := range []string{"/metrics", "/readyz", "/debug/pprof/"} {
		resp, err := http.Get(s.base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || strings.Contains(string(body), "opsbot_") {
			t.Fatalf("public %s answered %d: %.80s", path, resp.StatusCode, body)
		}
	}
	if code := s.stop(); code != 0 {
		t.Fatalf("serve exited %d after SIGTERM", code)
	}
}
