package handlers_test

import (
	"strings"
	"testing"
	"time"

	"opsbot/bot"
	"opsbot/models"
	"opsbot/models/modelstest"
)

func TestOneLineReportCreatesTicketAtOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		got := hs.say("nurse01", "收费系统打印不了发票，门诊一楼3号窗口")
		want(t, got.text("nurse01"), "已登记工单 #1", "门急诊收费", "进度 1")
		tk := hs.ticket(1)
		if tk.System != "OPB" || tk.Location != "门诊一楼3号窗口" || tk.Status != models.StatusNew || tk.ReporterID != "nurse01" || tk.Priority != models.PriorityMedium {
			t.Fatalf("ticket %+v", tk)
		}
		// The explicit command works the same.
		got = hs.say("nurse02", "报修 门诊收费 3号窗口打印不了发票")
		want(t, got.text("nurse02"), "已登记工单 #2", "门急诊收费")
		got = hs.say("nurse01", "我的工单")
		want(t, got.text("nurse01"), "#1［待接单］门急诊收费｜收费系统打印不了发票")
		wantNot(t, got.text("nurse01"), "#2")
	})
}

func TestHighPriorityReportAlertsOpsGroup(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		got := hs.say("nurse01", "全院HIS都登不上了，急诊挂号停了")
		want(t, got.text("nurse01"), "已登记工单 #1", "优先级高")
		want(t, got.text(models.OpsGroup), "【高优先级】新工单 #1", "接单 1")
		tk := hs.ticket(1)
		if tk.Priority != models.PriorityHigh || tk.DueOnsite == nil {
			t.Fatalf("high fault without on-site deadline: %+v", tk)
		}
	})
}

func TestIntakeAsksOneQuestionAtATimeWithSkip(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		got := hs.say("nurse01", "系统老是弹出错误")
		want(t, got.text("nurse01"), "哪个系统", "跳过")
		if hs.count() != 0 {
			t.Fatal("a ticket before the intake finished")
		}
		got = hs.say("nurse01", "跳过")
		want(t, got.text("nurse01"), "在哪里")
		got = hs.say("nurse01", "5病区护士站")
		want(t, got.text("nurse01"), "电话")
		got = hs.say("nurse01", "跳过")
		want(t, got.text("nurse01"), "已登记工单 #1")
		tk := hs.ticket(1)
		if tk.System != "" || tk.Location != "5病区护士站" || tk.Description != "系统老是弹出错误" {
			t.Fatalf("ticket %+v", tk)
		}
	})
}

func TestIntakeAnswersSystemThenCreates(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		hs.say("nurse01", "系统老是弹出错误")
		got := hs.say("nurse01", "检验")
		want(t, got.text("nurse01"), "在哪里")
		hs.say("nurse01", "检验科")
		got = hs.say("nurse01", "8123")
		want(t, got.text("nurse01"), "已登记工单 #1", "检验信息系统")
		if tk := hs.ticket(1); tk.System != "LIS" || tk.Phone != "8123" {
			t.Fatalf("ticket %+v", tk)
		}
	})
}

func TestIntakeUnknownSystemIsAskedOnceMore(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		hs.say("nurse01", "系统老是弹出错误")
		got := hs.say("nurse01", "不知道啊那个")
		want(t, got.text("nurse01"), "没有找到这个系统")
		got = hs.say("nurse01", "还是不知道")
		want(t, got.text("nurse01"), "在哪里")
	})
}

func TestIntakeCancel(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		got := hs.say("nurse01", "检验系统打不开")
		want(t, got.text("nurse01"), "在哪里")
		got = hs.say("nurse01", "取消")
		want(t, got.text("nurse01"), "已取消")
		if hs.count() != 0 {
			t.Fatal("a cancelled intake made a ticket")
		}
		got = hs.say("nurse01", "取消")
		want(t, got.text("nurse01"), "没有正在填写的报修")
	})
}

