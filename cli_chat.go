package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"opsbot/bot"
	"opsbot/handlers"
	"opsbot/models"
	"opsbot/outbox"
)

// cmdChat is a terminal conversation: each line goes through the inbox, the
// router and the handlers exactly like a WeCom message, and whatever opsbot
// sends to anyone is printed with its recipient.
func cmdChat(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	user := fs.String("user", "", "speak as this WeCom userid, e.g. nurse01")
	force := fs.Bool("force", false, "run even though WeCom is configured (production): only this session's messages are shown, nothing goes to WeCom")
	if err := fs.Parse(args); err != nil {
		return usageError{"用法：opsbot chat --user nurse01"}
	}
	if *user == "" {
		return usageError{"请用 --user 指定以谁的身份说话，例如：opsbot chat --user nurse01"}
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	production := cfg.WeCom.Enabled() || cfg.WeCom.BotEnabled()
	if production && !*force {
		return errors.New("这份配置接入了企业微信（生产环境）。opsbot chat 会处理待办的收件箱、发件箱和提醒，可能吞掉真实消息，已拒绝启动。\n" +
			"请在测试环境运行；确需在此运行请加 --force：只显示本次对话产生的消息，不发往企业微信，不处理其他消息和提醒。")
	}
	a, err := openApp(ctx, e, models.SourceChat, newLogger(e.stderr, "warn"))
	if err != nil {
		return err
	}
	defer a.close()
	session := time.Now().UnixNano()
	term := &terminal{out: e.stdout, store: a.store}
	sender := &outbox.Sender{Store: a.store, Deliverer: term, Log: a.log, Workers: 1}
	if production {
		// Only what this session's lines caused: every such key holds the
		// session's inbox key (see handlers: r:, n:, u: keys).
		sender.Only = fmt.Sprintf("chat:%d:", session)
	}
	interactive := isTerminal(e.stdin)
	if interactive {
		fmt.Fprintf(e.stdout, "opsbot 终端对话，您是 %s。发“帮助”看命令，行首 @userid 换人说话，/click 按钮键 模拟点卡片，Ctrl-D 退出。\n", *user)
	}
	// Anything left from an earlier run (a crash) is processed first; on a
	// production database that is serve's work, not ours.
	if !production {
		if err := a.recoverInbox(ctx, time.Now()); err != nil {
			return err
		}
		if _, err := sender.RunOnce(ctx); err != nil {
			return err
		}
	}
	// Lines go through the same inbox as WeCom callbacks.
	inbox := handlers.NewInbox(ctx, a.store, 1)
	scan := bufio.NewScanner(e.stdin)
	scan.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; ; n++ {
		if interactive {
			fmt.Fprintf(e.stdout, "%s> ", *user)
		}
		if !scan.Scan() {
			break
		}
		line := strings.TrimSpace(scan.Text())
		if line == "" || strings.HasPrefix(line, "//") {
			continue
		}
		speaker := *user
		if strings.HasPrefix(line, "@") {
			id, rest, _ := strings.Cut(line[1:], " ")
			speaker, line = id, strings.TrimSpace(rest)
		}
		if !interactive {
			fmt.Fprintf(e.stdout, "%s> %s\n", speaker, line)
		}
		msg := bot.Incoming{Key: fmt.Sprintf("chat:%d:%d", session, n), User: speaker, Type: "text", Text: line, CreateTime: time.Now()}
		if key, ok := strings.CutPrefix(line, "/click "); ok {
			msg.Type, msg.Event, msg.EventKey, msg.Text = "event", "template_card_event", strings.TrimSpace(key), ""
		}
		if _, err := inbox.Accept(ctx, msg); err != nil {
			return err
		}
		if err := a.handlers.Process(ctx, msg); err != nil {
			fmt.Fprintf(e.stdout, "（处理失败，已记录，稍后重试：%v）\n", err)
		}
		// Reminders that came due while typing show up in the conversation
		// (not on a production database: serve's scheduler owns them).
		if !production {
			if err := a.jobs.Sweep(ctx); err != nil {
				return err
			}
			if err := a.jobs.SweepRatings(ctx); err != nil {
				return err
			}
		}
		if _, err := sender.RunOnce(ctx); err != nil {
			return err
		}
	}
	return scan.Err()
}

// recoverInbox processes messages accepted before before and never
// finished (a crash between the 200 and the handler).
func (a *app) recoverInbox(ctx context.Context, before time.Time) error {
	return a.eachPending(ctx, before, 100, func(msg bot.Incoming) bool {
		a.handlers.Process(ctx, msg)
		return true
	})
}

// terminal prints what opsbot sends.
type terminal struct {
	mu    sync.Mutex
	out   io.Writer
	store *models.Store
}

// fileName names a file message's file (and where it can be read).
func (t *terminal) fileName(m models.OutboxMessage) string {
	if m.FileID == nil || t.store == nil {
		return "（无文件）"
	}
	f, err := t.store.File(context.Background(), *m.FileID)
	if err != nil {
		return fmt.Sprintf("文件 %d", *m.FileID)
	}
	return fmt.Sprintf("%s（%d 字节）", f.Name, f.Size)
}

// Deliver implements outbox.Deliverer.
func (t *terminal) Deliver(_ context.Context, m models.OutboxMessage) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	to := m.Recipient
	if to == models.OpsGroup {
		to = "运维群"
	}
	if m.MsgType == models.MsgCardUpdate && m.Card == nil {
		fmt.Fprintf(t.out, "→ %s：［卡片已更新为“%s”］\n", to, m.Content)
		return "", nil
	}
	if m.MsgType == models.MsgCardUpdate {
		fmt.Fprintf(t.out, "→ %s：［卡片已更新］\n", to)
	}
	if m.MsgType == models.MsgFile {
		fmt.Fprintf(t.out, "→ %s：［文件］%s\n", to, t.fileName(m))
		return "", nil
	}
	if m.Card != nil {
		var b strings.Builder
		fmt.Fprintf(&b, "→ %s：［卡片］%s", to, m.Card.Title)
		if m.Card.Desc != "" {
			fmt.Fprintf(&b, "\n    %s", m.Card.Desc)
		}
		for _, f := range m.Card.Fields {
			fmt.Fprintf(&b, "\n    %s：%s", f.Key, f.Value)
		}
		for _, btn := range m.Card.Buttons {
			fmt.Fprintf(&b, "\n    ［%s］ /click %s", btn.Text, btn.Key)
		}
		fmt.Fprintln(t.out, b.String())
		return "", nil
	}
	fmt.Fprintf(t.out, "→ %s：%s\n", to, strings.ReplaceAll(m.Content, "\n", "\n    "))
	return "", nil
}

// isTerminal reports whether r is an interactive terminal (not a pipe).
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
