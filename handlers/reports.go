package handlers

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"opsbot/bot"
	"opsbot/configs"
	"opsbot/models"
	"opsbot/reports"
)

// convObjection is the conversation kind of an approver writing their
// comment on a report; its state is "kind:period".
const convObjection = "report_objection"

// monthlyReport answers 月报 [YYYY-MM]: the month's figures against the
// targets and whether the hospital confirmed it; the XLSX follows from
// the report job (it is built outside the message's transaction).
func (h *Handlers) monthlyReport(c *bot.Context) error {
	return h.tx(c, func(tx *models.Tx) error {
		now := tx.Now().In(h.loc())
		y, m := now.Year(), now.Month()
		if arg := strings.TrimSpace(c.Args); arg != "" {
			t, err := time.ParseInLocation("2006-01", strings.ReplaceAll(arg, "/", "-"), h.loc())
			if err != nil {
				return models.Errorf(models.EInvalid, "月份写成 2026-11，例如：月报 2026-11")
			}
			y, m = t.Year(), t.Month()
		}
		p := models.MonthPeriod(y, m, h.loc())
		return h.reportReply(tx, c, reports.Monthly, p)
	})
}

// annualReport answers 年报 [YYYY].
func (h *Handlers) annualReport(c *bot.Context) error {
	return h.tx(c, func(tx *models.Tx) error {
		y := tx.Now().In(h.loc()).Year()
		if arg := strings.TrimSpace(c.Args); arg != "" {
			n, err := strconv.Atoi(strings.TrimSuffix(arg, "年"))
			if err != nil || n < 2000 || n > 2100 {
				return models.Errorf(models.EInvalid, "年份写成 2026，例如：年报 2026")
			}
			y = n
		}
		return h.reportReply(tx, c, reports.Annual, models.YearPeriod(y, h.loc()))
	})
}

func (h *Handlers) reportReply(tx *models.Tx, c *bot.Context, kind reports.Kind, p models.Period) error {
	if !p.From.Before(tx.Now()) {
		return models.Errorf(models.EInvalid, "%s还没有开始，没有可报告的工单", p.Label)
	}
	r, err := ReportSummary(tx, h.cfg.Contract, h.cfg.Rating.AlertAtOrBelow, h.catalog, kind, p)
	if err != nil {
		return err
	}
	c.Reply(reports.SummaryText(r) + "\n医院确认：" + reports.ConfirmationState(r.Approvals) + "\nXLSX 报表正在生成，稍后发给您。")
	return tx.RequestReport(string(kind), reports.PeriodKey(kind, p), c.User(), models.DeliverRequester)
}

// ReportSummary is a report without its ticket list: the figures, low
// ratings and confirmations read in tx, enough for the chat summary.
func ReportSummary(tx *models.Tx, targets configs.Contract, alertAt int, cat *models.Catalog, kind reports.Kind, p models.Period) (*reports.Report, error) {
	f, err := tx.Figures(p, targets, alertAt)
	if err != nil {
		return nil, err
	}
	r := &reports.Report{Kind: kind, Figures: f, SystemName: cat.Name, Location: p.From.Location()}
	cs, err := tx.Confirmations(string(kind), reports.PeriodKey(kind, p))
	if err != nil {
		return nil, err
	}
	r.Approvals = reports.ApprovalsOf(cs)
	return r, nil
}

// reportCard handles 确认 / 有意见 on a report's confirmation card.
func (h *Handlers) reportCard(c *bot.Context) error {
	parts := strings.Split(c.Msg.EventKey, ":")
	if len(parts) != 4 {
		return models.Errorf(models.EInvalid, "这个按钮已失效，请联系服务主管")
	}
	what, kind, period := parts[1], parts[2], parts[3]
	name := reports.Kind(kind).Label() + " " + period
	return h.tx(c, func(tx *models.Tx) error {
		if what == "ok" {
			if err := tx.Confirm(kind, period, c.User(), models.AnswerConfirmed, ""); err != nil {
				return err
			}
			c.Replyf("已确认%s，谢谢。", name)
			if err := notifySupervisors(tx, c, 0, fmt.Sprintf("%s 已确认%s。", actor(c).DisplayName(), name)); err != nil {
				return err
			}
			return markCard(tx, c, "已确认")
		}
		if err := tx.Confirm(kind, period, c.User(), models.AnswerObjected, ""); err != nil {
			return err
		}
		c.Replyf("请直接回复您对%s的意见（一句话即可），我们会转给服务主管。", name)
		if err := tx.SaveConversation(c.User(), convObjection, kind+":"+period, 24*time.Hour); err != nil {
			return err
		}
		return markCard(tx, c, "有意见")
	})
}

// objectionComment takes the approver's comment after 有意见.
func (h *Handlers) objectionComment(tx *models.Tx, c *bot.Context) (bool, error) {
	kind, state, ok, err := tx.Conversation(c.User())
	if err != nil || !ok || kind != convObjection {
		return false, err
	}
	rk, period, _ := strings.Cut(state, ":")
	text := strings.TrimSpace(c.Msg.Text)
	if err := tx.Confirm(rk, period, c.User(), models.AnswerObjected, text); err != nil {
		return true, err
	}
	if err := tx.EndConversation(c.User()); err != nil {
		return true, err
	}
	name := reports.Kind(rk).Label() + " " + period
	c.Replyf("已记录您对%s的意见，服务主管会与您联系。", name)
	return true, notifySupervisors(tx, c, 0, fmt.Sprintf("【报告有意见】%s 对%s提出意见：%s", actor(c).DisplayName(), name, text))
}
