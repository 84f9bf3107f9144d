package reports

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/klauspost/compress/flate"
	"github.com/xuri/excelize/v2"

	"opsbot/models"
)

// Sheet names of the service report, in the order they appear.
const (
	SheetSummary    = "汇总"
	SheetTrend      = "趋势"
	SheetBySystem   = "按系统"
	SheetByEngineer = "按工程师"
	SheetByCategory = "分类统计"
	SheetBreaches   = "超时"
	SheetRatings    = "满意度"
	SheetSurvey     = "年度调查"
	SheetTickets    = "工单明细"
	SheetRecords    = "服务记录"
)

// Number formats of the report's cells; rates are numbers formatted as
// percentages so that the hospital can sort and chart them.
const (
	fmtPercent  = "0.0%"
	fmtScore    = "0.0"
	fmtDateTime = "yyyy-mm-dd hh:mm"
	fmtDate     = "yyyy-mm-dd"
)

// ticketHeader is the ticket sheet's header row.
var ticketHeader = []any{"工单号", "类型", "系统", "优先级", "状态", "标题", "科室", "报修人", "处理人", "重大",
	"报修时间", "接单时间", "到场时间", "解决时间", "关闭时间", "响应时限", "到场时限", "解决时限",
	"超时环节", "超时原因", "评分", "评价意见"}

// WriteXLSX writes the service report as an XLSX workbook to w. The ticket
// sheet is streamed row by row and the workbook is zipped straight into w,
// so memory stays flat however many tickets the period holds.
func WriteXLSX(w io.Writer, r *Report) error {
	if r == nil || r.Figures == nil {
		return errors.New("reports: xlsx: report has no figures")
	}
	return writeXLSX(w, r, nil)
}

// writeXLSX writes the ticket sheet first, then calls complete (which may
// still be filling in the rest of r) and writes the other sheets.
func writeXLSX(w io.Writer, r *Report, complete func() error) error {
	f := excelize.NewFile()
	defer f.Close()
	x, err := newXLSXWriter(f, r)
	if err != nil {
		return err
	}
	steps := []struct {
		sheet string
		write func(string) error
	}{
		{SheetSummary, x.summary},
		{SheetTrend, x.trend},
		{SheetBySystem, x.bySystem},
		{SheetByEngineer, x.byEngineer},
		{SheetByCategory, x.byCategory},
		{SheetBreaches, x.breaches},
		{SheetRatings, x.ratings},
		{SheetSurvey, x.survey},
		{SheetRecords, x.records},
		{SheetTickets, x.tickets},
	}
	// The sheets are created in their order first: the ticket sheet is
	// written before the others, which need the figures.
	for i, s := range steps {
		if s.sheet == SheetSurvey && r.Kind != Annual {
			continue
		}
		if i == 0 {
			err = f.SetSheetName("Sheet1", s.sheet)
		} else {
			_, err = f.NewSheet(s.sheet)
		}
		if err != nil {
			return fmt.Errorf("reports: xlsx: sheet %s: %w", s.sheet, err)
		}
	}
	// Before any stream: excelize reads every sheet back to set the tab,
	// and a flushed streamed sheet is then parsed whole from its file.
	f.SetActiveSheet(0)
	if err := x.tickets(SheetTickets); err != nil {
		return fmt.Errorf("reports: xlsx: sheet %s: %w", SheetTickets, err)
	}
	if complete != nil {
		if err := complete(); err != nil {
			return err
		}
	}
	if r.Figures == nil {
		return errors.New("reports: xlsx: report has no figures")
	}
	for _, s := range steps {
		if s.sheet == SheetTickets || (s.sheet == SheetSurvey && r.Kind != Annual) {
			continue
		}
		if err := s.write(s.sheet); err != nil {
			return fmt.Errorf("reports: xlsx: sheet %s: %w", s.sheet, err)
		}
	}
	// excelize buffers the whole zip before copying it to w; handing it a
	// zip writer on w itself keeps a year's workbook out of memory, and the
	// fastest deflate level on every core keeps the half-million-row sheet
	// quick to pack.
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter {
		zw := zip.NewWriter(w)
		zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
			return newParallelDeflate(out, flate.BestSpeed), nil
		})
		return zw
	})
	if err := f.Write(io.Discard); err != nil {
		return fmt.Errorf("reports: xlsx: write: %w", err)
	}
	return nil
}

