package models

import (
	"fmt"
	"strings"
	"time"
)

// Words shared by every message that shows a ticket or a time, so that a
// reply and a reminder say the same thing the same way.

// Summary is a ticket in one line: "#12 门急诊收费｜打印不了发票".
func Summary(t *Ticket, cat *Catalog) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d ", t.ID)
	if name := cat.Name(t.System); name != "" {
		b.WriteString(name + "｜")
	}
	b.WriteString(t.Title)
	return b.String()
}

// Name is the Chinese name of a system code, "" for none, the code itself
// when the catalog does not know it.
func (c *Catalog) Name(code string) string {
	if code == "" {
		return ""
	}
	if c != nil {
		if s, ok := c.System(code); ok {
			return s.Name
		}
	}
	return code
}

// ClockText shows an instant the way people read it: "12月1日 17:00".
func ClockText(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("1月2日 15:04")
}

// UntilText says how far a deadline is: "还剩 2小时10分" or "已超时 35分".
func UntilText(due, now time.Time) string {
	d := due.Sub(now)
	if d < 0 {
		return "已超时 " + SpanText(-d)
	}
	return "还剩 " + SpanText(d)
}

// SpanText writes a duration in Chinese, to the minute.
func SpanText(d time.Duration) string {
	d = d.Round(time.Minute)
	days := int(d / (24 * time.Hour))
	hours := int(d % (24 * time.Hour) / time.Hour)
	mins := int(d % time.Hour / time.Minute)
	var b strings.Builder
	if days > 0 {
		fmt.Fprintf(&b, "%d天", days)
	}
	if hours > 0 {
		fmt.Fprintf(&b, "%d小时", hours)
	}
	if mins > 0 && days == 0 {
		fmt.Fprintf(&b, "%d分", mins)
	}
	if b.Len() == 0 {
		return "不到1分钟"
	}
	return b.String()
}
