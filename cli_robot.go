package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"opsbot/bot"
	"opsbot/bot/aibot"
	"opsbot/outbox"
)

// robotWelcome greets someone opening the robot's chat (enter_chat).
const robotWelcome = "您好，我是运维服务台。报修请直接描述系统和故障，例如：收费系统打印不了发票，门诊一楼3号窗口。在群里请先 @我；发“我的工单”查进度，发“帮助”看全部命令。"

// robotTuning adjusts the robot client's timings; tests shorten them.
var robotTuning func(*aibot.Config)

// robotChannel is the smart robot's long connection inside serve.
type robotChannel struct {
	client *aibot.Client
	// recv is set by run before the client runs: the inbox and queue it
	// feeds exist only then.
	recv *bot.RobotReceiver
}

// newRobot creates the robot client and routes the outbox through it:
// "robot:" recipients, robot card updates, the ops group when a robot
// group is configured, and everyone when there is no app.
//
// Images and files sent to the robot reach the attachment store through
// bot.RobotMedia; app media still go through appMedia (nil without the app).
func (s *server) newRobot(route *outbox.Route, appMedia bot.MediaGetter) error {
	rc := &robotChannel{}
	h := aibot.HandlerFuncs{
		Message: func(ctx context.Context, m aibot.Message) error { return rc.recv.HandleMessage(ctx, m) },
		Event:   func(ctx context.Context, e aibot.Event) error { return rc.recv.HandleEvent(ctx, e) },
	}
	cfg := aibot.Config{
		BotID: s.cfg.WeCom.BotID, Secret: s.cfg.WeCom.BotSecret, URL: s.cfg.WeCom.BotWSURL,
		Log: s.log, Now: s.now,
		// Replicas share Redis: exactly one holds the connection.
		Locker: s.kv,
	}
	if robotTuning != nil {
		robotTuning(&cfg)
	}
	c, err := aibot.New(cfg, h)
	if err != nil {
		return fmt.Errorf("wecom.bot_id / bot_secret: %w", err)
	}
	rc.client = c
	route.Robot = &outbox.Robot{Client: c, OpsChatID: s.cfg.WeCom.BotChatID, Fallback: s.supervisors, Files: s.store.File, Now: s.now}
	route.RobotOps = s.cfg.WeCom.BotChatID != ""
	s.robot = rc
	s.handlers.SetMedia(bot.RobotMedia{App: appMedia}, s.mediaBucket())
	s.robotStatus = func(context.Context) error { return robotStatusErr(c.Status()) }
	return nil
}

// robotStatusErr says why the robot cannot work now; nil when this replica
// is subscribed or waits as a follower.
func robotStatusErr(st aibot.Status) error {
	switch {
	case st.Refused:
		return fmt.Errorf("订阅被拒绝（errcode %d %s），请核对 bot_id 和 secret", st.RefusedCode, st.RefusedMsg)
	case st.Ready():
		return nil
	case st.LastError != "":
		return fmt.Errorf("未连接：%s", st.LastError)
	}
	return errors.New("正在连接")
}

// startRobot runs the connection until ctx ends; the returned channel
// closes when the callbacks received are handled. Messages go into the
// inbox and the queue like app callbacks.
func (s *server) startRobot(ctx context.Context, inbox bot.Inbox) <-chan struct{} {
	rc := s.robot
	rc.recv = bot.NewRobotReceiver(bot.RobotReceiverConfig{
		Inbox: inbox, Dedupe: s.kv, Now: s.now, Metrics: s.botm, Log: s.log,
		OnAccepted: func(m bot.Incoming) { s.submit(m) },
		Welcome: func(ctx context.Context, reqID string) error {
			return rc.client.RespondWelcome(ctx, reqID, aibot.Text(robotWelcome))
		},
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := rc.client.Run(ctx); err != nil {
			s.log.Error("aibot stopped", "err", err)
		}
	}()
	// Messages that waited for the connection go as soon as it is back.
	go func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		was := false
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			now := rc.client.Status().Subscribed
			if now && !was {
				s.sender.Wake()
			}
			was = now
		}
	}()
	return done
}
