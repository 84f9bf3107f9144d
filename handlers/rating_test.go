package handlers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"opsbot/bot"
	"opsbot/configs"
	"opsbot/models"
	"opsbot/schedules"
)

// resolved opens, claims and resolves one ticket of nurse01 with zhangsan.
func resolved(t *testing.T, hs *harness) {
	t.Helper()
	hs.say("nurse01", "收费系统打印不了发票，门诊一楼3号窗口")
	hs.say("zhangsan", "接单 1")
	hs.say("zhangsan", "解决 1 重装打印驱动后打印正常")
}

func cardUpdate(s sent, to string) *models.OutboxMessage {
	for i, m := range s[to] {
		if m.MsgType == models.MsgCardUpdate {
			return &s[to][i]
		}
	}
	return nil
}

func (hs *harness) rating(id int64) *models.Rating {
	hs.t.Helper()
	var r *models.Rating
	if err := hs.store.View(context.Background(), func(tx *models.Tx) (err error) { r, err = tx.RatingOf(id); return err }); err != nil {
		hs.t.Fatal(err)
	}
	return r
}

// TestRatingPath: the confirmation card turns into the rating card, a
// click rates and marks the card, a comment is asked for once, a low
// rating reaches the supervisors at once with the comment, and 回访 is
// recorded; ticket JSON-facing fields carry the rating.
func TestRatingPath(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		resolved(t, hs)
		got := hs.click("nurse01", "confirm:1:yes")
		want(t, got.text("nurse01"), "已关闭")
		up := cardUpdate(got, "nurse01")
		if up == nil || up.Card == nil || len(up.Card.Buttons) != 5 || up.Card.Buttons[4].Key != "rate:1:20" || up.ResponseCode == "" {
			t.Fatalf("the confirmation card did not turn into the rating card: %+v", got["nurse01"])
		}
		if r := hs.rating(1); r == nil || r.Status != models.RatingAsked || r.Score != nil {
			t.Fatalf("survey after closing: %+v", r)
		}

		// A click rates "不满意" (40): the card is marked, a comment is
		// asked for, and the supervisors hear of it at once.
		got = hs.click("nurse01", "rate:1:40")
		want(t, got.text("nurse01"), "不满意", "意见")
		if u := cardUpdate(got, "nurse01"); u == nil || u.Content != "已评价：不满意" {
			t.Fatalf("rating card not marked: %+v", got["nurse01"])
		}
		want(t, got.text("zhaoliu"), "【低分评价】", "#1", "不满意", "回访 1")
		if r := hs.rating(1); r.Status != models.RatingRated || *r.Score != 40 {
			t.Fatalf("rating %+v", r)
		}

		// The next line is the comment; the supervisors get it too.
		got = hs.say("nurse01", "等了两个小时才有人来")
		want(t, got.text("nurse01"), "已记录您对工单 #1 的意见")
		want(t, got.text("zhaoliu"), "补充意见", "等了两个小时才有人来")
		if r := hs.rating(1); r.Comment != "等了两个小时才有人来" {
			t.Fatalf("comment %q", r.Comment)
		}
		// Asked once: a further line is not taken as a comment.
		got = hs.say("nurse01", "好的")
		wantNot(t, got.text("nurse01"), "意见")

		// Changed within the window, by typing.
		hs.clock.Add(time.Hour)
		got = hs.say("nurse01", "评价 1 一般 后来处理得还行")
		want(t, got.text("nurse01"), "已修改评价", "一般")
		if r := hs.rating(1); *r.Score != 60 || r.Comment != "后来处理得还行" {
			t.Fatalf("changed rating %+v", r)
		}
		// Past the window it is refused.
		hs.clock.Add(13 * time.Hour)
		got = hs.say("nurse01", "评价 1 非常满意")
		want(t, got.text("nurse01"), "超过", "不能再修改")

		// Only the reporter rates; reporters cannot record a follow-up.
		got = hs.say("nurse02", "评价 1 满意")
		want(t, got.text("nurse02"), "只能由报修人评价")
		got = hs.say("nurse01", "回访 1 已沟通")
		want(t, got.text("nurse01"), "服务主管")
		got = hs.say("zhaoliu", "回访 1 已电话沟通，打印机已更换，报修人认可")
		want(t, got.text("zhaoliu"), "已记录工单 #1 的回访")
		if r := hs.rating(1); r.Followup == "" || r.FollowupBy != "zhaoliu" {
			t.Fatalf("follow-up %+v", r)
		}
		got = hs.say("zhaoliu", "评价 1 很好")
		want(t, got.text("zhaoliu"), "非常满意、满意、一般", "评价 1 满意")
	})
}

// TestRatingCommentNeverSwallowsAReport: a reply after a rating that
// reads as a new fault is handled as a report.
func TestRatingCommentNeverSwallowsAReport(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		resolved(t, hs)
		hs.say("nurse01", "确认 1")
		hs.click("nurse01", "rate:1:80")
		got := hs.say("nurse01", "检验系统打不开了，检验科")
		want(t, got.text("nurse01"), "已登记工单 #2")
		if r := hs.rating(1); r.Comment != "" {
			t.Fatalf("a fault report was kept as a comment: %q", r.Comment)
		}
		// A typed confirmation sends a fresh rating card.
		if tk := hs.ticket(1); tk.Status != models.StatusClosed {
			t.Fatalf("ticket 1 %s", tk.Status)
		}
	})
}

// TestRatingReminderAndExpiry: one reminder after 24 h, then after 7 days
// the survey closes as not rated and its card says so when clicked.
func TestRatingReminderAndExpiry(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		resolved(t, hs)
		got := hs.say("nurse01", "确认 1")
		var card *models.Card
		for _, m := range got["nurse01"] {
			if m.Card != nil {
				card = m.Card
			}
		}
		if card == nil || !strings.Contains(card.Title, "请评价") {
			t.Fatalf("typed confirmation sent no rating card: %+v", got["nurse01"])
		}
		jobs := schedules.New(schedules.Deps{Store: hs.store, Config: configs.Default(), Catalog: nil})
		sweep := func() sent {
			t.Helper()
			if err := jobs.SweepRatings(context.Background()); err != nil {
				t.Fatal(err)
			}
			return hs.drain()
		}
		hs.clock.Add(23 * time.Hour)
		if got := sweep(); len(got["nurse01"]) != 0 {
			t.Fatalf("reminded before 24h: %+v", got)
		}
		hs.clock.Add(2 * time.Hour)
		got = sweep()
		if len(got["nurse01"]) != 1 || got["nurse01"][0].Card == nil || !strings.Contains(got["nurse01"][0].Card.Title, "还未评价") {
			t.Fatalf("reminder: %+v", got)
		}
		hs.clock.Add(24 * time.Hour)
		if got := sweep(); len(got) != 0 {
			t.Fatalf("a second reminder: %+v", got)
		}
		hs.clock.Add(6 * 24 * time.Hour)
		if got := sweep(); len(got) != 0 {
			t.Fatalf("expiry sent messages: %+v", got)
		}
		r := hs.rating(1)
		if r.Status != models.RatingExpired || r.Score != nil {
			t.Fatalf("after 7 days: %+v", r)
		}
		got = hs.click("nurse01", "rate:1:100")
		want(t, got.text("nurse01"), "评价已截止")
		if u := cardUpdate(got, "nurse01"); u == nil || u.Content != "评价已截止" {
			t.Fatalf("expired card not marked: %+v", got["nurse01"])
		}
		if r := hs.rating(1); r.Score != nil {
			t.Fatalf("an expired survey took a rating: %+v", r)
		}
		_ = bot.ButtonBlue
	})
}