// xlsxWriter holds the workbook, the report and the styles shared by the
// sheets.
type xlsxWriter struct {
	f   *excelize.File
	r   *Report
	loc *time.Location

	title, header, pct, score, dateTime, date, wrap int
}

func newXLSXWriter(f *excelize.File, r *Report) (*xlsxWriter, error) {
	x := &xlsxWriter{f: f, r: r, loc: r.loc()}
	custom := func(s string) *string { return &s }
	border := []excelize.Border{{Type: "bottom", Color: "999999", Style: 1}}
	styles := []struct {
		out *int
		s   *excelize.Style
	}{
		{&x.title, &excelize.Style{Font: &excelize.Font{Bold: true, Size: 14}}},
		{&x.header, &excelize.Style{Font: &excelize.Font{Bold: true}, Border: border,
			Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}}},
		{&x.pct, &excelize.Style{CustomNumFmt: custom(fmtPercent)}},
		{&x.score, &excelize.Style{CustomNumFmt: custom(fmtScore)}},
		{&x.dateTime, &excelize.Style{CustomNumFmt: custom(fmtDateTime)}},
		{&x.date, &excelize.Style{CustomNumFmt: custom(fmtDate)}},
		{&x.wrap, &excelize.Style{Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}}},
	}
	for _, s := range styles {
		id, err := f.NewStyle(s.s)
		if err != nil {
			return nil, fmt.Errorf("reports: xlsx: style: %w", err)
		}
		*s.out = id
	}
	return x, nil
}

// styled is a cell value with a style.
type styled struct {
	v     any
	style int
}

// grid writes rows on one sheet from column A down: cell by cell on an
// ordinary sheet (which charts can point at), or through a stream writer
// on a sheet that may grow long (low ratings, breaches), so that a year of
// rows never sits in memory as cells.
type grid struct {
	x      *xlsxWriter
	sheet  string
	stream *excelize.StreamWriter
	row    int
	cells  []any
	err    error
}

func (x *xlsxWriter) grid(sheet string) *grid { return &grid{x: x, sheet: sheet, row: 1} }

// streamGrid is a grid on a streamed sheet; call flush when done, and set
// its widths before its first row.
func (x *xlsxWriter) streamGrid(sheet string) *grid {
	g := x.grid(sheet)
	g.stream, g.err = x.f.NewStreamWriter(sheet)
	return g
}

// put writes one row from column A and moves down; nil leaves a cell empty.
func (g *grid) put(cells ...any) {
	if g.err != nil {
		return
	}
	if g.stream != nil {
		g.cells = g.cells[:0]
		for _, c := range cells {
			if s, ok := c.(styled); ok {
				c = excelize.Cell{StyleID: s.style, Value: s.v}
			}
			g.cells = append(g.cells, c)
		}
		ref, err := excelize.CoordinatesToCellName(1, g.row)
		if err == nil {
			err = g.stream.SetRow(ref, g.cells)
		}
		g.err = err
		g.row++
		return
	}
	for i, c := range cells {
		ref, err := excelize.CoordinatesToCellName(i+1, g.row)
		if err != nil {
			g.err = err
			return
		}
		style := 0
		if s, ok := c.(styled); ok {
			c, style = s.v, s.style
		}
		if c == nil {
			continue
		}
		if err := g.x.f.SetCellValue(g.sheet, ref, c); err != nil {
			g.err = err
			return
		}
		if style != 0 {
			if err := g.x.f.SetCellStyle(g.sheet, ref, ref, style); err != nil {
				g.err = err
				return
			}
		}
	}
	g.row++
}

// flush ends a streamed grid and returns the first error of any grid.
func (g *grid) flush() error {
	if g.err == nil && g.stream != nil {
		g.err = g.stream.Flush()
	}
	return g.err
}

// head writes a header row in the header style.
func (g *grid) head(names ...string) {
	cells := make([]any, len(names))
	for i, n := range names {
		cells[i] = styled{n, g.x.header}
	}
	g.put(cells...)
}

func (g *grid) skip() { g.row++ }

// widths sets column widths from column A.
func (g *grid) widths(ws ...float64) {
	if g.stream != nil {
		for i, w := range ws {
			if err := g.stream.SetColWidth(i+1, i+1, w); err != nil && g.err == nil {
				g.err = err
			}
		}
		return
	}
	for i, w := range ws {
		col, _ := excelize.ColumnNumberToName(i + 1)
		if err := g.x.f.SetColWidth(g.sheet, col, col, w); err != nil && g.err == nil {
			g.err = err
		}
	}
}

