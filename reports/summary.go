package reports

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"opsbot/models"
)

// MaxSummaryBytes bounds the chat summary: WeCom's markdown message takes
// at most 2048 bytes of content.
const MaxSummaryBytes = 2000

// SummaryMarkdown is the report's short WeCom markdown summary: the period,
// each figure against its target with ✅/❌, the busiest three systems,
// breaches and satisfaction, in at most MaxSummaryBytes bytes.
func SummaryMarkdown(r *Report) string { return summary(r, true) }

// SummaryText is SummaryMarkdown as plain text, for WeCom text messages.
func SummaryText(r *Report) string { return summary(r, false) }

func summary(r *Report, md bool) string {
	bold := func(s string) string {
		if md {
			return "**" + s + "**"
		}
		return "【" + s + "】"
	}
	fg := r.Figures
	if fg == nil {
		return clip(bold(r.Kind.Label())+"\n暂无数据", MaxSummaryBytes)
	}
	var b strings.Builder
	b.WriteString(bold(r.Kind.Label() + " · " + fg.Period.Label))
	b.WriteString("\n")
	if md {
		b.WriteString("> ")
	}
	fmt.Fprintf(&b, "工单 %d 单，已解决 %d 单，未结 %d 单\n", fg.Created, fg.Resolved, fg.Open)
	for _, k := range []struct {
		name string
		rate models.Rate
	}{
		{"解决率", fg.ResolutionRate},
		{"按时解决率", fg.OnTimeRate},
		{"响应及时率", fg.ResponseOnTimeRate},
		{"到场及时率", fg.OnsiteOnTimeRate},
	} {
		if _, ok := k.rate.Value(); !ok {
			fmt.Fprintf(&b, "%s —（本期无数据）\n", k.name)
			continue
		}
		fmt.Fprintf(&b, "%s %s（目标 %s）%s\n", k.name, percentText(k.rate), targetText(k.rate.Target), rateMark(k.rate))
	}
	sat := fg.Satisfaction
	if sat.Rated == 0 {
		fmt.Fprintf(&b, "满意度 —（邀请 %d 人，暂无评价）\n", sat.Asked)
	} else {
		fmt.Fprintf(&b, "满意度 %.1f 分（目标 %g）%s，已评价 %d/%d\n", sat.Mean, sat.Target, satMark(sat), sat.Rated, sat.Asked)
	}
	if sat.Low > 0 {
		followed := 0
		for _, l := range r.LowRatings {
			if l.FollowUp != "" {
				followed++
			}
		}
		fmt.Fprintf(&b, "低分评价 %d 条，已回访 %d 条\n", sat.Low, followed)
	}
	fmt.Fprintf(&b, "超时工单 %d 单（仍未结 %d 单）\n", fg.BreachedTotal, fg.OpenBreached)
	if len(fg.BySystem) > 0 {
		b.WriteString(bold("工单最多的系统"))
		b.WriteString("\n")
		for i, g := range fg.BySystem {
			if i == 3 {
				break
			}
			fmt.Fprintf(&b, "%d. %s %d 单", i+1, clipRunes(r.system(g.Key), 16), g.Created)
			if g.Breached > 0 {
				fmt.Fprintf(&b, "（超时 %d）", g.Breached)
			}
			b.WriteString("\n")
		}
	}
	if r.Kind == Annual && r.Survey != nil && r.Survey.Overall.Rated > 0 {
		s := r.Survey.Overall
		fmt.Fprintf(&b, "年度调查 %.1f 分 %s，回复率 %s\n", s.Mean, satMark(s), percentText(s.ResponseRate()))
	}
	fmt.Fprintf(&b, "医院确认：%s", ConfirmationState(r.Approvals))
	return clip(b.String(), MaxSummaryBytes)
}

// clipRunes shortens s to n characters.
func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// clip cuts s to at most n bytes at a line end, or else a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := s[:n]
	if i := strings.LastIndexByte(cut, '\n'); i > 0 {
		return cut[:i]
	}
	for !utf8.ValidString(cut) {
		cut = cut[:len(cut)-1]
	}
	return cut
}
