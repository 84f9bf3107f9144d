package models

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// SurveyRun is one year's satisfaction survey.
type SurveyRun struct {
	Year      int `gorm:"primaryKey"`
	StartedAt time.Time
	StartedBy string
	// RemindAt is when the one reminder goes to those who have not
	// answered; nil once it went.
	RemindAt  *time.Time
	Questions string
	// InvitedAt is when the invitations went out; nil until the invite job
	// has expanded the recipients.
	InvitedAt *time.Time
}

// TableName is the survey_runs table.
func (SurveyRun) TableName() string { return "survey_runs" }

// QuestionList is the survey's questions.
func (r SurveyRun) QuestionList() []string {
	var qs []string
	json.Unmarshal([]byte(r.Questions), &qs)
	return qs
}

// SurveyPoints turns an answer 1-5 into points (5 → 100 … 1 → 20), the
// same scale as ticket ratings.
func SurveyPoints(answer int) int { return answer * 20 }

// StartSurvey opens year's survey with its questions; the invite job then
// asks the recipients. A second start is refused.
func (tx *Tx) StartSurvey(year int, by string, questions []string, remindAfter time.Duration) (*SurveyRun, error) {
	var prev SurveyRun
	err := tx.db.Take(&prev, "year = ?", year).Error
	if err == nil {
		return nil, Errorf(EConflict, "%d 年度满意度调查已于 %s 发起，发“满意度调查 结果 %d”查看进度", year, prev.StartedAt.In(time.FixedZone("CST", 8*3600)).Format("1月2日"), year)
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, wrap("start survey", err)
	}
	q, _ := json.Marshal(questions)
	remind := tx.now.Add(remindAfter)
	r := SurveyRun{Year: year, StartedAt: tx.now, StartedBy: by, RemindAt: &remind, Questions: string(q)}
	return &r, wrap("start survey", tx.db.Create(&r).Error)
}

// SurveyToInvite returns a survey whose invitations have not gone out.
func (tx *Tx) SurveyToInvite() (*SurveyRun, error) {
	var r SurveyRun
	err := tx.forUpdate().Where("invited_at IS NULL").Order("year").Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	return &r, wrap("survey to invite", err)
}

// InviteSurvey records the recipients of year's survey and returns those
// not asked before; it marks the invitations sent.
func (tx *Tx) InviteSurvey(year int, users []string) ([]string, error) {
	var fresh []string
	for _, u := range users {
		res := tx.db.Exec(`INSERT INTO survey_recipients (year, user_id, asked_at) VALUES (?, ?, ?) ON CONFLICT (year, user_id) DO NOTHING`, year, u, tx.now)
		if res.Error != nil {
			return nil, wrap("invite survey", res.Error)
		}
		if res.RowsAffected == 1 {
			fresh = append(fresh, u)
		}
	}
	return fresh, wrap("invite survey", tx.db.Model(&SurveyRun{}).Where("year = ?", year).Update("invited_at", tx.now).Error)
}

// SurveyReminders returns, once, the recipients of a survey whose reminder
// time has come and who have not answered.
func (tx *Tx) SurveyReminders() (year int, users []string, err error) {
	var r SurveyRun
	err = tx.forUpdate().Where("remind_at <= ? AND invited_at IS NOT NULL", tx.now).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, wrap("survey reminders", err)
	}
	if err := tx.db.Raw(`SELECT user_id FROM survey_recipients WHERE year = ? AND answered_at IS NULL ORDER BY user_id`, r.Year).Scan(&users).Error; err != nil {
		return 0, nil, wrap("survey reminders", err)
	}
	return r.Year, users, wrap("survey reminders", tx.db.Model(&SurveyRun{}).Where("year = ?", r.Year).Update("remind_at", nil).Error)
}

// SurveyOpen returns the run of year and whether user was asked and has
// not finished answering.
func (tx *Tx) SurveyOpen(year int, user string) (*SurveyRun, bool, error) {
	var r SurveyRun
	if err := tx.db.Take(&r, "year = ?", year).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, false, nil
		}
		return nil, false, wrap("survey", err)
	}
	var n int64
	err := tx.db.Raw(`SELECT COUNT(*) FROM survey_recipients WHERE year = ? AND user_id = ? AND answered_at IS NULL`, year, user).Scan(&n).Error
	return &r, n == 1, wrap("survey", err)
}

// AnswerSurvey records one answer (1-5) to question q (0-based).
func (tx *Tx) AnswerSurvey(year int, user string, q, answer int) error {
	if answer < 1 || answer > 5 {
		return Errorf(EInvalid, "请回复 1 到 5 的数字（5 非常满意，1 非常不满意）")
	}
	return wrap("answer survey", tx.db.Exec(`INSERT INTO survey_answers (year, user_id, question, score) VALUES (?, ?, ?, ?)
ON CONFLICT (year, user_id, question) DO UPDATE SET score = excluded.score`, year, user, q, SurveyPoints(answer)).Error)
}

// FinishSurvey records the free comment and marks the user's answers done.
func (tx *Tx) FinishSurvey(year int, user, comment string) error {
	return wrap("finish survey", tx.db.Exec(`UPDATE survey_recipients SET answered_at = ?, comment = ? WHERE year = ? AND user_id = ?`,
		tx.now, strings.TrimSpace(comment), year, user).Error)
}

// SurveyResult is a year's survey outcome.
type SurveyResult struct {
	Year            int
	Asked, Answered int64
	// Mean is the mean of every answer, in points.
	Mean      float64
	Questions []SurveyQuestionResult
	Comments  []SurveyCommentResult
}

// SurveyQuestionResult is one question's mean (points) and answers.
type SurveyQuestionResult struct {
	Text    string
	Mean    float64
	Answers int64
}

// SurveyCommentResult is one free comment.
type SurveyCommentResult struct{ By, Text string }

// ResponseRate is answered ÷ asked.
func (r SurveyResult) ResponseRate() Rate { return Rate{N: r.Answered, Of: r.Asked} }

// SurveyResults computes year's results in SQL; nil when none ran.
func (tx *Tx) SurveyResults(year int) (*SurveyResult, error) {
	var run SurveyRun
	err := tx.db.Take(&run, "year = ?", year).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("survey results", err)
	}
	res := &SurveyResult{Year: year}
	var head struct{ Asked, Answered int64 }
	if err := tx.db.Raw(`SELECT COUNT(*) AS asked, COUNT(answered_at) AS answered FROM survey_recipients WHERE year = ?`, year).Scan(&head).Error; err != nil {
		return nil, wrap("survey results", err)
	}
	res.Asked, res.Answered = head.Asked, head.Answered
	var mean *float64
	if err := tx.db.Raw(`SELECT AVG(a.score * 1.0) FROM survey_answers a JOIN survey_recipients r ON r.year = a.year AND r.user_id = a.user_id
WHERE a.year = ? AND r.answered_at IS NOT NULL`, year).Scan(&mean).Error; err != nil {
		return nil, wrap("survey results", err)
	}
	if mean != nil {
		res.Mean = *mean
	}
	var per []struct {
		Question int
		Mean     float64
		N        int64
	}
	if err := tx.db.Raw(`SELECT a.question, AVG(a.score * 1.0) AS mean, COUNT(*) AS n FROM survey_answers a
JOIN survey_recipients r ON r.year = a.year AND r.user_id = a.user_id
WHERE a.year = ? AND r.answered_at IS NOT NULL GROUP BY a.question`, year).Scan(&per).Error; err != nil {
		return nil, wrap("survey results", err)
	}
	qs := run.QuestionList()
	res.Questions = make([]SurveyQuestionResult, len(qs))
	for i, q := range qs {
		res.Questions[i].Text = q
	}
	for _, p := range per {
		if p.Question >= 0 && p.Question < len(qs) {
			res.Questions[p.Question].Mean, res.Questions[p.Question].Answers = p.Mean, p.N
		}
	}
	var comments []struct{ UserID, Comment string }
	if err := tx.db.Raw(`SELECT user_id, comment FROM survey_recipients WHERE year = ? AND comment <> '' ORDER BY answered_at`, year).Scan(&comments).Error; err != nil {
		return nil, wrap("survey results", err)
	}
	for _, c := range comments {
		res.Comments = append(res.Comments, SurveyCommentResult{By: c.UserID, Text: c.Comment})
	}
	return res, nil
}

// SurveyQuestionText is question q of n, as asked in chat.
func SurveyQuestionText(year, q, n int, text string) string {
	return fmt.Sprintf("【%d 年度满意度调查】第 %d/%d 题：%s\n请回复 1-5：5 非常满意，4 满意，3 一般，2 不满意，1 非常不满意。回复“取消”可稍后再答。", year, q+1, n, text)
}
