package handlers

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"opsbot/bot"
	"opsbot/configs"
	"opsbot/models"
)

// convSurvey is the conversation kind of the yearly survey being answered.
const convSurvey = "survey"

type surveyState struct {
	Year int `json:"year"`
	// Q is the question waiting for an answer; len(questions) means the
	// free comment.
	Q int `json:"q"`
}

// survey handles 满意度调查 发起|结果 [年] (supervisors).
func (h *Handlers) survey(c *bot.Context) error {
	words := strings.Fields(c.Args)
	if len(words) == 0 || (words[0] != "发起" && words[0] != "结果") {
		return models.Errorf(models.EInvalid, "请写“满意度调查 发起 2026”或“满意度调查 结果 2026”")
	}
	return h.tx(c, func(tx *models.Tx) error {
		year := tx.Now().In(h.loc()).Year()
		if len(words) > 1 {
			n, err := strconv.Atoi(strings.TrimSuffix(words[1], "年"))
			if err != nil || n < 2000 || n > 2100 {
				return models.Errorf(models.EInvalid, "年份写成 2026，例如：满意度调查 %s 2026", words[0])
			}
			year = n
		}
		if words[0] == "发起" {
			s, err := configs.LoadSurvey(h.cfg.Rating.SurveyFile)
			if err != nil {
				h.log.Error("survey file", "err", err)
				return models.Errorf(models.EInvalid, "调查问卷配置有误，请检查 configs/survey.yaml（见 configs/survey.example.yaml）")
			}
			if _, err := tx.StartSurvey(year, c.User(), s.Questions, surveyRemindAfter); err != nil {
				return err
			}
			c.Replyf("已发起 %d 年度满意度调查（%d 题），问卷将在 1 分钟内发给名单上的人员，3 天后提醒未作答的人。发“满意度调查 结果 %d”查看进度。", year, len(s.Questions), year)
			return nil
		}
		res, err := tx.SurveyResults(year)
		if err != nil {
			return err
		}
		if res == nil {
			return models.Errorf(models.EInvalid, "%d 年还没有发起满意度调查，发“满意度调查 发起 %d”发起", year, year)
		}
		c.Reply(surveyResultText(res, h.cfg.Contract.Satisfaction))
		return nil
	})
}

// surveyRemindAfter is when people who have not answered are reminded once.
const surveyRemindAfter = 72 * time.Hour

func surveyResultText(r *models.SurveyResult, target float64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d 年度满意度调查：邀请 %d 人，已答 %d 人", r.Year, r.Asked, r.Answered)
	if v, ok := r.ResponseRate().Value(); ok {
		fmt.Fprintf(&b, "（回收率 %s）", pct(v))
	}
	if r.Answered == 0 {
		b.WriteString("\n尚无人作答。")
		return b.String()
	}
	mark := "✅"
	if r.Mean+1e-9 < target {
		mark = "❌"
	}
	fmt.Fprintf(&b, "\n总体 %.1f 分（合同≥%.0f）%s", r.Mean, target, mark)
	for i, q := range r.Questions {
		fmt.Fprintf(&b, "\n%d. %s：%.1f 分（%d 人）", i+1, q.Text, q.Mean, q.Answers)
	}
	if len(r.Comments) > 0 {
		fmt.Fprintf(&b, "\n意见 %d 条，见年报“年度调查”表。", len(r.Comments))
	}
	return b.String()
}

// answerSurvey starts (or resumes) the survey for the caller: 调查.
func (h *Handlers) answerSurvey(c *bot.Context) error {
	return h.tx(c, func(tx *models.Tx) error {
		year := tx.Now().In(h.loc()).Year()
		run, open, err := tx.SurveyOpen(year, c.User())
		if err == nil && run == nil {
			// A survey started in December may be answered in January.
			run, open, err = tx.SurveyOpen(year-1, c.User())
		}
		if err != nil {
			return err
		}
		if run == nil || !open {
			c.Reply("目前没有邀请您参加的满意度调查。对某张工单的评价请发“评价 单号 满意”。")
			return nil
		}
		if kind, _, busy, err := tx.Conversation(c.User()); err != nil {
			return err
		} else if busy && kind != convSurvey {
			c.Reply("您有一件报修还没填完，请先答完或回复“取消”，再发“调查”。")
			return nil
		}
		return h.askSurveyQuestion(tx, c, run, surveyState{Year: run.Year})
	})
}

func (h *Handlers) askSurveyQuestion(tx *models.Tx, c *bot.Context, run *models.SurveyRun, st surveyState) error {
	qs := run.QuestionList()
	if st.Q < len(qs) {
		c.Reply(models.SurveyQuestionText(run.Year, st.Q, len(qs), qs[st.Q]))
	} else {
		c.Reply("最后一题：对我们的运维服务有什么意见或建议？直接回复一句话，没有请回复“跳过”。")
	}
	b, _ := json.Marshal(st)
	return tx.SaveConversation(c.User(), convSurvey, string(b), 24*time.Hour)
}

// surveyAnswer takes a reply inside the survey conversation.
func (h *Handlers) surveyAnswer(tx *models.Tx, c *bot.Context) (bool, error) {
	kind, state, ok, err := tx.Conversation(c.User())
	if err != nil || !ok || kind != convSurvey {
		return false, err
	}
	var st surveyState
	if json.Unmarshal([]byte(state), &st) != nil {
		return false, tx.EndConversation(c.User())
	}
	run, open, err := tx.SurveyOpen(st.Year, c.User())
	if err != nil || run == nil || !open {
		return false, err
	}
	qs := run.QuestionList()
	text := strings.TrimSpace(c.Text)
	if st.Q >= len(qs) {
		if text == "跳过" {
			text = ""
		}
		if err := tx.FinishSurvey(st.Year, c.User(), text); err != nil {
			return true, err
		}
		c.Reply("问卷已提交，感谢您对信息科运维工作的支持！")
		return true, tx.EndConversation(c.User())
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 1 || n > 5 {
		c.Reply("请回复 1 到 5 的数字（5 非常满意，1 非常不满意），或回复“取消”稍后再答。")
		return true, nil
	}
	if err := tx.AnswerSurvey(st.Year, c.User(), st.Q, n); err != nil {
		return true, err
	}
	st.Q++
	return true, h.askSurveyQuestion(tx, c, run, st)
}

// abortSurvey ends the survey conversation on 取消; the answers so far stay.
func (h *Handlers) abortSurvey(tx *models.Tx, c *bot.Context) (bool, error) {
	kind, _, ok, err := tx.Conversation(c.User())
	if err != nil || !ok || kind != convSurvey {
		return false, err
	}
	c.Reply("好的，已保存已答的题目。想继续时发“调查”。")
	return true, tx.EndConversation(c.User())
}
