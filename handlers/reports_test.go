package handlers_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"opsbot/configs"
	"opsbot/models"
	"opsbot/reports"
	"opsbot/schedules"

	"github.com/xuri/excelize/v2"
)

// TestMonthlyReportDeliveredAndConfirmed: on the 1st the job posts the
// summary to the ops group and asks each approver to confirm; the XLSX
// follows once; an approver's objection is recorded with its comment and
// 月报 says how the hospital answered.
func TestMonthlyReportDeliveredAndConfirmed(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		resolved(t, hs)
		hs.click("nurse01", "confirm:1:yes")
		hs.click("nurse01", "rate:1:100")
		hs.say("nurse02", "检验系统打不开了，检验科")
		hs.say("zhaoliu", "重大 2")
		cfg := configs.Default()
		cfg.Hospital.Approvers = []string{"xxk01", "xxk02"}
		cat := hs.h.Catalog()
		jobs := schedules.New(schedules.Deps{Store: hs.store, Config: cfg, Catalog: cat})
		hs.clock.Set(time.Date(2026, 12, 1, 9, 0, 0, 0, hs.clock.Now().Location()))
		ctx := context.Background()
		for range 2 { // a second run (another replica) delivers nothing more
			if err := jobs.MonthlyReport(ctx); err != nil {
				t.Fatal(err)
			}
		}
		got := hs.drain()
		want(t, got.text(models.OpsGroup), "服务月报", "2026年11月")
		if len(got[models.OpsGroup]) != 1 || len(got["xxk01"]) != 1 || len(got["xxk02"]) != 1 {
			t.Fatalf("delivered %+v", got)
		}
		want(t, got.text("xxk01"), "请确认", "确认=report:ok:monthly:2026-11", "有意见=report:object:monthly:2026-11")
		for range 2 {
			if err := jobs.BuildReports(ctx); err != nil {
				t.Fatal(err)
			}
		}
		got = hs.drain()
		files := got[models.OpsGroup]
		if len(files) != 1 || files[0].MsgType != models.MsgFile || files[0].FileID == nil {
			t.Fatalf("XLSX to the ops group: %+v", got)
		}
		f, err := hs.store.File(ctx, *files[0].FileID)
		if err != nil {
			t.Fatal(err)
		}
		x, err := excelize.OpenReader(bytes.NewReader(f.Data))
		if err != nil {
			t.Fatalf("XLSX does not open: %v", err)
		}
		sheets := strings.Join(x.GetSheetList(), ",")
		for _, s := range []string{reports.SheetSummary, reports.SheetTickets} {
			if !strings.Contains(sheets, s) {
				t.Errorf("sheet %s missing from %s", s, sheets)
			}
		}
		rows, _ := x.GetRows(reports.SheetTickets)
		if len(rows) != 3 { // header + 2 tickets
			t.Fatalf("ticket sheet has %d rows", len(rows))
		}
		// The service records: the major incident is listed, and the
		// change, problem and inspection tables say there were none.
		recs, _ := x.GetRows(reports.SheetRecords)
		var flat []string
		for _, r := range recs {
			flat = append(flat, strings.Join(r, "|"))
		}
		all := strings.Join(flat, "\n")
		for _, w := range []string{"重大事件分析报告", "2|检验信息系统", "本期无变更", "没有未关闭的问题", "日常巡检"} {
			if !strings.Contains(all, w) {
				t.Errorf("服务记录 lacks %q:\n%s", w, all)
			}
		}

		got = hs.click("xxk01", "report:ok:monthly:2026-11")
		want(t, got.text("xxk01"), "已确认服务月报")
		want(t, got.text("zhaoliu"), "已确认服务月报")
		got = hs.click("xxk02", "report:object:monthly:2026-11")
		want(t, got.text("xxk02"), "请直接回复您对服务月报")
		got = hs.say("xxk02", "第5页超时原因写得不清楚")
		want(t, got.text("xxk02"), "已记录您对服务月报")
		want(t, got.text("zhaoliu"), "【报告有意见】", "第5页超时原因写得不清楚")
		got = hs.click("nurse09", "report:ok:monthly:2026-11")
		want(t, got.text("nurse09"), "没有发给您确认")

		got = hs.say("zhaoliu", "月报 2026-11")
		want(t, got.text("zhaoliu"), "有意见", "XLSX 报表正在生成")
		if err := jobs.BuildReports(ctx); err != nil {
			t.Fatal(err)
		}
		got = hs.drain()
		if len(got["zhaoliu"]) != 1 || got["zhaoliu"][0].MsgType != models.MsgFile {
			t.Fatalf("月报 did not send the XLSX: %+v", got)
		}
		got = hs.say("nurse01", "月报")
		want(t, got.text("nurse01"), "服务主管")
	})
}

// TestYearlySurvey: 发起 invites the recipients, 调查 asks one question at
// a time, the answers and comment are kept, one reminder goes to those who
// have not answered, and 结果 gives the response rate and the scores.
func TestYearlySurvey(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		dir := t.TempDir()
		file := filepath.Join(dir, "survey.yaml")
		os.WriteFile(file, []byte("questions: [总体满意度, 响应是否及时]\nrecipients:\n  users: [nurse01, nurse02]\n"), 0o644)
		cfg := configs.Default()
		cfg.Rating.SurveyFile = file
		hs.reconfigure(cfg)
		jobs := schedules.New(schedules.Deps{Store: hs.store, Config: cfg, Catalog: hs.h.Catalog()})
		ctx := context.Background()

		got := hs.say("zhaoliu", "满意度调查 发起 2026")
		want(t, got.text("zhaoliu"), "已发起 2026 年度满意度调查（2 题）")
		got = hs.say("zhaoliu", "满意度调查 发起 2026")
		want(t, got.text("zhaoliu"), "已于")
		if err := jobs.Survey(ctx); err != nil {
			t.Fatal(err)
		}
		got = hs.drain()
		want(t, got.text("nurse01"), "年度满意度调查", "发“调查”")
		want(t, got.text("nurse02"), "年度满意度调查")

		got = hs.say("nurse01", "调查")
		want(t, got.text("nurse01"), "第 1/2 题：总体满意度")
		got = hs.say("nurse01", "9")
		want(t, got.text("nurse01"), "请回复 1 到 5")
		got = hs.say("nurse01", "5")
		want(t, got.text("nurse01"), "第 2/2 题：响应是否及时")
		got = hs.say("nurse01", "4")
		want(t, got.text("nurse01"), "意见或建议")
		got = hs.say("nurse01", "夜班响应可以再快一点")
		want(t, got.text("nurse01"), "问卷已提交")
		got = hs.say("nurse01", "调查")
		want(t, got.text("nurse01"), "没有邀请您")

		hs.clock.Add(73 * time.Hour)
		if err := jobs.Survey(ctx); err != nil {
			t.Fatal(err)
		}
		got = hs.drain()
		if len(got["nurse01"]) != 0 || !strings.Contains(got.text("nurse02"), "【提醒】") {
			t.Fatalf("reminder: %+v", got)
		}
		got = hs.say("zhaoliu", "满意度调查 结果 2026")
		want(t, got.text("zhaoliu"), "邀请 2 人，已答 1 人", "回收率 50%", "总体 90.0 分", "1. 总体满意度：100.0 分（1 人）", "2. 响应是否及时：80.0 分（1 人）")
	})
}
