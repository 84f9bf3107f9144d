package outbox_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"opsbot/bot"
	"opsbot/bot/wecomtest"
	"opsbot/configs"
	"opsbot/kv"
	"opsbot/models"
	"opsbot/models/modelstest"
	"opsbot/outbox"
)

type rig struct {
	t      *testing.T
	store  *models.Store
	fake   *wecomtest.Server
	clock  *modelstest.Clock
	sender *outbox.Sender
	wecom  *outbox.WeCom
}

func newRig(t *testing.T) *rig { return newRigOn(t, modelstest.SQLite) }

// eachRig runs a test of the sender on SQLite (rows leased by update) and
// on Postgres (rows locked in the batch's transaction).
func eachRig(t *testing.T, body func(t *testing.T, r *rig)) {
	t.Run("sqlite", func(t *testing.T) { body(t, newRigOn(t, modelstest.SQLite)) })
	t.Run("postgres", func(t *testing.T) { body(t, newRigOn(t, modelstest.Postgres)) })
}

func newRigOn(t *testing.T, open func(testing.TB, models.Options) *models.Store) *rig {
	t.Helper()
	c := modelstest.NewClock(modelstest.Monday9)
	store := open(t, models.Options{Now: c.Now})
	roster, _ := configs.LoadStaff("")
	if _, err := store.SyncStaff(context.Background(), roster, nil); err != nil {
		t.Fatal(err)
	}
	fake := wecomtest.New()
	t.Cleanup(fake.Close)
	mem := kv.NewMemory(c.Now)
	client, err := bot.NewClient(bot.ClientConfig{CorpID: wecomtest.CorpID, AgentID: wecomtest.AgentID, Secret: wecomtest.Secret, APIBase: fake.URL, Cache: mem, Limits: bot.Limits{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	w := &outbox.WeCom{Client: client}
	s := &outbox.Sender{Store: store, Deliverer: w, KV: mem, Limits: outbox.WeComLimits, MaxAttempts: 3,
		Backoff: func(n int) time.Duration { return time.Duration(n) * time.Minute }}
	return &rig{t: t, store: store, fake: fake, clock: c, sender: s, wecom: w}
}

func (r *rig) queue(msgs ...models.Message) {
	r.t.Helper()
	if err := r.store.Update(context.Background(), func(tx *models.Tx) error {
		for _, m := range msgs {
			if err := tx.Send(m); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) run() int {
	r.t.Helper()
	n, err := r.sender.RunOnce(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return n
}

func (r *rig) row(key string) models.OutboxMessage {
	r.t.Helper()
	m, err := r.store.OutboxByKey(context.Background(), key)
	if err != nil {
		r.t.Fatal(err)
	}
	return m
}

func TestDeliversOnceAndKeysAreIdempotent(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		r.queue(models.Message{To: "nurse01", Text: "已登记工单 #1", Key: "a"}, models.Message{To: "nurse01", Text: "重复", Key: "a"})
		if n := r.run(); n != 1 {
			t.Fatalf("sent %d, want 1", n)
		}
		if n := r.run(); n != 0 {
			t.Fatalf("second run sent %d", n)
		}
		msgs := r.fake.Messages()
		if len(msgs) != 1 || msgs[0].Text != "已登记工单 #1" || msgs[0].To[0] != "nurse01" {
			t.Fatalf("fake got %+v", msgs)
		}
		if m := r.row("a"); m.Status != models.OutboxSent || m.SentAt == nil {
			t.Fatalf("row %+v", m)
		}
	})
}

func TestRetryableErrorsAreRetriedWithBackoff(t *testing.T) {
	for _, inject := range []struct {
		name string
		do   func(f *wecomtest.Server)
	}{
		{"system busy -1", func(f *wecomtest.Server) { f.Fail("message/send", -1, 1) }},
		{"frequency 45009", func(f *wecomtest.Server) { f.Fail("message/send", 45009, 1) }},
		{"HTTP 502", func(f *wecomtest.Server) { f.FailHTTP("message/send", 502, 1) }},
	} {
		t.Run(inject.name, func(t *testing.T) {
			r := newRig(t)
			inject.do(r.fake)
			r.queue(models.Message{To: "nurse01", Text: "hi", Key: "k"})
			if n := r.run(); n != 0 {
				t.Fatal("sent despite the error")
			}
			m := r.row("k")
			if m.Status != models.OutboxPending || m.Attempts != 1 || !m.NextAttempt.Equal(r.clock.Now().Add(time.Minute)) || m.LastError == "" {
				t.Fatalf("after failure: %+v", m)
			}
			if n := r.run(); n != 0 {
				t.Fatal("retried before the backoff")
			}
			r.clock.Add(time.Minute)
			if n := r.run(); n != 1 {
				t.Fatal("not retried after the backoff")
			}
			if len(r.fake.Messages()) != 1 {
				t.Fatalf("fake got %d messages", len(r.fake.Messages()))
			}
		})
	}
}

func TestGivingUpTellsTheSupervisor(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		r.fake.Fail("message/send", -1, 3)
		r.queue(models.Message{To: "nurse01", Text: "hi", Key: "k", TicketID: 7})
		for range 3 {
			r.run()
			r.clock.Add(10 * time.Minute)
		}
		if m := r.row("k"); m.Status != models.OutboxFailed || m.Attempts != 3 {
			t.Fatalf("row %+v", m)
		}
		r.run()
		var alert string
		for _, m := range r.fake.Messages() {
			if m.To[0] == "zhaoliu" {
				alert = m.Text
			}
		}
		if !strings.Contains(alert, "工单 #7 的一条消息未能送达 nurse01") {
			t.Fatalf("supervisor alert %q", alert)
		}
	})
}

func TestPermanentErrorFailsAtOnce(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		r.fake.AddUser("zhaoliu", "赵六")
		r.queue(models.Message{To: "ghost", Text: "hi", Key: "k"})
		r.run()
		if m := r.row("k"); m.Status != models.OutboxFailed || m.Attempts != 1 {
			t.Fatalf("unknown user: %+v", m)
		}
	})
}

func TestPerRecipientLimitHoldsTheExcess(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		var msgs []models.Message
		// Long texts cannot share a message, so each needs its own slot.
		long := strings.Repeat("长", 400)
		for i := range 35 {
			msgs = append(msgs, models.Message{To: "zhangsan", Text: fmt.Sprint("提醒 ", i, long), Key: fmt.Sprint("z", i)})
		}
		msgs = append(msgs, models.Message{To: "lisi", Text: "别人的", Key: "l"})
		r.queue(msgs...)
		if n := r.run(); n != 31 {
			t.Fatalf("sent %d, want 30 to zhangsan and 1 to lisi", n)
		}
		held := r.row("z34")
		if held.Status != models.OutboxPending || held.Attempts != 0 || !held.NextAttempt.After(r.clock.Now()) {
			t.Fatalf("held row %+v", held)
		}
		r.clock.Add(61 * time.Second)
		if n := r.run(); n != 5 {
			t.Fatalf("after a minute sent %d, want 5", n)
		}
	})
}

