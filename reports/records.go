package reports

import (
	"fmt"
	"strings"
	"time"

	"opsbot/models"
)

// IncidentReport is the content of a major-incident analysis report
// (重大事件分析报告, issue 13): the caller fills it from the ticket, its
// events and the recorded analysis; Doc lays it out.
type IncidentReport struct {
	Ticket int64
	System string // the system's name
	Title  string
	// ReportedAt is the first report; ResolvedAt nil while unresolved.
	ReportedAt time.Time
	ResolvedAt *time.Time
	// Duration is how long the service was affected (report to resolution).
	Duration    time.Duration
	Merged      int      // reports merged into the incident
	Departments []string // departments affected
	// Breaches names the deadlines missed ("响应", "解决"), empty when none.
	Breaches []string
	Timeline []TimelineEntry
	// Impact, RootCause and Corrective are the recorded 影响, 根因 and 整改.
	Impact, RootCause, Corrective string
	People                        []KV // role → names
	// Status is the report's approval state: 草稿, 待医院确认, 已确认, 退回修改.
	Status   string
	Location *time.Location
}

// TimelineEntry is one event of an incident's timeline.
type TimelineEntry struct {
	At   time.Time
	What string
	Who  string
}

// missing marks a part of a record nobody has written yet.
const missing = "（尚未填写）"

func orMissing(s string) string {
	if strings.TrimSpace(s) == "" {
		return missing
	}
	return s
}

func joinOr(items []string, none string) string {
	if len(items) == 0 {
		return none
	}
	return strings.Join(items, "、")
}

func locOr(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}

// Doc lays the incident report out in the order the hospital reads it:
// what happened, its impact, why, what changes, who took part.
func (in IncidentReport) Doc() Doc {
	loc := locOr(in.Location)
	stamp := func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04") }
	resolved := "尚未解决"
	if in.ResolvedAt != nil {
		resolved = stamp(*in.ResolvedAt)
	}
	timeline := &Table{Header: []string{"时间", "事件", "人员"}}
	for _, e := range in.Timeline {
		timeline.Rows = append(timeline.Rows, []string{stamp(e.At), e.What, e.Who})
	}
	duration := "—"
	if in.Duration > 0 {
		duration = models.SpanText(in.Duration)
	}
	d := Doc{
		Title: "重大事件分析报告",
		Meta: []KV{
			{"事件工单", fmt.Sprintf("#%d %s", in.Ticket, in.Title)},
			{"系统", orMissing(in.System)},
			{"首次报修", stamp(in.ReportedAt)},
			{"解决时间", resolved},
			{"报告状态", orMissing(in.Status)},
		},
		Sections: []Section{
			{Heading: "一、事件经过", Table: timeline},
			{Heading: "二、影响范围", KV: []KV{
				{"影响时长", duration},
				{"合并报修", fmt.Sprintf("%d 单", in.Merged)},
				{"受影响科室", joinOr(in.Departments, "无记录")},
				{"超时情况", joinOr(in.Breaches, "未超时")},
			}, Paragraphs: []string{orMissing(in.Impact)}},
			{Heading: "三、根本原因", Paragraphs: []string{orMissing(in.RootCause)}},
			{Heading: "四、整改措施", Paragraphs: []string{orMissing(in.Corrective)}},
		},
		Signatures: []string{"服务主管", "信息科负责人"},
	}
	if len(in.People) > 0 {
		d.Sections = append(d.Sections, Section{Heading: "五、参与人员", KV: in.People})
	}
	return d
}

// ChangeRequest is the content of a change request form (变更申请单,
// issue 13).
type ChangeRequest struct {
	Number      int64
	System      string // the system's name
	What, Why   string
	Risk        string // 高, 中 or 低
	Rollback    string
	WindowFrom  time.Time
	WindowTo    time.Time
	Departments []string
	Requester   string // name
	RequestedAt time.Time
	// Status in words: 待审批, 已批准, 已驳回, 已完成, 已回退.
	Status    string
	Approvals []ChangeApproval
	// Linked lists tickets reported about the system during the window.
	Linked   []string
	Location *time.Location
}

// ChangeApproval is one approval step of a change.
type ChangeApproval struct {
	Step     string // 服务主管, 信息科
	Approver string
	Answer   string // 同意, 驳回, 待审批
	Reason   string
	At       *time.Time
}

// Doc lays the change request out as the form the approvers sign.
func (c ChangeRequest) Doc() Doc {
	loc := locOr(c.Location)
	stamp := func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04") }
	window := missing
	if !c.WindowFrom.IsZero() {
		window = stamp(c.WindowFrom) + " 至 " + stamp(c.WindowTo)
	}
	approvals := &Table{Header: []string{"审批环节", "审批人", "意见", "理由", "时间"}}
	for _, a := range c.Approvals {
		at := ""
		if a.At != nil {
			at = stamp(*a.At)
		}
		approvals.Rows = append(approvals.Rows, []string{a.Step, a.Approver, a.Answer, a.Reason, at})
	}
	d := Doc{
		Title: "变更申请单",
		Meta: []KV{
			{"变更编号", fmt.Sprintf("变更 #%d", c.Number)},
			{"申请人", orMissing(c.Requester)},
			{"申请时间", stamp(c.RequestedAt)},
			{"状态", orMissing(c.Status)},
		},
		Sections: []Section{
			{Heading: "一、变更内容", KV: []KV{
				{"系统", orMissing(c.System)},
				{"变更内容", orMissing(c.What)},
				{"变更原因", orMissing(c.Why)},
				{"风险等级", orMissing(c.Risk)},
				{"回退方案", orMissing(c.Rollback)},
				{"计划窗口", window},
				{"影响科室", joinOr(c.Departments, "无")},
			}},
			{Heading: "二、审批记录", Table: approvals},
		},
		Signatures: []string{"申请人", "服务主管", "信息科负责人"},
	}
	if len(c.Linked) > 0 {
		d.Sections = append(d.Sections, Section{Heading: "三、窗口内相关报修", Paragraphs: c.Linked})
	}
	return d
}
