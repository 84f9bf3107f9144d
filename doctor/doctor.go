// Package doctor checks an opsbot installation the way `brew doctor` or
// `gitlab-rake gitlab:check` do: configuration, database, Redis, the WeCom
// app and its callback, the smart robot, the calendar, the roster and the
// clock, one line each, with the fix in Chinese. `opsbot doctor` runs All;
// the admin /readyz runs Cheap.
package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Status is the outcome of one check.
type Status string

// Statuses, from good to bad; only Fail makes the exit code non-zero.
const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail"
)

// Icon is the mark printed before a check's line.
func (s Status) Icon() string {
	switch s {
	case OK:
		return "✅"
	case Warn:
		return "⚠️"
	}
	return "❌"
}

// Result is what one check found.
type Result struct {
	// Name identifies the check (config, database, …); Title is its
	// Chinese label.
	Name  string `json:"name"`
	Title string `json:"title"`
	// Status is ok, warn or fail.
	Status Status `json:"status"`
	// Summary says in one line what was found.
	Summary string `json:"summary"`
	// Fix says, in Chinese, how to put it right; empty when nothing to do.
	Fix string `json:"fix,omitempty"`
	// Detail holds the particulars (errors, lists); may span lines.
	Detail string `json:"detail,omitempty"`
	// Skipped is true when the check could not run because an earlier
	// one failed or its subject is not configured.
	Skipped bool `json:"skipped,omitempty"`
	// Elapsed is how long the check took.
	Elapsed   time.Duration `json:"-"`
	ElapsedMS int64         `json:"elapsed_ms"`
}

// Check is one diagnosis with its own time limit.
type Check struct {
	Name    string
	Title   string
	Timeout time.Duration // 0 means DefaultTimeout
	// Run examines the installation; it reads and fills env (nil for the
	// checks of Cheap) and must honour ctx.
	Run func(ctx context.Context, env *Env) Result
}

// DefaultTimeout bounds a check that names no timeout.
const DefaultTimeout = 10 * time.Second

// abandonGrace is how long the runner waits for a check past its deadline
// before it reports a timeout and moves on.
const abandonGrace = time.Second

// Runner runs checks in order.
type Runner struct {
	Checks []Check
}

// Report is the outcome of a run.
type Report struct {
	At      time.Time `json:"checked_at"`
	Results []Result  `json:"results"`
	Counts  Counts    `json:"counts"`
	// OK is false when any check failed (warnings do not count).
	OK bool `json:"ok"`
}

// Counts tallies results by status.
type Counts struct {
	OK   int `json:"ok"`
	Warn int `json:"warn"`
	Fail int `json:"fail"`
}

// Run runs every check in order, each under its own timeout. A failure
// never stops the run, and a panicking check is a failed result.
func (r Runner) Run(ctx context.Context, env *Env) Report {
	rep := Report{OK: true}
	rep.At = env.now() // the wall clock when env is nil (/readyz)
	for _, c := range r.Checks {
		res := runOne(ctx, c, env)
		rep.Results = append(rep.Results, res)
		switch res.Status {
		case OK:
			rep.Counts.OK++
		case Warn:
			rep.Counts.Warn++
		default:
			rep.Counts.Fail++
			rep.OK = false
		}
	}
	return rep
}

// runOne runs c, turning a panic or an overrun into a failed result.
func runOne(ctx context.Context, c Check, env *Env) Result {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	done := make(chan Result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- Result{Status: Fail, Summary: fmt.Sprintf("检查本身出错（panic）：%v", p),
					Fix: "这是 opsbot 的缺陷：请把本行和 opsbot version 的输出报告给开发者"}
			}
		}()
		done <- c.Run(cctx, env)
	}()
	var res Result
	select {
	case res = <-done:
	case <-cctx.Done():
		// Most checks return soon after their context ends, with a
		// better message than ours; wait a little for it.
		select {
		case res = <-done:
		case <-time.After(abandonGrace):
			res = Result{Status: Fail, Summary: fmt.Sprintf("超过 %s 仍未完成", timeout),
				Fix: "检查网络和对端服务是否在响应（防火墙、代理、DNS）"}
		}
	}
	if res.Status == "" {
		res.Status = Fail
	}
	res.Name, res.Title = c.Name, c.Title
	res.Elapsed = time.Since(start)
	res.ElapsedMS = res.Elapsed.Milliseconds()
	return res
}

// Failed reports whether any check failed.
func (rep Report) Failed() bool { return !rep.OK }

// WriteText prints one line per check, with the fix and the details
// indented below it, then a tally.
func (rep Report) WriteText(w io.Writer) error {
	var b strings.Builder
	width := 0
	for _, r := range rep.Results {
		width = max(width, displayWidth(r.Title))
	}
	for _, r := range rep.Results {
		pad := strings.Repeat(" ", width-displayWidth(r.Title))
		fmt.Fprintf(&b, "%s %s%s  %s\n", r.Status.Icon(), r.Title, pad, r.Summary)
		if r.Fix != "" {
			fmt.Fprintf(&b, "   修复：%s\n", r.Fix)
		}
		if r.Detail != "" {
			for _, line := range strings.Split(strings.TrimRight(r.Detail, "\n"), "\n") {
				fmt.Fprintf(&b, "   │ %s\n", line)
			}
		}
	}
	fmt.Fprintf(&b, "\n共 %d 项：%d 项通过，%d 项警告，%d 项未通过", len(rep.Results), rep.Counts.OK, rep.Counts.Warn, rep.Counts.Fail)
	if rep.Counts.Fail > 0 {
		b.WriteString("（请先处理 ❌ 项）")
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON prints the report as one indented JSON document.
func (rep Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// displayWidth counts a CJK character as two columns so labels line up.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x1100 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// skipped is the result of a check that cannot run.
func skipped(why string) Result {
	return Result{Status: Warn, Summary: "已跳过：" + why, Skipped: true}
}

// worst returns the worse of two statuses.
func worst(a, b Status) Status {
	rank := map[Status]int{OK: 0, Warn: 1, Fail: 2}
	if rank[b] > rank[a] {
		return b
	}
	return a
}
