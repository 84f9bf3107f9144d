package handlers

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"opsbot/bot"
	"opsbot/models"
)

var priorityWords = map[string]models.Priority{
	"高": models.PriorityHigh, "中": models.PriorityMedium, "低": models.PriorityLow,
	"high": models.PriorityHigh, "medium": models.PriorityMedium, "low": models.PriorityLow,
}

// priority changes the priority; deadlines are recomputed keeping the
// business time already used.
func (h *Handlers) priority(c *bot.Context) error {
	id, rest, err := parseNumber(c.Args, "优先级 12 高 影响全院收费")
	if err != nil {
		return err
	}
	word, reason, _ := strings.Cut(rest, " ")
	p, ok := priorityWords[strings.ToLower(word)]
	if !ok {
		return models.Errorf(models.EInvalid, "优先级只能是 高、中、低，例如：优先级 %d 高 影响全院收费", id)
	}
	return h.tx(c, func(tx *models.Tx) error {
		t, err := tx.SetPriority(id, actor(c), p, reason)
		if err != nil {
			return err
		}
		c.Replyf("工单 #%d 优先级改为%s，解决时限：%s。", id, p.Label(), models.ClockText(t.DueResolution, h.loc()))
		return notify(tx, c, t.AssigneeID, id, priorityNotice(id, p, models.ClockText(t.DueResolution, h.loc()), reason))
	})
}

// major marks a major incident: the ops group hears of it, and it gets a
// major incident analysis report later (tender 4).
func (h *Handlers) major(c *bot.Context) error {
	id, _, err := parseNumber(c.Args, "重大 12")
	if err != nil {
		return err
	}
	return h.tx(c, func(tx *models.Tx) error {
		t, err := tx.MarkMajor(id, actor(c))
		if err != nil {
			return err
		}
		c.Replyf("工单 #%d 已标记为重大事件，已通知运维群。", id)
		if err := h.recordsOnMajor(tx, t); err != nil {
			return err
		}
		return notifyOps(tx, c, id, fmt.Sprintf("【重大事件】工单 #%d：%s，负责人：%s。", id, t.Title, staffName(tx, t.AssigneeID)))
	})
}

// merge links duplicate reports to one incident; their reporters hear of
// its progress and resolution.
func (h *Handlers) merge(c *bot.Context) error {
	ids, err := parseNumbers(c.Args, "合并 12 13 15")
	if err != nil {
		return err
	}
	if len(ids) < 2 {
		return models.Errorf(models.EInvalid, "请写主单号和要并入的单号，例如：合并 12 13 15")
	}
	return h.tx(c, func(tx *models.Tx) error {
		parent, children, err := tx.Merge(ids[0], ids[1:], actor(c))
		if err != nil {
			return err
		}
		var nums []string
		for _, ch := range children {
			nums = append(nums, fmt.Sprintf("#%d", ch.ID))
			msg := fmt.Sprintf("您报的工单 #%d 与 #%d 是同一问题，已合并处理，进展会同步通知您。", ch.ID, parent.ID)
			if err := notify(tx, c, ch.ReporterID, ch.ID, msg); err != nil {
				return err
			}
		}
		c.Replyf("已把 %s 并入 #%d，报修人会收到 #%d 的进展。", strings.Join(nums, "、"), parent.ID, parent.ID)
		return nil
	})
}

// queue shows every open ticket, breached first, then by deadline. The
// headline counts come from the same rule as 统计 and the reports.
func (h *Handlers) queue(c *bot.Context) error {
	return h.tx(c, func(tx *models.Tx) error {
		now := tx.Now()
		team, err := tx.Team()
		if err != nil {
			return err
		}
		total, breachedN, err := tx.OpenCounts()
		if err != nil {
			return err
		}
		if total == 0 {
			c.Reply("当前没有未完成的工单。")
			return nil
		}
		open, err := tx.Tickets(models.TicketFilter{Statuses: models.OpenStatuses, ByDue: true, Limit: 200})
		if err != nil {
			return err
		}
		late := make(map[int64]bool, len(open))
		for _, t := range open {
			late[t.ID] = tx.Judge(&t).Breached()
		}
		sort.SliceStable(open, func(i, j int) bool { return late[open[i].ID] && !late[open[j].ID] })
		var b strings.Builder
		fmt.Fprintf(&b, "未完成 %d 单，其中超时 %d 单：", total, breachedN)
		for i, t := range open {
			if i == 30 {
				fmt.Fprintf(&b, "\n……还有 %d 单", total-30)
				break
			}
			b.WriteString("\n" + h.ticketLine(team, t, now))
		}
		c.Reply(b.String())
		return nil
	})
}

