package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"opsbot/bot"
	"opsbot/configs"
	"opsbot/models"
	"opsbot/models/modelstest"
)

// eachStoreWith is eachStore with a changed configuration.
func eachStoreWith(t *testing.T, set func(*configs.Config), body func(t *testing.T, hs *harness)) {
	t.Run("sqlite", func(t *testing.T) { body(t, newHarnessWith(t, modelstest.SQLite, set)) })
	t.Run("postgres", func(t *testing.T) { body(t, newHarnessWith(t, modelstest.Postgres, set)) })
}

// clickAtOnce presses card buttons of several users concurrently, each as
// its own Process call, and returns what was sent.
func (hs *harness) clickAtOnce(key string, users ...string) sent {
	hs.t.Helper()
	ctx := context.Background()
	msgs := make([]bot.Incoming, len(users))
	for i, u := range users {
		hs.n++
		msgs[i] = bot.Incoming{Key: fmt.Sprintf("evt:%d", hs.n), User: u, Type: "event", Event: "template_card_event", EventKey: key, ResponseCode: fmt.Sprintf("click-rc-%s", u), CreateTime: hs.clock.Now()}
		if dup, err := hs.inbox.Accept(ctx, msgs[i]); err != nil || dup {
			hs.t.Fatalf("accept: dup=%v err=%v", dup, err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(msgs))
	for i := range msgs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = hs.h.Process(ctx, msgs[i]) }()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil { // a lost race on a busy database is retried, as the inbox would
			if err = hs.h.Process(ctx, msgs[i]); err != nil {
				hs.t.Fatalf("process click of %s: %v", users[i], err)
			}
		}
	}
	return hs.drain()
}

// cardUpdateOf is the update of to's card made with a response code
// starting with rc.
func cardUpdateOf(s sent, to, rc string) *models.OutboxMessage {
	for i, m := range s[to] {
		if m.MsgType == models.MsgCardUpdate && strings.HasPrefix(m.ResponseCode, rc) {
			return &s[to][i]
		}
	}
	return nil
}

// TestAnnounceFirstClickWins: a new ticket is announced with a 接单 button
// to the engineers covering its system and to the ops group; two engineers
// click at once: one claim, the other a polite refusal, and every card is
// updated, the third engineer's through the response code of the send.
func TestAnnounceFirstClickWins(t *testing.T) {
	withGroup := func(c *configs.Config) { c.WeCom.OpsChatID = "wrOpsGroup" }
	eachStoreWith(t, withGroup, func(t *testing.T, hs *harness) {
		got := hs.say("nurse01", "收费系统打印不了发票，门诊一楼3号窗口")
		want(t, got.text("nurse01"), "已登记工单 #1")
		for _, e := range []string{"zhangsan", "wangwu", "lisi"} {
			want(t, got.text(e), "新工单 #1", "接单=claim:1", "门急诊收费", "门诊一楼3号窗口")
		}
		want(t, got.text(models.OpsGroup), "新工单 #1", "接单 1")
		if len(got["sunba"]) != 0 || len(got["zhoujiu"]) != 0 {
			t.Fatalf("engineers not covering the system got the card: %+v %+v", got["sunba"], got["zhoujiu"])
		}

		got = hs.clickAtOnce("claim:1", "zhangsan", "lisi")
		tk := hs.ticket(1)
		if tk.Status != models.StatusClaimed || (tk.AssigneeID != "zhangsan" && tk.AssigneeID != "lisi") {
			t.Fatalf("ticket after two clicks: %+v", tk)
		}
		winner, loser, winnerName := "zhangsan", "lisi", "张三"
		if tk.AssigneeID == "lisi" {
			winner, loser, winnerName = "lisi", "zhangsan", "李四"
		}
		claims := 0
		for _, e := range hs.events(1) {
			if e.Action == models.ActClaim {
				claims++
			}
		}
		if claims != 1 {
			t.Fatalf("%d claims", claims)
		}
		want(t, got.text(winner), "已接单 #1")
		want(t, got.text(loser), "谢谢您的响应", "已由 "+winnerName+" 接单")
		wantNot(t, got.text(loser), "已接单 #1")
		want(t, got.text("nurse01"), "已由 "+winnerName)
		// Both clicked cards are marked with their click's response code.
		if u := cardUpdateOf(got, winner, "click-rc-"); u == nil || u.ResponseCode != "click-rc-"+winner || u.Content != "您已接单" {
			t.Fatalf("winner's card: %+v", got[winner])
		}
		if u := cardUpdateOf(got, loser, "click-rc-"); u == nil || u.ResponseCode != "click-rc-"+loser || u.Content != "已由 "+winnerName+" 接单" {
			t.Fatalf("loser's card: %+v", got[loser])
		}
		// wangwu did not click: his card is updated with the send's code.
		if u := cardUpdateOf(got, "wangwu", "send-rc-"); u == nil || !strings.HasPrefix(u.ResponseCode, "send-rc-") || u.Content != "已由 "+winnerName+" 接单" {
			t.Fatalf("the other engineer's card: %+v", got["wangwu"])
		}

		// A late click: polite, no second claim.
		got = hs.click("wangwu", "claim:1")
		want(t, got.text("wangwu"), "谢谢您的响应", "已由 "+winnerName+" 接单")
		if hs.ticket(1).AssigneeID != winner {
			t.Fatal("a late click took the ticket")
		}
	})
}