func TestAmbiguousSystemAsksWithNumberedChoices(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		got := hs.say("nurse01", "药房电脑打不开")
		want(t, got.text("nurse01"), "1. 门诊药房管理", "2. 住院药房管理")
		got = hs.say("nurse01", "5")
		want(t, got.text("nurse01"), "请回复 1 到 3 的序号")
		hs.say("nurse01", "2")
		hs.say("nurse01", "住院部3楼药房")
		got = hs.say("nurse01", "跳过")
		want(t, got.text("nurse01"), "已登记工单 #1", "住院药房管理")
		if tk := hs.ticket(1); tk.System != "IPH" {
			t.Fatalf("system %q, want IPH", tk.System)
		}
	})
}

func TestIntakeExpires(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		hs.say("nurse01", "系统老是弹出错误")
		hs.clock.Add(31 * time.Minute)
		got := hs.say("nurse01", "跳过")
		want(t, got.text("nurse01"), "没有需要跳过的问题")
		if hs.count() != 0 {
			t.Fatal("an expired intake made a ticket")
		}
	})
}

func TestSmallTalkNeverMakesATicket(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		for _, line := range []string{"谢谢", "好的", "在吗", "你好", "收到", "👍", "辛苦了"} {
			got := hs.say("nurse01", line)
			want(t, got.text("nurse01"), "报修请直接描述")
		}
		if hs.count() != 0 {
			t.Fatalf("small talk made %d tickets", hs.count())
		}
	})
}

func TestTicketNumbersInEveryForm(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		hs.say("nurse01", "收费系统打印不了发票，门诊一楼3号窗口")
		for _, line := range []string{"进度 1", "进度 #1", "进度＃１", "进度　１号", "进度1"} {
			got := hs.say("nurse01", line)
			want(t, got.text("nurse01"), "工单 #1［待接单］")
		}
		got := hs.say("nurse01", "进度")
		want(t, got.text("nurse01"), "请写上单号", "进度 12")
	})
}

func TestUnknownCommandSuggestsTheNearest(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		got := hs.say("zhangsan", "借单 3")
		want(t, got.text("zhangsan"), "没有看懂", "“接单”（例：接单 12）")
		got = hs.say("nurse01", "我得工单")
		want(t, got.text("nurse01"), "我的工单")
	})
}

func TestHelpIsFilteredByRole(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		nurse := hs.say("nurse01", "帮助").text("nurse01")
		want(t, nurse, "报修：", "例：报修 门诊收费")
		wantNot(t, nurse, "接单：", "指派：")
		eng := hs.say("zhangsan", "帮助").text("zhangsan")
		want(t, eng, "报修：", "接单：", "例：解决 12")
		wantNot(t, eng, "指派：")
		sup := hs.say("zhaoliu", "帮助").text("zhaoliu")
		want(t, sup, "接单：", "指派：", "统计：")
	})
}

func TestClaimNotifiesReporterAndRefusesOthers(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		hs.say("nurse01", "收费系统打印不了发票，门诊一楼3号窗口")
		got := hs.say("nurse02", "接单 1")
		want(t, got.text("nurse02"), "是服务工程师的命令")
		got = hs.say("zhangsan", "接单 1")
		want(t, got.text("zhangsan"), "已接单 #1", "门诊一楼3号窗口", "解决 1")
		want(t, got.text("nurse01"), "张三 13800000001 接单")
		got = hs.say("lisi", "接单 1")
		want(t, got.text("lisi"), "已由 张三 接单")
		got = hs.say("zhangsan", "接单 99")
		want(t, got.text("zhangsan"), "未找到工单 #99")
		got = hs.say("zhangsan", "接单")
		want(t, got.text("zhangsan"), "例如：接单 12")
		ev := hs.events(1)
		if len(ev) != 2 || ev[1].Action != models.ActClaim || ev[1].Actor != "zhangsan" {
			t.Fatalf("events %+v", ev)
		}
	})
}

