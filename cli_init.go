package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"opsbot/configs"
)

const initUsage = `用法：opsbot init [--dir configs] [--force] [--non-interactive] [选项]

逐个提问后写出带注释的 configs/config.yaml 和 configs/staff.yaml，最后运行 opsbot doctor。
已有文件不会被覆盖，除非加 --force。脚本里用 --non-interactive 加下列选项：
  --corp-id ID           企业ID（我的企业 → 企业信息）
  --agent-id N           自建应用的 AgentId
  --secret S             自建应用的 Secret
  --token T              接收消息的 Token（不填则生成）
  --aes-key K            接收消息的 EncodingAESKey（43 位，不填则生成）
  --db URL               postgres://… 或 SQLite 文件（默认 data/opsbot.db）
  --redis URL            redis://…（不填：进程内存储，只能运行一个实例）
  --api-base URL         院内代理（默认 https://qyapi.weixin.qq.com）
  --supervisor USERID    服务主管的企业微信账号
  --supervisor-name 名字 服务主管的姓名
  --no-doctor            写完不运行 doctor`

// initAnswers is what opsbot init asks for.
type initAnswers struct {
	corpID, secret, token, aesKey string
	agentID                       int
	db, redis, apiBase            string
	supervisor, supervisorName    string
	generatedToken, generatedKey  bool
}

// cmdInit writes a first configuration and roster, then runs the doctor.
func cmdInit(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dir := fs.String("dir", "configs", "")
	force := fs.Bool("force", false, "")
	batch := fs.Bool("non-interactive", false, "")
	noDoctor := fs.Bool("no-doctor", false, "")
	var a initAnswers
	fs.StringVar(&a.corpID, "corp-id", "", "")
	fs.IntVar(&a.agentID, "agent-id", 0, "")
	fs.StringVar(&a.secret, "secret", "", "")
	fs.StringVar(&a.token, "token", "", "")
	fs.StringVar(&a.aesKey, "aes-key", "", "")
	fs.StringVar(&a.db, "db", "", "")
	fs.StringVar(&a.redis, "redis", "", "")
	fs.StringVar(&a.apiBase, "api-base", "", "")
	fs.StringVar(&a.supervisor, "supervisor", "", "")
	fs.StringVar(&a.supervisorName, "supervisor-name", "", "")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(e.stdout, initUsage)
		return nil
	} else if err != nil {
		return usageError{fmt.Sprintf("参数有误：%v\n\n%s", err, initUsage)}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("多余的参数 %q\n\n%s", strings.Join(fs.Args(), " "), initUsage)}
	}
	cfgPath := filepath.Join(*dir, "config.yaml")
	staffPath := filepath.Join(*dir, "staff.yaml")
	// Refuse before asking anything: answering nine questions to be told
	// the file exists would be rude.
	if !*force {
		var exist []string
		for _, p := range []string{cfgPath, staffPath} {
			if _, err := os.Stat(p); err == nil {
				exist = append(exist, p)
			}
		}
		if len(exist) > 0 {
			return fmt.Errorf("%s 已存在，不会覆盖（确要重写请加 --force；只想检查请运行 opsbot doctor）", strings.Join(exist, "、"))
		}
	}
	if !*batch {
		if err := askInit(e, &a); err != nil {
			return err
		}
	}
	if err := completeInit(&a, staffPath); err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o750); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	written := []string{}
	if err := writeNew(cfgPath, renderInitConfig(a, staffPath), *force); err != nil {
		return err
	}
	written = append(written, cfgPath)
	if a.supervisor != "" {
		if err := writeNew(staffPath, renderInitStaff(a), *force); err != nil {
			return err
		}
		written = append(written, staffPath)
	}
	fmt.Fprintf(e.stdout, "\n已写入 %s（权限 0600：含密钥，勿提交到代码库）。\n", strings.Join(written, "、"))
	if a.generatedToken || a.generatedKey {
		fmt.Fprintf(e.stdout, "\n请到管理后台「应用管理 → opsbot → 接收消息 → 设置API接收」填写：\n  URL            https://<本服务的域名>/wecom/callback\n  Token          %s\n  EncodingAESKey %s\n先启动 opsbot serve 再点保存（企业微信会立即验证该 URL）。\n", a.token, a.aesKey)
	}
	if a.corpID != "" {
		fmt.Fprintln(e.stdout, "\n还需要：在「开发者接口 → 企业可信IP」加入本机出口 IP；在「可见范围」加入会报修的科室；写值班表 configs/oncall.yaml（参照 configs/oncall.example.yaml）；用 opsbot staff import 导入工程师。")
	}
	if *noDoctor {
		return nil
	}
	fmt.Fprintln(e.stdout, "\n现在运行 opsbot doctor：")
	de := e
	de.getenv = func(k string) string {
		if k == "OPSBOT_CONFIG" {
			return cfgPath
		}
		return e.getenv(k)
	}
	if err := cmdDoctor(ctx, de, nil); err != nil {
		// The files are written; the report says what is left to do.
		fmt.Fprintln(e.stdout, "\n配置已写好，但有检查未通过：按上面的「修复」处理后再运行 opsbot doctor。")
	}
	return nil
}

