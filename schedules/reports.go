package schedules

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"opsbot/models"
	"opsbot/reports"
)

// MonthlyReport delivers last month's service report on the 1st: the
// summary to the ops group, the XLSX through the report job, and a
// confirmation card to each hospital approver (tender 4). The request row
// and the message keys make it once per month, whichever replica runs it.
func (j *Jobs) MonthlyReport(ctx context.Context) error {
	now := j.Store.Now().In(j.loc)
	last := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, j.loc).AddDate(0, -1, 0)
	p := models.MonthPeriod(last.Year(), last.Month(), j.loc)
	key := reports.PeriodKey(reports.Monthly, p)
	return j.Store.Update(ctx, func(tx *models.Tx) error {
		done, err := tx.ReportRequested(string(reports.Monthly), key, models.DeliverOps)
		if err != nil || done {
			return err
		}
		if err := tx.RequestReport(string(reports.Monthly), key, models.SystemActor, models.DeliverOps); err != nil {
			return err
		}
		f, err := tx.Figures(p, j.Config.Contract, j.Config.Rating.AlertAtOrBelow)
		if err != nil {
			return err
		}
		r := &reports.Report{Kind: reports.Monthly, Figures: f, SystemName: j.Catalog.Name, Location: j.loc}
		if err := tx.Send(models.Message{To: models.OpsGroup, Markdown: true, Text: reports.SummaryMarkdown(r), Key: "monthly:summary:" + key}); err != nil {
			return err
		}
		card := reports.ConfirmCard(reports.Monthly, key, firstLine(reports.SummaryText(r)))
		for _, a := range j.Config.Hospital.Approvers {
			asked, err := tx.AskConfirmation(string(reports.Monthly), key, a)
			if err != nil {
				return err
			}
			if asked {
				if err := tx.Send(models.Message{To: a, Card: card, Key: "monthly:confirm:" + key + ":" + a}); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// BuildReports builds the queued reports, each outside any transaction
// (seconds of work), then stores the XLSX and sends it in one short
// transaction that marks the request done, so a report goes out once.
func (j *Jobs) BuildReports(ctx context.Context) error {
	pending, err := j.Store.PendingReports(ctx, 10)
	if err != nil {
		return err
	}
	src := reports.Source{Store: j.Store, Catalog: j.Catalog, Config: j.Config, Title: j.Config.Hospital.Name}
	for _, req := range pending {
		data, name, berr := j.buildReport(ctx, src, req)
		err := j.Store.Update(ctx, func(tx *models.Tx) error {
			failure := ""
			if berr != nil {
				failure = berr.Error()
			}
			done, err := tx.FinishReport(req.ID, failure)
			if err != nil || !done {
				return err
			}
			to := req.RequestedBy
			if req.Deliver == models.DeliverOps {
				to = models.OpsGroup
			}
			if berr != nil {
				j.Log.Error("report failed", "job", "report-build", "kind", req.Kind, "period", req.Period, "err", berr)
				return tx.Send(models.Message{To: to, Text: fmt.Sprintf("抱歉，%s %s 的 XLSX 生成失败，已记录，请稍后再试或联系管理员。", reports.Kind(req.Kind).Label(), req.Period), Key: fmt.Sprintf("report:%d:failed", req.ID)})
			}
			f := &models.File{Name: name, Mime: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Data: data, Kind: models.FileReport, UploadedBy: models.SystemActor}
			if err := tx.SaveFile(f); err != nil {
				return err
			}
			return tx.Send(models.Message{To: to, FileID: f.ID, Key: fmt.Sprintf("report:%d:file", req.ID)})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (j *Jobs) buildReport(ctx context.Context, src reports.Source, req models.ReportRequest) ([]byte, string, error) {
	now := j.Store.Now()
	var p models.Period
	switch req.Kind {
	case string(reports.Annual):
		y, perr := strconv.Atoi(req.Period)
		if perr != nil {
			return nil, "", fmt.Errorf("bad period %q", req.Period)
		}
		p = models.YearPeriod(y, j.loc)
	default:
		t, perr := time.ParseInLocation("2006-01", req.Period, j.loc)
		if perr != nil {
			return nil, "", fmt.Errorf("bad period %q", req.Period)
		}
		p = models.MonthPeriod(t.Year(), t.Month(), j.loc)
	}
	kind := reports.Kind(req.Kind)
	var buf bytes.Buffer
	if req.Deliver == models.DeliverOps && kind == reports.Annual {
		// WeCom takes files up to 20 MB; a year of tickets may be more, so
		// the chat copy leaves the ticket list to the CLI and the console.
		r, err := src.Build(ctx, kind, p, now)
		if err != nil {
			return nil, "", err
		}
		r.Tickets = nil
		if err := reports.WriteXLSX(&buf, r); err != nil {
			return nil, "", err
		}
	} else if _, err := src.XLSX(ctx, kind, p, now, &buf); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), fmt.Sprintf("%s-%s.xlsx", reports.Kind(req.Kind).Label(), req.Period), nil
}