func TestTransferFollowsTheLevelRule(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		hs.say("nurse01", "收费系统打印不了发票，门诊一楼3号窗口")
		hs.say("zhangsan", "接单 1")
		got := hs.say("zhangsan", "转派 1 王五")
		want(t, got.text("zhangsan"), "不能转派", "1 级，低于当前工程师的 2 级", "可以接手的有：李四（3级）")
		if hs.ticket(1).AssigneeID != "zhangsan" {
			t.Fatal("refused transfer moved the ticket")
		}
		got = hs.say("lisi", "转派 1 王五")
		want(t, got.text("lisi"), "由其他工程师负责")
		got = hs.say("zhangsan", "转派 1 赵六")
		want(t, got.text("zhangsan"), "不是在岗的服务工程师")
		got = hs.say("zhangsan", "转派 1 李四 需要数据库权限")
		want(t, got.text("zhangsan"), "已交给 李四")
		want(t, got.text("lisi"), "张三 把工单 #1 交给您", "需要数据库权限")
		want(t, got.text("nurse01"), "改由 李四 13800000002 处理")
		if hs.ticket(1).AssigneeID != "lisi" {
			t.Fatal("transfer did not move the ticket")
		}
	})
}

func TestWorkFlowPauseSupplementResolveConfirm(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		hs.say("nurse01", "收费系统打印不了发票，门诊一楼3号窗口")
		hs.say("zhangsan", "接单 1")
		got := hs.say("zhangsan", "到场 1")
		want(t, got.text("nurse01"), "已到达现场")
		got = hs.say("zhangsan", "挂起 1")
		want(t, got.text("zhangsan"), "请写明挂起原因")
		got = hs.say("zhangsan", "挂起 1 等报修人确认打印机型号")
		want(t, got.text("zhangsan"), "已挂起，计时暂停")
		want(t, got.text("nurse01"), "暂时挂起：等报修人确认打印机型号", "补充 1")
		hs.clock.Add(2 * time.Hour)
		got = hs.say("nurse01", "补充 1 型号是 EPSON LQ-630K")
		want(t, got.text("nurse01"), "已补充到工单 #1")
		want(t, got.text("zhangsan"), "报修人补充：型号是 EPSON LQ-630K", "自动恢复")
		tk := hs.ticket(1)
		if tk.Status != models.StatusClaimed || tk.PausedBusiness != 2*time.Hour {
			t.Fatalf("after supplement: status %s paused %v", tk.Status, tk.PausedBusiness)
		}
		got = hs.say("zhangsan", "解决 1")
		want(t, got.text("zhangsan"), "请写明处理结果")
		got = hs.say("zhangsan", "解决 1 重装打印驱动后打印正常")
		want(t, got.text("zhangsan"), "已登记解决")
		if cards := got["nurse01"]; len(cards) != 1 || cards[0].Card == nil {
			t.Fatalf("reporter got no confirmation card: %+v", got["nurse01"])
		}
		want(t, got.text("nurse01"), "已解决=confirm:1:yes", "未解决=confirm:1:no")
		got = hs.click("nurse01", "confirm:1:yes")
		want(t, got.text("nurse01"), "已关闭")
		want(t, got.text("zhangsan"), "报修人已确认解决")
		var update bool
		for _, m := range got["nurse01"] {
			update = update || m.MsgType == models.MsgCardUpdate
		}
		if !update {
			t.Fatal("clicked card was not marked done")
		}
		tk = hs.ticket(1)
		if tk.Status != models.StatusClosed || !tk.Confirmed {
			t.Fatalf("after confirm: %+v", tk)
		}
		// The card cannot be used twice.
		got = hs.click("nurse01", "confirm:1:no")
		want(t, got.text("nurse01"), "已关闭，不能重新打开")
	})
}