// TestClaimBeforeCardsWentOutWithdrawsThem: a claim by command before the
// announce cards were sent withdraws them instead of updating.
func TestClaimBeforeCardsWentOutWithdrawsThem(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		hs.n++
		msg := bot.Incoming{Key: fmt.Sprintf("msg:%d", hs.n), User: "nurse01", Type: "text", Text: "收费系统打印不了发票，门诊一楼3号窗口", CreateTime: hs.clock.Now()}
		ctx := context.Background()
		hs.inbox.Accept(ctx, msg)
		if err := hs.h.Process(ctx, msg); err != nil {
			t.Fatal(err)
		}
		// Not drained: the cards are still pending.
		hs.say("zhangsan", "接单 1")
		m, err := hs.store.OutboxByKey(ctx, models.AnnounceKey(1)+"wangwu")
		if err != nil || m.Status != models.OutboxFailed {
			t.Fatalf("unsent card not withdrawn: %+v %v", m, err)
		}
	})
}

// TestAssignByLoadAndLevel: in assign mode the least-loaded engineer
// covering the system gets the ticket, and a high-priority one only goes
// to an engineer of the configured level.
func TestAssignByLoadAndLevel(t *testing.T) {
	set := func(c *configs.Config) {
		c.Dispatch.Mode = configs.DispatchAssign
		c.Dispatch.MinLevel.High = 3
	}
	eachStoreWith(t, set, func(t *testing.T, hs *harness) {
		got := hs.say("nurse01", "收费系统打印不了发票，门诊一楼3号窗口")
		want(t, got.text("nurse01"), "已登记工单 #1", "已派给工程师 李四")
		want(t, got.text("lisi"), "【新工单】系统派给您 #1")
		if tk := hs.ticket(1); tk.AssigneeID != "lisi" || tk.Status != models.StatusClaimed {
			t.Fatalf("ticket 1: %+v", tk)
		}
		// lisi has one now: the next goes to the least loaded, highest level
		// first. (Reports 6 minutes apart: three about one system within 10
		// minutes would become one incident.)
		hs.clock.Add(6 * time.Minute)
		got = hs.say("nurse02", "收费系统打印不了发票，门诊二楼5号窗口")
		want(t, got.text("zhangsan"), "系统派给您 #2")
		hs.clock.Add(6 * time.Minute)
		got = hs.say("nurse03", "收费系统打印不了发票，门诊二楼6号窗口")
		want(t, got.text("wangwu"), "系统派给您 #3")
		// High priority needs level 3: lisi again, though busier.
		got = hs.say("nurse04", "全院HIS都登不上了，急诊挂号停了")
		if tk := hs.ticket(4); tk.Priority != models.PriorityHigh || tk.AssigneeID != "lisi" {
			t.Fatalf("high ticket: %+v", tk)
		}
		want(t, got.text(models.OpsGroup), "【高优先级】新工单 #4")
	})
}

// TestOutOfHoursGoesToOnCall: at night a new ticket goes to the on-call
// engineer only, with the 接单 button; the reminders still run.
func TestOutOfHoursGoesToOnCall(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		hs.clock.Add(13 * time.Hour) // Monday 22:00
		got := hs.say("nurse01", "收费系统打印不了发票，门诊一楼3号窗口")
		want(t, got.text("zhangsan"), "【非工作时间新工单】#1", "接单=claim:1")
		if len(got["lisi"]) != 0 || len(got["wangwu"]) != 0 || len(got["phone:13800000001"]) != 0 {
			t.Fatalf("night ticket went beyond the on-call engineer: %+v", got)
		}
		got = hs.click("zhangsan", "claim:1")
		want(t, got.text("zhangsan"), "已接单 #1")
	})
}

