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
		return notify(tx, c, t.AssigneeID, id, fmt.Sprintf("工单 #%d 优先级改为%s，解决时限 %s。%s", id, p.Label(), models.ClockText(t.DueResolution, h.loc()), reason))
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

// queue shows every open ticket, breached first, then by deadline.
func (h *Handlers) queue(c *bot.Context) error {
	return h.tx(c, func(tx *models.Tx) error {
		now := tx.Now()
		team, err := tx.Team()
		if err != nil {
			return err
		}
		open, err := tx.Tickets(models.TicketFilter{Statuses: models.OpenStatuses, ByDue: true, Limit: 200})
		if err != nil {
			return err
		}
		if len(open) == 0 {
			c.Reply("当前没有未完成的工单。")
			return nil
		}
		sort.SliceStable(open, func(i, j int) bool {
			return breached(open[i], now) && !breached(open[j], now)
		})
		var b strings.Builder
		n := 0
		for _, t := range open {
			if breached(t, now) {
				n++
			}
		}
		fmt.Fprintf(&b, "未完成 %d 单，其中超时 %d 单：", len(open), n)
		for i, t := range open {
			if i == 30 {
				fmt.Fprintf(&b, "\n……还有 %d 单", len(open)-30)
				break
			}
			b.WriteString("\n" + h.ticketLine(team, t, now))
		}
		c.Reply(b.String())
		return nil
	})
}

// breached reports whether an open ticket has missed a deadline.
func breached(t models.Ticket, now time.Time) bool {
	if t.Status == models.StatusNew && now.After(t.DueResponse) {
		return true
	}
	return t.Status != models.StatusPaused && now.After(t.DueResolution)
}

// stats counts the period's tickets against the contract's levels.
func (h *Handlers) stats(c *bot.Context) error {
	return h.tx(c, func(tx *models.Tx) error {
		now := tx.Now().In(h.loc())
		from, label := periodStart(strings.TrimSpace(c.Args), now)
		st, err := tx.Stats(from, now)
		if err != nil {
			return err
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s统计（%s 起）：\n", label, from.Format("1月2日"))
		fmt.Fprintf(&b, "新报 %d 单，已解决 %d 单，撤销 %d 单，未完成 %d 单\n", st.Created, st.Resolved, st.Cancelled, st.Open)
		fmt.Fprintf(&b, "解决率 %s（合同≥95%%），按时解决率 %s（合同≥90%%）\n", percent(st.Resolved, st.Created-st.Cancelled), percent(st.OnTime, st.Resolved))
		fmt.Fprintf(&b, "响应超时 %d 单，平均响应 %s", st.LateResponse, models.SpanText(st.AvgResponse))
		if st.Open > 0 {
			fmt.Fprintf(&b, "\n当前超时未完成 %d 单，发“队列”查看。", st.OpenBreached)
		}
		c.Reply(b.String())
		return nil
	})
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

func percent(n, of int) string {
	if of <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", float64(n)*100/float64(of))
}