func TestNotFixedReopensAndTellsTheEngineer(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		hs.say("nurse01", "收费系统打印不了发票，门诊一楼3号窗口")
		hs.say("zhangsan", "接单 1")
		hs.say("zhangsan", "解决 1 换了打印机")
		got := hs.say("nurse01", "未解决 1 还是打印不了")
		want(t, got.text("nurse01"), "已重新打开", "张三")
		want(t, got.text("zhangsan"), "【退回】工单 #1", "还是打印不了")
		if tk := hs.ticket(1); tk.Status != models.StatusClaimed || tk.ResolvedAt != nil {
			t.Fatalf("after reopen: %+v", tk)
		}
		got = hs.say("nurse02", "确认 1")
		want(t, got.text("nurse02"), "不是您报的")
	})
}

func TestHurryIsLimited(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		hs.say("nurse01", "收费系统打印不了发票，门诊一楼3号窗口")
		got := hs.say("nurse01", "催办 1")
		want(t, got.text("nurse01"), "已催办工单 #1")
		want(t, got.text("zhaoliu"), "尚无人接单")
		hs.say("zhangsan", "接单 1")
		hs.clock.Add(10 * time.Minute)
		got = hs.say("nurse01", "催办 1")
		want(t, got.text("nurse01"), "刚催办过", "20分后可再次催办")
		hs.clock.Add(21 * time.Minute)
		got = hs.say("nurse01", "催办 1")
		want(t, got.text("nurse01"), "已提醒 张三")
		want(t, got.text("zhangsan"), "【催办】工单 #1")
	})
}

func TestCancelOnlyOwnBeforeResolution(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		hs.say("nurse01", "收费系统打印不了发票，门诊一楼3号窗口")
		hs.say("zhangsan", "接单 1")
		got := hs.say("nurse02", "撤销 1")
		want(t, got.text("nurse02"), "不是您报的")
		got = hs.say("zhangsan", "撤销 1")
		want(t, got.text("zhangsan"), "不是您报的")
		got = hs.say("nurse01", "撤销 1 已经好了")
		want(t, got.text("nurse01"), "工单 #1 已撤销")
		want(t, got.text("zhangsan"), "已被报修人撤销")
		got = hs.say("nurse01", "撤销 1")
		want(t, got.text("nurse01"), "已撤销，不能撤销")
	})
}

func TestReporterSeesOnlyOwnTickets(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		hs.say("nurse01", "收费系统打印不了发票，门诊一楼3号窗口")
		got := hs.say("nurse02", "进度 1")
		want(t, got.text("nurse02"), "不是您报的，无法查看")
		got = hs.say("zhangsan", "工单 1")
		want(t, got.text("zhangsan"), "工单 #1［待接单］", "响应时限")
	})
}

func TestSupervisorCommands(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		hs.say("nurse01", "收费系统打印不了发票，门诊一楼3号窗口")
		got := hs.say("zhangsan", "指派 1 李四")
		want(t, got.text("zhangsan"), "是服务主管或客户经理的命令")
		got = hs.say("zhaoliu", "指派 1 张三")
		want(t, got.text("zhaoliu"), "已交给 张三")
		want(t, got.text("zhangsan"), "赵六 把工单 #1 交给您")
		before := hs.ticket(1).DueResolution
		got = hs.say("zhaoliu", "优先级 1 紧急")
		want(t, got.text("zhaoliu"), "只能是 高、中、低")
		got = hs.say("zhaoliu", "优先级 1 高 影响门诊收费")
		want(t, got.text("zhaoliu"), "优先级改为高")
		want(t, got.text("zhangsan"), "优先级改为高")
		after := hs.ticket(1).DueResolution
		// Medium at Monday 09:00 is due Thursday 09:00; high is due Tuesday 09:00.
		if !before.Equal(time.Date(2026, 12, 3, 9, 0, 0, 0, modelstest_loc())) || !after.Equal(time.Date(2026, 12, 1, 9, 0, 0, 0, modelstest_loc())) {
			t.Fatalf("due before %v after %v", before, after)
		}
		got = hs.say("zhaoliu", "重大 1")
		want(t, got.text(models.OpsGroup), "【重大事件】工单 #1")
		got = hs.say("zhaoliu", "重大 1")
		want(t, got.text("zhaoliu"), "已经是重大事件")
		got = hs.say("zhaoliu", "队列")
		want(t, got.text("zhaoliu"), "未完成 1 单", "#1［处理中］")
		got = hs.say("zhaoliu", "统计 今天")
		want(t, got.text("zhaoliu"), "今天统计", "新报 1 单")
		got = hs.say("zhangsan", "队列")
		want(t, got.text("zhangsan"), "是服务主管或客户经理的命令")
	})
}

func TestMergeFansOutUpdatesAndResolution(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		// Six minutes apart: three reports within the aggregation window
		// would open a major incident by themselves (monitor_test.go).
		hs.say("nurse01", "收费系统打印不了发票，门诊一楼3号窗口")
		hs.clock.Add(6 * time.Minute)
		hs.say("nurse02", "门诊收费打印发票出不来，2号窗口")
		hs.clock.Add(6 * time.Minute)
		hs.say("nurse03", "门诊收费系统发票打印失败，5号窗口")
		got := hs.say("zhaoliu", "合并 1 2 3")
		want(t, got.text("zhaoliu"), "已把 #2、#3 并入 #1")
		want(t, got.text("nurse02"), "与 #1 是同一问题")
		got = hs.say("zhaoliu", "合并 2 1")
		want(t, got.text("zhaoliu"), "本身已并入 #1")
		got = hs.say("zhangsan", "接单 1")
		want(t, got.text("nurse01"), "张三")
		want(t, got.text("nurse02"), "#2 已并入 #1", "张三")
		want(t, got.text("nurse03"), "#3 已并入 #1")
		got = hs.say("zhangsan", "解决 1 打印服务重启")
		for _, n := range []string{"nurse01", "nurse02", "nurse03"} {
			if len(got[n]) != 1 || got[n][0].Card == nil {
				t.Errorf("%s got no confirmation card: %+v", n, got[n])
			}
		}
		want(t, got.text("nurse02"), "confirm:2:yes")
		for _, id := range []int64{2, 3} {
			if tk := hs.ticket(id); tk.Status != models.StatusResolved || tk.Resolution != "打印服务重启" {
				t.Fatalf("merged #%d: %+v", id, tk)
			}
		}
		got = hs.click("nurse02", "confirm:2:yes")
		want(t, got.text("nurse02"), "工单 #2 已关闭")
	})
}

func TestEngineerTodoAndNotes(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		hs.say("nurse01", "收费系统打印不了发票，门诊一楼3号窗口")
		hs.say("nurse02", "检验系统打不开，检验科")
		hs.say("zhangsan", "接单 2")
		got := hs.say("zhangsan", "待办")
		want(t, got.text("zhangsan"), "您的待办（1）", "#2［处理中］", "待接单（1）", "#1［待接单］", "接单 1")
		got = hs.say("zhangsan", "备注 2 远程查看中")
		want(t, got.text("zhangsan"), "已记录到工单 #2")
		got = hs.say("lisi", "备注 2 看看")
		want(t, got.text("lisi"), "由其他工程师负责")
		got = hs.say("zhangsan", "超时原因 2 等待厂家")
		want(t, got.text("zhangsan"), "将写入月报")
		if hs.ticket(2).BreachReason != "等待厂家" {
			t.Fatal("breach reason not kept")
		}
		got = hs.say("nurse01", "待办")
		want(t, got.text("nurse01"), "是服务工程师或服务主管或客户经理的命令")
	})
}

func TestSameMessageTwiceHasOneEffect(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		got := hs.say("nurse01", "收费系统打印不了发票，门诊一楼3号窗口")
		if len(got["nurse01"]) != 1 {
			t.Fatalf("replies %+v", got)
		}
		// A retry of the same message (same key) after processing.
		msg := hs.lastMessage()
		if err := hs.h.Process(t.Context(), msg); err != nil {
			t.Fatal(err)
		}
		if again := hs.drain(); len(again) != 0 || hs.count() != 1 {
			t.Fatalf("second processing sent %+v, tickets %d", again, hs.count())
		}
	})
}