// askInit asks the questions on stdin; an empty answer keeps the flag's
// value or the default shown in brackets.
func askInit(e env, a *initAnswers) error {
	in := bufio.NewReader(e.stdin)
	ask := func(q, def string) string {
		if def != "" {
			fmt.Fprintf(e.stdout, "%s [%s]：", q, def)
		} else {
			fmt.Fprintf(e.stdout, "%s：", q)
		}
		line, _ := in.ReadString('\n')
		line = strings.TrimSpace(line)
		if line == "" {
			return def
		}
		return line
	}
	fmt.Fprintln(e.stdout, "opsbot 初始化：直接回车接受方括号里的默认值。企业微信的值在管理后台 work.weixin.qq.com 查看。")
	a.corpID = ask("企业ID（我的企业 → 企业信息 → 企业ID；回车跳过 = 先不接企业微信，只演示）", a.corpID)
	if a.corpID != "" {
		for tries := 0; ; tries++ {
			s := ask("自建应用 AgentId（应用管理 → opsbot）", itoaOrEmpty(a.agentID))
			n, err := strconv.Atoi(s)
			if err == nil && n > 0 {
				a.agentID = n
				break
			}
			if tries == 2 {
				return errors.New("AgentId 应为正整数")
			}
			fmt.Fprintln(e.stdout, "  AgentId 是一串数字，例如 1000002")
		}
		a.secret = ask("应用 Secret（应用管理 → opsbot → Secret 查看）", a.secret)
		a.token = ask("接收消息 Token（回车自动生成）", a.token)
		for tries := 0; ; tries++ {
			a.aesKey = ask("接收消息 EncodingAESKey（43 位；回车自动生成）", a.aesKey)
			if a.aesKey == "" || validAESKey(a.aesKey) {
				break
			}
			if tries == 2 {
				return errors.New("EncodingAESKey 应为 43 位（管理后台「随机获取」生成的那串）")
			}
			fmt.Fprintf(e.stdout, "  这不是有效的 EncodingAESKey（%d 位）：请重新复制，或回车自动生成\n", len([]rune(a.aesKey)))
			a.aesKey = ""
		}
	}
	a.db = ask("数据库（postgres://用户:密码@主机:5432/库名?sslmode=disable，回车用 SQLite）", a.db)
	a.redis = ask("Redis（redis://主机:6379/0；回车不用 = 只能运行一个实例）", a.redis)
	a.supervisor = ask("服务主管的企业微信账号 userid（通讯录成员详情里的「账号」）", a.supervisor)
	if a.supervisor != "" {
		a.supervisorName = ask("服务主管的姓名", a.supervisorName)
	}
	return nil
}

