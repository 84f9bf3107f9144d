package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"opsbot/configs"
	"opsbot/models"
)

var cst = time.FixedZone("CST", 8*3600)

func testPolicy(t *testing.T) models.SLAPolicy {
	t.Helper()
	cfg := configs.DefaultSLA()
	cal, err := models.NewCalendar(nil, cst)
	if err != nil {
		t.Fatal(err)
	}
	clock, err := models.NewWorkClock(cal, cfg.BusinessHours, cst)
	if err != nil {
		t.Fatal(err)
	}
	p, err := models.NewSLAPolicy(cfg, clock)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func runSLAString(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := runSLA(args, &out, testPolicy(t), cst)
	return out.String(), err
}

func TestSLADueText(t *testing.T) {
	out, err := runSLAString(t, "due", "--priority", "high", "--at", "2026-09-30 17:00")
	if err != nil {
		t.Fatal(err)
	}
	want := "响应时限 2026-09-30T18:00:00+08:00\n" +
		"到场时限 2026-09-30T19:00:00+08:00\n" +
		"解决时限 2026-10-08T17:00:00+08:00\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

func TestSLADueTextWithoutOnsite(t *testing.T) {
	out, err := runSLAString(t, "due", "-priority=medium", "-at=2026-11-27 17:00", "-kind=question")
	if err != nil {
		t.Fatal(err)
	}
	want := "响应时限 2026-11-27T18:00:00+08:00\n" +
		"到场时限 无需到场\n" +
		"解决时限 2026-12-02T17:00:00+08:00\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

func TestSLADueJSON(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want map[string]string
	}{
		{"urgent fault", []string{"--priority", "high", "--at", "2026-11-27 17:00", "--json"},
			map[string]string{"response": "2026-11-27T18:00:00+08:00", "onsite": "2026-11-27T19:00:00+08:00", "resolve": "2026-11-30T17:00:00+08:00"}},
		{"low request has no onsite", []string{"--priority", "low", "--kind", "request", "--at", "2026-02-12 10:00", "--json"},
			map[string]string{"response": "2026-02-12T11:00:00+08:00", "resolve": "2026-02-26T10:00:00+08:00"}},
		{"policy ticket uses its document date", []string{"--priority", "medium", "--kind", "policy", "--at", "2026-09-21 09:00", "--deadline", "2026-10-01", "--json"},
			map[string]string{"response": "2026-09-21T10:00:00+08:00", "resolve": "2026-09-30T18:00:00+08:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runSLAString(t, append([]string{"due"}, tt.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]string
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("not JSON: %q: %v", out, err)
			}
			if len(got) != len(tt.want) {
				t.Errorf("keys = %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestSLACalendarOctober2026(t *testing.T) {
	out, err := runSLAString(t, "calendar", "2026-10")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	// 22 weekdays, minus 1, 2, 5, 6, 7 October, plus the make-up Saturday.
	if len(lines) != 18 {
		t.Errorf("%d lines, want 18:\n%s", len(lines), out)
	}
	if lines[0] != "2026-10-08 星期四" {
		t.Errorf("first line %q, want the first working day after National Day", lines[0])
	}
	if !strings.Contains(out, "2026-10-09 星期五\n2026-10-10 星期六 调休\n2026-10-12 星期一\n") {
		t.Errorf("make-up Saturday missing or wrong:\n%s", out)
	}
	for _, off := range []string{"2026-10-01", "2026-10-07", "2026-10-11", "2026-10-31"} {
		if strings.Contains(out, off) {
			t.Errorf("day off %s listed", off)
		}
	}
	for _, l := range lines {
		if _, err := time.Parse(time.DateOnly, strings.Fields(l)[0]); err != nil {
			t.Errorf("line %q does not start with a date", l)
		}
	}
}

func TestSLACalendarFebruary2026(t *testing.T) {
	out, err := runSLAString(t, "calendar", "2026-02")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2026-02-13 星期五\n2026-02-14 星期六 调休\n2026-02-24 星期二\n", "2026-02-28 星期六 调休\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n"); n != 16 {
		t.Errorf("%d working days, want 16", n)
	}
}

func TestSLACalendarUnknownYearWarns(t *testing.T) {
	out, err := runSLAString(t, "calendar", "2028-01")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "尚无 2028 年的法定节假日安排") {
		t.Errorf("no warning for an unknown year:\n%s", out)
	}
	if !strings.HasPrefix(out, "2028-01-03 星期一\n") {
		t.Errorf("unexpected first line:\n%s", out)
	}
}

func TestSLABadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // a fragment of the Chinese hint
	}{
		{"no subcommand", nil, "缺少子命令"},
		{"unknown subcommand", []string{"deadline"}, "未知子命令"},
		{"missing priority", []string{"due", "--at", "2026-10-01 09:00"}, "--priority"},
		{"bad priority", []string{"due", "--priority", "urgent", "--at", "2026-10-01 09:00"}, "--priority"},
		{"missing at", []string{"due", "--priority", "high"}, "--at"},
		{"bad at", []string{"due", "--priority", "high", "--at", "2026/10/01 9:00"}, "--at"},
		{"unquoted at", []string{"due", "--priority", "high", "--at", "2026-10-01", "09:00"}, "多余的参数"},
		{"bad kind", []string{"due", "--priority", "high", "--at", "2026-10-01 09:00", "--kind", "bug"}, "--kind"},
		{"unknown flag", []string{"due", "--prio", "high"}, "参数有误"},
		{"policy without deadline", []string{"due", "--priority", "low", "--kind", "policy", "--at", "2026-10-01 09:00"}, "--deadline"},
		{"deadline on a fault", []string{"due", "--priority", "low", "--at", "2026-10-01 09:00", "--deadline", "2026-10-09"}, "--deadline"},
		{"calendar without month", []string{"calendar"}, "YYYY-MM"},
		{"calendar bad month", []string{"calendar", "2026-13"}, "YYYY-MM"},
		{"calendar with a day", []string{"calendar", "2026-10-01"}, "YYYY-MM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runSLAString(t, tt.args...)
			if err == nil {
				t.Fatalf("no error; output %q", out)
			}
			if out != "" {
				t.Errorf("wrote %q on error", out)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || !strings.Contains(msg, "例如") {
				t.Errorf("error %q lacks %q or an example", msg, tt.want)
			}
		})
	}
}