// rate is a rate's cell: a percentage, or "—" when nothing was counted.
func (x *xlsxWriter) rate(r models.Rate) any {
	if v, ok := r.Value(); ok {
		return styled{v, x.pct}
	}
	return "—"
}

// rateOrBlank is a rate's cell in a chart's data: empty when nothing was
// counted, so the line shows a gap rather than a zero.
func (x *xlsxWriter) rateOrBlank(r models.Rate) any {
	if v, ok := r.Value(); ok {
		return styled{v, x.pct}
	}
	return nil
}

func (x *xlsxWriter) when(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return styled{t.In(x.loc), x.dateTime}
}

func (x *xlsxWriter) whenPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return x.when(*t)
}

func (x *xlsxWriter) summary(sheet string) error {
	r, fg := x.r, x.r.Figures
	g := x.grid(sheet)
	g.widths(16, 14, 10, 8, 22, 30)
	g.put(styled{r.heading(), x.title})
	if err := x.f.MergeCell(sheet, "A1", "F1"); err != nil {
		return err
	}
	last := fg.Period.To.Add(-time.Nanosecond)
	g.put("统计区间", fmt.Sprintf("%s 至 %s", fg.Period.From.In(x.loc).Format("2006-01-02"), last.In(x.loc).Format("2006-01-02")))
	g.put("统计时点", x.when(fg.At))
	g.put("医院确认", ConfirmationState(r.Approvals))
	g.skip()
	g.head("指标", "实际", "目标", "达标", "计数", "说明")
	g.put("工单总数", fg.Created, "—", "—", nil, fmt.Sprintf("已撤销 %d 单不计入", fg.Cancelled))
	g.put("已解决", fg.Resolved, "—", "—", nil, fmt.Sprintf("仍未结 %d 单", fg.Open))
	rates := []struct {
		name string
		rate models.Rate
		what string
	}{
		{"解决率", fg.ResolutionRate, "已解决 ÷ 工单总数"},
		{"按时解决率", fg.OnTimeRate, "按时解决 ÷ 已解决"},
		{"响应及时率", fg.ResponseOnTimeRate, "按时接单 ÷ 已接单"},
		{"到场及时率", fg.OnsiteOnTimeRate, "按时到场 ÷ 需到场"},
	}
	for _, k := range rates {
		g.put(k.name, x.rate(k.rate), styled{k.rate.Target, x.pct}, rateMark(k.rate), fmt.Sprintf("%d / %d", k.rate.N, k.rate.Of), k.what)
	}
	sat := fg.Satisfaction
	var mean any = "—"
	if sat.Rated > 0 {
		mean = styled{sat.Mean, x.score}
	}
	g.put("满意度", mean, styled{sat.Target, x.score}, satMark(sat), fmt.Sprintf("已评价 %d / 邀请 %d", sat.Rated, sat.Asked), fmt.Sprintf("平均分（满分100），低分 %d 条", sat.Low))
	resp := sat.ResponseRate()
	g.put("评价回复率", x.rate(resp), "—", "—", fmt.Sprintf("%d / %d", resp.N, resp.Of), "未评价的不计为满意")
	g.put("超时工单", fg.BreachedTotal, "—", "—", nil, fmt.Sprintf("其中仍未结 %d 单，明细见「%s」", fg.OpenBreached, SheetBreaches))
	avg := "—"
	if fg.AvgResponse > 0 {
		avg = models.SpanText(fg.AvgResponse)
	}
	g.put("平均响应时长", avg, "—", "—", nil, "报修到接单")
	g.skip()
	g.put(styled{"医院确认", x.title})
	g.head("审核人", "送达时间", "结果", "答复时间", "意见")
	if len(r.Approvals) == 0 {
		g.put("尚未送医院确认")
	}
	for _, a := range r.Approvals {
		g.put(r.person(a.Approver), x.when(a.SentAt), a.Answer.Label(), x.whenPtr(a.AnsweredAt), a.Comment)
	}
	return g.err
}

