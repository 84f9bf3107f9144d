package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"opsbot/bot"
	"opsbot/configs"
	"opsbot/models"
	"opsbot/reports"
)

// Service records (issue 13): the major-incident report, the hooks that
// show past fixes and emergency plans, and the conversations of the
// records (a change form, a rejection's reason, a return's comment).

// Conversation kinds of the records.
const (
	convChangeForm   = "change_form"
	convChangeReject = "change_reject"
	convReportReturn = "report_return"
)

// docxMime is the MIME type of a Word document.
const docxMime = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

// formHintTTL bounds the hint that a person is in a records conversation.
const formHintTTL = 30 * time.Minute

func formHintKey(user string) string { return "records-form:" + user }

// openRecordsConversation saves a records conversation and leaves a hint
// in the shared store, so that an answer that happens to start with a
// command word ("恢复备份", "补充说明…") still reaches the form. A stale hint
// costs one read; a lost one lets such an answer reach the command.
func (h *Handlers) openRecordsConversation(tx *models.Tx, c *bot.Context, kind string, state any) error {
	b, _ := json.Marshal(state)
	if err := tx.SaveConversation(c.User(), kind, string(b), h.cfg.Intake.Expiry.D()); err != nil {
		return err
	}
	if h.kv != nil {
		_ = h.kv.Set(c.Context(), formHintKey(c.User()), "1", max(h.cfg.Intake.Expiry.D(), formHintTTL))
	}
	return nil
}

// recordsKinds are the conversations whose answers may look like commands.
var recordsKinds = []string{convChangeForm, convChangeReject, convReportReturn}

// formFirst sends a line that starts with a command word to an open
// records conversation instead, except 取消 (which ends it), 帮助, and
// 变更申请 (which starts the form again).
func (h *Handlers) formFirst(next bot.HandlerFunc) bot.HandlerFunc {
	return func(c *bot.Context) error {
		if c.Command == nil || c.Command.Name == "取消" || c.Command.Name == "帮助" || c.Command.Name == "变更申请" {
			return next(c)
		}
		if h.kv != nil {
			if _, ok, err := h.kv.Get(c.Context(), formHintKey(c.User())); err == nil && !ok {
				return next(c)
			}
		}
		b := batchOf(c)
		if b == nil {
			return next(c)
		}
		var kind string
		if err := b.Update(func(tx *models.Tx) error {
			k, _, ok, err := tx.Conversation(c.User())
			if ok {
				kind = k
			}
			return err
		}); err != nil {
			return err
		}
		if !slices.Contains(recordsKinds, kind) {
			return next(c)
		}
		return h.tx(c, func(tx *models.Tx) error {
			_, err := h.recordsAnswer(tx, c)
			return err
		})
	}
}

// recordsAnswer applies a free-text line to an open records conversation;
// handled is false when the person has none.
func (h *Handlers) recordsAnswer(tx *models.Tx, c *bot.Context) (bool, error) {
	kind, state, ok, err := tx.Conversation(c.User())
	if err != nil || !ok {
		return false, err
	}
	switch kind {
	case convChangeForm:
		return true, h.changeFormAnswer(tx, c, state)
	case convChangeReject:
		return true, h.changeRejectReason(tx, c, state)
	case convReportReturn:
		return true, h.reportReturnComment(tx, c, state)
	}
	return false, nil
}

// recordsAbort ends an open records conversation on 取消, with nothing
// recorded.
func (h *Handlers) recordsAbort(tx *models.Tx, c *bot.Context) (bool, error) {
	kind, state, ok, err := tx.Conversation(c.User())
	if err != nil || !ok {
		return false, err
	}
	switch kind {
	case convChangeForm:
		c.Reply("已取消变更申请，没有保存任何内容。")
	case convChangeReject:
		var st cardState
		json.Unmarshal([]byte(state), &st)
		c.Replyf("已取消驳回，变更 #%d 仍在等待您审批，可以重新点卡片上的按钮。", st.ID)
	case convReportReturn:
		var st cardState
		json.Unmarshal([]byte(state), &st)
		c.Replyf("已取消退回，工单 #%d 的事件报告仍在等待您确认。", st.ID)
	default:
		return false, nil
	}
	return true, tx.EndConversation(c.User())
}