func TestCardsAndOpsGroup(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		card := &models.Card{TaskID: "confirm-3", Title: "工单 #3 已处理，请确认", Buttons: []models.CardButton{{Key: "confirm:3:yes", Text: "已解决"}}}
		r.queue(models.Message{To: "nurse01", Card: card, Key: "c"}, models.Message{To: models.OpsGroup, Text: "【高优先级】新工单", Key: "g"})
		// No group configured: ops messages go to the supervisors.
		r.wecom.Fallback = func(context.Context) ([]string, error) { return []string{"zhaoliu"}, nil }
		r.run()
		m := r.row("c")
		if m.ResponseCode == "" {
			t.Fatalf("card row kept no response code: %+v", m)
		}
		var sawCard, sawOps bool
		for _, s := range r.fake.Messages() {
			if s.MsgType == "template_card" && s.TaskID == fmt.Sprintf("confirm-3-%d", m.ID) {
				sawCard = true
			}
			if s.To != nil && s.To[0] == "zhaoliu" && strings.Contains(s.Text, "高优先级") {
				sawOps = true
			}
		}
		if !sawCard || !sawOps {
			t.Fatalf("card %v ops %v: %+v", sawCard, sawOps, r.fake.Messages())
		}
		r.wecom.OpsChatID = "chat-ops"
		r.queue(models.Message{To: models.OpsGroup, Text: "第二条", Key: "g2"})
		r.run()
		if calls := r.fake.CallsTo("appchat/send"); len(calls) != 1 || calls[0].Body["chatid"] != "chat-ops" {
			t.Fatalf("appchat/send calls %+v", calls)
		}
	})
}

func TestPhoneGatewayRoute(t *testing.T) {
	r := newRig(t)
	var got []string
	var mu sync.Mutex
	gw := httptestGateway(t, func(body string) int {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, body)
		if len(got) == 1 {
			return 503
		}
		return 200
	})
	r.sender.Deliverer = outbox.Route{WeCom: r.wecom, Phone: &outbox.PhoneGateway{URL: gw, Token: "t0k"}}
	r.queue(models.Message{To: "phone:13800000001", Text: "【非工作时间紧急故障】#5", TicketID: 5, Key: "p"})
	r.run()
	r.clock.Add(time.Minute)
	r.run()
	if m := r.row("p"); m.Status != models.OutboxSent || len(got) != 2 || !strings.Contains(got[1], `"to":"13800000001"`) || !strings.Contains(got[1], `"ticket":5`) {
		t.Fatalf("row %+v, gateway got %v", m, got)
	}
}

