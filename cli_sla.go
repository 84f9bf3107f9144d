package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"opsbot/models"
)

// slaUsage is shown with every usage error, so the fix is one copy away.
const slaUsage = `用法：
  sla due --priority high|medium|low --at "YYYY-MM-DD HH:MM" [--kind fault|question|request|policy] [--deadline YYYY-MM-DD] [--json]
  sla calendar YYYY-MM
例如：
  sla due --priority high --at "2026-09-30 17:00"
  sla calendar 2026-10`

// runSLA runs the "sla" subcommands: due prints a ticket's deadlines,
// calendar lists a month's working days. Errors are usage errors meant for
// the person at the terminal.
func runSLA(args []string, stdout io.Writer, policy models.SLAPolicy, loc *time.Location) error {
	if len(args) == 0 {
		return usageErr("缺少子命令（due 或 calendar）")
	}
	switch args[0] {
	case "due":
		return runSLADue(args[1:], stdout, policy, loc)
	case "calendar":
		return runSLACalendar(args[1:], stdout, policy.Clock().Calendar(), loc)
	}
	return usageErr(fmt.Sprintf("未知子命令 %q，应为 due 或 calendar", args[0]))
}

// usageErr adds the usage text to a short Chinese reason.
func usageErr(reason string) error {
	return errors.New(reason + "\n" + slaUsage)
}

// dueRequest is what the due subcommand was asked.
type dueRequest struct {
	priority models.Priority
	kind     models.Kind
	at       time.Time
	deadline time.Time // set only for policy tickets
	json     bool
}

func runSLADue(args []string, stdout io.Writer, policy models.SLAPolicy, loc *time.Location) error {
	req, err := parseDueFlags(args, loc)
	if err != nil {
		return err
	}
	d := policy.Deadlines(req.at, req.priority, req.kind)
	if req.kind == models.KindPolicy {
		d.Resolution = policy.PolicyDue(req.deadline)
	}
	if req.json {
		return writeDueJSON(stdout, d, loc)
	}
	return writeDueText(stdout, d, loc)
}

// parseDueFlags reads and checks the due subcommand's flags.
func parseDueFlags(args []string, loc *time.Location) (dueRequest, error) {
	fs := flag.NewFlagSet("sla due", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // our Chinese message replaces flag's English one
	priority := fs.String("priority", "", "high|medium|low")
	at := fs.String("at", "", "YYYY-MM-DD HH:MM")
	kind := fs.String("kind", string(models.KindFault), "fault|question|request|policy")
	deadline := fs.String("deadline", "", "YYYY-MM-DD, policy tickets only")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return dueRequest{}, errors.New(slaUsage)
	} else if err != nil {
		return dueRequest{}, usageErr(fmt.Sprintf("参数有误：%v", err))
	}
	if fs.NArg() > 0 {
		return dueRequest{}, usageErr(fmt.Sprintf("多余的参数 %q（含空格的时间请加引号）", strings.Join(fs.Args(), " ")))
	}
	req := dueRequest{priority: models.Priority(*priority), kind: models.Kind(*kind), json: *asJSON}
	if !req.priority.Valid() {
		return dueRequest{}, usageErr(fmt.Sprintf("--priority 应为 high、medium 或 low，收到 %q", *priority))
	}
	if !req.kind.Valid() {
		return dueRequest{}, usageErr(fmt.Sprintf("--kind 应为 fault、question、request 或 policy，收到 %q", *kind))
	}
	t, err := time.ParseInLocation("2006-01-02 15:04", *at, loc)
	if err != nil {
		return dueRequest{}, usageErr(fmt.Sprintf("--at 应为 \"YYYY-MM-DD HH:MM\"，收到 %q", *at))
	}
	req.at = t
	return withDeadline(req, *deadline, loc)
}

// withDeadline checks --deadline, which only policy tickets have: their
// resolution date comes from the government document, not the priority.
func withDeadline(req dueRequest, deadline string, loc *time.Location) (dueRequest, error) {
	if req.kind != models.KindPolicy {
		if deadline != "" {
			return dueRequest{}, usageErr("--deadline 只用于 --kind policy（政策接口工单）")
		}
		return req, nil
	}
	d, err := time.ParseInLocation(time.DateOnly, deadline, loc)
	if err != nil {
		return dueRequest{}, usageErr(fmt.Sprintf("政策接口工单需要文件规定的完成日期 --deadline YYYY-MM-DD，收到 %q", deadline))
	}
	req.deadline = d
	return req, nil
}

// dueJSON is the --json shape; onsite is left out when no visit is due.
type dueJSON struct {
	Response string `json:"response"`
	Onsite   string `json:"onsite,omitempty"`
	Resolve  string `json:"resolve"`
}

func writeDueJSON(w io.Writer, d models.Deadlines, loc *time.Location) error {
	out := dueJSON{Response: rfc3339(d.Response, loc), Resolve: rfc3339(d.Resolution, loc)}
	if !d.Onsite.IsZero() {
		out.Onsite = rfc3339(d.Onsite, loc)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

func writeDueText(w io.Writer, d models.Deadlines, loc *time.Location) error {
	onsite := "无需到场"
	if !d.Onsite.IsZero() {
		onsite = rfc3339(d.Onsite, loc)
	}
	_, err := fmt.Fprintf(w, "响应时限 %s\n到场时限 %s\n解决时限 %s\n",
		rfc3339(d.Response, loc), onsite, rfc3339(d.Resolution, loc))
	return err
}

func rfc3339(t time.Time, loc *time.Location) string { return t.In(loc).Format(time.RFC3339) }

var weekdayNames = [...]string{"星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"}

// runSLACalendar prints the working days of one month, one per line, so
// operators can check the calendar against the State Council notice.
func runSLACalendar(args []string, stdout io.Writer, cal *models.Calendar, loc *time.Location) error {
	if len(args) != 1 {
		return usageErr("calendar 需要一个月份 YYYY-MM")
	}
	first, err := time.ParseInLocation("2006-01", args[0], loc)
	if err != nil {
		return usageErr(fmt.Sprintf("月份应为 YYYY-MM，收到 %q", args[0]))
	}
	var b strings.Builder
	// Noon keeps every step inside the right date whatever the zone does.
	for day := first.Add(12 * time.Hour); day.Month() == first.Month(); day = day.AddDate(0, 0, 1) {
		work, note := cal.Day(day)
		if !work {
			continue
		}
		line := day.Format(time.DateOnly) + " " + weekdayNames[day.Weekday()]
		if note != "" {
			line += " " + note
		}
		b.WriteString(line + "\n")
	}
	if !cal.KnowsYear(first.Year()) {
		fmt.Fprintf(&b, "注意：日历尚无 %d 年的法定节假日安排，以上仅按周一至周五计算。\n", first.Year())
	}
	_, err = io.WriteString(stdout, b.String())
	return err
}
