package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const cliImportHeader = "number,kind,system,priority,reporter,assignee,created_at,claimed_at,onsite_at,resolved_at,closed_at,status,rating\n"

func TestImportTicketsCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := cliImportHeader +
		"41,fault,门急诊收费,high,n1,zhangsan,2025-11-03 09:00,2025-11-03 09:20,2025-11-03 10:00,2025-11-03 11:00,2025-11-03 12:00,closed,100\n" +
		"42,question,LIS,low,n2,,2025-11-04 09:00,,,,,new,\n"
	goodFile := write("good.csv", good)
	badFile := write("bad.csv", good+"43,fault,OPB,urgent,n3,,2025-11-05 09:00,,,,,new,\n")

	for name, env := range cliDatabases(t) {
		t.Run(name, func(t *testing.T) {
			code, _, errs := runCLI(t, env, "", "import")
			if code != 2 || !strings.Contains(errs, "opsbot import tickets FILE.csv") {
				t.Fatalf("no arguments: exit %d, %s", code, errs)
			}

			code, out, errs := runCLI(t, env, "", "import", "tickets", badFile)
			if code != 1 || !strings.Contains(errs, `第 4 行：priority "urgent" 不对`) || !strings.Contains(errs, "有 1 行不能导入，所有工单均未导入") {
				t.Fatalf("bad file: exit %d\n%s\n%s", code, out, errs)
			}
			if code, _, errs := runCLI(t, env, "", "ticket", "41"); code == 0 || !strings.Contains(errs, "未找到工单 #41") {
				t.Fatalf("a bad file imported #41: exit %d, %s", code, errs)
			}

			code, out, errs = runCLI(t, env, "", "import", "tickets", goodFile)
			if code != 0 || !strings.Contains(out, "已导入 2 张工单，0 张已存在未改动，0 行有误；新工单将从 #43 开始编号") {
				t.Fatalf("import: exit %d\n%s\n%s", code, out, errs)
			}
			code, out, errs = runCLI(t, env, "", "import", "tickets", goodFile)
			if code != 0 || !strings.Contains(out, "已导入 0 张工单，2 张已存在未改动") {
				t.Fatalf("import again: exit %d\n%s\n%s", code, out, errs)
			}
			code, out, _ = runCLI(t, env, "", "ticket", "41", "--json")
			if code != 0 || !strings.Contains(out, `"system": "OPB"`) || !strings.Contains(out, `"status": "closed"`) || !strings.Contains(out, `"due_resolution": "2025-11-04T09:00:00+08:00"`) {
				t.Fatalf("ticket 41:\n%s", out)
			}

			// A ticket reported after the import gets the next number.
			code, out, errs = runCLI(t, env, "报修 门诊收费 3号窗口打印不了发票\n", "chat", "--user", "nurse01")
			if code != 0 || !strings.Contains(out, "已登记工单 #43") {
				t.Fatalf("report after import: exit %d\n%s\n%s", code, out, errs)
			}
		})
	}
}
