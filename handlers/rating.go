package handlers

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"opsbot/bot"
	"opsbot/models"
)

// convRatingComment is the conversation kind of a comment being asked for
// after a rating; its state is the ticket number.
const convRatingComment = "rating_comment"

// ratingPolicy is the survey's timing from the configuration.
func (h *Handlers) ratingPolicy() models.RatingPolicy {
	return models.NewRatingPolicy(h.cfg.Rating)
}

// askRating opens the survey of a ticket that has just closed and puts the
// rating card in front of its reporter: in place of the confirmation card
// they clicked when there is one, else as a new message.
func (h *Handlers) askRating(tx *models.Tx, c *bot.Context, t *models.Ticket) error {
	if !models.Rateable(t) {
		return nil
	}
	asked, err := tx.AskRating(t, h.ratingPolicy())
	if err != nil || !asked {
		return err
	}
	card := models.RatingCard(t)
	if c.Msg.ResponseCode != "" && c.User() == t.ReporterID && strings.HasPrefix(c.Msg.EventKey, "confirm:") {
		card.TaskID = c.Msg.TaskID
		if card.TaskID == "" {
			card.TaskID = fmt.Sprintf("rate-%d", t.ID)
		}
		c.Set(cardDoneKey{}, true)
		return tx.Send(models.Message{To: c.User(), CardUpdate: &models.CardUpdate{ResponseCode: c.Msg.ResponseCode, Card: card}, TicketID: t.ID, Key: "u:" + c.Msg.Key})
	}
	return tx.Send(models.Message{To: t.ReporterID, Card: card, TicketID: t.ID, Key: fmt.Sprintf("ask-rating:%d", t.ID)})
}

// cardDoneKey marks a click whose card was already replaced in this message.
type cardDoneKey struct{}

// rate records a typed rating: 评价 12 满意 [意见].
func (h *Handlers) rate(c *bot.Context) error {
	const example = "评价 12 满意 工程师很及时"
	id, rest, err := parseNumber(c.Args, example)
	if err != nil {
		return err
	}
	word, comment, _ := strings.Cut(rest, " ")
	s, ok := models.ScoreFor(word)
	if !ok {
		return models.Errorf(models.EInvalid, "请选择：非常满意、满意、一般、不满意、非常不满意，例如：评价 %d 满意 工程师很及时", id)
	}
	return h.tx(c, func(tx *models.Tx) error { return h.doRate(tx, c, id, s, comment) })
}

// rateCard handles a click on the rating card.
func (h *Handlers) rateCard(c *bot.Context) error {
	parts := strings.Split(c.Msg.EventKey, ":")
	if len(parts) != 3 {
		return models.Errorf(models.EInvalid, "这个按钮已失效，请发“评价 单号 满意”")
	}
	id, _, err := parseNumber(parts[1], "评价 12 满意")
	if err != nil {
		return err
	}
	s, ok := models.ScoreFor(parts[2])
	if !ok {
		return models.Errorf(models.EInvalid, "这个按钮已失效，请发“评价 %d 满意”", id)
	}
	return h.tx(c, func(tx *models.Tx) error {
		r, err := tx.RatingOf(id)
		if err != nil {
			return err
		}
		if r != nil && r.Status == models.RatingExpired {
			c.Replyf("工单 #%d 的评价已截止，感谢您的关注。如问题仍在，请重新报修。", id)
			return markCard(tx, c, "评价已截止")
		}
		if err := h.doRate(tx, c, id, s, ""); err != nil {
			return err
		}
		return markCard(tx, c, "已评价："+s.Label)
	})
}

// doRate records a rating, asks for a comment once when none came with it,
// and tells the supervisors at once of a low score.
func (h *Handlers) doRate(tx *models.Tx, c *bot.Context, id int64, s models.Score, comment string) error {
	p := h.ratingPolicy()
	r, changed, err := tx.Rate(id, actor(c), s, comment, p)
	if err != nil {
		return err
	}
	verb := "感谢您的评价"
	if changed {
		verb = "已修改评价"
	}
	if strings.TrimSpace(comment) == "" {
		c.Replyf("%s：工单 #%d “%s”。如有意见或建议，请直接回复一句话（可选）；%s内可发“评价 %d 满意”修改。", verb, id, s.Label, models.SpanText(p.ChangeWindow), id)
		if err := tx.SaveConversation(c.User(), convRatingComment, strconv.FormatInt(id, 10), h.cfg.Intake.Expiry.D()); err != nil {
			return err
		}
	} else {
		c.Replyf("%s：工单 #%d “%s”，意见已记录。", verb, id, s.Label)
	}
	if p.Low(s.Points) {
		return h.tellLowRating(tx, c, id, r, "")
	}
	return nil
}

// tellLowRating tells the supervisors of a low rating, with the comment;
// key tells a later comment apart from the rating itself.
func (h *Handlers) tellLowRating(tx *models.Tx, c *bot.Context, id int64, r *models.Rating, key string) error {
	t, err := tx.Ticket(id)
	if err != nil {
		return err
	}
	var b strings.Builder
	if key == "" {
		fmt.Fprintf(&b, "【低分评价】%s，报修人 %s 评价“%s”", models.Summary(t, h.catalog), reporterName(t), models.ScoreLabel(*r.Score))
	} else {
		fmt.Fprintf(&b, "【低分评价·补充意见】工单 #%d 报修人 %s", id, reporterName(t))
	}
	if r.Comment != "" {
		fmt.Fprintf(&b, "：%s", r.Comment)
	}
	if t.AssigneeID != "" {
		fmt.Fprintf(&b, "。负责人 %s", staffName(tx, t.AssigneeID))
	}
	fmt.Fprintf(&b, "。请尽快回访，回访后发“回访 %d 结果”。", id)
	return tx.SendSupervisors(models.Message{Text: b.String(), TicketID: id}, "low:"+c.Msg.Key+key, "")
}

// ratingComment takes the reply after a rating as its comment, unless it
// reads as a new fault report, which is never swallowed as a comment.
func (h *Handlers) ratingComment(tx *models.Tx, c *bot.Context) (handled bool, err error) {
	kind, state, ok, err := tx.Conversation(c.User())
	if err != nil || !ok || kind != convRatingComment {
		return false, err
	}
	if err := tx.EndConversation(c.User()); err != nil {
		return false, err
	}
	_, rec := h.recognise(c.Msg.Text)
	if rec.SmallTalk || rec.FaultLike {
		// Thanks are not an opinion, and a fault goes to the report path.
		if rec.SmallTalk {
			c.Reply("不客气，祝工作顺利！")
			return true, nil
		}
		return false, nil
	}
	id, _ := strconv.ParseInt(state, 10, 64)
	r, err := tx.CommentRating(id, actor(c), c.Msg.Text)
	var ue *models.Error
	if errors.As(err, &ue) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	c.Replyf("已记录您对工单 #%d 的意见，谢谢！", id)
	if h.ratingPolicy().Low(*r.Score) {
		return true, h.tellLowRating(tx, c, id, r, ":comment")
	}
	return true, nil
}

// followup records the supervisor's follow-up call on a rating: 回访 12 <结果>.
func (h *Handlers) followup(c *bot.Context) error {
	id, text, err := parseNumber(c.Args, "回访 12 已电话沟通，报修人认可处理结果")
	if err != nil {
		return err
	}
	return h.tx(c, func(tx *models.Tx) error {
		r, err := tx.Followup(id, actor(c), text)
		if err != nil {
			return err
		}
		c.Replyf("已记录工单 #%d 的回访（评价“%s”），将写入月报。", id, models.ScoreLabel(*r.Score))
		return nil
	})
}
