package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"opsbot/reports"
)

func TestChangeExportsTheFormAsDOCX(t *testing.T) {
	for name, env := range cliDatabases(t) {
		t.Run(name, func(t *testing.T) {
			day := time.Now().In(time.FixedZone("CST", 8*3600)).AddDate(0, 0, 3).Format("01-02")
			lines := []string{"变更申请", "检验", "LIS 升级到 5.2 版本", "修复危急值漏报", "中", "恢复升级前的备份", day + " 22:00-23:30", "检验科"}
			code, out, errs := runCLI(t, env, strings.Join(lines, "\n")+"\n", "chat", "--user", "zhangsan")
			if code != 0 || !strings.Contains(out, "已提交变更 #1") {
				t.Fatalf("chat exit %d: %s\n%s", code, errs, out)
			}
			file := filepath.Join(t.TempDir(), "change.docx")
			code, out, errs = runCLI(t, env, "", "change", "1", "--out", file)
			if code != 0 || !strings.Contains(out, "已导出变更 #1") {
				t.Fatalf("change exit %d: %s\n%s", code, errs, out)
			}
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, _ := f.Stat()
			text, err := reports.ReadDOCXText(f, st.Size())
			if err != nil {
				t.Fatalf("the DOCX does not open: %v", err)
			}
			for _, want := range []string{"变更申请单", "变更 #1", "张三", "一、变更内容", "检验信息系统", "LIS 升级到 5.2 版本", "恢复升级前的备份", "二、审批记录", "服务主管", "待审批"} {
				if !strings.Contains(text, want) {
					t.Errorf("want %q in the form:\n%s", want, text)
				}
			}
			code, _, errs = runCLI(t, env, "", "change", "9", "--out", file)
			if code == 0 || !strings.Contains(errs, "未找到变更 #9") {
				t.Fatalf("unknown change: exit %d %s", code, errs)
			}
			if code, _, _ = runCLI(t, env, "", "change", "1"); code != 2 {
				t.Fatalf("missing --out: exit %d", code)
			}
		})
	}
}
