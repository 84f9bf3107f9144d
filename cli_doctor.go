package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"opsbot/configs"
	"opsbot/doctor"
)

const doctorUsage = `用法：opsbot doctor [--json] [--url https://…/wecom/callback]

逐项检查配置、数据库、Redis、企业微信应用、可见范围、回调、智能机器人、
节假日日历、人员与值班、服务器时间，每项一行（✅ ⚠️ ❌）并给出修复办法。
  --json   以 JSON 输出同样的结果
  --url    回调的公网地址：opsbot 经它给自己发一次企业微信的 URL 验证请求
有 ❌ 项时退出码为 1（⚠️ 不算）。`

// doctorClock is the doctor's clock; tests move it.
var doctorClock = time.Now

// errDoctorFailed is returned when a check failed; the report says which.
var errDoctorFailed = errors.New("有检查未通过")

// cmdDoctor checks the installation and prints one line per check.
func cmdDoctor(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "print JSON")
	callbackURL := fs.String("url", "", "public callback URL")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(e.stdout, doctorUsage)
		return nil
	} else if err != nil {
		return usageError{fmt.Sprintf("参数有误：%v\n\n%s", err, doctorUsage)}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("多余的参数 %q\n\n%s", strings.Join(fs.Args(), " "), doctorUsage)}
	}
	rep := runDoctor(ctx, e, *callbackURL)
	// The hospital's zone when the config says one, else Shanghai's.
	cfg, _ := configs.Load(e.getenv)
	rep.At = rep.At.In(cfg.Location())
	if *asJSON {
		if err := rep.WriteJSON(e.stdout); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(e.stdout, "opsbot doctor（%s）\n\n", rep.At.Format("2006-01-02 15:04:05 MST"))
		if err := rep.WriteText(e.stdout); err != nil {
			return err
		}
	}
	if rep.Failed() {
		return fmt.Errorf("%w：%d 项", errDoctorFailed, rep.Counts.Fail)
	}
	return nil
}

// runDoctor runs every check with the process's environment.
func runDoctor(ctx context.Context, e env, callbackURL string) doctor.Report {
	d := &doctor.Env{Getenv: e.getenv, Now: doctorClock, CallbackURL: callbackURL}
	return doctor.Runner{Checks: doctor.All()}.Run(ctx, d)
}
