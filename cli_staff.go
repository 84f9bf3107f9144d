package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"opsbot/bot"
	"opsbot/doctor"
)

const staffUsage = `用法：opsbot staff import --department <部门ID|部门名称> [--out 文件] [--children] [--force]

从企业微信通讯录读取一个部门的成员，写出待核对的人员名单（格式同 configs/staff.example.yaml）。
role、level、systems 留空待填；企业微信没有返回的字段（如手机号）在文件开头注明。
  --out FILE    输出文件（默认 staff.imported.yaml；- 表示输出到屏幕）；不覆盖已有文件，除非 --force
  --children    连同下级部门的成员`

// cmdStaff dispatches the roster subcommands.
func cmdStaff(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || args[0] != "import" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprintln(e.stdout, staffUsage)
			return nil
		}
		return usageError{staffUsage}
	}
	return cmdStaffImport(ctx, e, args[1:])
}

// cmdStaffImport writes a draft roster from a WeCom department.
func cmdStaffImport(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("staff import", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dept := fs.String("department", "", "")
	out := fs.String("out", "staff.imported.yaml", "")
	children := fs.Bool("children", false, "")
	force := fs.Bool("force", false, "")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(e.stdout, staffUsage)
		return nil
	} else if err != nil {
		return usageError{fmt.Sprintf("参数有误：%v\n\n%s", err, staffUsage)}
	}
	if strings.TrimSpace(*dept) == "" || fs.NArg() > 0 {
		return usageError{staffUsage}
	}
	if *out != "-" && !*force {
		if _, err := os.Stat(*out); err == nil {
			return fmt.Errorf("%s 已存在，不会覆盖（换一个 --out 或加 --force）", *out)
		}
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	if !cfg.WeCom.Enabled() {
		return errors.New("未配置企业微信（wecom.corp_id 等）：先运行 opsbot init")
	}
	p := bot.Probe{Base: cfg.WeCom.APIBase}
	tok, err := p.GetToken(ctx, cfg.WeCom.CorpID, cfg.WeCom.Secret)
	if err != nil {
		summary, fix := doctor.ExplainWeComError(err, cfg.WeCom.APIBase)
		return fmt.Errorf("取 access_token 失败：%s\n修复：%s", summary, fix)
	}
	d, err := resolveDepartment(ctx, p, tok.Value, *dept)
	if err != nil {
		return err
	}
	members, detailed, err := p.DepartmentMembers(ctx, tok.Value, d.ID, *children)
	if err != nil {
		summary, fix := doctor.ExplainWeComError(err, cfg.WeCom.APIBase)
		return fmt.Errorf("读取部门成员失败：%s\n修复：%s（应用的可见范围须包含该部门）", summary, fix)
	}
	data, n := renderImportedStaff(d, members, detailed, doctorClock().In(cfg.Location()))
	if *out == "-" {
		_, err := e.stdout.Write(data)
		return err
	}
	if err := writeNew(*out, data, *force); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "已写入 %s：%s 的 %d 人。请逐人填写 role、level、systems，核对后并入 configs/staff.yaml，再运行 opsbot doctor。\n", *out, d.Name, n)
	return nil
}

// resolveDepartment takes a department ID or a name; a name must match
// one visible department.
func resolveDepartment(ctx context.Context, p bot.Probe, token, arg string) (bot.DirectoryDepartment, error) {
	arg = strings.TrimSpace(arg)
	depts, err := p.Departments(ctx, token, 0)
	if err != nil {
		if id, convErr := strconv.Atoi(arg); convErr == nil {
			// department/list may be refused; an ID still works.
			return bot.DirectoryDepartment{ID: id, Name: "部门 " + arg}, nil
		}
		summary, fix := doctor.ExplainWeComError(err, p.Base)
		return bot.DirectoryDepartment{}, fmt.Errorf("读取部门列表失败：%s\n修复：%s", summary, fix)
	}
	if id, err := strconv.Atoi(arg); err == nil {
		for _, d := range depts {
			if d.ID == id {
				return d, nil
			}
		}
		return bot.DirectoryDepartment{ID: id, Name: "部门 " + arg}, nil
	}
	var exact, partial []bot.DirectoryDepartment
	for _, d := range depts {
		switch {
		case d.Name == arg:
			exact = append(exact, d)
		case strings.Contains(d.Name, arg):
			partial = append(partial, d)
		}
	}
	if len(exact) == 0 && len(partial) == 1 {
		exact = partial
	}
	list := func(ds []bot.DirectoryDepartment) string {
		var s []string
		for i, d := range ds {
			if i == 20 {
				s = append(s, fmt.Sprintf("…共 %d 个", len(ds)))
				break
			}
			s = append(s, fmt.Sprintf("%s（%d）", d.Name, d.ID))
		}
		return strings.Join(s, "、")
	}
	switch {
	case len(exact) == 1:
		return exact[0], nil
	case len(exact) > 1:
		return bot.DirectoryDepartment{}, fmt.Errorf("有 %d 个部门叫「%s」：%s；请用部门ID", len(exact), arg, list(exact))
	case len(partial) > 1:
		return bot.DirectoryDepartment{}, fmt.Errorf("「%s」对应多个部门：%s；请写全名或用部门ID", arg, list(partial))
	}
	return bot.DirectoryDepartment{}, fmt.Errorf("应用可见范围内没有部门「%s」。可见的部门：%s", arg, list(depts))
}

