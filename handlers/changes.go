package handlers

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"opsbot/bot"
	"opsbot/models"
	"opsbot/reports"
)

// changeForm is a change request (变更申请单) being filled in, one question
// at a time; nothing is stored as a change until the last answer.
type changeForm struct {
	Step        string    `json:"step"`
	System      string    `json:"system,omitempty"`
	What        string    `json:"what,omitempty"`
	Why         string    `json:"why,omitempty"`
	Risk        string    `json:"risk,omitempty"`
	Rollback    string    `json:"rollback,omitempty"`
	From        time.Time `json:"from,omitzero"`
	To          time.Time `json:"to,omitzero"`
	Departments []string  `json:"departments,omitempty"`
}

// changeSteps are the form's questions, in order.
var changeSteps = []struct{ step, question string }{
	{"system", "变更哪个系统？例如：检验、收费、电子病历。（随时可发“取消”放弃）"},
	{"what", "变更什么内容？例如：LIS 升级到 5.2 版本"},
	{"why", "为什么要变更？"},
	{"risk", "风险等级？请回复 高、中 或 低"},
	{"rollback", "回退方案？变更失败时如何恢复，例如：恢复升级前的数据库备份和程序包"},
	{"window", "计划窗口？例如：12-05 22:00-23:30（跨天写 12-05 22:00-12-06 02:00）"},
	{"departments", "影响哪些科室？用顿号分开，例如：检验科、门诊收费处；不影响科室请回复“无”"},
}

func nextChangeStep(step string) (string, string) {
	for i, s := range changeSteps {
		if s.step == step && i+1 < len(changeSteps) {
			return changeSteps[i+1].step, changeSteps[i+1].question
		}
	}
	return "", ""
}

// changeRequest starts the form (变更申请).
func (h *Handlers) changeRequest(c *bot.Context) error {
	return h.tx(c, func(tx *models.Tx) error {
		f := changeForm{Step: changeSteps[0].step}
		c.Reply("开始填写变更申请单，共 7 个问题。\n" + changeSteps[0].question)
		return h.openRecordsConversation(tx, c, convChangeForm, f)
	})
}

// changeFormAnswer takes one answer of the form and asks the next
// question, or files the change after the last.
func (h *Handlers) changeFormAnswer(tx *models.Tx, c *bot.Context, state string) error {
	var f changeForm
	if err := json.Unmarshal([]byte(state), &f); err != nil {
		c.Reply("变更申请已失效，请重新发“变更申请”。")
		return tx.EndConversation(c.User())
	}
	answer := strings.TrimSpace(c.Msg.Text)
	if answer == "" {
		c.Reply("请回答上面的问题，或发“取消”放弃。")
		return nil
	}
	if answer == "跳过" {
		switch f.Step {
		case "why", "departments":
			answer = ""
		default:
			c.Reply("这一项必填，请回答上面的问题，或发“取消”放弃。")
			return nil
		}
	}
	switch f.Step {
	case "system":
		code := h.systemOfAnswer(answer)
		if code == "" {
			c.Reply("没有找到这个系统，请写系统名称，例如：检验、收费、电子病历；或发“取消”放弃。")
			return nil
		}
		f.System = code
	case "what":
		f.What = answer
	case "why":
		f.Why = answer
	case "risk":
		r := strings.TrimSuffix(strings.TrimSuffix(answer, "风险"), "等级")
		if r != "高" && r != "中" && r != "低" {
			c.Reply("风险等级请回复 高、中 或 低。")
			return nil
		}
		f.Risk = r
	case "rollback":
		f.Rollback = answer
	case "window":
		from, to, err := parseWindow(answer, tx.Now(), h.loc())
		if err != nil {
			c.Reply(models.ErrorMessage(err))
			return nil
		}
		f.From, f.To = from, to
	case "departments":
		if answer != "" && answer != "无" && answer != "没有" {
			for _, d := range strings.FieldsFunc(answer, func(r rune) bool { return strings.ContainsRune("、，, ；;", r) }) {
				if d = strings.TrimSpace(d); d != "" {
					f.Departments = append(f.Departments, d)
				}
			}
		}
	default:
		return tx.EndConversation(c.User())
	}
	next, question := nextChangeStep(f.Step)
	if next != "" {
		f.Step = next
		c.Reply(question)
		return h.openRecordsConversation(tx, c, convChangeForm, f)
	}
	if err := tx.EndConversation(c.User()); err != nil {
		return err
	}
	return endWith(c, h.fileChange(tx, c, f))
}

// systemOfAnswer reads a system from a form answer: what systemFor
// resolves, else what the recogniser reads in it; "" when neither.
func (h *Handlers) systemOfAnswer(answer string) string {
	if code, err := h.systemFor(answer); err == nil {
		return code
	}
	if in, _ := h.recognise(answer); in.System != "" {
		return in.System
	}
	return ""
}

// approvalSteps are the change approval steps the configuration asks for.
// A supervisor who requests a change does not approve it, unless no other
// supervisor could.
func (h *Handlers) approvalSteps(tx *models.Tx, requester string) ([]models.ApprovalStep, error) {
	sups, err := tx.ListStaff(models.RoleSupervisor)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, s := range sups {
		if s.UserID != requester {
			ids = append(ids, s.UserID)
		}
	}
	if len(ids) == 0 {
		for _, s := range sups {
			ids = append(ids, s.UserID)
		}
	}
	if len(ids) == 0 {
		return nil, models.Errorf(models.EConflict, "人员名单里没有服务主管，变更申请无人审批，请联系管理员")
	}
	steps := []models.ApprovalStep{{Label: "服务主管", Approvers: ids}}
	if h.cfg.Records.ChangeApprovalSteps >= 2 && len(h.cfg.Hospital.Approvers) > 0 {
		steps = append(steps, models.ApprovalStep{Label: "信息科", Approvers: h.cfg.Hospital.Approvers})
	}
	return steps, nil
}

// fileChange stores the completed form and sends the first approval cards.
func (h *Handlers) fileChange(tx *models.Tx, c *bot.Context, f changeForm) error {
	steps, err := h.approvalSteps(tx, c.User())
	if err != nil {
		return err
	}
	rec, err := tx.RequestChange(models.NewChange{System: f.System, What: f.What, Why: f.Why, Risk: f.Risk, Rollback: f.Rollback,
		WindowFrom: f.From, WindowTo: f.To, Departments: f.Departments}, actor(c), steps)
	if err != nil {
		return err
	}
	ch := rec.Change
	c.Replyf("已提交变更 #%d：%s｜%s，窗口 %s，风险%s。审批：%s。发“变更 %d”查看进度。", ch.ID, h.systemName(ch.System), ch.What, h.windowText(ch), ch.Risk, stepNames(rec), ch.ID)
	return h.sendChangeCards(tx, c, rec)
}

func stepNames(rec *models.ChangeRecord) string {
	var names []string
	for _, a := range rec.Approvals {
		names = append(names, a.Label)
	}
	return strings.Join(names, " → ")
}

func (h *Handlers) windowText(ch models.Change) string {
	loc := h.loc()
	from, to := ch.WindowFrom.In(loc), ch.WindowTo.In(loc)
	end := to.Format("15:04")
	if to.YearDay() != from.YearDay() || to.Year() != from.Year() {
		end = to.Format("01-02 15:04")
	}
	return from.Format("01-02 15:04") + "-" + end
}

// sendChangeCards sends the approval card of the step that waits to its
// approvers.
func (h *Handlers) sendChangeCards(tx *models.Tx, c *bot.Context, rec *models.ChangeRecord) error {
	cur := rec.Current()
	if cur == nil {
		return nil
	}
	ch := rec.Change
	card := &models.Card{
		TaskID: fmt.Sprintf("chg-%d-%d", ch.ID, cur.Step),
		Title:  fmt.Sprintf("变更 #%d 待审批（第%d步/共%d步：%s）", ch.ID, cur.Step, ch.Steps, cur.Label),
		Desc:   h.systemName(ch.System) + "｜" + ch.What,
		Fields: []models.CardField{
			{Key: "原因", Value: orDash(ch.Why)},
			{Key: "风险", Value: ch.Risk},
			{Key: "回退方案", Value: orDash(ch.Rollback)},
			{Key: "窗口", Value: h.windowText(ch)},
			{Key: "申请人", Value: orDash(ch.RequesterName)},
		},
		Buttons: []models.CardButton{
			{Key: fmt.Sprintf("chg:%d:%d:ok", ch.ID, cur.Step), Text: "同意", Style: 1},
			{Key: fmt.Sprintf("chg:%d:%d:no", ch.ID, cur.Step), Text: "驳回", Style: 2},
		},
	}
	for _, ap := range cur.Approvers {
		if err := tx.Send(models.Message{To: ap, Card: card, Key: fmt.Sprintf("chg-card:%d:%d:%s", ch.ID, cur.Step, ap)}); err != nil {
			return err
		}
	}
	return nil
}

// changeCard handles 同意 / 驳回 on a change approval card.
func (h *Handlers) changeCard(c *bot.Context) error {
	parts := strings.Split(c.Msg.EventKey, ":")
	if len(parts) != 4 {
		return models.Errorf(models.EInvalid, "这个按钮已失效")
	}
	id, err1 := strconv.ParseInt(parts[1], 10, 64)
	step, err2 := strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil {
		return models.Errorf(models.EInvalid, "这个按钮已失效")
	}
	return h.tx(c, func(tx *models.Tx) error {
		if parts[3] != "ok" {
			if err := tx.CheckChangeApprover(id, step, actor(c)); err != nil {
				return err
			}
			c.Replyf("请回复驳回变更 #%d 的理由（必填），发“取消”放弃驳回。", id)
			return h.openRecordsConversation(tx, c, convChangeReject, cardState{ID: id, Step: step, RC: c.Msg.ResponseCode})
		}
		rec, err := tx.DecideChange(id, step, actor(c), true, "")
		if err != nil {
			return err
		}
		if err := markCard(tx, c, "已同意"); err != nil {
			return err
		}
		return h.afterApproval(tx, c, rec)
	})
}

// afterApproval moves a change on after an approval: the next step's
// cards, or the requester hears it is approved.
func (h *Handlers) afterApproval(tx *models.Tx, c *bot.Context, rec *models.ChangeRecord) error {
	ch := rec.Change
	if ch.Status == models.ChangeRequested {
		c.Replyf("已同意变更 #%d，已转%s审批。", ch.ID, rec.Current().Label)
		if err := notify(tx, c, ch.RequesterID, 0, fmt.Sprintf("变更 #%d 已通过%s审批，等待%s审批。", ch.ID, rec.Approvals[ch.Step-2].Label, rec.Current().Label)); err != nil {
			return err
		}
		return h.sendChangeCards(tx, c, rec)
	}
	c.Replyf("已同意变更 #%d，变更已批准。", ch.ID)
	return notify(tx, c, ch.RequesterID, 0, fmt.Sprintf("变更 #%d 已批准，窗口 %s。完成后发“变更 %d 完成”，失败回退发“变更 %d 回退 原因”。", ch.ID, h.windowText(ch), ch.ID, ch.ID))
}

// changeRejectReason records a rejection with its reason.
func (h *Handlers) changeRejectReason(tx *models.Tx, c *bot.Context, state string) error {
	var st cardState
	if err := json.Unmarshal([]byte(state), &st); err != nil || st.ID == 0 {
		return tx.EndConversation(c.User())
	}
	if err := tx.EndConversation(c.User()); err != nil {
		return err
	}
	rec, err := tx.DecideChange(st.ID, st.Step, actor(c), false, c.Msg.Text)
	if err != nil {
		return endWith(c, err)
	}
	ch := rec.Change
	c.Replyf("已驳回变更 #%d，理由已转告申请人。", ch.ID)
	if err := notify(tx, c, ch.RequesterID, 0, fmt.Sprintf("变更 #%d 被%s驳回，理由：%s。如需变更请修改后重新发“变更申请”。", ch.ID, rec.Approvals[st.Step-1].Label, strings.TrimSpace(c.Msg.Text))); err != nil {
		return err
	}
	return markCardCode(tx, c, st.RC, "已驳回")
}

