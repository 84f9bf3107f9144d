package doctor

import (
	"context"
	"fmt"
	"time"
)

// Pinger answers a cheap liveness probe; *models.Store and kv.Store are.
type Pinger interface {
	Ping(ctx context.Context) error
}

// ReadyDeps are what the cheap checks look at in a running opsbot.
type ReadyDeps struct {
	DB Pinger
	KV Pinger
	// InProcessKV is true when KV is the in-process store (no Redis).
	InProcessKV bool
	Calendar    YearKnower
	// Loc is the hospital's zone; Now the clock (nil: time.Now).
	Loc *time.Location
	Now func() time.Time
	// Robot reports the smart robot's connection, nil when it is not
	// configured: an error says why it is down.
	Robot func(ctx context.Context) error
}

// readyTimeout bounds each cheap check: /readyz is polled often.
const readyTimeout = 2 * time.Second

// Cheap is the subset of the doctor's checks cheap enough for the admin
// /readyz: database ping, Redis ping, calendar, and the robot's status.
// None makes an outside call, and only the database and Redis can fail
// (the calendar and the robot warn: a replica without them still serves). Run them with Runner{Checks: Cheap(d)}.Run(ctx, nil)
// and answer 503 when the report Failed.
func Cheap(d ReadyDeps) []Check {
	now := func() time.Time {
		t := time.Now()
		if d.Now != nil {
			t = d.Now()
		}
		if d.Loc != nil {
			t = t.In(d.Loc)
		}
		return t
	}
	checks := []Check{
		{Name: "database", Title: "数据库", Timeout: readyTimeout, Run: func(ctx context.Context, _ *Env) Result {
			if d.DB == nil {
				return Result{Status: Fail, Summary: "没有数据库连接"}
			}
			if err := d.DB.Ping(ctx); err != nil {
				return Result{Status: Fail, Summary: "数据库无响应", Detail: err.Error(), Fix: "检查数据库是否在运行、网络是否可达"}
			}
			return Result{Status: OK, Summary: "可用"}
		}},
		{Name: "redis", Title: "Redis", Timeout: readyTimeout, Run: func(ctx context.Context, _ *Env) Result {
			if d.InProcessKV {
				return Result{Status: Warn, Summary: "未配置 Redis：进程内存储，只能运行一个副本"}
			}
			if d.KV == nil {
				return Result{Status: Fail, Summary: "没有 Redis 连接"}
			}
			if err := d.KV.Ping(ctx); err != nil {
				return Result{Status: Fail, Summary: "Redis 无响应", Detail: err.Error(), Fix: "检查 Redis 是否在运行、网络是否可达"}
			}
			return Result{Status: OK, Summary: "可用"}
		}},
		{Name: "calendar", Title: "节假日日历", Timeout: readyTimeout, Run: func(context.Context, *Env) Result {
			if d.Calendar == nil {
				return Result{Status: Warn, Summary: "没有日历"}
			}
			// A missing year makes deadlines wrong, not the service
			// unreachable: never a reason to take a replica out.
			r := calendarResult(d.Calendar, now())
			if r.Status == Fail {
				r.Status = Warn
			}
			return r
		}},
	}
	if d.Robot != nil {
		checks = append(checks, Check{Name: "robot", Title: "智能机器人", Timeout: readyTimeout, Run: func(ctx context.Context, _ *Env) Result {
			if err := d.Robot(ctx); err != nil {
				// The callback channel still works without the robot.
				return Result{Status: Warn, Summary: fmt.Sprintf("长连接不可用：%v", err)}
			}
			return Result{Status: OK, Summary: "已连接"}
		}})
	}
	return checks
}