// cardState remembers a clicked card while its reason is asked for: the
// record, the approval step, and the click's response code (to mark the
// card done once the reason comes).
type cardState struct {
	ID   int64  `json:"id"`
	Step int    `json:"step,omitempty"`
	RC   string `json:"rc,omitempty"`
}

// endWith answers the last step of a conversation that cannot be done
// (someone else answered first, say) and keeps the conversation ended, so
// that the person's next line is not taken for the same answer again.
func endWith(c *bot.Context, err error) error {
	if msg := models.ErrorMessage(err); msg != "" {
		c.Reply(msg)
		return nil
	}
	return err
}

// markCardCode marks a card clicked in an earlier message done.
func markCardCode(tx *models.Tx, c *bot.Context, rc, label string) error {
	if rc == "" {
		return nil
	}
	return tx.Send(models.Message{To: c.User(), CardUpdate: &models.CardUpdate{ResponseCode: rc, Label: label}, Key: "u:" + c.Msg.Key})
}

// staffRecord runs a command that edits records for staff. From a
// reporter, a line shaped like the command (a number after it) is refused;
// anything else is ordinary text ("影响挂号了" is a fault, not 影响).
func (h *Handlers) staffRecord(c *bot.Context, fn func(c *bot.Context) error) error {
	if actor(c).IsStaff() {
		return fn(c)
	}
	args := strings.TrimPrefix(strings.TrimSpace(c.Args), "#")
	if args != "" && args[0] >= '0' && args[0] <= '9' {
		return models.Errorf(models.EForbidden, "“%s”是运维人员的命令，您没有权限修改记录。发“帮助”查看您可用的命令", c.Command.Name)
	}
	return h.freeText(c)
}

// ---- major-incident report (重大事件分析报告) ----

// analysis records one field of an incident's analysis: 根因, 整改, 影响.
func (h *Handlers) analysis(field, label string) bot.HandlerFunc {
	return func(c *bot.Context) error {
		return h.staffRecord(c, func(c *bot.Context) error {
			example := c.Command.Name + " 12 " + map[string]string{models.FieldRootCause: "数据库归档目录写满导致 HIS 挂起", models.FieldCorrective: "增加归档空间监控，每周清理", models.FieldImpact: "门诊收费中断 40 分钟"}[field]
			id, text, err := parseNumber(c.Args, example)
			if err != nil {
				return err
			}
			if text == "" {
				return models.Errorf(models.EInvalid, "请写上%s，例如：%s", label, example)
			}
			return h.tx(c, func(tx *models.Tx) error {
				if _, err := tx.RecordAnalysis(id, actor(c), field, text); err != nil {
					return err
				}
				c.Replyf("已记录工单 #%d 的%s。发“事件报告 %d”生成报告。", id, label, id)
				return nil
			})
		})
	}
}

// incidentReport produces the report (事件报告 N) as markdown in chat and
// as a DOCX to the supervisors; 事件报告 N 提交 sends it to the hospital.
func (h *Handlers) incidentReport(c *bot.Context) error {
	return h.staffRecord(c, func(c *bot.Context) error {
		id, rest, err := parseNumber(c.Args, "事件报告 12")
		if err != nil {
			return err
		}
		submit := false
		switch rest {
		case "":
		case "提交":
			submit = true
		default:
			return models.Errorf(models.EInvalid, "看不懂“%s”。生成报告：事件报告 %d；提交信息科确认：事件报告 %d 提交", rest, id, id)
		}
		return h.tx(c, func(tx *models.Tx) error {
			if submit {
				if _, err := tx.SubmitIncidentReport(id, actor(c), h.cfg.Hospital.Approvers); err != nil {
					return err
				}
			}
			doc, err := h.incidentDoc(tx, id)
			if err != nil {
				return err
			}
			f, err := saveDoc(tx, doc, fmt.Sprintf("重大事件分析报告-%d.docx", id), id, c.User())
			if err != nil {
				return err
			}
			if !submit {
				for i, part := range chunks(doc.Markdown(), chunkBytes) {
					if err := tx.Send(models.Message{To: c.User(), Text: part, Markdown: true, TicketID: id, Key: fmt.Sprintf("irpt-md:%s:%d", c.Msg.Key, i)}); err != nil {
						return err
					}
				}
				if err := tx.SendSupervisors(models.Message{FileID: f.ID, Text: fmt.Sprintf("工单 #%d 的重大事件分析报告（DOCX）。", id), TicketID: id}, "irpt-docx:"+c.Msg.Key, ""); err != nil {
					return err
				}
				c.Replyf("报告已生成，DOCX 已发给服务主管。确认无误后发“事件报告 %d 提交”送信息科确认。", id)
				return nil
			}
			for _, ap := range h.cfg.Hospital.Approvers {
				if err := tx.Send(models.Message{To: ap, FileID: f.ID, Text: fmt.Sprintf("请审阅工单 #%d 的重大事件分析报告。", id), TicketID: id, Key: fmt.Sprintf("irpt-sub:%s:%s", c.Msg.Key, ap)}); err != nil {
					return err
				}
				card := &models.Card{
					TaskID: fmt.Sprintf("irpt-%d-%d", id, tx.Now().Unix()),
					Title:  fmt.Sprintf("重大事件分析报告 #%d 请确认", id),
					Desc:   doc.Meta[0].Value,
					Buttons: []models.CardButton{
						{Key: fmt.Sprintf("irpt:%d:ok", id), Text: "确认", Style: 1},
						{Key: fmt.Sprintf("irpt:%d:no", id), Text: "退回", Style: 2},
					},
				}
				if err := tx.Send(models.Message{To: ap, Card: card, TicketID: id, Key: fmt.Sprintf("irpt-card:%s:%s", c.Msg.Key, ap)}); err != nil {
					return err
				}
			}
			c.Replyf("工单 #%d 的事件报告已提交信息科（%d 人）确认，结果会通知您。", id, len(h.cfg.Hospital.Approvers))
			return nil
		})
	})
}

// saveDoc stores doc as a DOCX file of ticket (0: none).
func saveDoc(tx *models.Tx, doc reports.Doc, name string, ticket int64, by string) (*models.File, error) {
	var buf bytes.Buffer
	if err := reports.WriteDOCX(&buf, doc); err != nil {
		return nil, fmt.Errorf("handlers: %s: %w", name, err)
	}
	f := &models.File{Name: name, Mime: docxMime, Data: buf.Bytes(), Kind: models.FileDocument, UploadedBy: by}
	if ticket != 0 {
		f.TicketID = &ticket
	}
	return f, tx.SaveFile(f)
}

// timelineActions are the events that tell an incident's story.
var timelineActions = []models.Action{models.ActCreate, models.ActClaim, models.ActTransfer, models.ActArrive, models.ActPause, models.ActResume,
	models.ActResolve, models.ActClose, models.ActReopen, models.ActPriority, models.ActMajor, models.ActMerge}

