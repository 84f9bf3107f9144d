package doctor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"opsbot/configs"
	"opsbot/models"
)

// unknownKey matches yaml.v3's strict-decoding error for a key the config
// does not have.
var unknownKey = regexp.MustCompile(`line (\d+): field (\S+) not found in type configs\.(\w+)`)

// checkConfig loads the configuration the way `opsbot serve` does.
func checkConfig(_ context.Context, env *Env) Result {
	path := env.getenv("OPSBOT_CONFIG")
	explicit := path != ""
	if !explicit {
		path = configs.DefaultConfigFile
	}
	_, statErr := os.Stat(path)
	cfg, err := configs.Load(env.getenv)
	env.cfg = cfg
	if err != nil {
		env.cfgWhy = "配置文件无法读取"
		if m := unknownKey.FindAllStringSubmatch(err.Error(), -1); len(m) > 0 {
			var keys []string
			for _, k := range m {
				keys = append(keys, fmt.Sprintf("%s（第 %s 行）", qualifiedKey(k[3], k[2]), k[1]))
			}
			return Result{Status: Fail, Summary: fmt.Sprintf("%s 中有未知的键：%s", path, strings.Join(keys, "、")),
				Fix:    "改正拼写或删去这些键；全部可用的键见 configs/config.example.yaml",
				Detail: err.Error()}
		}
		return Result{Status: Fail, Summary: "配置无法读取", Fix: "按下面的错误改正配置文件或环境变量（YAML 缩进用空格）", Detail: err.Error()}
	}
	env.cfgParsed = true
	source := path
	if statErr != nil {
		source = "环境变量"
	}
	if verr := cfg.Validate(); verr != nil {
		return Result{Status: Fail, Summary: "配置未通过校验（" + source + "）", Fix: "按下面每一行改正对应的键（括号里是对应的环境变量）", Detail: verr.Error()}
	}
	if statErr != nil && !env.anyOpsbotEnv() {
		return Result{Status: Warn, Summary: "没有配置文件，也没有 OPSBOT_* 环境变量：以默认设置运行（SQLite、进程内存储、未配置企业微信）",
			Fix: "运行 opsbot init 生成 configs/config.yaml 和 configs/staff.yaml"}
	}
	if !cfg.WeCom.Enabled() {
		return Result{Status: Warn, Summary: "配置有效（" + source + "），但未配置企业微信：只能用 opsbot chat 演示",
			Fix: "填写 wecom.corp_id、agent_id、secret、token、aes_key，或运行 opsbot init"}
	}
	return Result{Status: OK, Summary: "已读取并通过校验（" + source + "）"}
}

// qualifiedKey names a key with its section: field foo of configs.WeCom is
// wecom.foo.
func qualifiedKey(typ, field string) string {
	section := map[string]string{"Config": "", "WeCom": "wecom", "SLA": "sla"}
	s, ok := section[typ]
	if !ok {
		s = strings.ToLower(typ)
	}
	if s == "" {
		return field
	}
	return s + "." + field
}

// needConfig returns a skip result when the config could not be read.
func needConfig(env *Env) (Result, bool) {
	if !env.cfgParsed {
		why := env.cfgWhy
		if why == "" {
			why = "配置检查未运行"
		}
		return skipped(why), false
	}
	return Result{}, true
}

// latestSchema is the newest migration this binary knows, found by
// migrating an empty in-memory database (models exports no constant).
var latestSchema = sync.OnceValues(func() (int, error) {
	ctx := context.Background()
	s, err := models.Open(ctx, "sqlite", ":memory:", models.Options{})
	if err != nil {
		return 0, err
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		return 0, err
	}
	return s.SchemaVersion(ctx)
})

// slowRoundTrip is the write/read time past which the database is reported
// as slow: one ticket change makes a handful of such round trips.
const slowRoundTrip = 200 * time.Millisecond

// checkDatabase connects, compares the schema version with the newest one
// and times a write/read round trip. It never migrates and never touches
// opsbot's tables: the round trip uses a table of its own, named for this
// run, which it drops again.
func checkDatabase(ctx context.Context, env *Env) Result {
	if r, ok := needConfig(env); !ok {
		return r
	}
	if _, err := env.cfg.DBDriver(); err != nil {
		return Result{Status: Fail, Summary: "数据库地址无效：" + err.Error(), Fix: "db 填 postgres://用户@主机:5432/库名?sslmode=disable 或 SQLite 文件路径"}
	}
	driver, dsn := env.cfg.Database()
	if driver == "sqlite" {
		// Opening a missing SQLite file would create it: a doctor run
		// changes nothing, so it only says so.
		if _, err := os.Stat(dsn); errors.Is(err, os.ErrNotExist) {
			return Result{Status: Warn, Summary: fmt.Sprintf("SQLite 文件 %s 还不存在", dsn), Fix: "运行 opsbot migrate（或第一次 opsbot serve）创建它", Skipped: true}
		}
	}
	s, err := models.Open(ctx, driver, dsn, models.Options{Now: env.Now})
	if err != nil {
		return Result{Status: Fail, Summary: "连不上数据库", Fix: "检查 db（OPSBOT_DB）的主机、端口、用户、密码和库名，以及数据库是否已启动、防火墙是否放行", Detail: err.Error()}
	}
	defer s.Close()
	res := Result{Status: OK}
	latest, lerr := latestSchema()
	have, verr := s.SchemaVersion(ctx)
	switch {
	case lerr != nil:
		res.Status, res.Detail = Warn, "无法得知最新结构版本："+lerr.Error()
	case verr != nil || have == 0:
		return Result{Status: Fail, Summary: fmt.Sprintf("已连接 %s，但数据库还没有 opsbot 的表", driver), Fix: "运行 opsbot migrate"}
	case have < latest:
		res.Status = Fail
		res.Summary = fmt.Sprintf("结构版本 %d，本程序需要 %d", have, latest)
		res.Fix = "运行 opsbot migrate 升级数据库结构（先备份）"
	case have > latest:
		res.Status = Warn
		res.Summary = fmt.Sprintf("结构版本 %d 比本程序认识的 %d 新", have, latest)
		res.Fix = "数据库已被更新版本的 opsbot 升级：请用同一版本的程序"
	}
	rt, err := roundTrip(ctx, s)
	var ce createError
	switch {
	case errors.As(err, &ce):
		// Connected and migrated: a user that may not create tables can
		// still run opsbot when another user migrates.
		res.Status = worst(res.Status, Warn)
		if res.Summary == "" {
			res.Summary = fmt.Sprintf("%s，结构版本 %d", driver, have)
		}
		res.Summary += "；无法建测试表，未测写入/读取往返"
		res.Fix = "数据库用户没有建表权限：opsbot migrate 需要它（可由另一个用户执行迁移）"
		res.Detail = err.Error()
		return res
	case err != nil:
		return Result{Status: Fail, Summary: "写入/读取测试失败", Fix: "检查数据库用户的写入权限、磁盘是否已满、数据库是否只读", Detail: err.Error()}
	}
	if res.Summary == "" {
		res.Summary = fmt.Sprintf("%s，结构版本 %d（最新）", driver, have)
	}
	res.Summary += fmt.Sprintf("，写入/读取往返 %s", rt.Round(100*time.Microsecond))
	if rt > slowRoundTrip && res.Status == OK {
		res.Status = Warn
		res.Fix = fmt.Sprintf("往返超过 %s：检查数据库主机的负载、磁盘和网络延迟", slowRoundTrip)
	}
	return res
}