// change answers 变更 N, 变更 列表, 变更 N 完成 and 变更 N 回退 <原因>.
func (h *Handlers) change(c *bot.Context) error {
	args := strings.TrimSpace(c.Args)
	if !actor(c).IsStaff() {
		if args != "" && (args == "列表" || args[0] >= '0' && args[0] <= '9' || args[0] == '#') {
			return models.Errorf(models.EForbidden, "“变更”是运维人员的命令，您没有权限查看或修改变更记录")
		}
		return h.freeText(c)
	}
	if args == "" || args == "列表" {
		return h.tx(c, func(tx *models.Tx) error { return h.listChanges(tx, c) })
	}
	id, rest, err := parseNumber(args, "变更 3")
	if err != nil {
		return models.Errorf(models.EInvalid, "例如：变更 3（查看）、变更 列表、变更 3 完成、变更 3 回退 原因、变更申请（新建）")
	}
	verb, reason, _ := strings.Cut(rest, " ")
	return h.tx(c, func(tx *models.Tx) error {
		switch verb {
		case "":
			rec, err := tx.ChangeRecord(id)
			if err != nil {
				return err
			}
			team, err := tx.Team()
			if err != nil {
				return err
			}
			c.Reply(h.changeText(rec, team))
			return nil
		case "完成", "回退":
			rec, err := tx.FinishChange(id, actor(c), verb == "完成", reason)
			if err != nil {
				return err
			}
			c.Replyf("已登记变更 #%d %s。", id, rec.Change.Status.Label())
			if rec.Change.RequesterID != c.User() {
				return notify(tx, c, rec.Change.RequesterID, 0, fmt.Sprintf("变更 #%d 已由 %s 登记为%s。", id, actor(c).DisplayName(), rec.Change.Status.Label()))
			}
			return nil
		}
		return models.Errorf(models.EInvalid, "看不懂“%s”。例如：变更 %d 完成、变更 %d 回退 升级后结算报错", verb, id, id)
	})
}

func (h *Handlers) listChanges(tx *models.Tx, c *bot.Context) error {
	open, err := tx.OpenChanges()
	if err != nil {
		return err
	}
	if len(open) == 0 {
		c.Reply("当前没有待审批或待实施的变更。新建请发“变更申请”。")
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "未完成的变更 %d 个：", len(open))
	for _, ch := range open {
		fmt.Fprintf(&b, "\n变更 #%d［%s］%s｜%s，窗口 %s", ch.ID, ch.Status.Label(), h.systemName(ch.System), shortText(ch.What, 30), h.windowText(ch))
	}
	b.WriteString("\n发“变更 编号”看详情。")
	c.Reply(b.String())
	return nil
}

func (h *Handlers) changeText(rec *models.ChangeRecord, team *models.Team) string {
	name := func(id string) string {
		if s, ok := team.Member(id); ok {
			return s.Name
		}
		return id
	}
	ch := rec.Change
	var b strings.Builder
	fmt.Fprintf(&b, "变更 #%d［%s］%s\n内容：%s\n原因：%s\n风险：%s\n回退方案：%s\n窗口：%s\n影响科室：%s\n申请人：%s",
		ch.ID, ch.Status.Label(), h.systemName(ch.System), ch.What, orDash(ch.Why), ch.Risk, orDash(ch.Rollback), h.windowText(ch),
		orDash(strings.Join(ch.Departments, "、")), orDash(ch.RequesterName))
	b.WriteString("\n审批：")
	for _, a := range rec.Approvals {
		ans := "待审批"
		switch a.Answer {
		case models.AnswerApprove:
			ans = "同意"
		case models.AnswerReject:
			ans = "驳回：" + a.Reason
		}
		if a.Answer == "" && ch.Status != models.ChangeRequested {
			ans = "—"
		}
		if a.DecidedBy != "" {
			ans += "（" + name(a.DecidedBy) + "）"
		}
		fmt.Fprintf(&b, "\n  %s %s", a.Label, ans)
	}
	b.WriteString("\n记录：")
	for _, e := range rec.Events {
		fmt.Fprintf(&b, "\n  %s %s %s %s", e.At.In(h.loc()).Format("01-02 15:04"), name(e.Actor), models.ChangeActionLabel(e.Action), e.Note)
	}
	if len(rec.Linked) > 0 {
		var nums []string
		for _, id := range rec.Linked {
			nums = append(nums, fmt.Sprintf("#%d", id))
		}
		fmt.Fprintf(&b, "\n窗口内相关报修：%s", strings.Join(nums, "、"))
	}
	return b.String()
}

