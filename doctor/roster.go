package doctor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"opsbot/configs"
	"opsbot/models"
)

// YearKnower says whether a year's statutory holidays are known;
// *models.Calendar is one.
type YearKnower interface {
	KnowsYear(year int) bool
}

// calendarFor is the calendar the checks use: the injected one, or the one
// `opsbot serve` builds from the config.
func calendarFor(env *Env) (YearKnower, error) {
	if env.Calendar != nil {
		return env.Calendar, nil
	}
	sla, err := models.LoadSLA(env.cfg.SLA, env.cfg.Location())
	if err != nil {
		return nil, err
	}
	return sla.Clock().Calendar(), nil
}

// checkCalendar wants this year's holidays, and from November next year's.
func checkCalendar(_ context.Context, env *Env) Result {
	if r, ok := needConfig(env); !ok {
		return r
	}
	cal, err := calendarFor(env)
	if err != nil {
		return Result{Status: Fail, Summary: "节假日日历无法读取", Detail: err.Error(), Fix: "改正 sla.calendar_file 指向的文件（格式见 configs/calendar.yaml）"}
	}
	return calendarResult(cal, env.now().In(env.cfg.Location()))
}

// calendarResult judges cal at now (in the hospital's zone). The State
// Council publishes next year's holidays in late October or November, so a
// missing next year is a warning from 1 November.
func calendarResult(cal YearKnower, now time.Time) Result {
	y := now.Year()
	where := "在 configs/calendar.yaml（或 sla.calendar_file）中补上该年的放假日和调休上班日，或升级带有该年数据的 opsbot；做法见 docs/sla.md"
	switch {
	case !cal.KnowsYear(y):
		return Result{Status: Fail, Summary: fmt.Sprintf("不知道 %d 年（今年）的法定节假日：节假日会被当成工作日，SLA 截止时间会算错", y), Fix: where}
	case !cal.KnowsYear(y+1) && now.Month() >= time.November:
		return Result{Status: Warn, Summary: fmt.Sprintf("还不知道 %d 年的法定节假日（国务院通常在 10–11 月公布）", y+1), Fix: where}
	case !cal.KnowsYear(y + 1):
		return Result{Status: OK, Summary: fmt.Sprintf("已知 %d 年节假日；%d 年的通常在 10–11 月公布", y, y+1)}
	}
	return Result{Status: OK, Summary: fmt.Sprintf("已知 %d 年和 %d 年的节假日", y, y+1)}
}

// tonight is when the rota must have someone: 22:00 today.
func tonight(now time.Time) time.Time {
	y, m, d := now.Date()
	return time.Date(y, m, d, 22, 0, 0, 0, now.Location())
}

