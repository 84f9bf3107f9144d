package handlers_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"opsbot/configs"
	"opsbot/handlers"
	"opsbot/kv"
	"opsbot/models"
	"opsbot/models/modelstest"
	"opsbot/reports"
)

// recordsHarness is newHarness with two hospital approvers configured.
func recordsHarness(t *testing.T, open func(testing.TB, models.Options) *models.Store, tune func(*configs.Config)) *harness {
	t.Helper()
	clock := modelstest.NewClock(modelstest.Monday9)
	cfg := configs.Default()
	cfg.Hospital.Approvers = []string{"xxk01", "xxk02"}
	if tune != nil {
		tune(&cfg)
	}
	store := open(t, models.Options{Now: clock.Now, SLA: modelstest.DefaultSLA(t), Reminders: cfg.Reminders, AutoClose: cfg.Ticket.AutoClose.D()})
	ctx := context.Background()
	sys, err := configs.LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	deps, err := configs.LoadDepartments("")
	if err != nil {
		t.Fatal(err)
	}
	cat := models.NewCatalog(models.SystemsFromConfig(sys), models.DepartmentsFromConfig(deps))
	if err := store.SyncCatalog(ctx, cat.Systems(), models.DepartmentsFromConfig(deps)); err != nil {
		t.Fatal(err)
	}
	roster, err := configs.LoadStaff("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.SyncStaff(ctx, roster, cat.Resolve); err != nil {
		t.Fatal(err)
	}
	mem := kv.NewMemory(clock.Now)
	oncall, err := configs.LoadOnCall("")
	if err != nil {
		t.Fatal(err)
	}
	h := handlers.New(handlers.Deps{Store: store, KV: mem, Catalog: cat, Config: cfg, OnCall: oncall, Source: models.SourceChat})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return &harness{t: t, store: store, h: h, clock: clock, kv: mem, inbox: handlers.NewInbox(ctx, store, 1)}
}

func eachRecordsStore(t *testing.T, tune func(*configs.Config), body func(t *testing.T, hs *harness)) {
	t.Run("sqlite", func(t *testing.T) { body(t, recordsHarness(t, modelstest.SQLite, tune)) })
	t.Run("postgres", func(t *testing.T) { body(t, recordsHarness(t, modelstest.Postgres, tune)) })
}

// docText reads back the DOCX file message one recipient got.
func (hs *harness) docText(s sent, to string) string {
	hs.t.Helper()
	for _, m := range s[to] {
		if m.MsgType != models.MsgFile || m.FileID == nil {
			continue
		}
		f, err := hs.store.File(context.Background(), *m.FileID)
		if err != nil {
			hs.t.Fatal(err)
		}
		text, err := reports.ReadDOCXText(bytes.NewReader(f.Data), int64(len(f.Data)))
		if err != nil {
			hs.t.Fatalf("the DOCX does not open: %v", err)
		}
		return text
	}
	hs.t.Fatalf("%s got no file: %s", to, s.text(to))
	return ""
}

func cardKeys(s sent, to string) []string {
	var keys []string
	for _, m := range s[to] {
		if m.Card != nil {
			for _, b := range m.Card.Buttons {
				keys = append(keys, b.Key)
			}
		}
	}
	return keys
}

