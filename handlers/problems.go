package handlers

import (
	"fmt"
	"strconv"
	"strings"

	"opsbot/bot"
	"opsbot/models"
)

// problemUsage lists the 问题 subcommands.
const problemUsage = "问题 新建 <标题>、问题 关联 P编号 单号…、问题 根因 P编号 <内容>、问题 解决 P编号 <内容>、问题 P编号、问题 列表"

// problem answers the 问题 subcommands (问题根治, tender 4.5.4-6).
func (h *Handlers) problem(c *bot.Context) error {
	args := strings.TrimSpace(c.Args)
	verb, rest, _ := strings.Cut(args, " ")
	rest = strings.TrimSpace(rest)
	known := map[string]bool{"新建": true, "关联": true, "根因": true, "解决": true, "列表": true}
	_, isNum := parseProblemNumber(verb)
	if !actor(c).IsStaff() {
		if known[verb] || isNum {
			return models.Errorf(models.EForbidden, "“问题”是运维人员的命令，您没有权限修改问题记录。发“帮助”查看您可用的命令")
		}
		return h.freeText(c) // "问题是收费打不开" from a ward is a fault
	}
	switch verb {
	case "", "列表":
		return h.tx(c, func(tx *models.Tx) error { return h.listProblems(tx, c) })
	case "新建":
		return h.tx(c, func(tx *models.Tx) error {
			system := ""
			if in, _ := h.recognise(rest); in.System != "" {
				system = in.System
			}
			p, err := tx.OpenProblem(rest, system, actor(c))
			if err != nil {
				return err
			}
			c.Replyf("已建立问题 P%d：%s。关联工单发“问题 关联 P%d 单号…”。", p.ID, p.Title, p.ID)
			return nil
		})
	case "关联":
		pid, nums, _ := strings.Cut(rest, " ")
		id, ok := parseProblemNumber(pid)
		if !ok {
			return models.Errorf(models.EInvalid, "请写问题编号和单号，例如：问题 关联 P1 12 13 15")
		}
		ids, err := parseNumbers(nums, "问题 关联 P1 12 13 15")
		if err != nil {
			return err
		}
		return h.tx(c, func(tx *models.Tx) error {
			p, err := tx.LinkProblem(id, ids, actor(c))
			if err != nil {
				return err
			}
			rec, err := tx.ProblemRecord(p.ID)
			if err != nil {
				return err
			}
			c.Replyf("已把 %d 张工单关联到问题 P%d，现共 %d 张。", len(ids), id, len(rec.Tickets))
			return nil
		})
	case "根因", "解决":
		pid, text, _ := strings.Cut(rest, " ")
		id, ok := parseProblemNumber(pid)
		if !ok || strings.TrimSpace(text) == "" {
			return models.Errorf(models.EInvalid, "请写问题编号和内容，例如：问题 %s P1 打印机驱动版本与收费系统不兼容", verb)
		}
		return h.tx(c, func(tx *models.Tx) error {
			p, err := tx.RecordProblem(id, actor(c), verb == "解决", text)
			if err != nil {
				return err
			}
			if verb == "解决" {
				c.Replyf("问题 P%d 已解决，解决方案已记录。", p.ID)
			} else {
				c.Replyf("已记录问题 P%d 的根因。解决后发“问题 解决 P%d 解决方案”。", p.ID, p.ID)
			}
			return nil
		})
	}
	if id, ok := parseProblemNumber(verb); ok {
		return h.tx(c, func(tx *models.Tx) error {
			rec, err := tx.ProblemRecord(id)
			if err != nil {
				return err
			}
			c.Reply(h.problemText(rec))
			return nil
		})
	}
	return models.Errorf(models.EInvalid, "看不懂“%s”。可用：%s", verb, problemUsage)
}

// parseProblemNumber reads "P3", "p3" or "3".
func parseProblemNumber(s string) (int64, bool) {
	s = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "P"), "p")
	s = strings.TrimPrefix(s, "#")
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}

func (h *Handlers) listProblems(tx *models.Tx, c *bot.Context) error {
	open, err := tx.OpenProblems()
	if err != nil {
		return err
	}
	if len(open) == 0 {
		c.Reply("当前没有未解决的问题记录。新建请发“问题 新建 标题”。")
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "未解决的问题 %d 个：", len(open))
	for _, p := range open {
		fmt.Fprintf(&b, "\nP%d %s（%s，关联 %d 单）", p.Problem.ID, p.Problem.Title, orDash(h.systemName(p.Problem.System)), len(p.Tickets))
	}
	c.Reply(b.String())
	return nil
}

func (h *Handlers) problemText(rec *models.ProblemSummary) string {
	p := rec.Problem
	status := "处理中"
	if p.Status == models.ProblemResolved {
		status = "已解决"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "问题 P%d［%s］%s\n系统：%s\n根因：%s\n解决方案：%s", p.ID, status, p.Title, orDash(h.systemName(p.System)), orDash(p.RootCause), orDash(p.Fix))
	if len(rec.Tickets) > 0 {
		b.WriteString("\n关联工单：")
		for _, t := range rec.Tickets {
			b.WriteString("\n  " + models.Summary(&t, h.catalog))
		}
	}
	return b.String()
}
