package handlers

import (
	"opsbot/bot"
	"opsbot/models"
)

// Help groups: who a command is for.
const (
	forEveryone   = "everyone"
	forEngineers  = "engineer"
	forSupervisor = "supervisor"
)

var (
	engineersOnly   = requireRole(models.RoleEngineer)
	supervisorsOnly = requireRole(models.RoleSupervisor, models.RoleAccountManager)
	staffOnly       = requireRole(models.RoleEngineer, models.RoleSupervisor, models.RoleAccountManager)
)

// routes is the one route table, read top to bottom.
func (h *Handlers) routes() *bot.Router {
	r := bot.NewRouter()
	r.Use(h.finish, h.identify, h.formFirst)
	r.OnError(h.onError)

	// Reporters (everyone).
	r.Handle(bot.Command{Name: "报修", Aliases: []string{"报障", "故障"}, Args: "<系统和故障现象，最好带位置>", Help: "报告故障", Example: "报修 门诊收费 3号窗口打印不了发票", Group: forEveryone, Handler: h.report})
	r.Handle(bot.Command{Name: "我的工单", Aliases: []string{"我的"}, Help: "查看我报的工单", Example: "我的工单", Group: forEveryone, Handler: h.myTickets})
	r.Handle(bot.Command{Name: "进度", Aliases: []string{"查询"}, Args: "<单号>", Help: "查看处理进度", Example: "进度 12", Group: forEveryone, Handler: h.progress})
	r.Handle(bot.Command{Name: "补充", Args: "<单号> <补充内容>", Help: "补充情况", Example: "补充 12 重启后还是打印不了", Group: forEveryone, Handler: h.supplement})
	r.Handle(bot.Command{Name: "催办", Aliases: []string{"催单"}, Args: "<单号>", Help: "催工程师处理", Example: "催办 12", Group: forEveryone, Handler: h.hurry})
	r.Handle(bot.Command{Name: "确认", Aliases: []string{"已解决"}, Args: "<单号>", Help: "确认问题已解决", Example: "确认 12", Group: forEveryone, Handler: h.confirm})
	r.Handle(bot.Command{Name: "未解决", Args: "<单号> [情况]", Help: "问题没解决，退回工程师", Example: "未解决 12 还是打印不了", Group: forEveryone, Handler: h.notFixed})
	r.Handle(bot.Command{Name: "撤销", Aliases: []string{"撤单"}, Args: "<单号> [原因]", Help: "撤销我报的工单", Example: "撤销 12 已经好了", Group: forEveryone, Handler: h.cancel})
	r.Handle(bot.Command{Name: "评价", Args: "<单号> <非常满意|满意|一般|不满意|非常不满意> [意见]", Help: "评价已关闭工单的服务", Example: "评价 12 满意 工程师很及时", Group: forEveryone, Handler: h.rate})
	r.Handle(bot.Command{Name: "调查", Aliases: []string{"答卷"}, Help: "回答年度满意度调查", Example: "调查", Group: forEveryone, Handler: h.answerSurvey})
	r.Handle(bot.Command{Name: "值班", Aliases: []string{"热线"}, Help: "查看当前值班工程师和热线", Example: "值班", Group: forEveryone, Handler: h.onDuty})
	r.Handle(bot.Command{Name: "跳过", Help: "报修时跳过当前问题", Example: "跳过", Group: forEveryone, Handler: h.skip})
	r.Handle(bot.Command{Name: "取消", Help: "放弃正在填写的报修", Example: "取消", Group: forEveryone, Handler: h.abort})
	r.Handle(bot.Command{Name: "帮助", Aliases: []string{"help", "菜单", "?", "？"}, Help: "查看可用命令", Example: "帮助", Group: forEveryone, Handler: h.help})

	// Engineers.
	r.Handle(bot.Command{Name: "接单", Args: "<单号>", Help: "接下工单", Example: "接单 12", Group: forEngineers, Handler: h.claim, Middleware: []bot.Middleware{engineersOnly}})
	r.Handle(bot.Command{Name: "转派", Args: "<单号> <姓名或账号> [原因]", Help: "转给其他工程师（不低于您的级别）", Example: "转派 12 李四 需要数据库权限", Group: forEngineers, Handler: h.transfer, Middleware: []bot.Middleware{engineersOnly}})
	r.Handle(bot.Command{Name: "到场", Args: "<单号>", Help: "登记已到现场", Example: "到场 12", Group: forEngineers, Handler: h.arrive, Middleware: []bot.Middleware{engineersOnly}})
	r.Handle(bot.Command{Name: "挂起", Args: "<单号> <原因>", Help: "等待他人时暂停计时", Example: "挂起 12 等厂家发补丁", Group: forEngineers, Handler: h.pause, Middleware: []bot.Middleware{engineersOnly}})
	r.Handle(bot.Command{Name: "恢复", Args: "<单号>", Help: "恢复处理，继续计时", Example: "恢复 12", Group: forEngineers, Handler: h.resume, Middleware: []bot.Middleware{engineersOnly}})
	r.Handle(bot.Command{Name: "解决", Args: "<单号> <处理结果>", Help: "登记解决，请报修人确认", Example: "解决 12 重装打印驱动后打印正常", Group: forEngineers, Handler: h.resolve, Middleware: []bot.Middleware{engineersOnly}})
	r.Handle(bot.Command{Name: "备注", Args: "<单号> <内容>", Help: "记录处理过程", Example: "备注 12 已远程查看，驱动异常", Group: forEngineers, Handler: h.note, Middleware: []bot.Middleware{engineersOnly}})
	r.Handle(bot.Command{Name: "超时原因", Args: "<单号> <原因>", Help: "说明超时原因（进月报）", Example: "超时原因 12 等待医保中心回复", Group: forEngineers, Handler: h.breachReason, Middleware: []bot.Middleware{staffOnly}})
	r.Handle(bot.Command{Name: "请假", Args: "<开始日期> [结束日期]", Help: "登记请假，工单自动转交同级工程师", Example: "请假 12-01 12-03", Group: forEngineers, Handler: h.leave, Middleware: []bot.Middleware{staffOnly}})
	r.Handle(bot.Command{Name: "销假", Help: "提前结束请假", Example: "销假", Group: forEngineers, Handler: h.backFromLeave, Middleware: []bot.Middleware{staffOnly}})
	r.Handle(bot.Command{Name: "待办", Help: "我的待办，最急的在前", Example: "待办", Group: forEngineers, Handler: h.todo, Middleware: []bot.Middleware{staffOnly}})
	r.Handle(bot.Command{Name: "改系统", Args: "<单号> <系统名或代码>", Help: "纠正工单的系统，系统会记住这个说法", Example: "改系统 12 检验", Group: forEngineers, Handler: h.correctSystem, Middleware: []bot.Middleware{staffOnly}})
	r.Handle(bot.Command{Name: "别名", Args: "[删除 <词>]", Help: "查看学到的系统别名；服务主管可删除", Example: "别名", Group: forEngineers, Handler: h.aliases, Middleware: []bot.Middleware{staffOnly}})
	r.Handle(bot.Command{Name: "巡检", Args: "正常 | 异常 <项目> <说明>", Help: "登记巡检结果", Example: "巡检 异常 数据库备份 昨晚备份失败", Group: forEngineers, Handler: h.inspection, Middleware: []bot.Middleware{staffOnly}})
	r.Handle(bot.Command{Name: "拆分", Args: "<单号>", Help: "把误并入重大事件的报修拆出单独处理", Example: "拆分 12", Group: forEngineers, Handler: h.split, Middleware: []bot.Middleware{staffOnly}})
	r.Handle(bot.Command{Name: "工单", Args: "<单号>", Help: "工单详情", Example: "工单 12", Group: forEngineers, Handler: h.progress})

	// Supervisors and the account manager.
	r.Handle(bot.Command{Name: "指派", Args: "<单号> <姓名或账号>", Help: "把工单派给工程师", Example: "指派 12 张三", Group: forSupervisor, Handler: h.assign, Middleware: []bot.Middleware{supervisorsOnly}})
	r.Handle(bot.Command{Name: "优先级", Args: "<单号> 高|中|低 <原因>", Help: "调整优先级，时限重算", Example: "优先级 12 高 影响全院收费", Group: forSupervisor, Handler: h.priority, Middleware: []bot.Middleware{supervisorsOnly}})
	r.Handle(bot.Command{Name: "重大", Args: "<单号>", Help: "标记重大事件", Example: "重大 12", Group: forSupervisor, Handler: h.major, Middleware: []bot.Middleware{supervisorsOnly}})
	r.Handle(bot.Command{Name: "合并", Args: "<主单号> <单号>…", Help: "重复报修并到一个事件", Example: "合并 12 13 15", Group: forSupervisor, Handler: h.merge, Middleware: []bot.Middleware{supervisorsOnly}})
	r.Handle(bot.Command{Name: "回访", Args: "<单号> <回访结果>", Help: "记录对评价的回访", Example: "回访 12 已电话沟通，报修人认可处理结果", Group: forSupervisor, Handler: h.followup, Middleware: []bot.Middleware{supervisorsOnly}})
	r.Handle(bot.Command{Name: "月报", Args: "[YYYY-MM]", Help: "服务月报：各项指标对照合同，并发送 XLSX", Example: "月报 2026-11", Group: forSupervisor, Handler: h.monthlyReport, Middleware: []bot.Middleware{supervisorsOnly}})
	r.Handle(bot.Command{Name: "年报", Args: "[YYYY]", Help: "服务年报（含年度满意度调查）", Example: "年报 2026", Group: forSupervisor, Handler: h.annualReport, Middleware: []bot.Middleware{supervisorsOnly}})
	r.Handle(bot.Command{Name: "满意度调查", Args: "发起|结果 [YYYY]", Help: "年度满意度调查", Example: "满意度调查 发起 2026", Group: forSupervisor, Handler: h.survey, Middleware: []bot.Middleware{supervisorsOnly}})
	r.Handle(bot.Command{Name: "维护", Args: "<系统> <时长> <原因> | 取消 [系统]", Help: "计划维护：告警静默，报修人收到说明；不带参数列出进行中的维护", Example: "维护 收费 2h 数据库升级", Group: forSupervisor, Handler: h.maintenance, Middleware: []bot.Middleware{supervisorsOnly}})
	r.Handle(bot.Command{Name: "队列", Help: "所有未完成工单，超时的在前", Example: "队列", Group: forSupervisor, Handler: h.queue, Middleware: []bot.Middleware{supervisorsOnly}})
	r.Handle(bot.Command{Name: "统计", Args: "[今天|本周|本月]", Help: "工单统计", Example: "统计 本月", Group: forSupervisor, Handler: h.stats, Middleware: []bot.Middleware{supervisorsOnly}})

	// Service records (docs/records.md): incident reports, changes, problems, plans, past fixes.
	r.Handle(bot.Command{Name: "根因", Args: "<单号> <根本原因>", Help: "记录重大事件的根本原因", Example: "根因 12 数据库归档目录写满导致HIS挂起", Group: forEngineers, Handler: h.analysis(models.FieldRootCause, "根本原因")})
	r.Handle(bot.Command{Name: "整改", Args: "<单号> <整改措施>", Help: "记录重大事件的整改措施", Example: "整改 12 增加归档空间监控，每周清理", Group: forEngineers, Handler: h.analysis(models.FieldCorrective, "整改措施")})
	r.Handle(bot.Command{Name: "影响", Args: "<单号> <影响范围>", Help: "记录重大事件的影响", Example: "影响 12 门诊收费中断40分钟", Group: forEngineers, Handler: h.analysis(models.FieldImpact, "影响范围")})
	r.Handle(bot.Command{Name: "事件报告", Args: "<单号> [提交]", Help: "生成重大事件分析报告；加“提交”送信息科确认", Example: "事件报告 12", Group: forSupervisor, Handler: h.incidentReport})
	r.Handle(bot.Command{Name: "变更申请", Help: "填写变更申请单，逐项提问", Example: "变更申请", Group: forEngineers, Handler: h.changeRequest, Middleware: []bot.Middleware{staffOnly}})
	r.Handle(bot.Command{Name: "变更", Args: "<编号> [完成|回退 原因] 或 列表", Help: "查看变更，登记完成或回退", Example: "变更 3 完成", Group: forEngineers, Handler: h.change})
	r.Handle(bot.Command{Name: "问题", Args: "新建|关联|根因|解决|列表 …", Help: "问题根治记录", Example: "问题 关联 P1 12 13 15", Group: forEngineers, Handler: h.problem})
	r.Handle(bot.Command{Name: "预案", Args: "<系统>", Help: "查看系统的应急预案", Example: "预案 检验", Group: forEngineers, Handler: h.showPlan, Middleware: []bot.Middleware{staffOnly}})
	r.Handle(bot.Command{Name: "查", Args: "<关键词> [系统]", Help: "查历史工单的处理方法", Example: "查 发票 打印 收费", Group: forEngineers, Handler: h.searchFixes})

	// Card clicks, events and everything else.
	r.Card("claim:", h.claimByCard)
	r.Card("chg:", h.changeCard)
	r.Card("irpt:", h.incidentReportCard)
	r.Card("confirm:", h.confirmCard)
	r.Card("rate:", h.rateCard)
	r.Card("report:", h.reportCard)
	r.Event("enter_agent", h.welcome)
	r.Text(h.freeText)
	r.Other(h.other)
	return r
}