func TestIncidentReportWithReturnThenConfirmation(t *testing.T) {
	eachRecordsStore(t, nil, func(t *testing.T, hs *harness) {
		hs.say("nurse01", "全院挂号系统都登不上了，急诊挂号停了")
		hs.say("nurse02", "挂号系统登不上，门诊一楼挂号处")
		got := hs.say("zhaoliu", "事件报告 1")
		want(t, got.text("zhaoliu"), "不是重大事件")
		hs.say("zhaoliu", "合并 1 2")
		hs.say("zhaoliu", "重大 1")
		got = hs.say("lisi", "接单 1")
		want(t, got.text("lisi"), "已接单 #1", "【应急预案】", "首先检查")
		hs.clock.Add(40 * time.Minute)
		hs.say("lisi", "解决 1 清理数据库归档目录后重启 HIS 服务，挂号恢复")

		// A reporter may not write the analysis; staff may.
		got = hs.say("nurse01", "根因 1 我觉得是网络")
		want(t, got.text("nurse01"), "没有权限")
		got = hs.say("zhaoliu", "事件报告 1 提交")
		want(t, got.text("zhaoliu"), "请先填写根因和整改措施")
		if len(got["xxk01"]) != 0 {
			t.Fatal("an unfinished report went to the hospital")
		}
		hs.say("lisi", "根因 1 数据库归档目录写满，HIS 写入挂起")
		hs.say("lisi", "整改 1 增加归档空间监控，每周清理归档")
		hs.say("zhaoliu", "影响 1 门诊和急诊挂号中断 40 分钟")

		got = hs.say("zhaoliu", "事件报告 1")
		want(t, got.text("zhaoliu"), "重大事件分析报告", "一、事件经过", "#2 报修", "#2 并入本事件", "合并报修**：1 单", "数据库归档目录写满", "DOCX 已发给服务主管")
		doc := hs.docText(got, "zhaoliu")
		want(t, doc, "重大事件分析报告", "一、事件经过", "二、影响范围", "三、根本原因", "数据库归档目录写满", "四、整改措施", "增加归档空间监控", "五、参与人员", "李四", "草稿")

		got = hs.say("zhaoliu", "事件报告 1 提交")
		want(t, got.text("zhaoliu"), "已提交信息科")
		keys := cardKeys(got, "xxk01")
		if len(keys) != 2 || keys[0] != "irpt:1:ok" || keys[1] != "irpt:1:no" {
			t.Fatalf("approval card keys %v", keys)
		}
		want(t, hs.docText(got, "xxk02"), "待医院确认")
		// Staff may not change it while the hospital reviews it.
		got = hs.say("lisi", "根因 1 改一下")
		want(t, got.text("lisi"), "待确认期间不能修改")

		// Only the approvers it was sent to answer it.
		got = hs.click("nurse01", "irpt:1:ok")
		want(t, got.text("nurse01"), "没有发给您")
		got = hs.click("xxk01", "irpt:1:no")
		want(t, got.text("xxk01"), "请回复退回", "意见")
		// The comment starts like a command (补充) and still is the comment.
		got = hs.say("xxk01", "补充根因的排查过程，写清楚为什么监控没有报警")
		want(t, got.text("xxk01"), "已退回")
		want(t, got.text("zhaoliu"), "退回", "补充根因的排查过程")

		hs.say("lisi", "根因 1 数据库归档目录写满；磁盘监控阈值设为 98%，未能提前报警")
		hs.say("zhaoliu", "事件报告 1 提交")
		got = hs.click("xxk02", "irpt:1:ok")
		want(t, got.text("xxk02"), "已确认")
		want(t, got.text("zhaoliu"), "已由信息科 xxk02 确认")
		got = hs.click("xxk01", "irpt:1:ok")
		want(t, got.text("xxk01"), "已处理")

		var rows []models.IncidentReportRow
		hs.store.View(context.Background(), func(tx *models.Tx) error {
			var err error
			rows, err = tx.IncidentReportsIn(modelstest.Monday9.AddDate(0, 0, -1), modelstest.Monday9.AddDate(0, 1, 0))
			return err
		})
		if len(rows) != 1 || rows[0].TicketID != 1 || rows[0].Status != models.ReportConfirmed || rows[0].Merged != 1 || rows[0].DecidedBy != "xxk02" {
			t.Fatalf("monthly incident rows %+v", rows)
		}
	})
}

func TestIncidentReportBadInput(t *testing.T) {
	eachRecordsStore(t, nil, func(t *testing.T, hs *harness) {
		got := hs.say("zhaoliu", "事件报告 99")
		want(t, got.text("zhaoliu"), "#99")
		got = hs.say("lisi", "根因 99 什么")
		want(t, got.text("lisi"), "#99")
		got = hs.say("lisi", "整改 1")
		want(t, got.text("lisi"), "请写上整改措施")
		// A ward's sentence that starts with 影响 is a fault report.
		got = hs.say("nurse01", "影响挂号了，挂号系统打不开，门诊一楼挂号处")
		want(t, got.text("nurse01"), "已登记工单 #1")
	})
}

// fillChange answers the whole change form as user.
func fillChange(hs *harness, user, window string) sent {
	hs.say(user, "变更申请")
	hs.say(user, "检验")
	hs.say(user, "LIS 升级到 5.2 版本")
	hs.say(user, "修复危急值漏报")
	hs.say(user, "高")
	hs.say(user, "恢复升级前的数据库备份和程序包")
	hs.say(user, window)
	return hs.say(user, "检验科、急诊科")
}