func itoaOrEmpty(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// completeInit fills generated values and checks the answers the way
// opsbot serve will.
func completeInit(a *initAnswers, staffPath string) error {
	if a.corpID != "" {
		if a.token == "" {
			a.token, a.generatedToken = randomToken(32), true
		}
		if a.aesKey == "" {
			a.aesKey, a.generatedKey = randomAESKey(), true
		}
		if a.supervisor == "" {
			return usageError{"接入企业微信时需要服务主管的 userid（--supervisor），以便写出人员名单"}
		}
	}
	if a.supervisor != "" && strings.TrimSpace(a.supervisorName) == "" {
		a.supervisorName = a.supervisor
	}
	cfg := initConfig(*a, staffPath)
	if a.supervisor != "" {
		cfg.StaffFile = "" // not written yet; Validate would look for it
	}
	if err := cfg.Validate(); err != nil && !onlyStaffMissing(err) {
		return fmt.Errorf("回答有误，未写任何文件：\n%w", err)
	}
	return nil
}

// onlyStaffMissing reports whether Validate's only complaint is the roster
// file, which init writes next.
func onlyStaffMissing(err error) bool {
	lines := strings.Split(strings.TrimSpace(err.Error()), "\n")
	return len(lines) == 1 && strings.HasPrefix(lines[0], "staff_file")
}

// initConfig is the configuration the answers make.
func initConfig(a initAnswers, staffPath string) configs.Config {
	cfg := configs.Default()
	cfg.DB, cfg.Redis = a.db, a.redis
	cfg.WeCom.CorpID, cfg.WeCom.AgentID, cfg.WeCom.Secret = a.corpID, a.agentID, a.secret
	cfg.WeCom.Token, cfg.WeCom.AESKey = a.token, a.aesKey
	if a.apiBase != "" {
		cfg.WeCom.APIBase = a.apiBase
	}
	if a.supervisor != "" {
		cfg.StaffFile = staffPath
	}
	return cfg
}

// validAESKey is bot.NewCrypto's test: 43 characters, base64 of 32 bytes.
func validAESKey(k string) bool {
	if len(k) != 43 {
		return false
	}
	b, err := base64.StdEncoding.DecodeString(k + "=")
	return err == nil && len(b) == 32
}

const tokenChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomToken is a callback Token like the admin console's 随机获取:
// letters and digits.
func randomToken(n int) string {
	var b strings.Builder
	for range n {
		i, _ := rand.Int(rand.Reader, big.NewInt(int64(len(tokenChars))))
		b.WriteByte(tokenChars[i.Int64()])
	}
	return b.String()
}

// randomAESKey is an EncodingAESKey of letters and digits only, as the
// admin console accepts: 42 free characters and a last one whose low two
// bits are zero, so that it decodes to exactly 32 bytes.
func randomAESKey() string {
	k := randomToken(42)
	const last = "AEIMQUYcgkosw048" // base64 values 0, 4, 8, …, 60
	i, _ := rand.Int(rand.Reader, big.NewInt(int64(len(last))))
	return k + string(last[i.Int64()])
}

// yamlQuote quotes a string for YAML (a JSON string is a YAML string).
func yamlQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// renderInitConfig writes the commented config file.
func renderInitConfig(a initAnswers, staffPath string) []byte {
	var b strings.Builder
	b.WriteString(`# opsbot 配置，由 opsbot init 生成。全部可用的键及说明见 configs/config.example.yaml；
# 环境变量 OPSBOT_* 优先于本文件。本文件含密钥：权限 0600，不要提交到代码库。
# 改完运行 opsbot doctor 检查。

`)
	db := a.db
	if db == "" {
		db = configs.DefaultSQLitePath
	}
	fmt.Fprintf(&b, "# 数据库：postgres://用户:密码@主机:5432/库名?sslmode=disable，或 SQLite 文件（单机、演示）。\ndb: %s\n", yamlQuote(db))
	fmt.Fprintf(&b, "# Redis 7+，多个副本共用；空 = 进程内存储，只能运行一个实例。\nredis: %s\n", yamlQuote(a.redis))
	b.WriteString(`http_addr: ":8080"             # 公网入口：/wecom/callback、/healthz（经反向代理对外）
admin_addr: "127.0.0.1:9090"   # 管理入口：/metrics、/readyz；不要对外开放
tz: Asia/Shanghai
log_level: info
`)
	if a.supervisor != "" {
		fmt.Fprintf(&b, "staff_file: %s   # 人员名单；opsbot staff import 可从通讯录生成初稿\n", yamlQuote(staffPath))
	} else {
		b.WriteString("staff_file: \"\"                 # 人员名单；空 = 示例名单（仅演示）\n")
	}
	b.WriteString("oncall_file: \"\"                # 值班表；空 = configs/oncall.yaml（参照 oncall.example.yaml）\n\n")
	b.WriteString("# 企业微信自建应用（管理后台 work.weixin.qq.com）。\nwecom:\n")
	fmt.Fprintf(&b, "  corp_id: %s   # 我的企业 → 企业信息 → 企业ID\n", yamlQuote(a.corpID))
	fmt.Fprintf(&b, "  agent_id: %d   # 应用管理 → opsbot → AgentId\n", a.agentID)
	fmt.Fprintf(&b, "  secret: %s   # 应用管理 → opsbot → Secret\n", yamlQuote(a.secret))
	fmt.Fprintf(&b, "  token: %s   # 接收消息 → 设置API接收 → Token\n", yamlQuote(a.token))
	fmt.Fprintf(&b, "  aes_key: %s   # 接收消息 → 设置API接收 → EncodingAESKey（43 位）\n", yamlQuote(a.aesKey))
	apiBase := a.apiBase
	if apiBase == "" {
		apiBase = configs.Default().WeCom.APIBase
	}
	fmt.Fprintf(&b, "  api_base: %s   # 院内只能经代理出网时改成代理地址\n", yamlQuote(apiBase))
	b.WriteString(`  # 智能机器人（群聊里 @机器人 报修），长连接模式；不用就留空。
  bot_id: ""
  bot_secret: ""
`)
	return []byte(b.String())
}

// renderInitStaff writes a roster with the supervisor only.
func renderInitStaff(a initAnswers) []byte {
	return fmt.Appendf(nil, `# opsbot 人员名单，由 opsbot init 生成；格式与各字段见 configs/staff.example.yaml。
# userid 是企业微信通讯录里的「账号」。工程师可从通讯录导入初稿：
#   opsbot staff import --department 信息科 --out configs/staff.imported.yaml
# 核对后把条目并入本文件。
staff:
  - userid: %s
    name: %s
    role: supervisor      # engineer | supervisor | account_manager
    level: 3              # 1..3
    phone: ""             # 手机号，加引号："13800000001"
`, yamlQuote(a.supervisor), yamlQuote(a.supervisorName))
}

// writeNew writes data with mode 0600; without force it never replaces an
// existing file, even one created since the check at the start.
func writeNew(path string, data []byte, force bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s 已存在，不会覆盖（确要重写请加 --force）", path)
	}
	if err != nil {
		return fmt.Errorf("写 %s：%w", path, err)
	}
	// An existing file keeps its mode through O_TRUNC; secrets must not.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("写 %s：%w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("写 %s：%w", path, err)
	}
	return f.Close()
}