// roundTrips is how many write/read round trips are timed; the fastest is
// shown, since the first one after CREATE TABLE also pays for the catalog.
const roundTrips = 3

// roundTrip writes a row into a table of its own, reads it back and
// deletes it, roundTrips times, then drops the table; it returns the
// fastest write + read + delete. The table is dropped even when the
// context has ended.
func roundTrip(ctx context.Context, s *models.Store) (time.Duration, error) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	table := "opsbot_doctor_" + hex.EncodeToString(b[:])
	if err := s.Exec(ctx, "CREATE TABLE "+table+" (id INTEGER PRIMARY KEY, probe VARCHAR(32) NOT NULL)"); err != nil {
		return 0, createError{fmt.Errorf("create %s: %w", table, err)}
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = s.Exec(dctx, "DROP TABLE "+table)
	}()
	best := time.Duration(-1)
	for id := 1; id <= roundTrips; id++ {
		probe := fmt.Sprintf("%x-%d", b, id)
		start := time.Now()
		if err := s.Exec(ctx, "INSERT INTO "+table+" (id, probe) VALUES (?, ?)", id, probe); err != nil {
			return 0, fmt.Errorf("write: %w", err)
		}
		var got string
		if err := s.Raw(ctx, &got, "SELECT probe FROM "+table+" WHERE id = ?", id); err != nil {
			return 0, fmt.Errorf("read: %w", err)
		}
		if err := s.Exec(ctx, "DELETE FROM "+table+" WHERE id = ?", id); err != nil {
			return 0, fmt.Errorf("delete: %w", err)
		}
		elapsed := time.Since(start)
		if got != probe {
			return 0, fmt.Errorf("read back %q, wrote %q", got, probe)
		}
		if best < 0 || elapsed < best {
			best = elapsed
		}
	}
	return best, nil
}

// createError means the round trip's table could not be created.
type createError struct{ error }

func (e createError) Unwrap() error { return e.error }

// checkRedis pings the configured Redis and reads its version.
func checkRedis(ctx context.Context, env *Env) Result {
	if r, ok := needConfig(env); !ok {
		return r
	}
	if env.cfg.Redis == "" {
		return Result{Status: Warn, Summary: "未配置 Redis：使用进程内存储，只能运行一个副本",
			Fix: "只跑一个实例时可以不管；要多副本（高可用、滚动升级）请配置 redis（OPSBOT_REDIS），Redis 7 或更新"}
	}
	v, rt, err := redisVersion(ctx, env.cfg.Redis)
	if err != nil {
		return Result{Status: Fail, Summary: "连不上 Redis", Fix: "检查 redis（OPSBOT_REDIS）的地址、端口、密码和库号，以及 Redis 是否已启动", Detail: err.Error()}
	}
	major, _ := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
	if major < 7 {
		return Result{Status: Fail, Summary: fmt.Sprintf("Redis %s 太旧：opsbot 需要 7 或更新（SET NX GET）", v), Fix: "升级 Redis 到 7.x"}
	}
	return Result{Status: OK, Summary: fmt.Sprintf("Redis %s，往返 %s", v, rt.Round(100*time.Microsecond))}
}

// redisVersion connects to url and returns the server's version and the
// time of one PING.
func redisVersion(ctx context.Context, url string) (string, time.Duration, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return "", 0, fmt.Errorf("redis url: %w", err)
	}
	opt.MaxRetries = -1
	opt.DialerRetries = 1 // a diagnosis wants the first answer, not a retry loop
	c := redis.NewClient(opt)
	defer c.Close()
	start := time.Now()
	if err := c.Ping(ctx).Err(); err != nil {
		return "", 0, fmt.Errorf("redis %s: %w", opt.Addr, err)
	}
	rt := time.Since(start)
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		return "", rt, fmt.Errorf("redis %s: INFO: %w", opt.Addr, err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return v, rt, nil
		}
	}
	return "", rt, fmt.Errorf("redis %s: INFO has no redis_version", opt.Addr)
}