func (x *xlsxWriter) trend(sheet string) error {
	if x.r.Kind == Annual {
		return x.monthlyTrend(sheet)
	}
	g := x.grid(sheet)
	g.widths(12, 10, 10)
	g.head("日期", "新建", "已解决")
	for _, d := range x.r.Daily {
		g.put(styled{d.Day.In(x.loc), x.date}, d.Created, d.Resolved)
	}
	if g.err != nil {
		return g.err
	}
	if len(x.r.Daily) == 0 {
		return nil
	}
	n := len(x.r.Daily) + 1
	return x.f.AddChart(sheet, "E2", &excelize.Chart{
		Type:      excelize.Line,
		Series:    []excelize.ChartSeries{x.series(sheet, "B", n), x.series(sheet, "C", n)},
		Title:     excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: "每日新建与解决工单"}}},
		Legend:    excelize.ChartLegend{Position: "bottom"},
		Dimension: excelize.ChartDimension{Width: 720, Height: 360},
	})
}

// series is column col of a trend sheet against the dates in column A,
// rows 2..last, named by its header.
func (x *xlsxWriter) series(sheet, col string, last int) excelize.ChartSeries {
	q := "'" + sheet + "'!"
	return excelize.ChartSeries{
		Name:       fmt.Sprintf("%s$%s$1", q, col),
		Categories: fmt.Sprintf("%s$A$2:$A$%d", q, last),
		Values:     fmt.Sprintf("%s$%s$2:$%s$%d", q, col, col, last),
		Marker:     excelize.ChartMarker{Symbol: "circle", Size: 4},
	}
}

func (x *xlsxWriter) monthlyTrend(sheet string) error {
	g := x.grid(sheet)
	g.widths(10, 10, 10, 10, 12, 12, 10)
	g.head("月份", "工单数", "已解决", "解决率", "按时解决率", "响应及时率", "满意度")
	for i, m := range x.r.Months {
		label := fmt.Sprintf("%d月", i+1)
		if m == nil {
			g.put(label)
			continue
		}
		if !m.Period.From.IsZero() {
			label = fmt.Sprintf("%d月", m.Period.From.In(x.loc).Month())
		}
		var sat any
		if m.Satisfaction.Rated > 0 {
			sat = styled{m.Satisfaction.Mean, x.score}
		}
		g.put(label, m.Created, m.Resolved, x.rateOrBlank(m.ResolutionRate), x.rateOrBlank(m.OnTimeRate), x.rateOrBlank(m.ResponseOnTimeRate), sat)
	}
	if g.err != nil || len(x.r.Months) == 0 {
		return g.err
	}
	n := len(x.r.Months) + 1
	if err := x.f.AddChart(sheet, "I2", &excelize.Chart{
		Type:      excelize.Col,
		Series:    []excelize.ChartSeries{x.series(sheet, "B", n), x.series(sheet, "C", n)},
		Title:     excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: "每月工单数与解决数"}}},
		Legend:    excelize.ChartLegend{Position: "bottom"},
		Dimension: excelize.ChartDimension{Width: 640, Height: 320},
	}); err != nil {
		return err
	}
	return x.f.AddChart(sheet, "I20", &excelize.Chart{
		Type:      excelize.Line,
		Series:    []excelize.ChartSeries{x.series(sheet, "D", n), x.series(sheet, "E", n), x.series(sheet, "F", n)},
		Title:     excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: "每月解决率、按时解决率、响应及时率"}}},
		Legend:    excelize.ChartLegend{Position: "bottom"},
		YAxis:     excelize.ChartAxis{NumFmt: excelize.ChartNumFmt{CustomNumFmt: "0%"}, MajorGridLines: true},
		Dimension: excelize.ChartDimension{Width: 640, Height: 320},
	})
}

// groups writes one breakdown table and returns after a blank row.
func (x *xlsxWriter) groups(g *grid, keyHeader string, rows []models.Group, name func(string) string) {
	g.head(keyHeader, "工单数", "已解决", "解决率", "按时解决", "按时解决率", "超时", "已评价", "满意度")
	if len(rows) == 0 {
		g.put("本期无工单")
	}
	for _, k := range rows {
		var mean any = "—"
		if k.Rated > 0 {
			mean = styled{k.Mean(), x.score}
		}
		g.put(name(k.Key), k.Created, k.Resolved, x.rate(models.Rate{N: k.Resolved, Of: k.Created}),
			k.OnTime, x.rate(models.Rate{N: k.OnTime, Of: k.Resolved}), k.Breached, k.Rated, mean)
	}
	g.skip()
}