// incidentDoc builds the report of incident id from its tickets and events.
func (h *Handlers) incidentDoc(tx *models.Tx, id int64) (reports.Doc, error) {
	in, err := tx.Incident(id)
	if err != nil {
		return reports.Doc{}, err
	}
	team, err := tx.Team()
	if err != nil {
		return reports.Doc{}, err
	}
	t := in.Ticket
	all := append([]models.Ticket{*t}, in.Children...)
	first := t.CreatedAt
	var depts []string
	reporters := map[string]string{}
	for _, x := range all {
		if x.CreatedAt.Before(first) {
			first = x.CreatedAt
		}
		if d := strings.TrimSpace(x.Department); d != "" && !slices.Contains(depts, d) {
			depts = append(depts, d)
		}
		reporters[x.ReporterID] = orDash(x.ReporterName)
		if x.ReporterName == "" {
			reporters[x.ReporterID] = x.ReporterID
		}
	}
	r := reports.IncidentReport{
		Ticket: id, System: h.systemName(t.System), Title: t.Title, ReportedAt: first, ResolvedAt: t.ResolvedAt,
		Merged: len(in.Children), Departments: depts, Breaches: in.Breaches,
		Impact: in.Analysis.Impact, RootCause: in.Analysis.RootCause, Corrective: in.Analysis.Corrective,
		Status: models.ReportStatusLabel(in.Analysis.Status), Location: h.loc(),
	}
	if t.ResolvedAt != nil {
		r.Duration = t.ResolvedAt.Sub(first)
	}
	var engineers, supervisors []string
	for _, e := range in.Events {
		if !slices.Contains(timelineActions, e.Action) {
			continue
		}
		who := e.Actor
		if s, ok := team.Member(e.Actor); ok {
			who = s.Name
			switch {
			case s.Role == models.RoleEngineer && !slices.Contains(engineers, s.Name):
				engineers = append(engineers, s.Name)
			case s.Role != models.RoleEngineer && !slices.Contains(supervisors, s.Name):
				supervisors = append(supervisors, s.Name)
			}
		} else if name, ok := reporters[e.Actor]; ok {
			who = name
		}
		if e.Action == models.ActMerge && e.TicketID != id {
			continue // the parent's merge event says it
		}
		what := e.Action.Label()
		if e.Action == models.ActMerge {
			r.Timeline = append(r.Timeline, reports.TimelineEntry{At: e.At, What: strings.TrimPrefix(e.Note, "并入 ") + " 并入本事件", Who: who})
			continue
		}
		if e.TicketID != id {
			what = fmt.Sprintf("#%d %s", e.TicketID, what)
		}
		if e.Action == models.ActCreate {
			for _, x := range all {
				if x.ID == e.TicketID {
					what += "：" + x.Title
				}
			}
		} else if e.Note != "" {
			what += "：" + e.Note
		}
		r.Timeline = append(r.Timeline, reports.TimelineEntry{At: e.At, What: what, Who: who})
	}
	var reps []string
	for _, x := range all {
		if n := reporters[x.ReporterID]; !slices.Contains(reps, n) {
			reps = append(reps, n)
		}
	}
	r.People = append(r.People, reports.KV{Key: "报修人", Value: strings.Join(reps, "、")})
	if len(engineers) > 0 {
		r.People = append(r.People, reports.KV{Key: "服务工程师", Value: strings.Join(engineers, "、")})
	}
	if len(supervisors) > 0 {
		r.People = append(r.People, reports.KV{Key: "服务主管", Value: strings.Join(supervisors, "、")})
	}
	doc := r.Doc()
	if a := in.Analysis; a.Status == models.ReportReturned && a.Comment != "" {
		doc.Meta = append(doc.Meta, reports.KV{Key: "退回意见", Value: a.Comment})
	}
	return doc, nil
}

