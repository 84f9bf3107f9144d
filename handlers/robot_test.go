package handlers_test

import (
	"fmt"
	"testing"

	"opsbot/bot"
	"opsbot/models"
	"opsbot/models/modelstest"
)

// robotSay sends line as user through the smart robot, in group chat
// (one-to-one when chat is "").
func (hs *harness) robotSay(user, chat, line string) sent {
	hs.t.Helper()
	hs.n++
	return hs.deliver(bot.Incoming{Key: fmt.Sprintf("aibot:m%d", hs.n), User: user, Type: "text", Text: line,
		CreateTime: hs.clock.Now(), Channel: bot.ChannelRobot, ChatID: chat, ReqID: fmt.Sprintf("cb%d", hs.n)})
}

// In a group, everything personal goes to the reporter privately; the
// group sees one short line naming them, and nothing for small talk.
func TestRobotGroupReplies(t *testing.T) {
	hs := newHarness(t, modelstest.SQLite)
	const group = models.RobotPrefix + "wrward"

	// A report with a missing piece: the question privately, a short line
	// in the group.
	out := hs.robotSay("nurse01", "wrward", "收费系统打印不了发票")
	want(t, out.text("nurse01"), "？")
	if got := out.text(group); got != "@nurse01 已收到，请在与我的私聊中补充几项信息完成报修" {
		t.Fatalf("group line %q", got)
	}
	if rc := out[group][0].ResponseCode; rc == "" {
		t.Fatal("the group line does not answer its callback")
	}
	// Answered in the robot's one-to-one chat: the answers go back there.
	out = hs.robotSay("nurse01", "", "门诊一楼3号窗口")
	if len(out["nurse01"]) != 0 || len(out[models.RobotPrefix+"nurse01"]) != 1 {
		t.Fatalf("one-to-one answer went to %v", keys(out))
	}
	ref, ok := bot.ParseRobotRef(out[models.RobotPrefix+"nurse01"][0].ResponseCode)
	if !ok || ref.ReqID != fmt.Sprintf("cb%d", hs.n) {
		t.Fatalf("one-to-one answer does not answer its callback: %+v", out[models.RobotPrefix+"nurse01"][0])
	}
	out = hs.robotSay("nurse01", "", "跳过")
	want(t, out.text(models.RobotPrefix+"nurse01"), "已登记工单 #1")

	// Small talk with the mention: a hint privately, nothing in the group.
	out = hs.robotSay("nurse01", "wrward", "在吗")
	if len(out[group]) != 0 || len(out["nurse01"]) != 1 {
		t.Fatalf("small talk went to %v", keys(out))
	}

	// A command: its result privately, the staff member named in the group.
	out = hs.robotSay("zhangsan", "wrward", "接单 1")
	want(t, out.text("zhangsan"), "#1")
	if got := out.text(group); got != "@张三 已私信回复" {
		t.Fatalf("group line %q", got)
	}
	if hs.ticket(1).AssigneeID != "zhangsan" {
		t.Fatal("the claim in the group did not take")
	}
}

func keys(s sent) []string {
	var out []string
	for k := range s {
		out = append(out, k)
	}
	return out
}
