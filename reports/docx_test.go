package reports_test

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"

	"opsbot/reports"
)

func incidentDoc() reports.Doc {
	return reports.Doc{
		Title: "重大事件分析报告",
		Meta:  []reports.KV{{"事件编号", "#128"}, {"系统", "门急诊挂号"}, {"报告日期", "2026-11-30"}},
		Sections: []reports.Section{
			{Heading: "一、事件经过", Table: &reports.Table{
				Header: []string{"时间", "事件", "人员"},
				Rows: [][]string{
					{"11-28 08:02", "首次报修", "赵护士"},
					{"11-28 08:10", "接单", "张三"},
					{"11-28 09:40", "已解决", "张三"},
				},
			}},
			{Heading: "二、影响", KV: []reports.KV{{"持续时间", "1小时38分"}, {"合并报修", "7 单"}, {"受影响科室", "门诊部、急诊科"}}},
			{Heading: "三、根本原因", Paragraphs: []string{"数据库连接池耗尽，挂号服务无法取得连接。", "触发原因：<晨间高峰> & 慢查询。\n第二行说明。"}},
			{Heading: "四、整改措施", Paragraphs: []string{"扩大连接池并为挂号查询加索引。"}},
		},
		Signatures: []string{"服务主管", "信息科负责人"},
	}
}

