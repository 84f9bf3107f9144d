package handlers

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	"opsbot/bot"
	"opsbot/configs"
	"opsbot/models"
	"opsbot/monitor"
)

// Alerts is opsbot's monitor.Sink: every alert is stored, a firing one
// opens or repeats its fingerprint's ticket, a resolved one resolves an
// unclaimed ticket or tells the engineer. People hear of the first alert
// ticket of a system in each storm window at once; the rest go into the
// ops group's summary (schedules: alert-digest). One transaction per
// webhook request, and nothing in it waits on the network.
func (h *Handlers) Alerts(ctx context.Context, alerts []monitor.Alert) error {
	window := h.cfg.Monitoring.Storm.Window.D()
	// One order for every request, and the fingerprints' rows locked before
	// any system's digest row: concurrent requests then take their locks in
	// the same order and wait for each other instead of deadlocking.
	alerts = slices.Clone(alerts)
	slices.SortStableFunc(alerts, func(a, b monitor.Alert) int {
		return cmp.Or(cmp.Compare(h.alertSystem(a.System), h.alertSystem(b.System)), cmp.Compare(a.Source, b.Source), cmp.Compare(a.Key, b.Key))
	})
	return h.store.Update(ctx, func(tx *models.Tx) error {
		maint, err := tx.ActiveMaintenance(nil)
		if err != nil {
			return err
		}
		muted := map[string]bool{}
		for _, m := range maint {
			muted[m.System] = true
		}
		type done struct {
			system string
			out    models.AlertOutcome
		}
		var news []done
		for _, a := range alerts {
			sys := h.alertSystem(a.System)
			// A resolution always goes through: an alert ticket opened
			// before the maintenance must still close.
			mute := muted[sys] && a.Status == monitor.StatusFiring
			out, err := tx.RecordAlert(models.AlertIn{
				Source: string(a.Source), Key: a.Key, Status: string(a.Status), System: sys, Severity: a.Severity,
				Summary: a.Summary, Details: a.Details, URL: a.URL, Labels: a.Labels, StartsAt: a.StartsAt, EndsAt: a.EndsAt,
				Priority: h.severityPriority(a.Severity), Muted: mute,
			})
			if err != nil {
				return fmt.Errorf("handlers: alert %s: %w", a.Key, err)
			}
			if !mute {
				news = append(news, done{sys, out})
			}
		}
		for _, n := range news {
			first, d, err := tx.NoteAlert(n.system, window, n.out)
			if err != nil {
				return err
			}
			if first {
				if err := h.announceAlert(tx, n.out.Ticket, d); err != nil {
					return err
				}
			}
			if t := n.out.Ticket; n.out.TellAssignee && t.AssigneeID != "" {
				if err := tx.Send(models.Message{To: t.AssigneeID, TicketID: t.ID,
					Key:  fmt.Sprintf("alert:ok:%d:%d", t.ID, tx.Now().Unix()),
					Text: fmt.Sprintf("工单 #%d 的告警已恢复：%s。请确认业务正常后发“解决 %d 处理结果”。", t.ID, t.Title, t.ID)}); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// announceAlert tells the ops group of the first alert ticket of a system
// in a storm window, and the on-call engineers when it is out of business
// hours or high priority. Later alerts of the window wait for the summary,
// so a storm costs each person one message per system per window.
func (h *Handlers) announceAlert(tx *models.Tx, t *models.Ticket, d models.AlertDigest) error {
	key := fmt.Sprintf("alert:first:%s:%d", d.System, d.WindowStart.Unix())
	sys := orDash(h.systemName(t.System))
	text := fmt.Sprintf("【告警·%s优先级】%s：%s，工单 #%d。请“接单 %d”。同一系统%s内的后续告警合并汇总发到运维群。",
		t.Priority.Label(), sys, strings.TrimPrefix(t.Title, "【告警】"), t.ID, t.ID, models.SpanText(h.cfg.Monitoring.Storm.Window.D()))
	if err := tx.Send(models.Message{To: models.OpsGroup, Text: text, TicketID: t.ID, Key: key}); err != nil {
		return err
	}
	if t.Priority != models.PriorityHigh && h.store.SLA().Clock().InBusinessHours(tx.Now()) {
		return nil
	}
	team, err := tx.Team()
	if err != nil {
		return err
	}
	urgent := t.Priority == models.PriorityHigh && !h.store.SLA().Clock().InBusinessHours(tx.Now())
	for _, id := range team.Recipients([]string{configs.ToOnCall}, t, tx.OnCall(h.oncall, h.loc())) {
		if err := tx.Send(models.Message{To: id, Text: text, TicketID: t.ID, Key: key + ":" + id}); err != nil {
			return err
		}
		if s, ok := team.Member(id); ok && urgent && h.phoneGateway && s.Phone != "" {
			if err := tx.Send(models.Message{To: models.PhonePrefix + s.Phone, Text: text, TicketID: t.ID, Key: key + ":phone:" + id}); err != nil {
				return err
			}
		}
	}
	return nil
}

// alertSystem turns the system an alert names into a catalog code when the
// name resolves to exactly one system; otherwise the name stays as sent.
func (h *Handlers) alertSystem(name string) string {
	name = strings.TrimSpace(name)
	if codes := h.catalog.Resolve(name); len(codes) == 1 {
		return codes[0]
	}
	return name
}

// severityPriority maps an alert severity to a ticket priority (monitoring.severity_priority).
func (h *Handlers) severityPriority(sev string) models.Priority {
	if p := models.Priority(h.cfg.Monitoring.SeverityPriority[strings.ToLower(sev)]); p.Valid() {
		return p
	}
	return models.PriorityMedium
}

// Muted reports whether a system is under maintenance now: the probe
// runner's Mute hook. It reads the database each time (a probe checks
// every half minute or so); an error mutes nothing, so alerts still fire.
func (h *Handlers) Muted(system string) bool {
	ms, err := h.store.MaintainedSystems(context.Background())
	if err != nil {
		h.log.Warn("maintenance windows unreadable; probes not muted", "err", err)
		return false
	}
	_, ok := ms[h.alertSystem(system)]
	return ok
}

// maintenance handles 维护: start a window, cancel one, or list them.
func (h *Handlers) maintenance(c *bot.Context) error {
	fields := strings.Fields(c.Args)
	return h.tx(c, func(tx *models.Tx) error {
		a := actor(c)
		switch {
		case len(fields) == 0:
			return h.listMaintenance(tx, c)
		case fields[0] == "取消" || fields[0] == "结束":
			var codes []string
			if len(fields) > 1 {
				var err error
				if codes, err = h.systemCodes(fields[1]); err != nil {
					return err
				}
			}
			ended, err := tx.CancelMaintenance(codes, a)
			if err != nil {
				return err
			}
			if len(ended) == 0 {
				c.Reply("当前没有进行中的维护。")
				return nil
			}
			names := h.maintNames(ended)
			c.Replyf("已结束维护：%s。告警和探测恢复正常。", names)
			return tx.Send(models.Message{To: models.OpsGroup, Key: "n:" + c.Msg.Key + ":" + models.OpsGroup,
				Text: fmt.Sprintf("【维护结束】%s 的计划维护已由 %s 结束，告警恢复正常。", names, a.DisplayName())})
		}
		if len(fields) < 3 {
			return models.Errorf(models.EInvalid, "请写系统、时长和原因，例如：维护 收费 2h 数据库升级")
		}
		codes, err := h.systemCodes(fields[0])
		if err != nil {
			return err
		}
		d, err := parseSpan(fields[1])
		if err != nil {
			return err
		}
		reason := strings.Join(fields[2:], " ")
		ms, err := tx.StartMaintenance(codes, d, reason, a)
		if err != nil {
			return err
		}
		span := h.maintSpan(ms[0])
		names := h.maintNames(ms)
		c.Replyf("已登记计划维护：%s，%s，原因：%s。期间该系统的告警和探测静默，报修人会收到维护说明。", names, span, reason)
		return tx.Send(models.Message{To: models.OpsGroup, Key: "n:" + c.Msg.Key + ":" + models.OpsGroup,
			Text: fmt.Sprintf("【计划维护】%s，%s，原因：%s（%s 登记）。期间告警静默。", names, span, reason, a.DisplayName())})
	})
}

func (h *Handlers) listMaintenance(tx *models.Tx, c *bot.Context) error {
	ms, err := tx.ActiveMaintenance(nil)
	if err != nil {
		return err
	}
	if len(ms) == 0 {
		c.Reply("当前没有进行中的维护。登记：维护 收费 2h 数据库升级")
		return nil
	}
	var b strings.Builder
	b.WriteString("进行中的维护：")
	for _, m := range ms {
		fmt.Fprintf(&b, "\n%s：%s，%s", orDash(h.systemName(m.System)), h.maintSpan(m), m.Reason)
	}
	c.Reply(b.String())
	return nil
}

func (h *Handlers) maintSpan(m models.Maintenance) string {
	return models.ClockText(m.StartsAt, h.loc()) + "至" + models.ClockText(m.EndsAt, h.loc())
}

func (h *Handlers) maintNames(ms []models.Maintenance) string {
	var names []string
	for _, m := range ms {
		names = append(names, h.systemName(m.System))
	}
	if len(names) > 4 {
		return fmt.Sprintf("%s等 %d 个系统", strings.Join(names[:4], "、"), len(names))
	}
	return strings.Join(names, "、")
}

// systemCodes resolves a system word (a name, alias, code or category).
func (h *Handlers) systemCodes(word string) ([]string, error) {
	codes := h.catalog.Resolve(word)
	if len(codes) == 0 {
		if r := h.catalog.Recognize(word); r.System != nil {
			codes = []string{r.System.Code}
		}
	}
	if len(codes) == 0 {
		return nil, models.Errorf(models.EInvalid, "没有找到系统“%s”，请写系统名称，例如：收费、挂号、电子病历、HIS", word)
	}
	return codes, nil
}

// parseSpan reads 2h, 30m, 1h30m, 2小时, 30分钟, 1天.
func parseSpan(s string) (time.Duration, error) {
	r := strings.NewReplacer("小时", "h", "分钟", "m", "分", "m", "天", "d", "钟头", "h")
	v := r.Replace(strings.ToLower(s))
	if strings.HasSuffix(v, "d") {
		var n int
		if _, err := fmt.Sscanf(v, "%dd", &n); err == nil && n > 0 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, models.Errorf(models.EInvalid, "看不懂时长“%s”，例如：2h、30m、2小时", s)
	}
	return d, nil
}

// joinOutage runs before a report asks its questions or opens its ticket:
// a report about a system under maintenance hears of the planned work; a
// report about a system with a known outage (a major incident, or a firing
// alert ticket) is linked to it at once; and the report that makes the
// configured number within the window opens one major incident, to which
// the window's earlier reports are linked. handled says the report is done.
func (h *Handlers) joinOutage(tx *models.Tx, c *bot.Context, in *intake) (bool, error) {
	key, codes := h.outageKey(in)
	if key == "" {
		return false, nil
	}
	if !in.stored {
		ms, err := tx.ActiveMaintenance(codes)
		if err != nil {
			return false, err
		}
		if len(ms) > 0 {
			c.Replyf("该系统正在计划维护（%s）：%s", h.maintSpan(ms[0]), ms[0].Reason)
		}
	}
	o, err := tx.LockOutage(key, codes)
	if err != nil {
		return false, err
	}
	if o.Incident == nil {
		t, err := tx.FiringAlertTicket(codes)
		if err != nil {
			return false, err
		}
		if t != nil {
			became, err := o.Open(t)
			if err != nil {
				return false, err
			}
			if became {
				if err := h.tellIncident(tx, t, "有人报告的系统正在告警"); err != nil {
					return false, err
				}
			}
		}
	}
	if o.Incident != nil {
		return true, h.linkReport(tx, c, o, in)
	}
	a := actor(c)
	if err := o.Note(models.OutageReport{UserID: a.UserID, UserName: a.Name, Department: in.Department, Text: in.Text}, h.cfg.Monitoring.Aggregation.Window.D()); err != nil {
		return false, err
	}
	if o.Reporters() < h.cfg.Monitoring.Aggregation.Reports {
		return false, nil
	}
	system := ""
	if len(codes) == 1 {
		system = codes[0]
	}
	name := h.outageName(key)
	incident, err := o.OpenIncident(models.NewTicket{Kind: models.KindFault, System: system, Source: h.source,
		Title:       fmt.Sprintf("【重大事件】%s 多人报告故障", name),
		Description: fmt.Sprintf("%s内 %d 人报告 %s 故障，例如：%s", models.SpanText(h.cfg.Monitoring.Aggregation.Window.D()), o.Reporters(), name, in.Text)})
	if err != nil {
		return false, err
	}
	if err := h.tellIncident(tx, incident, fmt.Sprintf("%s内 %d 人报告", models.SpanText(h.cfg.Monitoring.Aggregation.Window.D()), o.Reporters())); err != nil {
		return false, err
	}
	seen := map[string]bool{a.UserID: true}
	for _, r := range o.Pending {
		if seen[r.UserID] {
			continue
		}
		seen[r.UserID] = true
		if err := h.linkEarlier(tx, o, r); err != nil {
			return false, err
		}
	}
	return true, h.linkReport(tx, c, o, in)
}

// tellIncident tells the supervisors and the ops group of a new major
// incident, once: the keys name the incident, not the message.
func (h *Handlers) tellIncident(tx *models.Tx, t *models.Ticket, why string) error {
	text := fmt.Sprintf("【重大事件】工单 #%d：%s（%s）。后续同一系统的报修自动并入 #%d，报修人会收到进展。请尽快指派处理。", t.ID, t.Title, why, t.ID)
	if err := tx.SendSupervisors(models.Message{Text: text, TicketID: t.ID}, fmt.Sprintf("incident:%d", t.ID), ""); err != nil {
		return err
	}
	return tx.Send(models.Message{To: models.OpsGroup, Text: text, TicketID: t.ID, Key: fmt.Sprintf("incident:%d:%s", t.ID, models.OpsGroup)})
}

// linkReport links the sender's report to the outage's incident: their
// open ticket of the window when they have one, else a new ticket.
func (h *Handlers) linkReport(tx *models.Tx, c *bot.Context, o *models.Outage, in *intake) error {
	a := actor(c)
	t, err := tx.RecentOpenTicket(a.UserID, tx.Now().Add(-h.cfg.Monitoring.Aggregation.Window.D()), o.Systems)
	if err != nil {
		return err
	}
	if t == nil {
		system := in.System
		if system == "" {
			system = o.Incident.System
		}
		if t, _, err = tx.CreateTicket(models.NewTicket{Kind: in.Kind, System: system, Priority: in.Priority, Description: in.Text,
			ReporterID: a.UserID, ReporterName: a.Name, Department: in.Department, Location: in.Location, Phone: in.Phone,
			Source: h.source, SourceKey: c.Msg.Key}, a); err != nil {
			return err
		}
	}
	if err := o.Link(t.ID, a.UserID); err != nil {
		return err
	}
	c.Replyf("该系统故障已知，正在处理，工单 #%d。您的报修已登记为 #%d 并入其中，处理进展和结果会同步通知您。", o.Incident.ID, t.ID)
	return tx.EndConversation(a.UserID)
}

// linkEarlier links a report made before the incident opened: the
// reporter's ticket when the report became one, else a ticket made now
// from what they wrote (their half-done report ends).
func (h *Handlers) linkEarlier(tx *models.Tx, o *models.Outage, r models.OutageReport) error {
	t, err := tx.RecentOpenTicket(r.UserID, r.At.Add(-time.Minute), o.Systems)
	if err != nil {
		return err
	}
	if t == nil {
		rec := h.catalog.Recognize(r.Text)
		sys := o.Incident.System
		if rec.System != nil {
			sys = rec.System.Code
		}
		if t, _, err = tx.CreateTicket(models.NewTicket{Kind: rec.Kind, System: sys, Priority: rec.Priority, Description: r.Text,
			ReporterID: r.UserID, ReporterName: r.UserName, Department: r.Department, Location: rec.Location,
			Source: h.source, SourceKey: fmt.Sprintf("outage-report:%d", r.ID)}, models.Actor{UserID: r.UserID, Name: r.UserName, Role: models.RoleReporter}); err != nil {
			return err
		}
		if err := tx.EndConversation(r.UserID); err != nil {
			return err
		}
	}
	if err := o.Link(t.ID, r.UserID); err != nil {
		return err
	}
	return tx.Send(models.Message{To: r.UserID, TicketID: t.ID, Key: fmt.Sprintf("incident:%d:report:%d", o.Incident.ID, r.ID),
		Text: fmt.Sprintf("该系统故障已知，正在处理，工单 #%d。您的报修已登记为 #%d 并入其中，无需再回答之前的问题，处理进展和结果会同步通知您。", o.Incident.ID, t.ID)})
}

// outageKey is what reports are grouped by: the system when the report
// names one, else a category (HIS, LIS …) named in the text. codes are
// the systems it covers.
func (h *Handlers) outageKey(in *intake) (string, []string) {
	if in.System != "" {
		return in.System, []string{in.System}
	}
	folded := configs.FoldKey(in.Text)
	seen := map[string]bool{}
	for _, s := range h.catalog.Systems() {
		cat := configs.FoldKey(s.Category)
		if cat == "" || seen[cat] {
			continue
		}
		seen[cat] = true
		if containsWord(folded, cat) {
			return strings.ToUpper(s.Category), h.catalog.Resolve(s.Category)
		}
	}
	return "", nil
}

// containsWord finds an ASCII word in s not glued to other ASCII letters
// ("his" in "his又登不上了", not in "this").
func containsWord(s, word string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], word)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(word)
		before := j == 0 || !isASCIILetter(rune(s[j-1]))
		after := end == len(s) || !isASCIILetter(rune(s[end]))
		if before && after {
			return true
		}
		i = j + 1
	}
}

func isASCIILetter(r rune) bool { return r < unicode.MaxASCII && unicode.IsLetter(r) }

func (h *Handlers) outageName(key string) string {
	if n := h.systemName(key); n != "" && n != key {
		return n
	}
	return key + " 系统"
}

// split unlinks a report wrongly linked to an incident (拆分).
func (h *Handlers) split(c *bot.Context) error {
	id, _, err := parseNumber(c.Args, "拆分 12")
	if err != nil {
		return err
	}
	return h.tx(c, func(tx *models.Tx) error {
		t, parent, err := tx.Split(id, actor(c))
		if err != nil {
			return err
		}
		c.Replyf("已把工单 #%d 从 #%d 拆出，单独处理，时限照常计算。", id, parent)
		return notify(tx, c, t.ReporterID, id, fmt.Sprintf("您的工单 #%d 与 #%d 不是同一问题，已改为单独处理，工程师会尽快联系您。", id, parent))
	})
}

// lockOutages takes the outage rows the batch's text messages may report
// about, sorted, so that concurrent batches take them in one order.
func (h *Handlers) lockOutages(tx *models.Tx, msgs []bot.Incoming) error {
	seen := map[string][]string{}
	for _, m := range msgs {
		if m.Type != bot.TypeText || strings.TrimSpace(m.Text) == "" {
			continue
		}
		in, _ := h.recognise(m.Text)
		if key, codes := h.outageKey(in); key != "" {
			seen[key] = codes
		}
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, err := tx.LockOutage(k, seen[k]); err != nil {
			return err
		}
	}
	return nil
}