var groupWidths = []float64{22, 10, 10, 10, 10, 12, 8, 10, 10}

func (x *xlsxWriter) bySystem(sheet string) error {
	g := x.grid(sheet)
	g.widths(groupWidths...)
	x.groups(g, "系统", x.r.Figures.BySystem, x.r.system)
	return g.err
}

func (x *xlsxWriter) byEngineer(sheet string) error {
	g := x.grid(sheet)
	g.widths(groupWidths...)
	x.groups(g, "工程师", x.r.Figures.ByEngineer, func(id string) string {
		if id == "" {
			return "未分配"
		}
		return x.r.person(id)
	})
	return g.err
}

func (x *xlsxWriter) byCategory(sheet string) error {
	fg := x.r.Figures
	g := x.grid(sheet)
	g.widths(groupWidths...)
	g.put(styled{"按科室", x.title})
	x.groups(g, "科室", fg.ByDepartment, func(k string) string {
		if k == "" {
			return "未填写科室"
		}
		return k
	})
	g.put(styled{"按优先级", x.title})
	x.groups(g, "优先级", fg.ByPriority, func(k string) string { return models.Priority(k).Label() })
	g.put(styled{"按类型", x.title})
	x.groups(g, "类型", fg.ByKind, func(k string) string { return models.Kind(k).Label() })
	return g.err
}

func (x *xlsxWriter) breaches(sheet string) error {
	g := x.streamGrid(sheet)
	g.widths(8, 18, 8, 30, 10, 12, 17, 14, 40)
	g.head("工单号", "系统", "优先级", "标题", "处理人", "状态", "报修时间", "超时环节", "超时原因")
	if len(x.r.Figures.Breaches) == 0 {
		g.put("本期无超时工单")
	}
	for _, b := range x.r.Figures.Breaches {
		clocks := ""
		for i, c := range b.Clocks {
			if i > 0 {
				clocks += "、"
			}
			clocks += clockLabel(c)
		}
		reason := b.Reason
		if reason == "" {
			reason = "未填写"
		}
		g.put(b.TicketID, x.r.system(b.System), b.Priority.Label(), b.Title, x.r.person(b.Assignee), b.Status.Label(),
			x.when(b.CreatedAt), clocks, styled{reason, x.wrap})
	}
	if n := x.r.Figures.BreachedTotal; n > int64(len(x.r.Figures.Breaches)) {
		g.put(fmt.Sprintf("共 %d 张超时工单，此处列出前 %d 张；全部见“%s”表的超时环节和超时原因列。", n, len(x.r.Figures.Breaches), SheetTickets))
	}
	return g.flush()
}

// records writes the service records: one titled table after another.
func (x *xlsxWriter) records(sheet string) error {
	g := x.grid(sheet)
	g.widths(10, 18, 36, 17, 17, 14, 40)
	if len(x.r.Records) == 0 {
		g.put("本期没有服务记录")
	}
	for i, t := range x.r.Records {
		if i > 0 {
			g.skip()
		}
		g.put(styled{t.Title, x.title})
		g.head(t.Header...)
		if len(t.Rows) == 0 {
			g.put(t.Empty)
		}
		for _, row := range t.Rows {
			cells := make([]any, len(row))
			for j, c := range row {
				cells[j] = c
			}
			g.put(cells...)
		}
	}
	return g.err
}

func (x *xlsxWriter) ratings(sheet string) error {
	sat := x.r.Figures.Satisfaction
	g := x.streamGrid(sheet)
	g.widths(12, 18, 10, 8, 36, 17, 36, 10, 17)
	g.put(styled{"满意度汇总", x.title})
	g.head("项目", "数值", "目标", "达标")
	var mean any = "—"
	if sat.Rated > 0 {
		mean = styled{sat.Mean, x.score}
	}
	g.put("平均分", mean, styled{sat.Target, x.score}, satMark(sat))
	g.put("已评价", sat.Rated)
	g.put("邀请评价", sat.Asked)
	g.put("回复率", x.rate(sat.ResponseRate()))
	g.put("低分评价", sat.Low)
	g.skip()
	g.put(styled{"低分评价及回访", x.title})
	g.head("工单号", "系统", "评价人", "评分", "意见", "评价时间", "回访结果", "回访人", "回访时间")
	if len(x.r.LowRatings) == 0 {
		g.put("本期无低分评价")
	}
	for _, l := range x.r.LowRatings {
		follow := l.FollowUp
		if follow == "" {
			follow = "尚未回访"
		}
		g.put(l.Ticket, x.r.system(l.System), x.r.person(l.Reporter), l.Score, styled{l.Comment, x.wrap},
			x.when(l.RatedAt), styled{follow, x.wrap}, x.r.person(l.FollowUpBy), x.whenPtr(l.FollowUpAt))
	}
	return g.flush()
}