func TestTextsQueuedTogetherGoOutAsOneMessage(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		var msgs []models.Message
		for i := range 40 {
			msgs = append(msgs, models.Message{To: "zhaoliu", Text: fmt.Sprintf("【高优先级】新工单 #%d", i), Key: fmt.Sprint("k", i)})
		}
		r.queue(msgs...)
		if n := r.run(); n != 40 {
			t.Fatalf("sent %d rows, want 40", n)
		}
		got := r.fake.Messages()
		if len(got) != 1 {
			t.Fatalf("%d WeCom messages, want one carrying all 40", len(got))
		}
		if !strings.Contains(got[0].Text, "新工单 #0\n\n【高优先级】新工单 #1") || !strings.HasSuffix(got[0].Text, "#39") {
			t.Fatalf("merged text out of order: %q", got[0].Text)
		}
		if m := r.row("k39"); m.Status != models.OutboxSent {
			t.Fatalf("row %+v", m)
		}
	})
}

// TestFloodToOneRecipientIsSpread: messages held for a recipient over the
// limit are spread over the windows they need, and a later lease goes on
// after them, so they never all come due at once ahead of other people's.
func TestFloodToOneRecipientIsSpread(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		long := strings.Repeat("长", 400) // one message each
		flood := func(from, to int) {
			var msgs []models.Message
			for i := from; i < to; i++ {
				msgs = append(msgs, models.Message{To: "zhaoliu", Text: fmt.Sprint("告警 ", i, long), Key: fmt.Sprint("z", i)})
			}
			r.queue(msgs...)
		}
		flood(0, 100)
		if n := r.run(); n != 30 {
			t.Fatalf("sent %d, want 30", n)
		}
		first := r.row("z30").NextAttempt
		if !first.After(r.clock.Now()) {
			t.Fatalf("held row due at %v, now %v", first, r.clock.Now())
		}
		for i, want := range map[int]time.Duration{59: 0, 60: time.Minute, 89: time.Minute, 90: 2 * time.Minute, 99: 2 * time.Minute} {
			if got := r.row(fmt.Sprint("z", i)).NextAttempt.Sub(first); got != want {
				t.Errorf("z%d due %v after the first held, want %v", i, got, want)
			}
		}
		flood(100, 140)
		r.queue(models.Message{To: "lisi", Text: "已登记工单 #9", Key: "l"})
		if n := r.run(); n != 1 {
			t.Fatalf("sent %d, want only lisi's", n)
		}
		if got := r.row("z139").NextAttempt.Sub(first); got != 3*time.Minute {
			t.Errorf("the later flood ends %v after the first held, want 3m", got)
		}
		r.clock.Add(first.Sub(r.clock.Now()) + time.Second)
		if n := r.run(); n != 30 {
			t.Fatalf("a window later sent %d, want 30", n)
		}
	})
}

// TestRobotOpsGroupHeldToTheRobotLimit: an ops group reached through a
// group robot gets at most WeCom's robot limit a minute (20), not a
// person's 30; the rest waits for the next window instead of being
// dropped by WeCom.
func TestRobotOpsGroupHeldToTheRobotLimit(t *testing.T) {
	r := newRig(t)
	r.wecom.RobotKey = "robot-key"
	r.sender.GroupLimits = outbox.RobotLimits
	var msgs []models.Message
	for i := range 25 {
		msgs = append(msgs, models.Message{To: models.OpsGroup, Markdown: true, Text: fmt.Sprintf("**告警 %d**", i), Key: fmt.Sprintf("g:%d", i)})
	}
	r.queue(msgs...)
	if n := r.run(); n != bot.LimitPerRobotMinute {
		t.Fatalf("sent %d to the robot in the first minute, want %d", n, bot.LimitPerRobotMinute)
	}
	r.clock.Add(time.Minute + time.Second)
	if n := r.run(); n != 5 {
		t.Fatalf("sent %d after the window, want the 5 held back", n)
	}
}

// TestFileMessageIsUploadedThenSent: a stored file goes out as WeCom's
// file message after a media upload; the bytes WeCom got are the file's.
func TestFileMessageIsUploadedThenSent(t *testing.T) {
	r := newRig(t)
	r.wecom.Files = r.store.File
	var id int64
	if err := r.store.Update(context.Background(), func(tx *models.Tx) error {
		f := &models.File{Name: "服务月报-2026-11.xlsx", Mime: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Data: []byte("PK fake xlsx"), Kind: models.FileReport}
		if err := tx.SaveFile(f); err != nil {
			return err
		}
		id = f.ID
		return tx.Send(models.Message{To: "zhaoliu", FileID: f.ID, Key: "file:1"})
	}); err != nil {
		t.Fatal(err)
	}
	if n := r.run(); n != 1 {
		t.Fatalf("sent %d", n)
	}
	msgs := r.fake.Messages()
	if len(msgs) != 1 || msgs[0].MsgType != "file" || msgs[0].MediaID == "" {
		t.Fatalf("messages %+v", msgs)
	}
	up, ok := r.fake.Uploaded(msgs[0].MediaID)
	if !ok || string(up.Data) != "PK fake xlsx" || up.Name != "服务月报-2026-11.xlsx" {
		t.Fatalf("uploaded %+v %v (file %d)", up, ok, id)
	}
}
