package handlers_test

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"opsbot/bot"
	"opsbot/models"
	"opsbot/models/modelstest"
)

// TestBatchMatchesOneByOne: a random conversation of nurses, engineers and
// the supervisor, handled in batches of 1–16 messages on Postgres (shared
// transaction, savepoints, claims and rows held back to the end), leaves
// exactly what handling the messages one transaction each leaves: the same
// answers to everyone in the same order, the same tickets and timelines.
func TestBatchMatchesOneByOne(t *testing.T) {
	for seed := int64(1); seed <= 4; seed++ {
		msgs := randomConversation(seed, 250)
		one := newHarness(t, modelstest.Postgres)
		batched := newHarness(t, modelstest.Postgres)
		ctx := context.Background()
		for _, hs := range []*harness{one, batched} {
			for _, m := range msgs {
				if _, err := hs.inbox.Accept(ctx, m); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, m := range msgs {
			one.h.Process(ctx, m)
		}
		r := rand.New(rand.NewSource(seed))
		for i := 0; i < len(msgs); {
			n := min(1+r.Intn(16), len(msgs)-i)
			batched.h.ProcessBatch(ctx, msgs[i:i+n])
			i += n
		}
		a, b := snapshot(t, one), snapshot(t, batched)
		if a != b {
			al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
			for i := range min(len(al), len(bl)) {
				if al[i] != bl[i] {
					t.Fatalf("seed %d: first difference at line %d:\none by one: %s\nbatched:    %s", seed, i, al[i], bl[i])
				}
			}
			t.Fatalf("seed %d: %d lines one by one, %d batched", seed, len(al), len(bl))
		}
		if !strings.Contains(a, "已登记工单") || !strings.Contains(a, "接单") {
			t.Fatalf("seed %d: the conversation did too little to compare:\n%s", seed, a)
		}
	}
}

// randomConversation makes n messages: reports, questions and commands on
// tickets 1–12, some of them refused (wrong role, wrong state, unknown
// ticket), and multi-turn reports.
func randomConversation(seed int64, n int) []bot.Incoming {
	r := rand.New(rand.NewSource(seed))
	nurses := []string{"nurse01", "nurse02", "nurse03", "nurse04"}
	engineers := []string{"zhangsan", "lisi", "wangwu"}
	k := func() int { // mostly tickets that exist by then
		if r.Intn(5) == 0 {
			return 1 + r.Intn(12)
		}
		return 1 + r.Intn(4)
	}
	var out []bot.Incoming
	for i := range n {
		var user, text string
		switch x := r.Intn(10); {
		case x < 4:
			user = nurses[r.Intn(len(nurses))]
			text = []string{
				fmt.Sprintf("报修 门诊收费 %d号窗口打印不了发票", 1+r.Intn(9)),
				"检验系统打不开，检验科",
				"电脑坏了", "门诊收费", "3号窗口", "跳过", "取消",
				fmt.Sprintf("进度 %d", k()), fmt.Sprintf("催办 %d", k()), fmt.Sprintf("补充 %d 重启后还是不行", k()),
				fmt.Sprintf("确认 %d", k()), fmt.Sprintf("未解决 %d 还是打印不了", k()), fmt.Sprintf("撤销 %d 已经好了", k()),
				"我的工单", "你好", "帮助", fmt.Sprintf("接单 %d", k()),
			}[r.Intn(17)]
		case x < 8:
			user = engineers[r.Intn(len(engineers))]
			text = []string{
				fmt.Sprintf("接单 %d", k()), fmt.Sprintf("到场 %d", k()), fmt.Sprintf("挂起 %d 等厂家发补丁", k()),
				fmt.Sprintf("恢复 %d", k()), fmt.Sprintf("解决 %d 重装打印驱动后正常", k()), fmt.Sprintf("备注 %d 远程查看中", k()),
				fmt.Sprintf("转派 %d 李四 需要数据库权限", k()), fmt.Sprintf("工单 %d", k()), "待办", fmt.Sprintf("超时原因 %d 等医保回复", k()),
			}[r.Intn(10)]
		default:
			user = "zhaoliu"
			text = []string{
				fmt.Sprintf("指派 %d 张三", k()), fmt.Sprintf("优先级 %d 高 影响全院收费", k()), fmt.Sprintf("重大 %d", k()),
				fmt.Sprintf("合并 %d %d", k(), k()), "队列", "统计 今天",
			}[r.Intn(6)]
		}
		out = append(out, bot.Incoming{Key: fmt.Sprintf("msg:%d", i+1), User: user, Type: "text", Text: text, MsgID: fmt.Sprint(i + 1)})
	}
	return out
}

// snapshot writes down what a conversation left: every message sent, in
// order, and every ticket with its timeline.
func snapshot(t *testing.T, hs *harness) string {
	t.Helper()
	var b strings.Builder
	rows, err := hs.store.LeaseDue(context.Background(), 10000, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range rows {
		fmt.Fprintf(&b, "to %s [%s]: %s\n", m.Recipient, m.Key, strings.ReplaceAll(sent{m.Recipient: {m}}.text(m.Recipient), "\n", " / "))
	}
	var ts []models.Ticket
	hs.store.View(context.Background(), func(tx *models.Tx) error {
		ts, err = tx.Tickets(models.TicketFilter{})
		return err
	})
	for _, tk := range ts {
		parent := int64(0)
		if tk.ParentID != nil {
			parent = *tk.ParentID
		}
		fmt.Fprintf(&b, "ticket #%d %s %s %s %s major=%v parent=%d\n", tk.ID, tk.Status, tk.Priority, tk.AssigneeID, tk.System, tk.Major, parent)
		for _, e := range hs.events(tk.ID) {
			fmt.Fprintf(&b, "  %s %s %s→%s %s\n", e.Actor, e.Action, e.From, e.To, e.Note)
		}
	}
	return b.String()
}
