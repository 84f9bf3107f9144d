package reports_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"opsbot/models"
	"opsbot/reports"
)

func TestSummaryMarkdown(t *testing.T) {
	r := monthlyReport(0)
	md := reports.SummaryMarkdown(r)
	if len(md) > reports.MaxSummaryBytes {
		t.Errorf("markdown is %d bytes", len(md))
	}
	for _, want := range []string{
		"**服务月报 · 2026年11月**",
		"工单 200 单，已解决 192 单，未结 8 单",
		"解决率 96.0%（目标 95%）✅",
		"按时解决率 88.5%（目标 90%）❌",
		"响应及时率 98.5%（目标 90%）✅",
		"到场及时率 —（本期无数据）",
		"满意度 92.5 分（目标 90）✅，已评价 80/190",
		"低分评价 2 条，已回访 1 条",
		"超时工单 5 单（仍未结 2 单）",
		"1. 门急诊挂号 60 单（超时 2）",
		"2. 检验信息系统 50 单",
		"3. 电子病历系统 40 单",
		"医院确认：待确认（已确认 1/2）",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "影像归档系统") {
		t.Errorf("markdown lists a fourth system:\n%s", md)
	}

	text := reports.SummaryText(r)
	if strings.Contains(text, "**") || strings.Contains(text, "> ") {
		t.Errorf("plain text carries markdown:\n%s", text)
	}
	for _, want := range []string{"【服务月报 · 2026年11月】", "按时解决率 88.5%（目标 90%）❌", "满意度 92.5 分"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
}

func TestSummaryAnnualAndUnrated(t *testing.T) {
	r := annualReport(0)
	r.Figures.Satisfaction = models.Satisfaction{Asked: 12, Target: 90}
	r.Approvals = nil
	md := reports.SummaryMarkdown(r)
	for _, want := range []string{"**服务年报 · 2026年**", "满意度 —（邀请 12 人，暂无评价）", "年度调查 91.2 分 ✅，回复率 75.0%", "医院确认：未送确认"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestSummaryStaysShort(t *testing.T) {
	r := monthlyReport(0)
	long := strings.Repeat("超长系统名称", 100)
	r.SystemName = func(string) string { return long }
	md := reports.SummaryMarkdown(r)
	if len(md) > reports.MaxSummaryBytes || !utf8.ValidString(md) {
		t.Errorf("markdown is %d bytes, valid UTF-8 %v", len(md), utf8.ValidString(md))
	}
	if !strings.Contains(md, "医院确认") {
		t.Errorf("long names pushed out the confirmation line:\n%s", md)
	}
}

func TestConfirmationState(t *testing.T) {
	ok := reports.Approval{Approver: "a", Answer: reports.AnswerConfirmed}
	no := reports.Approval{Approver: "b", Answer: reports.AnswerObjected, Comment: "超时原因不清楚"}
	wait := reports.Approval{Approver: "c"}
	for _, c := range []struct {
		in   []reports.Approval
		want string
	}{
		{nil, "未送确认"},
		{[]reports.Approval{wait}, "待确认（已确认 0/1）"},
		{[]reports.Approval{ok, wait}, "待确认（已确认 1/2）"},
		{[]reports.Approval{ok, no}, "有意见"},
		{[]reports.Approval{ok, ok}, "已确认"},
	} {
		if got := reports.ConfirmationState(c.in); got != c.want {
			t.Errorf("ConfirmationState(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}
