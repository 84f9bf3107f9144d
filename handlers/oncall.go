package handlers

import (
	"fmt"
	"strings"
	"time"

	"opsbot/bot"
	"opsbot/models"
)

// onDuty shows who is on call now and the hotline (值班).
func (h *Handlers) onDuty(c *bot.Context) error {
	return h.tx(c, func(tx *models.Tx) error {
		team, err := tx.Team()
		if err != nil {
			return err
		}
		var names []string
		for _, id := range tx.OnCall(h.oncall, h.loc()) {
			if s, ok := team.Member(id); ok {
				names = append(names, who(s))
			}
		}
		var b strings.Builder
		if len(names) == 0 {
			b.WriteString("当前没有排值班，请联系服务主管。")
		} else {
			fmt.Fprintf(&b, "当前值班：%s。", strings.Join(names, "、"))
		}
		if h.oncall.Hotline != "" {
			fmt.Fprintf(&b, "\n运维热线（7×24）：%s", h.oncall.Hotline)
		}
		b.WriteString("\n紧急故障请直接报修，值班工程师会收到提醒。")
		c.Reply(b.String())
		return nil
	})
}

func orDash(s string) string {
	if s == "" {
		return "未填"
	}
	return s
}

// leave marks the caller (or, for a supervisor, someone named) away (请假).
func (h *Handlers) leave(c *bot.Context) error {
	return h.tx(c, func(tx *models.Tx) error {
		a := actor(c)
		fields := strings.Fields(c.Args)
		target := a.UserID
		if len(fields) > 0 && !looksLikeDate(fields[0]) {
			s, err := tx.FindStaff(fields[0])
			if err != nil {
				return err
			}
			target, fields = s.UserID, fields[1:]
		}
		if len(fields) == 0 || len(fields) > 2 {
			return models.Errorf(models.EInvalid, "请写请假日期，例如：请假 12-01 12-03；只请一天：请假 明天")
		}
		now := tx.Now().In(h.loc())
		from, err := parseDay(fields[0], now)
		if err != nil {
			return err
		}
		to := from
		if len(fields) == 2 {
			if to, err = parseDay(fields[1], now); err != nil {
				return err
			}
		}
		until := to.AddDate(0, 0, 1)
		s, err := tx.SetLeave(a, target, from, until)
		if err != nil {
			return err
		}
		span := from.Format("1月2日")
		if !to.Equal(from) {
			span += " 至 " + to.Format("1月2日")
		}
		whom := "您"
		if target != a.UserID {
			whom = s.Name
		}
		c.Replyf("已登记%s请假：%s。期间未完成的工单会自动转给同级或更高级的工程师，报修人会收到新工程师的联系方式。", whom, span)
		if target != a.UserID {
			return notify(tx, c, target, 0, fmt.Sprintf("%s 为您登记了请假：%s。", a.DisplayName(), span))
		}
		return nil
	})
}

// backFromLeave clears a leave (销假).
func (h *Handlers) backFromLeave(c *bot.Context) error {
	return h.tx(c, func(tx *models.Tx) error {
		a := actor(c)
		target := a.UserID
		if who := strings.TrimSpace(c.Args); who != "" {
			s, err := tx.FindStaff(who)
			if err != nil {
				return err
			}
			target = s.UserID
		}
		s, err := tx.SetLeave(a, target, time.Time{}, time.Time{})
		if err != nil {
			return err
		}
		c.Replyf("已销假，%s 可以接单了。", s.Name)
		return nil
	})
}

func looksLikeDate(s string) bool {
	switch s {
	case "今天", "明天", "后天":
		return true
	}
	return strings.ContainsAny(s, "0123456789")
}

// parseDay reads 今天/明天/后天, 12-01, 12/01, 12月1日 or 2026-12-01 as a
// day in now's zone; a month-day already long past means next year.
func parseDay(s string, now time.Time) (time.Time, error) {
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	switch s {
	case "今天":
		return today, nil
	case "明天":
		return today.AddDate(0, 0, 1), nil
	case "后天":
		return today.AddDate(0, 0, 2), nil
	}
	r := strings.NewReplacer("月", "-", "日", "", "号", "", "/", "-", ".", "-")
	s = r.Replace(s)
	for _, layout := range []string{"2006-1-2", "1-2"} {
		t, err := time.ParseInLocation(layout, s, now.Location())
		if err != nil {
			continue
		}
		if layout == "1-2" {
			t = time.Date(now.Year(), t.Month(), t.Day(), 0, 0, 0, 0, now.Location())
			if t.Before(today.AddDate(0, -6, 0)) {
				t = t.AddDate(1, 0, 0)
			}
		}
		return t, nil
	}
	return time.Time{}, models.Errorf(models.EInvalid, "看不懂日期“%s”，例如：请假 12-01 12-03", s)
}

// reporterName names a ticket's reporter: the name from the address list,
// or the userid when WeCom gave none (the terminal chat, an unknown user).
func reporterName(t *models.Ticket) string {
	if t.ReporterName != "" {
		return t.ReporterName
	}
	return orDash(t.ReporterID)
}