// incidentReportCard handles 确认 / 退回 on an incident report card.
func (h *Handlers) incidentReportCard(c *bot.Context) error {
	parts := strings.Split(c.Msg.EventKey, ":")
	if len(parts) != 3 {
		return models.Errorf(models.EInvalid, "这个按钮已失效")
	}
	id, _, err := parseNumber(parts[1], "事件报告 12")
	if err != nil {
		return err
	}
	return h.tx(c, func(tx *models.Tx) error {
		if parts[2] == "ok" {
			r, err := tx.DecideIncidentReport(id, c.User(), true, "")
			if err != nil {
				return err
			}
			c.Replyf("已确认工单 #%d 的重大事件分析报告，谢谢。", id)
			if err := h.tellReportOutcome(tx, c, id, r); err != nil {
				return err
			}
			return markCard(tx, c, "已确认")
		}
		// A return needs a comment: check the approver may answer, then ask.
		if err := tx.CheckReportApprover(id, c.User()); err != nil {
			return err
		}
		c.Replyf("请回复退回工单 #%d 事件报告的意见（必填），发“取消”放弃退回。", id)
		return h.openRecordsConversation(tx, c, convReportReturn, cardState{ID: id, RC: c.Msg.ResponseCode})
	})
}

// reportReturnComment records a return with the approver's comment.
func (h *Handlers) reportReturnComment(tx *models.Tx, c *bot.Context, state string) error {
	var st cardState
	if err := json.Unmarshal([]byte(state), &st); err != nil || st.ID == 0 {
		return tx.EndConversation(c.User())
	}
	comment := strings.TrimSpace(c.Msg.Text)
	if comment == "" {
		c.Reply("退回意见不能为空，请回复意见，或发“取消”。")
		return nil
	}
	if err := tx.EndConversation(c.User()); err != nil {
		return err
	}
	r, err := tx.DecideIncidentReport(st.ID, c.User(), false, comment)
	if err != nil {
		return endWith(c, err)
	}
	c.Replyf("已退回工单 #%d 的事件报告，意见已转给服务主管。", st.ID)
	if err := h.tellReportOutcome(tx, c, st.ID, r); err != nil {
		return err
	}
	return markCardCode(tx, c, st.RC, "已退回")
}

// tellReportOutcome tells the supervisors how the hospital answered.
func (h *Handlers) tellReportOutcome(tx *models.Tx, c *bot.Context, id int64, r *models.IncidentAnalysis) error {
	who := actor(c).DisplayName()
	text := fmt.Sprintf("工单 #%d 的重大事件分析报告已由信息科 %s 确认。", id, who)
	if r.Status == models.ReportReturned {
		text = fmt.Sprintf("工单 #%d 的重大事件分析报告被信息科 %s 退回，意见：%s。修改后发“事件报告 %d 提交”重新提交。", id, who, r.Comment, id)
	}
	return notifySupervisors(tx, c, id, text)
}

// ---- hooks: a ticket opened, claimed, marked major ----

// recordsOnOpen runs when a ticket is opened: the changes in whose window
// it falls are linked and their requesters told, a recurring fault is
// suggested as a problem to the supervisors (once), and for an urgent
// ticket the on-call engineers get the system's emergency plan.
func (h *Handlers) recordsOnOpen(tx *models.Tx, c *bot.Context, t *models.Ticket) error {
	changes, err := tx.LinkChanges(t)
	if err != nil {
		return err
	}
	for _, ch := range changes {
		text := fmt.Sprintf("【变更关联】变更 #%d（%s）窗口内有新报修 %s，请确认是否与变更有关。", ch.ID, h.systemName(ch.System), models.Summary(t, h.catalog))
		if err := tx.Send(models.Message{To: ch.RequesterID, Text: text, TicketID: t.ID, Key: fmt.Sprintf("chg-link:%d:%d", ch.ID, t.ID)}); err != nil {
			return err
		}
	}
	similar, err := tx.SuggestProblem(t, h.cfg.Records.ProblemWindow.D(), h.cfg.Records.ProblemTickets)
	if err != nil {
		return err
	}
	if len(similar) > 0 {
		var nums []string
		for _, s := range similar {
			nums = append(nums, fmt.Sprint(s.ID))
		}
		days := int(h.cfg.Records.ProblemWindow.D() / (24 * time.Hour))
		text := fmt.Sprintf("【问题建议】近%d天%s有 %d 单相似报修（#%s），可能是同一个根源。建议建立问题记录：问题 新建 %s，再发“问题 关联 P编号 %s”。",
			days, h.systemName(t.System), len(similar), strings.Join(nums, "、#"), t.Title, strings.Join(nums, " "))
		if err := tx.SendSupervisors(models.Message{Text: text, TicketID: t.ID}, fmt.Sprintf("psug:%d", t.ID), ""); err != nil {
			return err
		}
	}
	if t.Priority == models.PriorityHigh || t.Major {
		return h.sendPlan(tx, t, tx.OnCall(h.oncall, h.loc()))
	}
	return nil
}

