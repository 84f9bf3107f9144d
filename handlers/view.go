package handlers

import (
	"fmt"
	"strings"
	"time"

	"opsbot/bot"
	"opsbot/models"
)

// loc is the hospital's time zone.
func (h *Handlers) loc() *time.Location { return h.store.SLA().Clock().Location() }

// systemName is the Chinese name of a system code ("" when none).
func (h *Handlers) systemName(code string) string { return h.catalog.Name(code) }

// staffName shows a userid as the person's name, or the userid.
func staffName(tx *models.Tx, userID string) string {
	if userID == "" {
		return ""
	}
	if s, ok, _ := tx.StaffMember(userID); ok {
		return s.Name
	}
	return userID
}

// nameIn shows a userid as the person's name from a team read once for a
// whole list or timeline, or the userid.
func nameIn(team *models.Team, userID string) string {
	if s, ok := team.Member(userID); ok {
		return s.Name
	}
	return userID
}

// ticketLine is one ticket in a list; team is read once per list.
func (h *Handlers) ticketLine(team *models.Team, t models.Ticket, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d［%s］", t.ID, t.Status.Label())
	if sys := h.systemName(t.System); sys != "" {
		b.WriteString(sys + "｜")
	}
	b.WriteString(t.Title)
	if t.AssigneeID != "" {
		fmt.Fprintf(&b, "（%s）", nameIn(team, t.AssigneeID))
	}
	b.WriteString(h.flags(t, now))
	return b.String()
}

// flags marks a ticket's deadline state in lists, as models.Judge says:
// breached, or soon due (the warning fraction of the first resolution
// reminder level).
func (h *Handlers) flags(t models.Ticket, now time.Time) string {
	if !t.Status.Open() {
		return ""
	}
	j := h.store.Judge(&t, now)
	switch {
	case j.ResponseBreached && t.Status == models.StatusNew:
		return " ⚠响应超时"
	case j.ResolutionBreached:
		return " ⚠已超时"
	case j.OnsiteBreached && t.OnsiteAt == nil:
		return " ⚠到场超时"
	case j.SoonDue:
		return " ⏰即将到期"
	}
	return ""
}

// ticketDetail is the whole ticket with its timeline, for 进度 and 工单.
func (h *Handlers) ticketDetail(tx *models.Tx, t *models.Ticket, now time.Time) (string, error) {
	loc := h.loc()
	var b strings.Builder
	fmt.Fprintf(&b, "工单 #%d［%s］%s · 优先级%s", t.ID, t.Status.Label(), t.Kind.Label(), t.Priority.Label())
	if t.Major {
		b.WriteString(" · 重大事件")
	}
	b.WriteString("\n")
	if sys := h.systemName(t.System); sys != "" {
		fmt.Fprintf(&b, "系统：%s\n", sys)
	}
	fmt.Fprintf(&b, "问题：%s\n", t.Title)
	if t.Location != "" || t.Department != "" {
		fmt.Fprintf(&b, "位置：%s\n", strings.TrimSpace(t.Department+" "+t.Location))
	}
	rep := t.ReporterName
	if rep == "" {
		rep = t.ReporterID
	}
	if t.Phone != "" {
		rep += " " + t.Phone
	}
	fmt.Fprintf(&b, "报修人：%s\n", rep)
	team, err := tx.Team()
	if err != nil {
		return "", err
	}
	if s, ok := team.Member(t.AssigneeID); ok {
		fmt.Fprintf(&b, "负责人：%s\n", who(s))
	}
	switch {
	case t.Status == models.StatusNew:
		fmt.Fprintf(&b, "响应时限：%s（%s）\n", models.ClockText(t.DueResponse, loc), models.UntilText(t.DueResponse, now))
	case t.Status == models.StatusPaused:
		fmt.Fprintf(&b, "已挂起：%s，计时暂停\n", t.PauseReason)
	}
	if t.Status.Open() && t.Status != models.StatusPaused {
		fmt.Fprintf(&b, "解决时限：%s（%s）\n", models.ClockText(t.DueResolution, loc), models.UntilText(t.DueResolution, now))
	}
	if t.Resolution != "" && !t.Status.Open() {
		fmt.Fprintf(&b, "处理结果：%s\n", t.Resolution)
	}
	if t.ParentID != nil {
		fmt.Fprintf(&b, "已并入 #%d 统一处理\n", *t.ParentID)
	}
	files, err := tx.FilesOf(t.ID)
	if err != nil {
		return "", err
	}
	if len(files) > 0 {
		fmt.Fprintf(&b, "附件（%d）：%s\n", len(files), models.FileNames(files))
	}
	events, err := tx.Events(t.ID)
	if err != nil {
		return "", err
	}
	b.WriteString("进展：")
	for _, e := range events {
		fmt.Fprintf(&b, "\n· %s %s %s", e.At.In(loc).Format("01-02 15:04"), staffOrReporter(team, t, e.Actor), e.Action.Label())
		if e.Note != "" && e.Action != models.ActCreate {
			fmt.Fprintf(&b, "：%s", shortNote(e.Note))
		}
	}
	return b.String(), nil
}

func staffOrReporter(team *models.Team, t *models.Ticket, userID string) string {
	if userID == t.ReporterID && t.ReporterName != "" {
		return t.ReporterName
	}
	if userID == models.SystemActor {
		return "系统"
	}
	return nameIn(team, userID)
}

func shortNote(s string) string {
	r := []rune(s)
	if len(r) > 40 {
		return string(r[:39]) + "…"
	}
	return s
}

// ticketFor loads a ticket the caller may see: reporters their own,
// staff any.
func (h *Handlers) ticketFor(tx *models.Tx, c *bot.Context, id int64) (*models.Ticket, error) {
	t, err := tx.Ticket(id)
	if err != nil {
		return nil, err
	}
	a := actor(c)
	if !a.IsStaff() && t.ReporterID != a.UserID {
		return nil, models.Errorf(models.EForbidden, "工单 #%d 不是您报的，无法查看", id)
	}
	return t, nil
}