func (x *xlsxWriter) survey(sheet string) error {
	g := x.grid(sheet)
	g.widths(10, 50, 10, 10)
	s := x.r.Survey
	if s == nil {
		g.put("本年度未开展满意度调查")
		return g.err
	}
	g.put(styled{fmt.Sprintf("%d年度满意度调查", s.Year), x.title})
	g.head("项目", "数值", "目标", "达标")
	var mean any = "—"
	if s.Overall.Rated > 0 {
		mean = styled{s.Overall.Mean, x.score}
	}
	g.put("总体得分", mean, styled{s.Overall.Target, x.score}, satMark(s.Overall))
	g.put("调查对象", s.Overall.Asked)
	g.put("已答卷", s.Overall.Rated)
	g.put("回复率", x.rate(s.Overall.ResponseRate()))
	g.skip()
	g.head("序号", "问题", "平均分", "答题数")
	for i, q := range s.Questions {
		var m any = "—"
		if q.Answers > 0 {
			m = styled{q.Mean, x.score}
		}
		g.put(i+1, styled{q.Text, x.wrap}, m, q.Answers)
	}
	g.skip()
	g.head("序号", "意见", "填写人")
	if len(s.Comments) == 0 {
		g.put("无")
	}
	for i, c := range s.Comments {
		by := x.r.person(c.By)
		if by == "" {
			by = "匿名"
		}
		g.put(i+1, styled{c.Text, x.wrap}, by)
	}
	return g.err
}

// tickets streams every ticket of the period onto the sheet. It is the
// report's hot loop (half a million rows a year): the reading goroutine
// turns each ticket into its cells, so that the writing one only calls
// excelize; dates go in as serial numbers under a column style, and the
// missed deadlines share one column.
func (x *xlsxWriter) tickets(sheet string) error {
	sw, err := x.f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	widths := []float64{8, 8, 18, 6, 12, 30, 14, 10, 10, 6, 17, 17, 17, 17, 17, 17, 17, 17, 14, 30, 6, 30}
	for i, w := range widths {
		if err := sw.SetColWidth(i+1, i+1, w); err != nil {
			return err
		}
	}
	if err := sw.SetColStyle(firstTimeCol, lastTimeCol, x.dateTime); err != nil {
		return err
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	head := make([]any, len(ticketHeader))
	for i, h := range ticketHeader {
		head[i] = excelize.Cell{StyleID: x.header, Value: h}
	}
	if err := sw.SetRow("A1", head); err != nil {
		return err
	}
	if x.r.Tickets != nil {
		row := 1
		err = pipeline(x.r.Tickets, len(ticketHeader), x.ticketCells(), func(cells []any) error {
			row++
			ref, err := excelize.CoordinatesToCellName(1, row)
			if err != nil {
				return err
			}
			return sw.SetRow(ref, cells)
		})
		if err != nil {
			return fmt.Errorf("tickets: %w", err)
		}
	}
	return sw.Flush()
}

// ticketCells returns the function that fills a ticket's row of cells.
// The names and labels repeat on every row: each is boxed once, so that a
// row costs no allocation for them.
func (x *xlsxWriter) ticketCells() func(t *TicketRow, cells []any) {
	var missed [8]any // by bit set: response 1, onsite 2, resolution 4
	for bits := 1; bits < 8; bits++ {
		s := ""
		for i, c := range []models.Clock{models.ClockResponse, models.ClockOnsite, models.ClockResolution} {
			if bits&(1<<i) != 0 {
				if s != "" {
					s += "、"
				}
				s += clockLabel(c)
			}
		}
		missed[bits] = s
	}
	// One cache per column kind: a key is looked up as it is, with no
	// string built per row.
	caches := map[byte]map[string]any{}
	box := func(kind byte, key string, name func(string) string) any {
		c := caches[kind]
		if c == nil {
			c = map[string]any{}
			caches[kind] = c
		}
		v, ok := c[key]
		if !ok {
			if n := name(key); n != "" {
				v = n // an empty name stays nil: an empty cell
			}
			c[key] = v
		}
		return v
	}
	kindLabel := func(k string) string { return models.Kind(k).Label() }
	priorityLabel := func(k string) string { return models.Priority(k).Label() }
	statusLabel := func(k string) string { return models.Status(k).Label() }
	same := func(s string) string { return s }
	serial := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return excelSerial(t, x.loc)
	}
	serialPtr := func(t *time.Time) any {
		if t == nil {
			return nil
		}
		return serial(*t)
	}
	text := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	return func(t *TicketRow, cells []any) {
		reporter := box('n', t.ReporterName, same)
		if reporter == nil {
			reporter = box('p', t.Reporter, x.r.person)
		}
		var major, rating any
		if t.Major {
			major = "是"
		}
		if t.Rating > 0 {
			rating = t.Rating
		}
		bits := 0
		if t.ResponseBreached {
			bits |= 1
		}
		if t.OnsiteBreached {
			bits |= 2
		}
		if t.ResolutionBreached {
			bits |= 4
		}
		copy(cells, []any{t.Number, box('k', string(t.Kind), kindLabel), box('s', t.System, x.r.system), box('r', string(t.Priority), priorityLabel),
			box('t', string(t.Status), statusLabel), text(t.Title), box('d', t.Department, same), reporter, box('p', t.Assignee, x.r.person), major,
			serial(t.CreatedAt), serialPtr(t.ClaimedAt), serialPtr(t.OnsiteAt), serialPtr(t.ResolvedAt), serialPtr(t.ClosedAt),
			serial(t.DueResponse), serialPtr(t.DueOnsite), serial(t.DueResolution),
			missed[bits], text(t.BreachReason), rating, text(t.RatingComment)})
	}
}