func modelstest_loc() *time.Location { return modelstest.Shanghai }

var _ = strings.Contains

func TestOnCallLeaveAndNightAlerts(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		got := hs.say("nurse01", "值班")
		want(t, got.text("nurse01"), "当前值班：张三 13800000001", "运维热线（7×24）：0370-0000000")
		// Out of business hours (Monday 22:00) a high-priority fault goes to
		// the on-call engineer at once, by WeCom and by phone.
		hs.clock.Add(13 * time.Hour)
		got = hs.say("nurse01", "全院HIS都登不上了，急诊挂号停了")
		want(t, got.text("zhangsan"), "【非工作时间紧急故障】#1", "接单 1")
		want(t, got.text("phone:13800000001"), "【非工作时间紧急故障】#1")
		// In business hours no night alert.
		hs.clock.Add(11 * time.Hour) // Tuesday 09:00
		got = hs.say("nurse02", "全院HIS都登不上了，急诊挂号停了")
		wantNot(t, got.text("zhangsan"), "非工作时间")
		// Leave.
		got = hs.say("zhangsan", "请假")
		want(t, got.text("zhangsan"), "请写请假日期")
		got = hs.say("zhangsan", "请假 12-02 12-03")
		want(t, got.text("zhangsan"), "已登记您请假：12月2日 至 12月3日")
		got = hs.say("wangwu", "请假 张三 明天")
		want(t, got.text("wangwu"), "只能给自己请假")
		got = hs.say("zhaoliu", "请假 王五 明天")
		want(t, got.text("zhaoliu"), "已登记王五请假：12月2日")
		want(t, got.text("wangwu"), "赵六 为您登记了请假")
		got = hs.say("zhangsan", "销假")
		want(t, got.text("zhangsan"), "已销假，张三 可以接单了")
		got = hs.say("nurse01", "请假 明天")
		want(t, got.text("nurse01"), "是服务工程师或服务主管或客户经理的命令")
	})
}

// TestProcessBatch handles several users' messages with one commit: each
// has its own effect and reply, a refused command only its refusal, and a
// replayed message nothing.
func TestProcessBatch(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		ctx := t.Context()
		msgs := []bot.Incoming{
			{Key: "b:1", User: "nurse01", Type: "text", Text: "收费系统打印不了发票，门诊一楼3号窗口"},
			{Key: "b:2", User: "nurse02", Type: "text", Text: "检验系统打不开，检验科"},
			{Key: "b:3", User: "zhangsan", Type: "text", Text: "接单 99"},
			{Key: "b:4", User: "zhangsan", Type: "text", Text: "接单 1"},
			{Key: "b:5", User: "nurse03", Type: "text", Text: "谢谢"},
			// Reads the timeline that earlier messages of the batch wrote.
			{Key: "b:6", User: "nurse01", Type: "text", Text: "进度 1"},
		}
		for _, m := range msgs {
			if _, err := hs.inbox.Accept(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		hs.h.ProcessBatch(ctx, msgs)
		hs.h.ProcessBatch(ctx, msgs[:2]) // a replay changes nothing
		got := hs.drain()
		want(t, got.text("nurse01"), "已登记工单 #1", "张三 13800000001 接单", "09:00 张三 接单")
		want(t, got.text("nurse02"), "已登记工单 #2")
		want(t, got.text("zhangsan"), "未找到工单 #99", "已接单 #1")
		want(t, got.text("nurse03"), "报修请直接描述")
		if hs.count() != 2 || len(got["nurse02"]) != 1 {
			t.Fatalf("tickets %d, nurse02 got %d messages", hs.count(), len(got["nurse02"]))
		}
	})
}