// recordsOnClaim runs when an engineer claims t: up to 3 past fixes of the
// same system with similar wording, and for an urgent ticket or a major
// incident the emergency plan's first steps.
func (h *Handlers) recordsOnClaim(tx *models.Tx, c *bot.Context, t *models.Ticket) error {
	fixes, err := tx.PastFixes(t.System, ticketWords(t), t.ID, 3)
	if err != nil {
		return err
	}
	if len(fixes) > 0 {
		var b strings.Builder
		b.WriteString("类似的历史工单，供参考：")
		for _, f := range fixes {
			fmt.Fprintf(&b, "\n%s\n  处理：%s", models.Summary(&f.Ticket, h.catalog), shortText(f.Ticket.Resolution, 120))
		}
		c.Reply(b.String())
	}
	if t.Priority == models.PriorityHigh || t.Major {
		return h.sendPlan(tx, t, []string{c.User()})
	}
	return nil
}

// recordsOnMajor runs when a ticket is marked major: its engineer and the
// on-call engineers get the emergency plan.
func (h *Handlers) recordsOnMajor(tx *models.Tx, t *models.Ticket) error {
	to := tx.OnCall(h.oncall, h.loc())
	if t.AssigneeID != "" {
		to = append([]string{t.AssigneeID}, to...)
	}
	return h.sendPlan(tx, t, to)
}

func ticketWords(t *models.Ticket) string {
	if t.Description != "" {
		return t.Description
	}
	return t.Title
}

func shortText(s string, n int) string {
	rs := []rune(strings.TrimSpace(s))
	if len(rs) <= n {
		return string(rs)
	}
	return string(rs[:n]) + "…"
}

// ---- emergency plans (应急响应方案) ----

// runbook finds the plan of a system: its own, else its category's.
func (h *Handlers) runbook(code string) (text, planCode string, ok bool, err error) {
	codes := []string{code}
	if s, found := h.catalog.System(code); found && s.Category != "" {
		codes = append(codes, s.Category)
	}
	return configs.LoadRunbook(h.cfg.Records.RunbooksDir, codes...)
}