// ChangeRequestDoc lays change id out as the 变更申请单 the approvers
// sign, for chat and for `opsbot change N --out F.docx`.
func ChangeRequestDoc(tx *models.Tx, id int64, cat *models.Catalog, loc *time.Location) (reports.Doc, error) {
	rec, err := tx.ChangeRecord(id)
	if err != nil {
		return reports.Doc{}, err
	}
	team, err := tx.Team()
	if err != nil {
		return reports.Doc{}, err
	}
	ch := rec.Change
	cr := reports.ChangeRequest{Number: ch.ID, System: cat.Name(ch.System), What: ch.What, Why: ch.Why, Risk: ch.Risk, Rollback: ch.Rollback,
		WindowFrom: ch.WindowFrom, WindowTo: ch.WindowTo, Departments: ch.Departments, Requester: ch.RequesterName, RequestedAt: ch.CreatedAt,
		Status: ch.Status.Label(), Location: loc}
	if cr.Requester == "" {
		cr.Requester = ch.RequesterID
	}
	for _, a := range rec.Approvals {
		ap := reports.ChangeApproval{Step: a.Label, Answer: "待审批", Reason: a.Reason, At: a.DecidedAt}
		switch a.Answer {
		case models.AnswerApprove:
			ap.Answer = "同意"
		case models.AnswerReject:
			ap.Answer = "驳回"
		}
		ap.Approver = a.DecidedBy
		if s, ok := team.Member(a.DecidedBy); ok {
			ap.Approver = s.Name
		}
		cr.Approvals = append(cr.Approvals, ap)
	}
	for _, tid := range rec.Linked {
		t, err := tx.Ticket(tid)
		if err != nil {
			return reports.Doc{}, err
		}
		cr.Linked = append(cr.Linked, fmt.Sprintf("%s（%s）", models.Summary(t, cat), t.CreatedAt.In(loc).Format("2006-01-02 15:04")))
	}
	return cr.Doc(), nil
}

// windowRE reads a planned window: [YYYY-]MM-DD HH:MM-[[YYYY-]MM-DD ]HH:MM.
var windowRE = regexp.MustCompile(`^(?:(\d{4})-)?(\d{1,2})-(\d{1,2}) *(\d{1,2}):(\d{2}) *(?:-|~|至|到) *(?:(?:(\d{4})-)?(\d{1,2})-(\d{1,2}) +)?(\d{1,2}):(\d{2})$`)

// parseWindow reads a change window in the hospital's zone. A date without
// a year is this year's, or next year's when it would be over a month
// past; an end before the start is on the next day.
func parseWindow(s string, now time.Time, loc *time.Location) (time.Time, time.Time, error) {
	r := strings.NewReplacer("：", ":", "－", "-", "—", "-", "/", "-", ".", "-", "月", "-", "日", " ", "号", " ", "　", " ", "  ", " ")
	s = strings.TrimSpace(r.Replace(strings.TrimSpace(s)))
	m := windowRE.FindStringSubmatch(s)
	bad := models.Errorf(models.EInvalid, "没看懂这个时间，请按“月-日 开始-结束”写，例如：12-05 22:00-23:30")
	if m == nil {
		return time.Time{}, time.Time{}, bad
	}
	n := func(x string) int { v, _ := strconv.Atoi(x); return v }
	local := now.In(loc)
	year := local.Year()
	if m[1] != "" {
		year = n(m[1])
	}
	mo, d, hh, mm := n(m[2]), n(m[3]), n(m[4]), n(m[5])
	if mo < 1 || mo > 12 || d < 1 || d > 31 || hh > 23 || mm > 59 || n(m[9]) > 24 || n(m[10]) > 59 {
		return time.Time{}, time.Time{}, bad
	}
	from := time.Date(year, time.Month(mo), d, hh, mm, 0, 0, loc)
	if m[1] == "" && from.Before(local.AddDate(0, -1, 0)) {
		from = from.AddDate(1, 0, 0)
	}
	to := time.Date(from.Year(), from.Month(), from.Day(), n(m[9]), n(m[10]), 0, 0, loc)
	if m[7] != "" {
		ty := from.Year()
		if m[6] != "" {
			ty = n(m[6])
		}
		to = time.Date(ty, time.Month(n(m[7])), n(m[8]), n(m[9]), n(m[10]), 0, 0, loc)
		if to.Before(from) && m[6] == "" {
			to = to.AddDate(1, 0, 0)
		}
	} else if !to.After(from) {
		to = to.AddDate(0, 0, 1)
	}
	if !to.After(from) {
		return time.Time{}, time.Time{}, models.Errorf(models.EInvalid, "结束时间要晚于开始时间，例如：12-05 22:00-23:30")
	}
	if to.Sub(from) > 7*24*time.Hour {
		return time.Time{}, time.Time{}, models.Errorf(models.EInvalid, "变更窗口不能超过 7 天，请分成几次申请")
	}
	if from.Before(local) {
		return time.Time{}, time.Time{}, models.Errorf(models.EInvalid, "计划窗口 %s 已经过去，请写将来的时间", from.Format("01-02 15:04"))
	}
	return from.UTC(), to.UTC(), nil
}
