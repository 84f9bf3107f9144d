package configs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tenderSystems is the list of tender section 4.1, in order.
var tenderSystems = []string{
	"门急诊挂号", "门急诊收费", "出入院管理", "医技收费管理", "药库管理", "门诊药房管理", "住院药房管理",
	"门诊输液管理", "分诊管理", "挂号排班管理", "预约管理", "充值卡管理", "系统配置", "医疗保险接口",
	"临床门诊基础功能", "电子处方管理", "门诊电子申请单", "门诊电子病历", "住院临床基础功能", "电子医嘱",
	"住院电子病历", "住院电子申请单", "住院临床路径", "抗菌药物管理", "住院护士工作站", "护理病历",
	"治疗管理系统", "院感管理系统", "电子签名接口", "临床辅助决策软件", "物资管理系统", "微生物管理",
	"检验信息系统", "血库管理系统", "供应室管理系统", "设备管理", "住院手术管理", "医疗统计报表",
	"住院院内会诊管理", "疾病监测报告管理系统", "体检管理系统", "统一支付平台", "微信公众号接口", "移动护理",
	"移动医生站", "不良事件管理", "临床数据平台", "病案管理系统",
}

func TestEmbeddedSystems(t *testing.T) {
	systems, err := LoadSystems("")
	if err != nil {
		t.Fatal(err)
	}
	if len(systems) != len(tenderSystems) {
		t.Fatalf("%d systems, want %d", len(systems), len(tenderSystems))
	}
	codes := map[string]bool{}
	for i, s := range systems {
		if s.Name != tenderSystems[i] {
			t.Errorf("system %d is %q, want the tender's %q", i+1, s.Name, tenderSystems[i])
		}
		if codes[s.Code] {
			t.Errorf("code %s is used twice", s.Code)
		}
		codes[s.Code] = true
		if len(s.Aliases) == 0 {
			t.Errorf("system %s has no aliases", s.Code)
		}
	}
	category := map[string]string{}
	for _, s := range systems {
		category[s.Name] = s.Category
	}
	for name, want := range map[string]string{
		"门急诊挂号": "HIS", "门急诊收费": "HIS", "出入院管理": "HIS", "药库管理": "HIS", "充值卡管理": "HIS",
		"系统配置": "HIS", "检验信息系统": "LIS", "微生物管理": "LIS", "血库管理系统": "LIS",
	} {
		if category[name] != want {
			t.Errorf("%s is in category %q, want %q", name, category[name], want)
		}
	}
}

func TestEmbeddedDepartments(t *testing.T) {
	deps, err := LoadDepartments("")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, d := range deps {
		names[d.Name] = true
	}
	for _, want := range []string{"门诊收费处", "挂号处", "急诊科", "内科", "外科", "儿科", "妇产科", "检验科",
		"放射科", "药剂科", "门诊药房", "住院药房", "护理部", "手术室", "信息科", "体检中心", "病案室", "住院处", "ICU", "五病区"} {
		if !names[want] {
			t.Errorf("department %s missing", want)
		}
	}
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadSystemsRejectsBadFiles(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string // substrings the error must contain, besides the file name
	}{
		{"unknown key", "systems:\n  - code: REG\n    name: 门急诊挂号\n    category: HIS\n    alias: [挂号]\n",
			[]string{"line 5", "alias"}},
		{"unknown top-level key", "system:\n  - code: REG\n", []string{"line 1", "system"}},
		{"empty code", "systems:\n  - code: REG\n    name: 门急诊挂号\n    category: HIS\n  - name: 门急诊收费\n    category: HIS\n",
			[]string{"line 5", "system #2 has no code"}},
		{"empty name", "systems:\n  - code: REG\n    category: HIS\n", []string{"line 2", "REG has no name"}},
		{"lower-case code", "systems:\n  - code: reg\n    name: 门急诊挂号\n    category: HIS\n", []string{"line 2", "upper-case"}},
		{"duplicate code", "systems:\n  - code: REG\n    name: 门急诊挂号\n    category: HIS\n  - code: REG\n    name: 门急诊收费\n    category: HIS\n",
			[]string{"line 5", "already used on line 2"}},
		{"alias of two systems", "systems:\n  - code: REG\n    name: 门急诊挂号\n    category: HIS\n    aliases: [挂号, 收费]\n" +
			"  - code: OPB\n    name: 门急诊收费\n    category: HIS\n    aliases:\n      - 发票\n      - ＳＦ\n      - 收费\n",
			[]string{"line 12", `"收费"`, "OPB", "REG on line 5"}},
		{"alias equal after folding", "systems:\n  - code: REG\n    name: 门急诊挂号\n    category: HIS\n    aliases: [HIS系统]\n" +
			"  - code: OPB\n    name: 门急诊收费\n    category: HIS\n    aliases: [\"his 系统\"]\n",
			[]string{"line 9", "REG"}},
		{"alias listed twice", "systems:\n  - code: REG\n    name: 门急诊挂号\n    category: HIS\n    aliases: [挂号, 挂号]\n",
			[]string{"line 5", "listed twice"}},
		{"code is another system's alias", "systems:\n  - code: REG\n    name: 门急诊挂号\n    category: HIS\n    aliases: [OPB]\n" +
			"  - code: OPB\n    name: 门急诊收费\n    category: HIS\n", []string{"line 6", "code OPB", "alias of system REG"}},
		{"not YAML", "systems: [\n", []string{"line"}},
		{"empty file", "", []string{"empty"}},
		{"no systems", "systems: []\n", []string{"no systems"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "systems.yaml", tt.body)
			_, err := LoadSystems(path)
			wantFileError(t, path, err, tt.want)
		})
	}
}

func TestLoadDepartmentsRejectsBadFiles(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
	}{
		{"unknown key", "departments:\n  - name: 急诊科\n    where: 一楼\n", []string{"line 3", "where"}},
		{"no name", "departments:\n  - name: 急诊科\n  - aliases: [内一科]\n", []string{"line 3", "department #2 has no name"}},
		{"alias of two departments", "departments:\n  - name: 门诊药房\n    aliases: [药房]\n  - name: 住院药房\n    aliases: [药房]\n",
			[]string{"line 5", "门诊药房 on line 3"}},
		{"name twice", "departments:\n  - name: 内科\n  - name: 内科\n", []string{"line 3", "内科"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "departments.yaml", tt.body)
			_, err := LoadDepartments(path)
			wantFileError(t, path, err, tt.want)
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	if _, err := LoadSystems(filepath.Join(t.TempDir(), "nope.yaml")); err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("err = %v, want one naming the file", err)
	}
}

func TestFoldKey(t *testing.T) {
	for in, want := range map[string]string{"ＨＩＳ": "his", "H I S": "his", "电子病历！": "电子病历", "Lis": "lis", "360视图": "360视图"} {
		if got := FoldKey(in); got != want {
			t.Errorf("FoldKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// wantFileError fails unless err starts with the file's path and mentions
// every fragment of want.
func wantFileError(t *testing.T, path string, err error, want []string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, path+":") {
		t.Errorf("error %q does not start with the file name", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not mention %q", msg, w)
		}
	}
}
