package main

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"opsbot/bot/aibot"
	"opsbot/bot/aibot/aibottest"
	"opsbot/bot/wecomtest"
	"opsbot/models"
)

const (
	testBotID     = "aib-test"
	testBotSecret = "bot-secret"
)

// robotFrame is one frame opsbot sent the fake robot server, decoded.
type robotFrame struct {
	Cmd, ReqID string
	Conn       int
	ChatID     string
	MsgType    string
	Text       string // text or markdown content
	Card       map[string]any
}

func decodeFrame(t *testing.T, f aibottest.Frame) robotFrame {
	t.Helper()
	var b struct {
		ChatID   string                    `json:"chatid"`
		MsgType  string                    `json:"msgtype"`
		Text     *struct{ Content string } `json:"text"`
		Markdown *struct{ Content string } `json:"markdown"`
		Card     map[string]any            `json:"template_card"`
	}
	if len(f.Body) > 0 {
		if err := f.Decode(&b); err != nil {
			t.Fatalf("frame %s: %v", f.Cmd, err)
		}
	}
	out := robotFrame{Cmd: f.Cmd, ReqID: f.ReqID, Conn: f.Conn, ChatID: b.ChatID, MsgType: b.MsgType, Card: b.Card}
	switch {
	case b.Text != nil:
		out.Text = b.Text.Content
	case b.Markdown != nil:
		out.Text = b.Markdown.Content
	}
	return out
}

// robotOut is every message opsbot put out through the robot: replies,
// pushes and card updates, in order.
func robotOut(t *testing.T, fake *aibottest.Server) []robotFrame {
	var out []robotFrame
	for _, f := range fake.Frames() {
		switch f.Cmd {
		case aibot.CmdRespond, aibot.CmdSend, aibot.CmdRespondUpdate, aibot.CmdRespondWelcome:
			out = append(out, decodeFrame(t, f))
		}
	}
	return out
}

// robotTo is what went to one chat (a userid or a group chat id): pushes
// to it and answers to the callbacks in reqIDs.
func robotTo(t *testing.T, fake *aibottest.Server, chat string, reqIDs ...string) []robotFrame {
	var out []robotFrame
	for _, f := range robotOut(t, fake) {
		if f.ChatID == chat && f.Cmd == aibot.CmdSend {
			out = append(out, f)
			continue
		}
		for _, id := range reqIDs {
			if f.ReqID == id && f.Cmd != aibot.CmdSend {
				out = append(out, f)
			}
		}
	}
	return out
}

// withRobot adds the robot to env, pointed at fake.
func withRobot(env map[string]string, fake *aibottest.Server) map[string]string {
	env["OPSBOT_WECOM_BOT_ID"] = testBotID
	env["OPSBOT_WECOM_BOT_SECRET"] = testBotSecret
	env["OPSBOT_WECOM_BOT_WS_URL"] = fake.URL
	return env
}

// robotOnly removes the app callback from env.
func robotOnly(env map[string]string) map[string]string {
	for _, k := range []string{"OPSBOT_WECOM_CORP_ID", "OPSBOT_WECOM_AGENT_ID", "OPSBOT_WECOM_SECRET", "OPSBOT_WECOM_TOKEN", "OPSBOT_WECOM_AES_KEY", "OPSBOT_WECOM_API_BASE"} {
		delete(env, k)
	}
	return env
}

// fastRobot shortens the robot client's waits for the test.
func fastRobot(t *testing.T, tune func(*aibot.Config)) {
	old := robotTuning
	robotTuning = func(c *aibot.Config) {
		c.BackoffMin, c.BackoffMax = 100*time.Millisecond, 300*time.Millisecond
		c.LockTTL, c.LockRetry = 3*time.Second, 500*time.Millisecond
		if tune != nil {
			tune(c)
		}
	}
	t.Cleanup(func() { robotTuning = old })
}

func newRobotFake(t *testing.T) *aibottest.Server {
	f := aibottest.New(testBotID, testBotSecret)
	t.Cleanup(f.Close)
	return f
}