func TestChangeTwoStepApprovalAndRejection(t *testing.T) {
	eachRecordsStore(t, nil, func(t *testing.T, hs *harness) {
		got := hs.say("zhangsan", "变更申请")
		want(t, got.text("zhangsan"), "变更哪个系统")
		hs.say("zhangsan", "检验")
		hs.say("zhangsan", "LIS 升级到 5.2 版本")
		got = hs.say("zhangsan", "修复危急值漏报")
		want(t, got.text("zhangsan"), "风险等级")
		got = hs.say("zhangsan", "很难说")
		want(t, got.text("zhangsan"), "高、中 或 低")
		got = hs.say("zhangsan", "高")
		want(t, got.text("zhangsan"), "回退方案")
		// The answer starts with a command word (恢复) and is still the answer.
		got = hs.say("zhangsan", "恢复升级前的数据库备份和程序包")
		want(t, got.text("zhangsan"), "计划窗口")
		got = hs.say("zhangsan", "明天晚上")
		want(t, got.text("zhangsan"), "12-05 22:00-23:30")
		got = hs.say("zhangsan", "12-05 22:00-23:30")
		want(t, got.text("zhangsan"), "影响哪些科室")
		got = hs.say("zhangsan", "检验科、急诊科")
		want(t, got.text("zhangsan"), "已提交变更 #1", "检验信息系统", "12-05 22:00-23:30", "服务主管 → 信息科")
		if keys := cardKeys(got, "zhaoliu"); len(keys) != 2 || keys[0] != "chg:1:1:ok" {
			t.Fatalf("supervisor card %v", keys)
		}
		if len(got["xxk01"]) != 0 {
			t.Fatal("the hospital was asked before the supervisor")
		}

		// Reporters and approvers of a later step cannot answer.
		got = hs.click("nurse01", "chg:1:1:ok")
		want(t, got.text("nurse01"), "没有发给您")
		got = hs.click("xxk01", "chg:1:2:ok")
		want(t, got.text("xxk01"), "还在等待服务主管审批")

		got = hs.click("zhaoliu", "chg:1:1:ok")
		want(t, got.text("zhaoliu"), "已同意变更 #1", "信息科")
		want(t, got.text("zhangsan"), "已通过服务主管审批")
		if keys := cardKeys(got, "xxk01"); len(keys) != 2 || keys[1] != "chg:1:2:no" {
			t.Fatalf("hospital card %v", keys)
		}

		// 驳回 needs a reason: nothing is recorded until it comes.
		got = hs.click("xxk01", "chg:1:2:no")
		want(t, got.text("xxk01"), "请回复驳回变更 #1 的理由")
		got = hs.say("xxk01", "取消")
		want(t, got.text("xxk01"), "已取消驳回")
		got = hs.say("zhangsan", "变更 1")
		want(t, got.text("zhangsan"), "［待审批］", "服务主管 同意", "信息科 待审批")
		hs.click("xxk01", "chg:1:2:no")
		got = hs.say("xxk01", "窗口与周一体检高峰冲突，请改到周末")
		want(t, got.text("xxk01"), "已驳回变更 #1")
		want(t, got.text("zhangsan"), "被信息科驳回", "体检高峰")
		got = hs.click("xxk02", "chg:1:2:ok")
		want(t, got.text("xxk02"), "审批已结束")
		got = hs.say("zhangsan", "变更 1 完成")
		want(t, got.text("zhangsan"), "已驳回", "不能登记")

		// A second change is approved by both steps, done, and exported.
		got = fillChange(hs, "zhangsan", "12-06 22:00-12-07 01:00")
		want(t, got.text("zhangsan"), "已提交变更 #2")
		hs.click("zhaoliu", "chg:2:1:ok")
		// xxk01 starts a rejection, xxk02 approves first: the late reason
		// is answered once, and the next line is not taken for it again.
		hs.click("xxk01", "chg:2:2:no")
		got = hs.click("xxk02", "chg:2:2:ok")
		want(t, got.text("zhangsan"), "变更 #2 已批准")
		got = hs.say("xxk01", "回退方案不够详细")
		want(t, got.text("xxk01"), "审批已结束")
		got = hs.say("xxk01", "谢谢")
		wantNot(t, got.text("xxk01"), "审批已结束")
		got = hs.say("lisi", "变更 列表")
		want(t, got.text("lisi"), "变更 #2［已批准］检验信息系统")
		wantNot(t, got.text("lisi"), "变更 #1")

		// A report about LIS in the window is linked to the change.
		hs.clock.Set(time.Date(2026, 12, 6, 23, 0, 0, 0, modelstest.Shanghai))
		got = hs.say("nurse01", "检验系统出不了报告，检验科")
		want(t, got.text("zhangsan"), "【变更关联】变更 #2", "检验系统出不了报告")
		hs.say("nurse02", "收费系统打印不了发票，门诊一楼3号窗口") // another system: not linked
		got = hs.say("zhangsan", "变更 2 完成")
		want(t, got.text("zhangsan"), "已登记变更 #2 已完成")
		got = hs.say("zhangsan", "变更 2")
		want(t, got.text("zhangsan"), "［已完成］", "窗口内相关报修：#1", "完成")

		var doc reports.Doc
		var months []models.ChangeSummary
		if err := hs.store.View(context.Background(), func(tx *models.Tx) error {
			var err error
			cat := models.NewCatalog(nil, nil)
			if doc, err = handlers.ChangeRequestDoc(tx, 1, cat, modelstest.Shanghai); err != nil {
				return err
			}
			months, err = tx.ChangesIn(time.Date(2026, 12, 1, 0, 0, 0, 0, modelstest.Shanghai), time.Date(2027, 1, 1, 0, 0, 0, 0, modelstest.Shanghai))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := reports.WriteDOCX(&buf, doc); err != nil {
			t.Fatal(err)
		}
		text, err := reports.ReadDOCXText(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		want(t, text, "变更申请单", "变更 #1", "一、变更内容", "LIS 升级到 5.2 版本", "恢复升级前的数据库备份", "二、审批记录", "驳回", "体检高峰", "已驳回")
		if len(months) != 2 || len(months[1].Linked) != 1 || months[1].Linked[0] != 1 || len(months[0].Linked) != 0 {
			t.Fatalf("monthly changes %+v", months)
		}
	})
}

func TestChangeFormAbandonedLeavesNothing(t *testing.T) {
	eachRecordsStore(t, func(c *configs.Config) { c.Records.ChangeApprovalSteps = 1 }, func(t *testing.T, hs *harness) {
		got := hs.say("nurse01", "变更申请")
		want(t, got.text("nurse01"), "服务工程师")
		hs.say("zhangsan", "变更申请")
		hs.say("zhangsan", "收费")
		got = hs.say("zhangsan", "跳过")
		want(t, got.text("zhangsan"), "必填")
		hs.say("zhangsan", "发票模板调整")
		got = hs.say("zhangsan", "取消")
		want(t, got.text("zhangsan"), "已取消变更申请")
		got = hs.say("zhangsan", "变更 列表")
		want(t, got.text("zhangsan"), "没有待审批")
		got = hs.say("zhangsan", "变更 7")
		want(t, got.text("zhangsan"), "未找到变更 #7")
		// A window in the past is refused and asked again.
		hs.say("zhangsan", "变更申请")
		hs.say("zhangsan", "收费")
		hs.say("zhangsan", "发票模板调整")
		hs.say("zhangsan", "跳过")
		hs.say("zhangsan", "低")
		hs.say("zhangsan", "换回旧模板")
		got = hs.say("zhangsan", "11-29 22:00-23:00")
		want(t, got.text("zhangsan"), "已经过去")
		hs.say("zhangsan", "12-01 12:00-12:30")
		got = hs.say("zhangsan", "无")
		want(t, got.text("zhangsan"), "已提交变更 #1", "审批：服务主管。")
		got = hs.click("zhaoliu", "chg:1:1:ok")
		want(t, got.text("zhangsan"), "变更 #1 已批准")
		got = hs.say("zhangsan", "变更 1 回退")
		want(t, got.text("zhangsan"), "回退需要写明原因")
		got = hs.say("zhangsan", "变更 1 回退 新模板打印错位")
		want(t, got.text("zhangsan"), "已回退")
	})
}

func TestProblemSuggestionOnceAndLinking(t *testing.T) {
	eachRecordsStore(t, nil, func(t *testing.T, hs *harness) {
		hs.say("nurse01", "收费系统打印不了发票，门诊一楼3号窗口")
		hs.clock.Add(48 * time.Hour)
		got := hs.say("nurse02", "收费窗口发票打印不了，门诊一楼5号窗口")
		wantNot(t, got.text("zhaoliu"), "问题建议")
		hs.say("nurse03", "挂号系统登不上，门诊一楼挂号处")
		hs.clock.Add(72 * time.Hour)
		got = hs.say("nurse04", "门诊收费发票打印不了，急诊收费处")
		want(t, got.text("zhaoliu"), "【问题建议】", "3 单相似报修", "#1", "#2", "#4")
		wantNot(t, got.text("zhaoliu"), "#3")
		got = hs.say("nurse05", "收费系统发票打印不了，门诊二楼收费处")
		wantNot(t, got.text("zhaoliu"), "问题建议")

		got = hs.say("zhaoliu", "问题 新建 收费窗口发票打印反复失败")
		want(t, got.text("zhaoliu"), "已建立问题 P1")
		got = hs.say("zhaoliu", "问题 关联 P1 1 2 99")
		want(t, got.text("zhaoliu"), "#99")
		got = hs.say("nurse01", "问题 关联 P1 1")
		want(t, got.text("nurse01"), "没有权限")
		got = hs.say("lisi", "问题 关联 P1 1 2 4 5")
		want(t, got.text("lisi"), "共 4 张")
		hs.say("lisi", "问题 根因 P1 发票打印机驱动与收费系统新版本不兼容")
		got = hs.say("lisi", "问题 P1")
		want(t, got.text("lisi"), "问题 P1［处理中］", "门急诊收费", "驱动", "#5 门急诊收费｜")

		var open []models.ProblemSummary
		hs.store.View(context.Background(), func(tx *models.Tx) error {
			var err error
			open, err = tx.OpenProblems()
			return err
		})
		if len(open) != 1 || len(open[0].Tickets) != 4 || open[0].Problem.System != "OPB" {
			t.Fatalf("open problems %+v", open)
		}
		got = hs.say("lisi", "问题 解决 P1 统一升级打印驱动到 3.1 版")
		want(t, got.text("lisi"), "已解决")
		got = hs.say("lisi", "问题 列表")
		want(t, got.text("lisi"), "没有未解决的问题")
		// A ward's sentence that starts with 问题 is a fault report.
		got = hs.say("nurse06", "问题是检验系统打不开，检验科")
		want(t, got.text("nurse06"), "已登记工单")
	})
}

func TestEmergencyPlanDelivery(t *testing.T) {
	eachRecordsStore(t, nil, func(t *testing.T, hs *harness) {
		// zhangsan is on call in the example rota's first week.
		got := hs.say("nurse01", "检验系统全部瘫痪了，急诊标本都出不了报告，检验科")
		want(t, got.text("zhangsan"), "【应急预案】", "检验信息系统", "首先检查", "仪器接口", "预案 检验信息系统")
		wantNot(t, got.text("zhangsan"), "启用手工登记")
		got = hs.say("lisi", "接单 1")
		want(t, got.text("lisi"), "【应急预案】", "联系人")
		// A medium ticket gets no plan.
		hs.say("nurse02", "检验系统打印条码有点慢，检验科")
		got = hs.say("lisi", "接单 2")
		wantNot(t, got.text("lisi"), "应急预案")
		got = hs.say("wangwu", "预案 检验")
		want(t, got.text("wangwu"), "手工应急", "检验科主任")
		got = hs.say("wangwu", "预案 挂号")
		want(t, got.text("wangwu"), "HIS 前台业务", "手工挂号")
		got = hs.say("wangwu", "预案 病案管理")
		want(t, got.text("wangwu"), "还没有应急预案", ".md")
		got = hs.say("nurse01", "预案 检验")
		want(t, got.text("nurse01"), "服务工程师")
	})
}

func TestPastFixHintsOnClaimAndSearch(t *testing.T) {
	eachRecordsStore(t, nil, func(t *testing.T, hs *harness) {
		hs.say("nurse01", "收费系统打印不了发票，门诊一楼3号窗口")
		hs.say("lisi", "接单 1")
		hs.say("lisi", "解决 1 发票打印机驱动损坏，重装驱动后打印正常")
		hs.say("nurse02", "挂号系统登不上，门诊一楼挂号处")
		hs.say("lisi", "接单 2")
		hs.say("lisi", "解决 2 账号被锁，解锁后正常")
		hs.clock.Add(24 * time.Hour)
		hs.say("nurse03", "门诊收费处发票打印不出来，急诊收费处")
		got := hs.say("zhangsan", "接单 3")
		want(t, got.text("zhangsan"), "类似的历史工单", "#1 门急诊收费", "重装驱动")
		wantNot(t, got.text("zhangsan"), "#2", "解锁")

		got = hs.say("zhaoliu", "查 驱动")
		want(t, got.text("zhaoliu"), "#1 门急诊收费", "重装驱动")
		got = hs.say("zhaoliu", "查 解锁 挂号")
		want(t, got.text("zhaoliu"), "门急诊挂号的", "#2")
		wantNot(t, got.text("zhaoliu"), "#1 ")
		got = hs.say("zhaoliu", "查 光纤熔接")
		want(t, got.text("zhaoliu"), "没有找到")
		// From a ward, 查… is a fault, not a search.
		got = hs.say("nurse04", "查不到病人的检验结果，检验科")
		want(t, got.text("nurse04"), "已登记工单")
	})
}