// importedField is a member field WeCom may withhold from a self-built app.
type importedField struct {
	name string
	get  func(bot.DirectoryMember) string
}

var importedFields = []importedField{
	{"手机（mobile）", func(m bot.DirectoryMember) string { return m.Mobile }},
	{"邮箱（email）", func(m bot.DirectoryMember) string { return m.Email }},
	{"企业邮箱（biz_mail）", func(m bot.DirectoryMember) string { return m.BizMail }},
	{"座机（telephone）", func(m bot.DirectoryMember) string { return m.Telephone }},
	{"职务（position）", func(m bot.DirectoryMember) string { return m.Position }},
}

// renderImportedStaff writes the draft roster and returns it with the
// number of people in it. Disabled members and those who left are left out.
func renderImportedStaff(d bot.DirectoryDepartment, members []bot.DirectoryMember, detailed bool, at time.Time) ([]byte, int) {
	var kept []bot.DirectoryMember
	left := 0
	for _, m := range members {
		if m.Status == 2 || m.Status == 5 {
			left++
			continue
		}
		kept = append(kept, m)
	}
	var missing []string
	if !detailed {
		missing = append(missing, "除 userid、姓名、部门外的全部字段（user/list 被拒，改用了 user/simplelist）")
	} else {
		for _, f := range importedFields {
			got := false
			for _, m := range kept {
				if f.get(m) != "" {
					got = true
					break
				}
			}
			if !got {
				missing = append(missing, f.name)
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# opsbot 人员名单初稿：企业微信部门「%s」（ID %d）的 %d 人，由 opsbot staff import 于 %s 导入。\n",
		d.Name, d.ID, len(kept), at.Format("2006-01-02 15:04"))
	b.WriteString("# 格式与各字段见 configs/staff.example.yaml。用之前请逐人填写：\n")
	b.WriteString("#   role     engineer（服务工程师）| supervisor（服务主管）| account_manager（客户经理）；不是运维团队的人请删去\n")
	b.WriteString("#   level    1..3，越高越资深；转派只会转给级别不低于原处理人的工程师\n")
	b.WriteString("#   systems  负责的系统代码、类别（HIS、LIS…）或别名；空表示全部系统\n")
	if len(missing) > 0 {
		b.WriteString("# 企业微信没有返回：" + strings.Join(missing, "、") + "。\n")
		b.WriteString("# （2022 年 6 月 20 日后新建的自建应用读不到成员的手机、邮箱等，需要时请手工填写 phone。）\n")
	}
	if left > 0 {
		fmt.Fprintf(&b, "# 另有 %d 人已禁用或已离职，未列出。\n", left)
	}
	b.WriteString("staff:\n")
	for _, m := range kept {
		fmt.Fprintf(&b, "  - userid: %s\n", yamlQuote(m.UserID))
		name := m.Name
		if name == "" {
			name = m.UserID
		}
		fmt.Fprintf(&b, "    name: %s", yamlQuote(name))
		if m.Position != "" {
			fmt.Fprintf(&b, "    # 职务：%s", m.Position)
		}
		b.WriteString("\n")
		b.WriteString("    role:                 # 待填：engineer | supervisor | account_manager\n")
		b.WriteString("    level:                # 待填：1..3\n")
		fmt.Fprintf(&b, "    phone: %s\n", yamlQuote(m.Mobile))
		b.WriteString("    systems: []           # 待填；空表示全部系统\n")
	}
	if len(kept) == 0 {
		b.WriteString("  []\n")
	}
	return []byte(b.String()), len(kept)
}
