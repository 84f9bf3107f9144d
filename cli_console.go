package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"strings"

	"opsbot/console"
	"opsbot/models"
)

const consoleUsage = "用法：opsbot console link --user USERID（打印一次性登录链接，15 分钟内有效）"

// cmdConsole serves `opsbot console link --user USERID`: a one-time login
// URL for bootstrap (before WeCom login is set up) and for tests.
func cmdConsole(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || args[0] != "link" {
		return usageError{consoleUsage}
	}
	fs := flag.NewFlagSet("console link", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	user := fs.String("user", "", "企业微信账号 (userid)")
	if err := fs.Parse(args[1:]); err != nil || strings.TrimSpace(*user) == "" || fs.NArg() > 0 {
		return usageError{consoleUsage}
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	store, _, err := openReadStore(ctx, e)
	if err != nil {
		return err
	}
	defer store.Close()
	var role models.Role
	if err := store.View(ctx, func(tx *models.Tx) error {
		a, err := tx.ActorFor(strings.TrimSpace(*user), "")
		role = a.Role
		return err
	}); err != nil {
		return err
	}
	link, expires, err := console.CreateLoginLink(ctx, store, cfg.Console.BaseURL, strings.TrimSpace(*user))
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, link)
	fmt.Fprintf(e.stderr, "%s（%s）的一次性登录链接，%s 前有效，只能使用一次。\n", *user, role.Label(), expires.In(cfg.Location()).Format("2006-01-02 15:04"))
	return nil
}

// consoleHandler builds the web console for the public listener.
func (s *server) consoleHandler() (http.Handler, error) {
	oncall, err := s.loadOnCall()
	if err != nil {
		return nil, err
	}
	d := console.Deps{Store: s.store, Handlers: s.handlers, Catalog: s.catalog, Config: s.cfg, OnCall: oncall, Log: s.log}
	if s.wecom != nil {
		d.WeCom = s.wecom
	}
	c, err := console.New(d)
	if err != nil {
		return nil, err
	}
	return c.Handler(), nil
}
