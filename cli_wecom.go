package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"time"

	"opsbot/bot"
	"opsbot/configs"
)

// cmdWeCom runs setup steps against the WeCom API.
func cmdWeCom(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || args[0] != "create-group" {
		return usageError{"用法：opsbot wecom create-group --name 信息科运维群 --owner zhaoliu --users zhangsan,lisi,zhaoliu"}
	}
	fs := flag.NewFlagSet("create-group", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	name := fs.String("name", "信息科运维群", "group name")
	owner := fs.String("owner", "", "owner userid")
	users := fs.String("users", "", "comma-separated userids, at least 2")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{"用法：opsbot wecom create-group --name 信息科运维群 --owner zhaoliu --users zhangsan,lisi,zhaoliu"}
	}
	members := strings.FieldsFunc(*users, func(r rune) bool { return r == ',' || r == ' ' })
	if *owner == "" || len(members) < 2 {
		return usageError{"群主 --owner 必填，--users 至少两人，例如：--owner zhaoliu --users zhangsan,lisi,zhaoliu"}
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	if !cfg.WeCom.Enabled() {
		return errors.New("WeCom is not configured: set OPSBOT_WECOM_CORP_ID, OPSBOT_WECOM_AGENT_ID, OPSBOT_WECOM_SECRET")
	}
	store, err := openKV(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	c, err := bot.NewClient(bot.ClientConfig{CorpID: cfg.WeCom.CorpID, AgentID: cfg.WeCom.AgentID, Secret: cfg.WeCom.Secret, APIBase: cfg.WeCom.APIBase, Cache: store})
	if err != nil {
		return err
	}
	id, err := c.CreateAppChat(ctx, *name, *owner, members)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "已创建群聊“%s”，chatid：%s\n请设置 OPSBOT_WECOM_OPS_CHAT_ID=%s（或配置文件 wecom.ops_chat_id）后重启 opsbot。\n", *name, id, id)
	return nil
}

// cmdHealthcheck asks the local server's /healthz; Docker's HEALTHCHECK
// runs it inside an image that has no curl.
func cmdHealthcheck(ctx context.Context, e env, _ []string) error {
	cfg, err := configs.Load(e.getenv)
	if err != nil {
		return err
	}
	addr := cfg.HTTPAddr
	if strings.HasPrefix(addr, ":") {
		addr = "127.0.0.1" + addr
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthz: HTTP %d", resp.StatusCode)
	}
	return nil
}
