package outbox

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestFitTextKeepsWholeLinesAndCountsTheRest: a digest of 60 reminders is
// cut to whole lines within WeCom's limit and says how many it left out.
func TestFitTextKeepsWholeLinesAndCountsTheRest(t *testing.T) {
	var b strings.Builder
	b.WriteString("【提醒汇总】60 项需要关注：")
	for i := range 60 {
		fmt.Fprintf(&b, "\n· 【未接单提醒】#%d 门急诊收费｜收费系统打印不了发票 已等待 15分钟 无人接单。请尽快“接单 %d”。", i, i)
	}
	got := FitText(b.String(), textLimit)
	if len(got) > textLimit || !utf8.ValidString(got) {
		t.Fatalf("%d bytes, valid %v", len(got), utf8.ValidString(got))
	}
	shown := strings.Count(got, "\n· ")
	if !strings.Contains(got, fmt.Sprintf("另有 %d 行未显示", 60-shown)) || !strings.HasPrefix(got, "【提醒汇总】60 项") {
		t.Fatalf("%d shown:\n%s", shown, got)
	}
	if short := "已登记工单 #1"; FitText(short, textLimit) != short {
		t.Fatal("a short text changed")
	}
	long := strings.Repeat("很长的一行", 300)
	if got := FitText(long, textLimit); len(got) > textLimit || !utf8.ValidString(got) || !strings.Contains(got, "截断") {
		t.Fatalf("one long line: %d bytes %q", len(got), got[len(got)-40:])
	}
}