func TestWriteDOCX(t *testing.T) {
	var buf bytes.Buffer
	if err := reports.WriteDOCX(&buf, incidentDoc()); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	parts := map[string]*zip.File{}
	for _, f := range zr.File {
		parts[f.Name] = f
	}
	for _, name := range []string{"[Content_Types].xml", "_rels/.rels", "word/document.xml", "word/styles.xml", "word/_rels/document.xml.rels"} {
		f, ok := parts[name]
		if !ok {
			t.Errorf("missing part %s", name)
			continue
		}
		rc, _ := f.Open()
		dec := xml.NewDecoder(rc)
		for {
			if _, err := dec.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Errorf("%s does not parse as XML: %v", name, err)
				break
			}
		}
		rc.Close()
	}

	read := func(name string) string {
		rc, err := parts[name].Open()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, _ := io.ReadAll(rc)
		return string(b)
	}
	if doc := read("word/document.xml"); !strings.Contains(doc, `<w:pgSz w:w="11906" w:h="16838">`) {
		t.Error("page is not A4")
	}
	if core := read("docProps/core.xml"); !strings.Contains(core, "<dc:title>重大事件分析报告</dc:title>") || strings.Contains(core, "gomutex") {
		t.Errorf("document properties: %s", core)
	}

	text, err := reports.ReadDOCXText(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(text, "\n")
	for _, want := range []string{
		"重大事件分析报告",
		"事件编号\t#128",
		"系统\t门急诊挂号",
		"一、事件经过",
		"时间\t事件\t人员",
		"11-28 08:02\t首次报修\t赵护士",
		"11-28 09:40\t已解决\t张三",
		"二、影响",
		"受影响科室\t门诊部、急诊科",
		"三、根本原因",
		"数据库连接池耗尽，挂号服务无法取得连接。",
		"触发原因：<晨间高峰> & 慢查询。",
		"第二行说明。",
		"四、整改措施",
		"扩大连接池并为挂号查询加索引。",
		"服务主管（签字）：____________　　日期：______年____月____日",
		"信息科负责人（签字）：____________　　日期：______年____月____日",
	} {
		found := false
		for _, l := range lines {
			if l == want {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("document text lacks the line %q\n%s", want, text)
		}
	}
	if strings.Index(text, "一、事件经过") > strings.Index(text, "二、影响") {
		t.Error("sections out of order")
	}
}

func TestReadDOCXTextRejectsNonDocx(t *testing.T) {
	junk := []byte("not a zip at all")
	if _, err := reports.ReadDOCXText(bytes.NewReader(junk), int64(len(junk))); err == nil {
		t.Error("junk read as a document")
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("word/other.xml")
	w.Write([]byte("<x/>"))
	zw.Close()
	if _, err := reports.ReadDOCXText(bytes.NewReader(buf.Bytes()), int64(buf.Len())); err == nil {
		t.Error("a zip without word/document.xml read as a document")
	}
}

func TestDocMarkdown(t *testing.T) {
	md := incidentDoc().Markdown()
	for _, want := range []string{
		"# 重大事件分析报告\n",
		"**事件编号**：#128\n",
		"## 一、事件经过\n**时间｜事件｜人员**\n> 11-28 08:02｜首次报修｜赵护士\n",
		"**持续时间**：1小时38分\n",
		"## 三、根本原因\n数据库连接池耗尽，挂号服务无法取得连接。\n",
		"信息科负责人：待签字",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestChangeRequestDoc(t *testing.T) {
	d := reports.Doc{
		Title: "变更申请单",
		Meta:  []reports.KV{{"变更编号", "C-2026-015"}, {"状态", "待审批"}},
		Sections: []reports.Section{{Heading: "变更内容", KV: []reports.KV{
			{"系统", "检验信息系统"}, {"变更内容", "升级 LIS 接口至 3.2"}, {"原因", "医保新规"}, {"风险", "中"},
			{"回退方案", "恢复 3.1 安装包\n并回滚数据库脚本"}, {"计划窗口", "12-05 22:00 至 12-06 01:00"},
		}}},
		Signatures: []string{"申请人", "服务主管", "信息科"},
	}
	var buf bytes.Buffer
	if err := reports.WriteDOCX(&buf, d); err != nil {
		t.Fatal(err)
	}
	text, err := reports.ReadDOCXText(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"变更申请单\n", "变更编号\tC-2026-015\n", "回退方案\t恢复 3.1 安装包 并回滚数据库脚本\n", "申请人（签字）"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
}

// docxText writes d and reads its text back, as a recipient's Word would.
func docxText(t *testing.T, d reports.Doc) string {
	t.Helper()
	var buf bytes.Buffer
	if err := reports.WriteDOCX(&buf, d); err != nil {
		t.Fatal(err)
	}
	text, err := reports.ReadDOCXText(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	return text
}

func TestIncidentReportDoc(t *testing.T) {
	start := time.Date(2026, 11, 28, 0, 2, 0, 0, time.UTC)
	in := reports.IncidentReport{
		Ticket: 128, System: "门急诊挂号", Title: "挂号系统无法出号",
		ReportedAt: start, ResolvedAt: at(start.Add(98 * time.Minute)), Duration: 98 * time.Minute,
		Merged: 7, Departments: []string{"门诊部", "急诊科"}, Breaches: []string{"解决"},
		Timeline: []reports.TimelineEntry{
			{At: start, What: "首次报修", Who: "赵护士"},
			{At: start.Add(8 * time.Minute), What: "接单", Who: "张三"},
		},
		RootCause: "数据库连接池耗尽。",
		People:    []reports.KV{{"处理工程师", "张三"}, {"服务主管", "王五"}},
		Status:    "待医院确认",
		Location:  shanghai,
	}
	text := docxText(t, in.Doc())
	for _, want := range []string{
		"重大事件分析报告\n", "事件工单\t#128 挂号系统无法出号\n", "首次报修\t2026-11-28 08:02\n", "解决时间\t2026-11-28 09:40\n",
		"一、事件经过\n", "2026-11-28 08:10\t接单\t张三\n",
		"二、影响范围\n", "影响时长\t1小时38分\n", "合并报修\t7 单\n", "受影响科室\t门诊部、急诊科\n", "超时情况\t解决\n",
		"三、根本原因\n数据库连接池耗尽。\n",
		"四、整改措施\n（尚未填写）\n",
		"五、参与人员\n", "服务主管\t王五\n",
		"信息科负责人（签字）",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("incident report lacks %q:\n%s", want, text)
		}
	}
	md := in.Doc().Markdown()
	if !strings.Contains(md, "## 四、整改措施\n（尚未填写）") || !strings.Contains(md, "> 2026-11-28 08:02｜首次报修｜赵护士") {
		t.Errorf("incident markdown:\n%s", md)
	}
}

func TestChangeRequestFromRecord(t *testing.T) {
	from := time.Date(2026, 12, 5, 14, 0, 0, 0, time.UTC)
	c := reports.ChangeRequest{
		Number: 15, System: "检验信息系统", What: "升级 LIS 接口至 3.2", Why: "医保新规", Risk: "中",
		Rollback: "恢复 3.1 安装包", WindowFrom: from, WindowTo: from.Add(3 * time.Hour),
		Departments: []string{"检验科"}, Requester: "张三", RequestedAt: from.Add(-48 * time.Hour), Status: "已驳回",
		Approvals: []reports.ChangeApproval{
			{Step: "服务主管", Approver: "王五", Answer: "同意", At: at(from.Add(-40 * time.Hour))},
			{Step: "信息科", Approver: "李四", Answer: "驳回", Reason: "与体检高峰冲突", At: at(from.Add(-30 * time.Hour))},
		},
		Location: shanghai,
	}
	text := docxText(t, c.Doc())
	for _, want := range []string{
		"变更申请单\n", "变更编号\t变更 #15\n", "状态\t已驳回\n", "计划窗口\t2026-12-05 22:00 至 2026-12-06 01:00\n",
		"风险等级\t中\n", "影响科室\t检验科\n",
		"审批环节\t审批人\t意见\t理由\t时间\n", "信息科\t李四\t驳回\t与体检高峰冲突\t2026-12-04 16:00\n",
		"申请人（签字）",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("change form lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "窗口内相关报修") {
		t.Error("a change with no linked tickets lists them")
	}
}