// stats shows the period's figures against the contract's targets, as
// docs/kpi.md defines them (the reports use the same figures).
func (h *Handlers) stats(c *bot.Context) error {
	return h.tx(c, func(tx *models.Tx) error {
		now := tx.Now().In(h.loc())
		from, label := periodStart(strings.TrimSpace(c.Args), now)
		f, err := tx.Figures(models.Period{From: from, To: now.Add(time.Second), Label: label}, h.cfg.Contract, h.cfg.Rating.AlertAtOrBelow)
		if err != nil {
			return err
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s统计（%s 起）：\n", label, from.Format("1月2日"))
		fmt.Fprintf(&b, "新报 %d 单（不含撤销 %d 单），已解决 %d 单，未完成 %d 单\n", f.Created, f.Cancelled, f.Resolved, f.Open)
		fmt.Fprintf(&b, "%s\n%s\n%s\n", rateLine("解决率", f.ResolutionRate), rateLine("按时解决率", f.OnTimeRate), rateLine("响应及时率", f.ResponseOnTimeRate))
		if f.OnsiteOnTimeRate.Of > 0 {
			b.WriteString(rateLine("到场及时率", f.OnsiteOnTimeRate) + "\n")
		}
		b.WriteString(satisfactionLine(f.Satisfaction))
		if f.AvgResponse > 0 {
			fmt.Fprintf(&b, "\n平均响应 %s", models.SpanText(f.AvgResponse))
		}
		if f.Corrected > 0 {
			fmt.Fprintf(&b, "\n改系统 %d 单（自动识别有误，已学习）", f.Corrected)
		}
		if f.BreachedTotal > 0 {
			fmt.Fprintf(&b, "\n超时 %d 单（当前未完成且超时 %d 单，发“队列”查看）", f.BreachedTotal, f.OpenBreached)
		}
		c.Reply(b.String())
		return nil
	})
}

// rateLine shows one rate against its target: "解决率 96.0%（合同≥95%）✅".
func rateLine(name string, r models.Rate) string {
	v, ok := r.Value()
	if !ok {
		return fmt.Sprintf("%s —（合同≥%s）", name, pct(r.Target))
	}
	mark := "✅"
	if !r.Met() {
		mark = "❌"
	}
	return fmt.Sprintf("%s %s（%d/%d，合同≥%s）%s", name, pct(v), r.N, r.Of, pct(r.Target), mark)
}

// satisfactionLine shows the mean rating of the rated tickets; unanswered
// surveys are not counted, never assumed satisfied.
func satisfactionLine(s models.Satisfaction) string {
	if s.Rated == 0 {
		if s.Asked == 0 {
			return "满意度 —（尚无评价）"
		}
		return fmt.Sprintf("满意度 —（已邀请 %d 人，尚无评价）", s.Asked)
	}
	mark := "✅"
	if !s.Met() {
		mark = "❌"
	}
	return fmt.Sprintf("满意度 %.1f 分（%d/%d 人评价，合同≥%.0f）%s", s.Mean, s.Rated, s.Asked, s.Target, mark)
}

func pct(v float64) string {
	s := fmt.Sprintf("%.1f", v*100)
	s = strings.TrimSuffix(s, ".0")
	return s + "%"
}

func periodStart(word string, now time.Time) (time.Time, string) {
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	switch word {
	case "今天", "今日":
		return day, "今天"
	case "本周", "这周":
		wd := (int(day.Weekday()) + 6) % 7 // Monday first
		return day.AddDate(0, 0, -wd), "本周"
	}
	return time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, now.Location()), "本月"
}