// firstSteps is the part of a plan to read first: its title and the
// sections up to and including 首先检查 (who to call, first checks).
func firstSteps(plan string) string {
	var out []string
	for _, line := range strings.Split(plan, "\n") {
		if strings.HasPrefix(line, "## ") && len(out) > 0 && !strings.Contains(line, "联系") && !strings.Contains(line, "检查") {
			break
		}
		if strings.TrimSpace(line) != "" {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// sendPlan sends the plan's first steps for t to each person once.
func (h *Handlers) sendPlan(tx *models.Tx, t *models.Ticket, to []string) error {
	plan, _, ok, err := h.runbook(t.System)
	if err != nil {
		h.log.Warn("cannot read runbook", "ticket", t.ID, "err", err)
		return nil
	}
	if !ok {
		return nil
	}
	text := fmt.Sprintf("【应急预案】%s\n%s\n完整预案（含手工应急流程）发“预案 %s”。", models.Summary(t, h.catalog), firstSteps(plan), h.systemName(t.System))
	for _, u := range to {
		if u == "" {
			continue
		}
		if err := tx.Send(models.Message{To: u, Text: text, TicketID: t.ID, Key: fmt.Sprintf("plan:%d:%s", t.ID, u)}); err != nil {
			return err
		}
	}
	return nil
}

// showPlan answers 预案 <系统>.
func (h *Handlers) showPlan(c *bot.Context) error {
	name := strings.TrimSpace(c.Args)
	if name == "" {
		return models.Errorf(models.EInvalid, "请写上系统，例如：预案 检验")
	}
	code := ""
	if s, ok := h.catalog.System(strings.ToUpper(name)); ok {
		code = s.Code
	} else if codes := h.catalog.Resolve(name); len(codes) == 1 {
		code = codes[0]
	} else if in, _ := h.recognise(name); in.System != "" {
		code = in.System
	}
	var plan string
	var ok bool
	var err error
	if code != "" {
		plan, _, ok, err = h.runbook(code)
	} else {
		plan, _, ok, err = configs.LoadRunbook(h.cfg.Records.RunbooksDir, strings.ToUpper(name))
	}
	if err != nil {
		return err
	}
	if !ok {
		if code == "" {
			return models.Errorf(models.ENotFound, "没有找到系统“%s”，例如：预案 检验、预案 收费", name)
		}
		return models.Errorf(models.ENotFound, "%s还没有应急预案。请在预案目录下新建 %s.md（写法见 docs/records.md）", h.systemName(code), code)
	}
	return h.tx(c, func(*models.Tx) error {
		for _, part := range chunks(plan, chunkBytes) {
			c.Reply(part)
		}
		return nil
	})
}

// chunkBytes keeps each part of a long text under WeCom's 2048-byte cut
// of an app message, with room for the outbox to merge.
const chunkBytes = 1800

// chunks cuts text at line ends into parts of at most limit bytes (a
// longer single line is cut at a rune boundary).
func chunks(text string, limit int) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if s := strings.TrimRight(cur.String(), "\n"); strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	for _, line := range strings.Split(text, "\n") {
		for len(line) > limit {
			cut := limit
			for cut > 0 && !utf8.RuneStart(line[cut]) {
				cut--
			}
			flush()
			out = append(out, line[:cut])
			line = line[cut:]
		}
		if cur.Len()+len(line)+1 > limit {
			flush()
		}
		cur.WriteString(line)
		cur.WriteString("\n")
	}
	flush()
	return out
}

// ---- past fixes (历史处理) ----

// searchFixes answers 查 <关键词> [系统] with past resolutions.
func (h *Handlers) searchFixes(c *bot.Context) error {
	if !actor(c).IsStaff() {
		return h.freeText(c) // "查不到病人" from a ward is a fault
	}
	words := strings.Fields(c.Args)
	if len(words) == 0 {
		return models.Errorf(models.EInvalid, "请写上关键词，例如：查 发票 打印 收费")
	}
	system := ""
	if len(words) > 1 {
		last := words[len(words)-1]
		if s, ok := h.catalog.System(strings.ToUpper(last)); ok {
			system, words = s.Code, words[:len(words)-1]
		} else if codes := h.catalog.Resolve(last); len(codes) == 1 {
			system, words = codes[0], words[:len(words)-1]
		}
	}
	query := strings.Join(words, " ")
	return h.tx(c, func(tx *models.Tx) error {
		found, err := tx.SearchResolutions(query, system, 5)
		if err != nil {
			return err
		}
		where := ""
		if system != "" {
			where = h.systemName(system) + "的"
		}
		if len(found) == 0 {
			c.Replyf("没有找到%s与“%s”相关的已解决工单。换个说法试试，例如少写几个字。", where, query)
			return nil
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s与“%s”相关的已解决工单：", where, query)
		for _, f := range found {
			fmt.Fprintf(&b, "\n%s（%s）\n  处理：%s", models.Summary(&f.Ticket, h.catalog), f.Ticket.CreatedAt.In(h.loc()).Format("2006-01-02"), shortText(f.Ticket.Resolution, 120))
		}
		c.Reply(b.String())
		return nil
	})
}
