// Command opsbot is the hospital IT service desk bot: WeCom callbacks in,
// tickets and reminders through the database, messages out.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	// The hospital's zone must load on any machine, even without tzdata.
	_ "time/tzdata"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `opsbot — 医院信息科运维服务台（企业微信）

用法：
  opsbot serve                         启动服务（企业微信回调、提醒、/healthz /readyz /metrics）
  opsbot chat --user USERID            在终端里对话（与企业微信同一套命令）；行首 @userid 可换人说话
  opsbot ticket N [--json]             查看一张工单及其全部记录
  opsbot tickets [--status S] [--json] 列出工单（S: new claimed onsite paused resolved closed cancelled open）
  opsbot report monthly --month 2026-11 [--out 月报.xlsx] [--json]
  opsbot report annual --year 2026 [--out 年报.xlsx] [--json]
  opsbot change N --out F.docx         导出变更申请单（DOCX）
  opsbot sla due --priority high --at "2026-09-30 17:00" [--json]
  opsbot sla calendar 2026-10          列出当月工作日
  opsbot wecom create-group --name 运维群 --owner USERID --users a,b,c
  opsbot import tickets FILE.csv       导入历史工单（格式见 docs/import.md）
  opsbot migrate                       升级数据库结构
  opsbot doctor [--json] [--url URL]   逐项检查安装（配置、数据库、企业微信、回调、日历、人员、时间）
  opsbot init [--non-interactive …]    问几个问题，写出 configs/config.yaml 和 staff.yaml，再运行 doctor
  opsbot staff import --department 信息科 [--out FILE]  从企业微信通讯录生成人员名单初稿
  opsbot console link --user USERID    打印网页控制台的一次性登录链接（15 分钟内有效）
  opsbot version

配置：环境变量 OPSBOT_*（见 README），或 OPSBOT_CONFIG 指向的 YAML 文件。
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run executes one command and returns the exit code: 0 ok, 1 failure,
// 2 usage. Errors are printed as one message, never a stack trace.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	if cmd == "version" || cmd == "--version" {
		fmt.Fprintln(stdout, "opsbot", version)
		return 0
	}
	if cmd == "help" || cmd == "-h" || cmd == "--help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	commands := map[string]func(context.Context, env, []string) error{
		"serve":   cmdServe,
		"chat":    cmdChat,
		"ticket":  cmdTicket,
		"tickets": cmdTickets,
		"change":  cmdChange,
		"migrate": cmdMigrate,
		"sla":     cmdSLA,
		"report":  cmdReport,
		"import":  cmdImport,
		"wecom":   cmdWeCom,
		"doctor":  cmdDoctor,
		"init":    cmdInit,
		"staff":   cmdStaff,
		"console": cmdConsole,
		// healthcheck lets a container without curl probe /healthz.
		"healthcheck": cmdHealthcheck,
	}
	f, ok := commands[cmd]
	if !ok {
		fmt.Fprintf(stderr, "opsbot: 未知命令 %q\n\n%s", cmd, usage)
		return 2
	}
	e := env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	if err := f(ctx, e, rest); err != nil {
		fmt.Fprintf(stderr, "opsbot %s: %v\n", cmd, err)
		if _, ok := err.(usageError); ok {
			return 2
		}
		return 1
	}
	return 0
}

// env is the process's outside world, passed in so tests can run commands.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// usageError is a mistake in the command line (exit 2).
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }
