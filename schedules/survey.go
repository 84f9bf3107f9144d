package schedules

import (
	"context"
	"fmt"

	"opsbot/configs"
	"opsbot/models"
)

// Survey sends the invitations of a yearly survey just started (its
// recipients' departments are expanded through WeCom first, outside any
// transaction) and, once, reminds those who have not answered after 3 days.
func (j *Jobs) Survey(ctx context.Context) error {
	var run *models.SurveyRun
	if err := j.Store.View(ctx, func(tx *models.Tx) (err error) { run, err = tx.SurveyToInvite(); return err }); err != nil {
		return err
	}
	if run != nil {
		if err := j.inviteSurvey(ctx, run); err != nil {
			return err
		}
	}
	return j.Store.Update(ctx, func(tx *models.Tx) error {
		year, users, err := tx.SurveyReminders()
		if err != nil {
			return err
		}
		for _, u := range users {
			text := fmt.Sprintf("【提醒】%d 年度满意度调查还差您的意见，约 1 分钟。发“调查”继续作答。", year)
			if err := tx.Send(models.Message{To: u, Text: text, Key: fmt.Sprintf("survey:%d:remind:%s", year, u)}); err != nil {
				return err
			}
		}
		return nil
	})
}

func (j *Jobs) inviteSurvey(ctx context.Context, run *models.SurveyRun) error {
	s, err := configs.LoadSurvey(j.Config.Rating.SurveyFile)
	if err != nil {
		return err
	}
	users := append([]string(nil), s.Recipients.Users...)
	for _, d := range s.Recipients.Departments {
		if j.Members == nil {
			j.Log.Warn("survey department skipped: WeCom is not configured", "job", "survey", "department", d)
			continue
		}
		ms, err := j.Members(ctx, d)
		if err != nil {
			return fmt.Errorf("survey: members of %s: %w", d, err)
		}
		users = append(users, ms...)
	}
	n := len(run.QuestionList())
	return j.Store.Update(ctx, func(tx *models.Tx) error {
		fresh, err := tx.InviteSurvey(run.Year, dedupe(users))
		if err != nil {
			return err
		}
		for _, u := range fresh {
			text := fmt.Sprintf("【%d 年度满意度调查】感谢您一年来对信息科运维工作的支持！问卷共 %d 题，约 1 分钟。发“调查”开始作答。", run.Year, n)
			if err := tx.Send(models.Message{To: u, Text: text, Key: fmt.Sprintf("survey:%d:invite:%s", run.Year, u)}); err != nil {
				return err
			}
		}
		j.Log.Info("survey invitations", "job", "survey", "year", run.Year, "invited", len(fresh))
		return nil
	})
}

func dedupe(ids []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