// TestCorrectionIsLearned: 改系统 corrects the ticket, the wording becomes
// a learned alias, and the next nurse's report is recognised; 统计 counts
// the correction; 别名 lists and deletes it; an unknown system gets the
// nearest names.
func TestCorrectionIsLearned(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		got := hs.say("nurse01", "病区的床头屏不亮了")
		want(t, got.text("nurse01"), "哪个系统")
		hs.say("nurse01", "跳过")
		hs.say("nurse01", "跳过")
		got = hs.say("nurse01", "跳过")
		want(t, got.text("nurse01"), "已登记工单 #1")
		if hs.ticket(1).System != "" {
			t.Fatal("the system was guessed")
		}

		got = hs.say("zhangsan", "改系统 1 护士工作台")
		want(t, got.text("zhangsan"), "未找到系统“护士工作台”，您是不是要找：住院护士工作站")
		got = hs.say("nurse01", "改系统 1 NWS")
		want(t, got.text("nurse01"), "服务工程师")

		got = hs.say("zhangsan", "改系统 1 NWS")
		want(t, got.text("zhangsan"), "工单 #1 的系统已由", "住院护士工作站", "已学会", "床头屏")
		if hs.ticket(1).System != "NWS" {
			t.Fatal("system not corrected")
		}
		want(t, hs.say("nurse01", "进度 1").text("nurse01"), "改系统")

		got = hs.say("nurse02", "3病区床头屏不亮了")
		want(t, got.text("nurse02"), "已登记工单 #2", "住院护士工作站")

		got = hs.say("zhaoliu", "统计 本月")
		want(t, got.text("zhaoliu"), "改系统 1 单")
		got = hs.say("zhangsan", "别名")
		want(t, got.text("zhangsan"), "床头屏 → 住院护士工作站")
		got = hs.say("zhangsan", "别名 删除 床头屏")
		want(t, got.text("zhangsan"), "只有服务主管")
		got = hs.say("zhaoliu", "别名 删除 床头屏")
		want(t, got.text("zhaoliu"), "已删除别名")
		got = hs.say("nurse03", "5病区床头屏不亮了")
		want(t, got.text("nurse03"), "哪个系统")
	})
}

// TestConflictingCorrectionIsNotLearned: a phrase corrected to two systems
// is not learned.
func TestConflictingCorrectionIsNotLearned(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		for _, n := range []string{"nurse01", "nurse02"} {
			hs.say(n, "病区的床头屏不亮了")
			hs.say(n, "跳过")
			hs.say(n, "跳过")
			hs.say(n, "跳过")
		}
		hs.say("zhangsan", "改系统 1 NWS")
		got := hs.say("zhangsan", "改系统 2 NREC")
		want(t, got.text("zhangsan"), "有分歧")
		got = hs.say("nurse03", "5病区床头屏不亮了")
		want(t, got.text("nurse03"), "哪个系统")
	})
}

// fakeMedia serves media ids like WeCom's media/get.
type fakeMedia struct {
	mu    sync.Mutex
	files map[string]bot.Media
}

func (f *fakeMedia) GetMedia(_ context.Context, id string, limit int64) (bot.Media, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.files[id]
	if !ok {
		return bot.Media{}, errors.New("wecom: media/get: errcode 40007 invalid media_id")
	}
	if int64(len(m.Data)) > limit {
		return bot.Media{}, fmt.Errorf("%w: %d bytes", bot.ErrTooLarge, len(m.Data))
	}
	return m, nil
}

// sendMedia sends an image (or other media) message.
func (hs *harness) sendMedia(user, typ, mediaID string) sent {
	hs.t.Helper()
	hs.n++
	return hs.deliver(bot.Incoming{Key: fmt.Sprintf("msg:%d", hs.n), User: user, Type: typ, MediaID: mediaID, CreateTime: hs.clock.Now()})
}

func withMedia(hs *harness) *fakeMedia {
	f := &fakeMedia{files: map[string]bot.Media{
		"IMG1": {ContentType: "image/jpeg", Data: []byte("\xff\xd8jpeg-1")},
		"IMG2": {ContentType: "image/jpeg", Data: []byte("\xff\xd8jpeg-2")},
		"V1":   {ContentType: "audio/amr", Data: []byte("#!AMR")},
		"BIG":  {ContentType: "application/pdf", Name: "big.pdf", Data: make([]byte, 2048)},
	}}
	hs.h.SetMedia(f, nil)
	return f
}