func push(t *testing.T, fake *aibottest.Server, m aibottest.Msg) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	id, err := fake.PushMessage(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func waitSubscribed(t *testing.T, fake *aibottest.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fake.WaitSubscribed(ctx); err != nil {
		t.Fatal("robot never subscribed")
	}
}

func readyz(t *testing.T, s *servedOpsbot) (int, string) {
	t.Helper()
	resp, err := http.Get(s.admin + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func ticketByID(t *testing.T, st *models.Store, id int64) *models.Ticket {
	var tk *models.Ticket
	if err := st.View(context.Background(), func(tx *models.Tx) error {
		var err error
		tk, err = tx.Ticket(id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return tk
}

// A wrong secret is refused once: readyz warns with WeCom's code, the
// service stays ready for the app callback, and nobody dials again and
// again.
func TestRobotRefusedSubscribe(t *testing.T) {
	fastRobot(t, nil)
	rfake := newRobotFake(t)
	fake := wecomtest.New()
	defer fake.Close()
	env := withRobot(testEnv(t, fake), rfake)
	env["OPSBOT_WECOM_BOT_SECRET"] = "wrong"
	s := startServe(t, env, fake)
	var body string
	waitFor(t, "readyz to report the refusal", func() bool {
		_, body = readyz(t, s)
		return strings.Contains(body, "853000")
	})
	code, body := readyz(t, s)
	if code != http.StatusOK || !strings.Contains(body, "订阅被拒绝") {
		t.Fatalf("readyz %d: %s", code, body)
	}
	time.Sleep(2 * time.Second) // twenty backoffs' worth of the fast timings
	if n := rfake.Dials(); n != 1 {
		t.Fatalf("%d dials after a refusal, want 1 (no retry storm)", n)
	}
}

// A nurse reports in a group by @-mentioning the robot: one ticket, one
// short group line naming her, the details privately (through the app,
// which is configured too). The same msgid again changes nothing; small
// talk in the group gets no group answer.
func TestRobotGroupReport(t *testing.T) {
	fastRobot(t, nil)
	rfake := newRobotFake(t)
	fake := wecomtest.New()
	defer fake.Close()
	fake.AddDepartment(7, "门诊收费处")
	fake.AddUser("nurse01", "王小红", 7)
	env := withRobot(testEnv(t, fake), rfake)
	s := startServe(t, env, fake)
	waitSubscribed(t, rfake)
	if code, body := readyz(t, s); code != 200 || !strings.Contains(body, "已连接") {
		t.Fatalf("readyz %d: %s", code, body)
	}
	st := openTestStore(t, env)

	m := aibottest.Msg{MsgID: "gmsg-1", ChatID: "wrgroup1", UserID: "nurse01", Content: "@运维助手 报修 门诊收费 3号窗口打印不了发票"}
	req := push(t, rfake, m)
	again := push(t, rfake, m) // WeCom delivering the same message twice
	waitFor(t, "the group line", func() bool { return len(robotTo(t, rfake, "wrgroup1", req, again)) > 0 })
	waitFor(t, "the private confirmation", func() bool { return len(s.messagesTo("nurse01")) > 0 })
	time.Sleep(500 * time.Millisecond)
	group := robotTo(t, rfake, "wrgroup1", req, again)
	if len(group) != 1 || group[0].Text != "@王小红 已登记工单 #1，详情已私信" || group[0].ReqID != req {
		t.Fatalf("group got %+v", group)
	}
	private := s.messagesTo("nurse01")
	if len(private) != 1 || !strings.Contains(private[0].Text, "已登记工单 #1") {
		t.Fatalf("private %+v", private)
	}
	if n := countTickets(t, st); n != 1 {
		t.Fatalf("%d tickets, want 1", n)
	}

	// Small talk with the mention: a hint privately, nothing in the group.
	chat := push(t, rfake, aibottest.Msg{ChatID: "wrgroup1", UserID: "nurse01", Content: "@运维助手 在吗？"})
	waitFor(t, "the private hint", func() bool { return len(s.messagesTo("nurse01")) == 2 })
	time.Sleep(300 * time.Millisecond)
	if got := robotTo(t, rfake, "wrgroup1", chat); len(got) != 0 {
		t.Fatalf("small talk answered in the group: %+v", got)
	}

	// A command in the group works with the sender's own permissions.
	cmd := push(t, rfake, aibottest.Msg{ChatID: "wrgroup1", UserID: "nurse01", Content: "@运维助手 接单 1"})
	waitFor(t, "the refusal", func() bool { return len(s.messagesTo("nurse01")) == 3 })
	if got := s.messagesTo("nurse01")[2].Text; !strings.Contains(got, "工程师的命令") {
		t.Fatalf("a nurse claimed from the group: %q", got)
	}
	waitFor(t, "the group line of the command", func() bool { return len(robotTo(t, rfake, "wrgroup1", cmd)) == 1 })
	if got := robotTo(t, rfake, "wrgroup1", cmd)[0].Text; got != "@王小红 已私信回复" {
		t.Fatalf("group line %q", got)
	}
	eng := push(t, rfake, aibottest.Msg{ChatID: "wrgroup1", UserID: "zhangsan", Content: "@运维助手 接单 1"})
	waitFor(t, "the claim", func() bool { return ticketByID(t, st, 1).AssigneeID == "zhangsan" })
	waitFor(t, "the engineer's group line", func() bool { return len(robotTo(t, rfake, "wrgroup1", eng)) == 1 })
	if got := robotTo(t, rfake, "wrgroup1", eng)[0].Text; got != "@张三 已私信回复" {
		t.Fatalf("group line %q", got)
	}
}

// Robot only, no app: a report, the claim, the resolution and the
// reporter's click on the confirmation card all go through the robot; the
// click is answered by a card update within WeCom's 5 s.
func TestRobotOnlyWholePath(t *testing.T) {
	fastRobot(t, nil)
	rfake := newRobotFake(t)
	fake := wecomtest.New()
	defer fake.Close()
	env := robotOnly(withRobot(testEnv(t, fake), rfake))
	startServe(t, env, fake)
	waitSubscribed(t, rfake)
	st := openTestStore(t, env)

	// enter_chat is welcomed at once.
	ctx := context.Background()
	welcome, err := rfake.PushEvent(ctx, "nurse01", map[string]any{"eventtype": "enter_chat"})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	f, err := rfake.WaitReply(wctx, welcome)
	cancel()
	if err != nil || f.Cmd != aibot.CmdRespondWelcome {
		t.Fatalf("welcome: %v %+v", err, f)
	}

	report := push(t, rfake, aibottest.Msg{UserID: "nurse01", Content: "报修 门诊收费 3号窗口打印不了发票"})
	waitFor(t, "the answer to the report", func() bool { return len(robotTo(t, rfake, "nurse01", report)) == 1 })
	if got := robotTo(t, rfake, "nurse01", report)[0]; got.Cmd != aibot.CmdRespond || !strings.Contains(got.Text, "已登记工单 #1") {
		t.Fatalf("answer %+v", got)
	}
	claim := push(t, rfake, aibottest.Msg{UserID: "zhangsan", Content: "接单 1"})
	waitFor(t, "the claim", func() bool { return len(robotTo(t, rfake, "zhangsan", claim)) == 1 })
	resolve := push(t, rfake, aibottest.Msg{UserID: "zhangsan", Content: "解决 1 重装打印驱动"})
	waitFor(t, "the resolution", func() bool { return len(robotTo(t, rfake, "zhangsan", resolve)) >= 1 })

	var card robotFrame
	waitFor(t, "the confirmation card", func() bool {
		for _, f := range robotTo(t, rfake, "nurse01") {
			if f.MsgType == "template_card" {
				card = f
				return true
			}
		}
		return false
	})
	taskID, _ := card.Card["task_id"].(string)
	if taskID == "" || !strings.Contains(card.Card["main_title"].(map[string]any)["title"].(string), "工单 #1 已处理") {
		t.Fatalf("card %+v", card)
	}
	click, err := rfake.PushCardClick(ctx, "nurse01", taskID, "confirm:1:yes")
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	up, err := rfake.WaitReply(cctx, click)
	cancel()
	if err != nil || up.Cmd != aibot.CmdRespondUpdate {
		t.Fatalf("card update: %v %+v", err, up)
	}
	var ub struct {
		Card map[string]any `json:"template_card"`
	}
	up.Decode(&ub)
	if ub.Card["task_id"] != taskID {
		t.Fatalf("the update names task %v, the card was %s", ub.Card["task_id"], taskID)
	}
	rfake.PushCardClick(ctx, "nurse01", taskID, "confirm:1:yes") // a second click changes nothing
	waitFor(t, "the closing reply", func() bool {
		for _, f := range robotTo(t, rfake, "nurse01") {
			if strings.Contains(f.Text, "工单 #1 已关闭") {
				return true
			}
		}
		return false
	})
	time.Sleep(300 * time.Millisecond)
	if n := len(rfake.FramesOf(aibot.CmdRespondUpdate)); n != 1 {
		t.Fatalf("%d card updates, want 1", n)
	}
	if tk := ticketByID(t, st, 1); tk.Status != models.StatusClosed || !tk.Confirmed {
		t.Fatalf("ticket after the click: %+v", tk)
	}

	// Without the app, a group report's private part goes to the
	// reporter's one-to-one chat with the robot.
	g := push(t, rfake, aibottest.Msg{ChatID: "wrward3", UserID: "nurse02", Content: "@运维助手 报修 门诊收费 3号窗口打印不了发票"})
	waitFor(t, "the group line", func() bool { return len(robotTo(t, rfake, "wrward3", g)) == 1 })
	if got := robotTo(t, rfake, "wrward3", g)[0]; got.Cmd != aibot.CmdRespond || got.Text != "@nurse02 已登记工单 #2，详情已私信" {
		t.Fatalf("group line %+v", got)
	}
	waitFor(t, "the private details", func() bool { return len(robotTo(t, rfake, "nurse02")) == 1 })
	if got := robotTo(t, rfake, "nurse02")[0]; got.Cmd != aibot.CmdSend || !strings.Contains(got.Text, "已登记工单 #2") {
		t.Fatalf("private details %+v", got)
	}
}

// The connection drops in the middle of a report. What is said while it
// is down waits in the outbox (without using up its attempts) and goes
// once it is back; the conversation goes on; nothing is lost or doubled.
func TestRobotDropMidConversation(t *testing.T) {
	// Down 1.5 to 3 s after each drop: long enough to queue while down.
	fastRobot(t, func(c *aibot.Config) { c.BackoffMin, c.BackoffMax = 3*time.Second, 3*time.Second })
	rfake := newRobotFake(t)
	fake := wecomtest.New()
	defer fake.Close()
	fake.AddUser("nurse01", "王小红")
	fake.AddUser("nurse02", "李小兰")
	env := withRobot(testEnv(t, fake), rfake)
	env["OPSBOT_WECOM_BOT_CHAT_ID"] = "wrops"
	s := startServe(t, env, fake)
	waitSubscribed(t, rfake)
	st := openTestStore(t, env)

	// A report without a place: the robot asks where.
	first := push(t, rfake, aibottest.Msg{MsgID: "d1", UserID: "nurse01", Content: "收费系统打印不了发票"})
	waitFor(t, "the question", func() bool { return len(robotTo(t, rfake, "nurse01", first)) == 1 })

	rfake.Drop()
	waitFor(t, "the drop to be noticed", func() bool { return readyzHas(t, s, "未连接") })
	// An urgent report through the app while the robot is down: its
	// announcement to the robot ops group must wait.
	if c := s.post(wecomtest.TextXML("nurse02", wecomtest.AgentID, 5001, "报修 HIS 全院挂号系统登录不了 急 门诊大厅", time.Now())); c != 200 {
		t.Fatal(c)
	}
	var pending models.OutboxMessage
	waitFor(t, "the announcement queued", func() bool {
		var err error
		// The announcement of the urgent ticket (#1: the first report is
		// still being asked where), in or out of business hours.
		pending, err = st.OutboxByKey(context.Background(), models.AnnounceKey(1)+models.OpsGroup)
		return err == nil
	})
	if rfake.Subscribed() {
		t.Skip("the robot reconnected before the announcement was queued; timing too tight on this machine")
	}

	waitSubscribed(t, rfake)
	second := push(t, rfake, aibottest.Msg{MsgID: "d2", UserID: "nurse01", Content: "门诊一楼3号窗口"})
	push(t, rfake, aibottest.Msg{MsgID: "d2", UserID: "nurse01", Content: "门诊一楼3号窗口"}) // a copy
	waitFor(t, "the next question", func() bool { return len(robotTo(t, rfake, "nurse01", second)) == 1 })
	if got := robotTo(t, rfake, "nurse01", second)[0].Text; !strings.Contains(got, "电话") {
		t.Fatalf("the conversation did not go on after the reconnect: %q", got)
	}
	third := push(t, rfake, aibottest.Msg{MsgID: "d3", UserID: "nurse01", Content: "跳过"})
	waitFor(t, "the ticket from the finished report", func() bool { return len(robotTo(t, rfake, "nurse01", third)) == 1 })
	if got := robotTo(t, rfake, "nurse01", third)[0].Text; !strings.Contains(got, "已登记工单") {
		t.Fatalf("answer after the reconnect %q", got)
	}
	urgentFrames := func() []robotFrame {
		var out []robotFrame
		for _, o := range robotTo(t, rfake, "wrops") {
			if strings.Contains(o.Text+fmt.Sprint(o.Card), "#1") {
				out = append(out, o)
			}
		}
		return out
	}
	waitFor(t, "the announcement sent after the reconnect", func() bool { return len(urgentFrames()) >= 1 })
	time.Sleep(500 * time.Millisecond)
	urgent := urgentFrames()
	if len(urgent) != 1 || urgent[0].Conn < 2 {
		t.Fatalf("the announcement made while down, in the ops group: %+v (all: %+v)", urgent, robotTo(t, rfake, "wrops"))
	}
	sent, err := st.OutboxByKey(context.Background(), pending.Key)
	if err != nil || sent.Status != models.OutboxSent || sent.Attempts != 0 {
		t.Fatalf("announcement row %+v %v: want sent with no attempt used up", sent, err)
	}
	if n := countTickets(t, st); n != 2 {
		t.Fatalf("%d tickets, want 2", n)
	}
	if got := robotTo(t, rfake, "nurse01", first); len(got) != 1 {
		t.Fatalf("the question was sent %d times", len(got))
	}
}

func readyzHas(t *testing.T, s *servedOpsbot, what string) bool {
	_, body := readyz(t, s)
	return strings.Contains(body, what)
}

// disconnected_event: another connection took the robot over. The
// replaced replica stops using its connection, says so in readyz, and does
// not fight back at once.
func TestRobotDisconnectedEvent(t *testing.T) {
	fastRobot(t, func(c *aibot.Config) { c.ReplacedBackoff = 2 * time.Second })
	rfake := newRobotFake(t)
	fake := wecomtest.New()
	defer fake.Close()
	env := robotOnly(withRobot(testEnv(t, fake), rfake))
	s := startServe(t, env, fake)
	waitSubscribed(t, rfake)
	rfake.Replace()
	waitFor(t, "readyz to warn", func() bool { return !readyzHas(t, s, "已连接") })
	if n := rfake.Dials(); n != 1 {
		t.Fatalf("%d dials right after the takeover, want 1", n)
	}
	// After its pause it takes the connection back and works.
	waitSubscribed(t, rfake)
	req := push(t, rfake, aibottest.Msg{UserID: "nurse01", Content: "帮助"})
	waitFor(t, "the answer after the takeover", func() bool { return len(robotTo(t, rfake, "nurse01", req)) == 1 })
}

// A screenshot sent to the robot after a report joins the ticket: the
// robot's encrypted download is fetched, decrypted and stored.
func TestRobotScreenshotJoinsTicket(t *testing.T) {
	fastRobot(t, nil)
	rfake := newRobotFake(t)
	fake := wecomtest.New()
	defer fake.Close()
	env := robotOnly(withRobot(testEnv(t, fake), rfake))
	startServe(t, env, fake)
	waitSubscribed(t, rfake)
	st := openTestStore(t, env)

	key := bytes.Repeat([]byte{9}, 32)
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{2}, 500)...)
	img := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		pad := 32 - len(png)%32
		data := append(append([]byte(nil), png...), bytes.Repeat([]byte{byte(pad)}, pad)...)
		block, _ := aes.NewCipher(key)
		cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(data, data)
		w.Write(data)
	}))
	defer img.Close()

	report := push(t, rfake, aibottest.Msg{UserID: "nurse01", Content: "报修 门诊收费 3号窗口打印不了发票"})
	waitFor(t, "the ticket", func() bool { return len(robotTo(t, rfake, "nurse01", report)) == 1 })
	shot := push(t, rfake, aibottest.Msg{UserID: "nurse01", MsgType: "image",
		Extra: map[string]any{"image": map[string]string{"url": img.URL + "/x", "aeskey": base64.StdEncoding.EncodeToString(key)}}})
	waitFor(t, "the answer to the screenshot", func() bool { return len(robotTo(t, rfake, "nurse01", shot)) == 1 })
	if got := robotTo(t, rfake, "nurse01", shot)[0].Text; !strings.Contains(got, "附到工单 #1") {
		t.Fatalf("answer %q", got)
	}
	var files []models.File
	st.View(context.Background(), func(tx *models.Tx) error {
		var err error
		files, err = tx.FilesOf(1)
		return err
	})
	if len(files) != 1 || files[0].Size != int64(len(png)) || files[0].Mime != "image/png" {
		t.Fatalf("files of #1: %+v", files)
	}
}