// errStopped tells the ticket source that the writer gave up.
var errStopped = errors.New("reports: ticket sheet stopped")

// pipeline runs the ticket source on its own goroutine, which also turns
// each ticket into width cells with fill, and hands the rows to write in
// batches: reading (a database cursor) and writing share the machine's
// cores. A failing write stops the source; the source's own error is
// returned after its rows are written.
func pipeline(source func(yield func(TicketRow) error) error, width int, fill func(*TicketRow, []any), write func(cells []any) error) error {
	const batchRows = 512
	type batch struct {
		cells []any
		rows  int
	}
	batches := make(chan *batch, 8)
	free := make(chan *batch, 10)
	stop := make(chan struct{})
	var srcErr error
	go func() {
		defer close(batches)
		defer func() {
			if p := recover(); p != nil {
				srcErr = fmt.Errorf("ticket source panicked: %v", p)
			}
		}()
		b := &batch{cells: make([]any, batchRows*width)}
		send := func() error {
			select {
			case batches <- b:
			case <-stop:
				return errStopped
			}
			select {
			case b = <-free:
				b.rows = 0
			default:
				b = &batch{cells: make([]any, batchRows*width)}
			}
			return nil
		}
		srcErr = source(func(t TicketRow) error {
			fill(&t, b.cells[b.rows*width:(b.rows+1)*width])
			if b.rows++; b.rows < batchRows {
				return nil
			}
			return send()
		})
		if srcErr == nil && b.rows > 0 {
			_ = send()
		}
	}()
	for b := range batches {
		for i := 0; i < b.rows; i++ {
			if err := write(b.cells[i*width : (i+1)*width]); err != nil {
				close(stop)
				for range batches {
				}
				return err
			}
		}
		select {
		case free <- b:
		default:
		}
	}
	return srcErr
}

// The ticket sheet's date columns (报修时间 … 解决时限), 1-based.
const firstTimeCol, lastTimeCol = 11, 18

// excelSerial is t's wall-clock time in loc as an Excel date serial: days
// since 1899-12-30, rounded to a millionth of a day (0.09 s) so that it is
// written in 12 digits rather than 17 — a third of the ticket sheet's cells
// are dates.
func excelSerial(t time.Time, loc *time.Location) float64 {
	_, offset := t.In(loc).Zone()
	days := float64(t.Unix()+int64(offset))/86400 + 25569
	return math.Round(days*1e6) / 1e6
}