// TestImageAttachesToIntakeAndTicket: a screenshot first starts a report,
// joins the ticket when it is created, a later one goes onto the open
// ticket and to its engineer, and 进度 lists them.
func TestImageAttachesToIntakeAndTicket(t *testing.T) {
	set := func(c *configs.Config) { c.Attachments.MaxBytes = 1024 }
	eachStoreWith(t, set, func(t *testing.T, hs *harness) {
		withMedia(hs)
		got := hs.sendMedia("nurse01", "image", "IMG1")
		want(t, got.text("nurse01"), "收到截图，请说一下是哪个系统、什么问题")
		got = hs.say("nurse01", "收费系统打印不了发票，门诊一楼3号窗口")
		want(t, got.text("nurse01"), "电话")
		got = hs.say("nurse01", "跳过")
		want(t, got.text("nurse01"), "已登记工单 #1", "已附上 1 个附件")
		got = hs.say("zhangsan", "接单 1")
		want(t, got.text("zhangsan"), "已接单 #1", "工单 #1 的附件：截图-")
		files := 0
		for _, m := range got["zhangsan"] {
			if m.MsgType == models.MsgFile && m.FileID != nil {
				files++
			}
		}
		if files != 1 {
			t.Fatalf("%d file messages to the engineer: %+v", files, got["zhangsan"])
		}

		// A second screenshot within 30 minutes joins the open ticket.
		hs.clock.Add(10 * time.Minute)
		got = hs.sendMedia("nurse01", "image", "IMG2")
		want(t, got.text("nurse01"), "已把截图附到工单 #1", "张三")
		want(t, got.text("zhangsan"), "工单 #1 的附件")
		got = hs.say("nurse01", "进度 1")
		want(t, got.text("nurse01"), "附件（2）", "截图-")

		// An intake in progress takes a screenshot too.
		hs.say("nurse02", "系统老是弹出错误")
		got = hs.sendMedia("nurse02", "image", "IMG1")
		want(t, got.text("nurse02"), "收到截图，会附在这次报修里")
		hs.say("nurse02", "检验")
		hs.say("nurse02", "检验科")
		got = hs.say("nurse02", "8123")
		want(t, got.text("nurse02"), "已登记工单 #2", "已附上 1 个附件")
	})
}

// TestBadMedia: a failed download and an oversize file leave the ticket
// as it was and say so; voice asks for text.
func TestBadMedia(t *testing.T) {
	set := func(c *configs.Config) { c.Attachments.MaxBytes = 1024 }
	eachStoreWith(t, set, func(t *testing.T, hs *harness) {
		withMedia(hs)
		hs.say("nurse01", "收费系统打印不了发票，门诊一楼3号窗口")
		got := hs.sendMedia("nurse01", "image", "GONE")
		want(t, got.text("nurse01"), "截图没能收到，请重发一次")
		got = hs.sendMedia("nurse01", "file", "BIG")
		want(t, got.text("nurse01"), "文件太大了", "1 KB")
		got = hs.say("nurse01", "进度 1")
		wantNot(t, got.text("nurse01"), "附件")
		if tk := hs.ticket(1); tk.Status != models.StatusNew {
			t.Fatalf("ticket changed: %+v", tk)
		}
		got = hs.sendMedia("nurse01", "voice", "V1")
		want(t, got.text("nurse01"), "已把语音附到工单 #1", "听不懂语音", "用文字")
	})
}

// TestNoOpsGroupHearsOnlyUrgent: without an ops group, its messages would
// reach the supervisors, so only urgent tickets go there.
func TestNoOpsGroupHearsOnlyUrgent(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		got := hs.say("nurse01", "收费系统打印不了发票，门诊一楼3号窗口")
		if len(got[models.OpsGroup]) != 0 {
			t.Fatalf("a medium ticket went to the absent ops group: %+v", got[models.OpsGroup])
		}
		want(t, got.text("zhangsan"), "新工单 #1")
		got = hs.say("nurse02", "全院HIS都登不上了，急诊挂号停了")
		want(t, got.text(models.OpsGroup), "【高优先级】新工单 #2", "接单 2")
	})
}