// checkRoster checks who serves: engineers cover known systems, every
// system has an engineer, there is a supervisor, and someone is on call
// tonight.
func checkRoster(_ context.Context, env *Env) Result {
	if r, ok := needConfig(env); !ok {
		return r
	}
	path := rosterPath(env.cfg)
	roster, err := configs.LoadStaff(path)
	if err != nil {
		return Result{Status: Fail, Summary: "人员名单无法读取", Detail: err.Error(), Fix: "按错误改正名单（格式见 configs/staff.example.yaml）"}
	}
	sys, err := configs.LoadCatalog(env.cfg.SystemsFile)
	if err != nil {
		return Result{Status: Fail, Summary: "系统目录无法读取", Detail: err.Error(), Fix: "改正 systems_file 指向的文件"}
	}
	catalog := models.NewCatalog(models.SystemsFromConfig(sys), nil)
	loc := env.cfg.Location()
	now := env.now().In(loc)

	status := OK
	var problems []string
	var fixes []string
	problem := func(s Status, text, fix string) {
		status = worst(status, s)
		problems = append(problems, s.Icon()+" "+text)
		if fix != "" && !slices.Contains(fixes, fix) {
			fixes = append(fixes, fix)
		}
	}
	if path == "" {
		sev := Warn
		if env.cfg.WeCom.Enabled() {
			sev = Fail
		}
		problem(sev, "用的是示例名单（"+configs.ExampleStaffName+"）", "写好 configs/staff.yaml（opsbot init 或 opsbot staff import 可生成初稿）")
	}

	covered := map[string]bool{}
	engineers, supervisors := 0, 0
	members := map[string]configs.StaffEntry{}
	for _, e := range roster.Staff {
		members[e.UserID] = e
		switch e.Role {
		case configs.RoleSupervisor:
			supervisors++
		case configs.RoleEngineer:
			engineers++
			if len(e.Systems) == 0 {
				for _, s := range catalog.Systems() {
					covered[s.Code] = true
				}
				continue
			}
			var unknown []string
			n := 0
			for _, token := range e.Systems {
				codes := catalog.Resolve(token)
				if len(codes) == 0 {
					unknown = append(unknown, token)
				}
				for _, c := range codes {
					covered[c] = true
					n++
				}
			}
			if len(unknown) > 0 {
				text := fmt.Sprintf("%s（%s，第 %d 行）：系统目录里没有 %s", e.UserID, e.Name, e.Line, strings.Join(unknown, "、"))
				if n == 0 {
					text += "，此人不负责任何系统"
				}
				problem(Fail, text, "systems 写系统代码、类别（HIS、LIS…）或 configs/systems.yaml 里的别名；空表示全部系统")
			}
		}
	}
	if engineers == 0 {
		problem(Fail, "名单里没有工程师（role: engineer）", "在名单里加上服务工程师")
	}
	if supervisors == 0 {
		problem(Fail, "名单里没有服务主管（role: supervisor）：升级提醒无人接收", "至少指定一名 role: supervisor")
	}
	var uncovered []string
	for _, s := range catalog.Systems() {
		if s.Active && !covered[s.Code] {
			uncovered = append(uncovered, s.Name)
		}
	}
	if len(uncovered) > 0 && engineers > 0 {
		shown := uncovered
		if len(shown) > 10 {
			shown = append(shown[:10:10], fmt.Sprintf("等 %d 个", len(uncovered)))
		}
		problem(Warn, "没有工程师负责："+strings.Join(shown, "、"), "给工程师的 systems 加上这些系统（或留空表示全部）")
	}

	var onCall []string
	rota, rotaNote, err := loadRota(env.cfg)
	switch {
	case err != nil:
		problem(Fail, "值班表无法读取："+err.Error(), "改正值班表（格式见 configs/oncall.example.yaml）")
	case rotaNote != "":
		problem(Warn, rotaNote, "复制 configs/oncall.example.yaml 为 configs/oncall.yaml 并排好值班")
	default:
		at := tonight(now)
		who := models.OnCallAt(rota, at, loc)
		onCall = who
		if len(who) == 0 {
			problem(Warn, fmt.Sprintf("今晚 %s 没有人值班（%s）", at.Format("01-02 15:04"), rota.Source), "在值班表的 rotation 或 overrides 中排上今晚的人")
		}
		for _, id := range who {
			if _, ok := members[id]; !ok {
				problem(Warn, fmt.Sprintf("今晚值班的 %s 不在人员名单里", id), "值班表里写名单中的 userid")
			}
		}
	}

	summary := fmt.Sprintf("%d 名工程师、%d 名主管，%d 个系统都有人负责", engineers, supervisors, len(catalog.Systems()))
	if len(onCall) > 0 {
		summary += "，今晚值班：" + strings.Join(onCall, "、")
	}
	if status != OK {
		summary = fmt.Sprintf("发现 %d 个问题（%s）", len(problems), roster.Source)
	}
	return Result{Status: status, Summary: summary, Fix: strings.Join(fixes, "；"), Detail: strings.Join(problems, "\n")}
}

// loadRota reads the rota `opsbot serve` would use; note says why there is
// none to check.
func loadRota(cfg configs.Config) (o configs.OnCall, note string, err error) {
	path := cfg.OnCallFile
	if path == "" {
		if _, err := os.Stat(configs.DefaultOnCallFile); err == nil {
			path = configs.DefaultOnCallFile
		} else if !errors.Is(err, os.ErrNotExist) {
			return o, "", err
		} else if cfg.WeCom.Enabled() {
			return o, "没有值班表（" + configs.DefaultOnCallFile + "）：给值班人的提醒会发给主管", nil
		}
	}
	o, err = configs.LoadOnCall(path)
	return o, "", err
}
