package handlers_test

import (
	"context"
	"testing"
	"time"

	"opsbot/models"
)

// TestInspectionFlow: the on-duty engineer gets the checklist, is reminded
// after an hour, the supervisor after two; an anomaly opens a ticket; the
// ops group gets the day's summary.
func TestInspectionFlow(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		ctx := context.Background()
		jobs := newJobs(hs)
		got := hs.say("zhangsan", "巡检 正常")
		want(t, got.text("zhangsan"), "现在没有待完成的巡检")

		hs.clock.Set(time.Date(2026, 11, 30, 8, 0, 0, 0, hs.store.SLA().Clock().Location()))
		if err := jobs.StartInspection(ctx, "早巡检"); err != nil {
			t.Fatal(err)
		}
		out := hs.drain()
		want(t, out.text("zhangsan"), "【早巡检】", "机房温湿度正常", "巡检 正常", "巡检 异常")
		if err := jobs.StartInspection(ctx, "早巡检"); err != nil {
			t.Fatal(err)
		}
		if out := hs.drain(); len(out) != 0 {
			t.Fatalf("a second run sent the checklist again: %v", out)
		}

		hs.clock.Add(59 * time.Minute)
		jobs.RemindInspections(ctx)
		if out := hs.drain(); len(out) != 0 {
			t.Fatalf("reminded before an hour: %v", out)
		}
		hs.clock.Add(2 * time.Minute)
		jobs.RemindInspections(ctx)
		out = hs.drain()
		want(t, out.text("zhangsan"), "【巡检提醒】早巡检")
		if len(out["zhaoliu"]) != 0 {
			t.Fatalf("supervisor reminded after one hour: %v", out)
		}
		hs.clock.Add(60 * time.Minute)
		jobs.RemindInspections(ctx)
		out = hs.drain()
		want(t, out.text("zhaoliu"), "【巡检未完成】早巡检", "zhangsan")
		jobs.RemindInspections(ctx)
		if out := hs.drain(); len(out) != 0 {
			t.Fatalf("reminded twice: %v", out)
		}

		got = hs.say("zhangsan", "巡检 异常 数据库备份 昨晚备份失败")
		want(t, got.text("zhangsan"), "已记录早巡检异常：数据库备份", "已生成工单 #1")
		want(t, got.text(models.OpsGroup), "【巡检异常】早巡检：数据库备份 昨晚备份失败，工单 #1")
		if tk := hs.ticket(1); tk.Source != models.SourceInspection || tk.ReporterID != "zhangsan" {
			t.Fatalf("anomaly ticket = %+v", tk)
		}
		got = hs.say("zhangsan", "巡检")
		want(t, got.text("zhangsan"), "早巡检", "已完成")
		got = hs.say("nurse01", "巡检 正常")
		want(t, got.text("nurse01"), "是服务工程师")

		hs.clock.Set(time.Date(2026, 11, 30, 20, 0, 0, 0, hs.store.SLA().Clock().Location()))
		if err := jobs.StartInspection(ctx, "晚巡检"); err != nil { // planned, never done
			t.Fatal(err)
		}
		hs.drain()
		if err := jobs.SummarizeInspections(ctx); err != nil {
			t.Fatal(err)
		}
		out = hs.drain()
		want(t, out.text(models.OpsGroup), "【今日巡检汇总】11月30日：计划 2 次，完成 1 次，未完成 1 次，发现异常 1 项", "数据库备份 昨晚备份失败（工单 #1）")
	})
}
