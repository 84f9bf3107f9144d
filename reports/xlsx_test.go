package reports_test

import (
	"archive/zip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"opsbot/reports"
)

// writeAndOpen writes r to a temp file and opens it as a user's
// spreadsheet program would.
func writeAndOpen(t *testing.T, r *reports.Report) (*excelize.File, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.xlsx")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := reports.WriteXLSX(out, r); err != nil {
		t.Fatalf("WriteXLSX: %v", err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatalf("open written workbook: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f, path
}

// rowOf finds the row whose column A reads label, from row 1.
func rowOf(t *testing.T, f *excelize.File, sheet, label string) []string {
	t.Helper()
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if len(r) > 0 && r[0] == label {
			return r
		}
	}
	t.Fatalf("%s: no row %q", sheet, label)
	return nil
}

func cell(t *testing.T, f *excelize.File, sheet, ref string) string {
	t.Helper()
	v, err := f.GetCellValue(sheet, ref)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func numFmt(t *testing.T, f *excelize.File, sheet, ref string) string {
	t.Helper()
	id, err := f.GetCellStyle(sheet, ref)
	if err != nil {
		t.Fatal(err)
	}
	s, err := f.GetStyle(id)
	if err != nil {
		t.Fatal(err)
	}
	if s.CustomNumFmt == nil {
		return ""
	}
	return *s.CustomNumFmt
}

// findRef is the reference of the first cell in column A reading label.
func findRef(t *testing.T, f *excelize.File, sheet, label string) int {
	t.Helper()
	rows, _ := f.GetRows(sheet)
	for i, r := range rows {
		if len(r) > 0 && r[0] == label {
			return i + 1
		}
	}
	t.Fatalf("%s: no row %q", sheet, label)
	return 0
}

func ref(col string, row int) string {
	r, _ := excelize.JoinCellName(col, row)
	return r
}

// charts lists the chart parts of the workbook and their XML.
func charts(t *testing.T, path string) map[string]string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	out := map[string]string{}
	for _, f := range zr.File {
		if strings.HasPrefix(f.Name, "xl/charts/chart") {
			rc, _ := f.Open()
			b, _ := io.ReadAll(rc)
			rc.Close()
			out[f.Name] = strings.ReplaceAll(string(b), "&#39;", "'")
		}
	}
	return out
}

func TestMonthlyXLSX(t *testing.T) {
	const tickets = 300
	f, path := writeAndOpen(t, monthlyReport(tickets))

	want := []string{"汇总", "趋势", "按系统", "按工程师", "分类统计", "超时", "满意度", "服务记录", "工单明细"}
	if got := f.GetSheetList(); !slices.Equal(got, want) {
		t.Fatalf("sheets = %v, want %v", got, want)
	}

	// Summary: each figure against its target.
	if got := cell(t, f, "汇总", "A1"); got != "县人民医院信息系统运维服务月报 · 2026年11月" {
		t.Errorf("title = %q", got)
	}
	if got := rowOf(t, f, "汇总", "统计区间")[1]; got != "2026-11-01 至 2026-11-30" {
		t.Errorf("period = %q", got)
	}
	if got := rowOf(t, f, "汇总", "医院确认")[1]; got != "待确认（已确认 1/2）" {
		t.Errorf("confirmation = %q", got)
	}
	checks := []struct {
		label, value, target, mark string
	}{
		{"工单总数", "200", "—", "—"},
		{"已解决", "192", "—", "—"},
		{"解决率", "96.0%", "95.0%", "✅"},
		{"按时解决率", "88.5%", "90.0%", "❌"},
		{"响应及时率", "98.5%", "90.0%", "✅"},
		{"到场及时率", "—", "90.0%", "—"},
		{"满意度", "92.5", "90.0", "✅"},
		{"评价回复率", "42.1%", "—", "—"},
		{"超时工单", "5", "—", "—"},
	}
	for _, c := range checks {
		row := rowOf(t, f, "汇总", c.label)
		if row[1] != c.value || row[2] != c.target || row[3] != c.mark {
			t.Errorf("汇总 %s = %q %q %q, want %q %q %q", c.label, row[1], row[2], row[3], c.value, c.target, c.mark)
		}
	}
	if got := rowOf(t, f, "汇总", "满意度")[4]; got != "已评价 80 / 邀请 190" {
		t.Errorf("rated/asked = %q", got)
	}
	// Rates are numbers formatted as percentages, not strings.
	r := findRef(t, f, "汇总", "解决率")
	if got := numFmt(t, f, "汇总", ref("B", r)); got != "0.0%" {
		t.Errorf("解决率 number format = %q", got)
	}
	raw, _ := f.GetCellValue("汇总", ref("B", r), excelize.Options{RawCellValue: true})
	if raw != "0.96" {
		t.Errorf("解决率 raw value = %q, want 0.96", raw)
	}
	if typ, _ := f.GetCellType("汇总", ref("B", r)); typ == excelize.CellTypeInlineString || typ == excelize.CellTypeSharedString {
		t.Errorf("解决率 stored as a string")
	}
	if got := rowOf(t, f, "汇总", "王五"); got[2] != "待确认" {
		t.Errorf("approver row = %v", got)
	}

	// Breakdowns name systems and people.
	if got := rowOf(t, f, "按系统", "门急诊挂号"); got[1] != "60" || got[3] != "96.7%" || got[6] != "2" || got[8] != "90.0" {
		t.Errorf("按系统 门急诊挂号 = %v", got)
	}
	if got := numFmt(t, f, "按系统", "D2"); got != "0.0%" {
		t.Errorf("按系统 rate format = %q", got)
	}
	rowOf(t, f, "按系统", "未指定系统")
	if got := rowOf(t, f, "按工程师", "张三"); got[1] != "120" {
		t.Errorf("按工程师 张三 = %v", got)
	}
	rowOf(t, f, "按工程师", "未分配")
	for _, label := range []string{"检验科", "未填写科室", "高", "中", "低", "故障", "咨询"} {
		rowOf(t, f, "分类统计", label)
	}

	// Breaches with their reasons.
	if got := rowOf(t, f, "超时", "17"); got[1] != "检验信息系统" || got[7] != "响应、解决" || got[8] != "等待厂商补丁" || got[4] != "张三" {
		t.Errorf("超时 #17 = %v", got)
	}
	if got := rowOf(t, f, "超时", "42"); got[8] != "未填写" {
		t.Errorf("超时 #42 reason = %q", got[8])
	}

	// Satisfaction with low ratings and follow-ups.
	if got := rowOf(t, f, "满意度", "21"); got[2] != "赵护士" || got[3] != "40" || got[6] != "已电话致歉，说明当日故障集中" || got[7] != "王五" {
		t.Errorf("满意度 #21 = %v", got)
	}
	if got := rowOf(t, f, "满意度", "88"); got[6] != "尚未回访" {
		t.Errorf("满意度 #88 follow-up = %q", got[6])
	}
	if got := rowOf(t, f, "满意度", "回复率")[1]; got != "42.1%" {
		t.Errorf("满意度 回复率 = %q", got)
	}

	// Trend: a day per row and a line chart over it.
	if got := cell(t, f, "趋势", "A2"); got != "2026-11-01" {
		t.Errorf("趋势 A2 = %q", got)
	}
	if got := cell(t, f, "趋势", "A31"); got != "2026-11-30" {
		t.Errorf("趋势 A31 = %q", got)
	}
	cs := charts(t, path)
	if len(cs) != 1 {
		t.Fatalf("charts = %d, want 1", len(cs))
	}
	for _, xml := range cs {
		if !strings.Contains(xml, "<lineChart>") || !strings.Contains(xml, "'趋势'!$B$2:$B$31") {
			t.Errorf("chart does not plot the daily counts: %.300s", xml)
		}
	}

	// Every ticket, streamed, with names and local times.
	rows, err := f.Rows("工单明细")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	rows.Close()
	if n != tickets+1 {
		t.Errorf("工单明细 rows = %d, want %d tickets + header", n, tickets)
	}
	if got := cell(t, f, "工单明细", "A1"); got != "工单号" {
		t.Errorf("ticket header = %q", got)
	}
	first := rowOf(t, f, "工单明细", "1")
	if got := rowOf(t, f, "工单明细", "56"); got[18] != "响应、解决" || got[19] != "等待厂商" {
		t.Errorf("ticket #56 missed deadlines = %q, reason %q", got[18], got[19])
	}
	if got := numFmt(t, f, "工单明细", "K2"); got != "yyyy-mm-dd hh:mm" {
		t.Errorf("报修时间 format = %q", got)
	}
	if first[2] != "门急诊挂号" || first[3] != "高" || first[4] != "已关闭" || first[8] != "张三" || first[10] != "2026-11-01 00:00" || first[9] != "是" {
		t.Errorf("ticket #1 = %v", first)
	}
	if got := rowOf(t, f, "工单明细", "15"); got[2] != "未指定系统" || got[8] != "" || got[11] != "" || got[10] != "2026-11-02 09:36" || got[15] != "2026-11-02 10:36" {
		t.Errorf("ticket #15 (no system, unassigned, not claimed) = %v", got)
	}
}

func TestAnnualXLSX(t *testing.T) {
	f, path := writeAndOpen(t, annualReport(120))
	want := []string{"汇总", "趋势", "按系统", "按工程师", "分类统计", "超时", "满意度", "年度调查", "服务记录", "工单明细"}
	if got := f.GetSheetList(); !slices.Equal(got, want) {
		t.Fatalf("sheets = %v, want %v", got, want)
	}
	if got := cell(t, f, "汇总", "A1"); got != "县人民医院信息系统运维服务年报 · 2026年" {
		t.Errorf("title = %q", got)
	}
	if got := rowOf(t, f, "年度调查", "总体得分"); got[1] != "91.2" || got[3] != "✅" {
		t.Errorf("survey overall = %v", got)
	}
	if got := rowOf(t, f, "年度调查", "回复率")[1]; got != "75.0%" {
		t.Errorf("survey response rate = %q", got)
	}
	if got := rowOf(t, f, "年度调查", "3"); got[1] != "问题解决效果" || got[2] != "88.1" {
		t.Errorf("survey question 3 = %v", got)
	}
	rowOf(t, f, "年度调查", "1") // question 1, then comment 1
	if got := cell(t, f, "趋势", "B2"); got != "155" {
		t.Errorf("January created = %q", got)
	}
	if got := cell(t, f, "趋势", "D2"); got != "96.0%" {
		t.Errorf("January resolution rate = %q", got)
	}
	if got := numFmt(t, f, "趋势", "E2"); got != "0.0%" {
		t.Errorf("trend rate format = %q", got)
	}
	dec := rowOf(t, f, "趋势", "12月")
	if len(dec) > 1 {
		t.Errorf("December, not begun, shows figures: %v", dec)
	}
	cs := charts(t, path)
	if len(cs) != 2 {
		t.Fatalf("charts = %d, want 2 (counts and rates)", len(cs))
	}
	var bar, line bool
	for _, xml := range cs {
		bar = bar || strings.Contains(xml, "<barChart>") && strings.Contains(xml, "'趋势'!$B$2:$B$13")
		line = line || strings.Contains(xml, "<lineChart>") && strings.Contains(xml, "'趋势'!$D$2:$D$13")
	}
	if !bar || !line {
		t.Errorf("annual charts: monthly counts %v, monthly rates %v", bar, line)
	}
	rows, _ := f.GetRows("工单明细")
	if len(rows) != 121 {
		t.Errorf("工单明细 rows = %d, want 121", len(rows))
	}
}

func TestAnnualWithoutSurvey(t *testing.T) {
	r := annualReport(0)
	r.Survey = nil
	f, _ := writeAndOpen(t, r)
	if got := cell(t, f, "年度调查", "A1"); got != "本年度未开展满意度调查" {
		t.Errorf("年度调查 A1 = %q", got)
	}
	rows, _ := f.GetRows("工单明细")
	if len(rows) != 1 {
		t.Errorf("no tickets: rows = %d, want the header only", len(rows))
	}
}

func TestXLSXErrors(t *testing.T) {
	if err := reports.WriteXLSX(io.Discard, &reports.Report{Kind: reports.Monthly}); err == nil {
		t.Error("a report without figures was written")
	}
	boom := errors.New("cursor lost")
	r := monthlyReport(0)
	r.Tickets = func(yield func(reports.TicketRow) error) error { return boom }
	if err := reports.WriteXLSX(io.Discard, r); !errors.Is(err, boom) {
		t.Errorf("ticket source failure = %v, want it wrapped", err)
	}
	// A cursor that fails halfway, after several batches.
	rows := genTickets(5000, r.Figures.Period.From, time.Hour)
	r.Tickets = func(yield func(reports.TicketRow) error) error {
		n := 0
		err := rows(func(t reports.TicketRow) error {
			if n++; n == 3000 {
				return boom
			}
			return yield(t)
		})
		return err
	}
	if err := reports.WriteXLSX(io.Discard, r); !errors.Is(err, boom) {
		t.Errorf("ticket source failing halfway = %v, want it wrapped", err)
	}
	r.Tickets = func(yield func(reports.TicketRow) error) error { panic("driver bug") }
	if err := reports.WriteXLSX(io.Discard, r); err == nil || !strings.Contains(err.Error(), "driver bug") {
		t.Errorf("panicking ticket source = %v", err)
	}
}
