package models

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"opsbot/configs"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Scores reporters rate a closed ticket with (tender 5.1: satisfaction in
// points). The five levels and their points are the contract's.
var Scores = []Score{
	{100, "非常满意"},
	{80, "满意"},
	{60, "一般"},
	{40, "不满意"},
	{20, "非常不满意"},
}

// Score is one rating level.
type Score struct {
	Points int
	Label  string
}

// ScoreFor finds a level by its Chinese name or its points; ok is false
// for anything else.
func ScoreFor(word string) (Score, bool) {
	word = strings.TrimSpace(word)
	for _, s := range Scores {
		if word == s.Label || word == itoa(s.Points) {
			return s, true
		}
	}
	return Score{}, false
}

// ScoreLabel names points (100 → 非常满意).
func ScoreLabel(points int) string {
	for _, s := range Scores {
		if s.Points == points {
			return s.Label
		}
	}
	return itoa(points) + "分"
}

func itoa(n int) string { return strconv.Itoa(n) }

// RatingCard asks a reporter to rate a closed ticket with five buttons.
func RatingCard(t *Ticket) *Card {
	id := strconv.FormatInt(t.ID, 10)
	card := &Card{
		TaskID: "rate-" + id,
		Title:  fmt.Sprintf("工单 #%d 已关闭，请评价本次服务", t.ID),
		Desc:   t.Title,
	}
	for _, s := range Scores {
		card.Buttons = append(card.Buttons, CardButton{Key: fmt.Sprintf("rate:%s:%d", id, s.Points), Text: s.Label})
	}
	card.Buttons[1].Style = 1
	return card
}

// Rating statuses: asked and waiting, rated, or expired unanswered (which
// counts as not rated, never as satisfied).
const (
	RatingAsked   = "asked"
	RatingRated   = "rated"
	RatingExpired = "expired"
)

// Rating is the satisfaction survey of one closed ticket.
type Rating struct {
	TicketID   int64 `gorm:"primaryKey"`
	ReporterID string
	AskedAt    time.Time
	Status     string
	// Score is 20-100, nil while not rated.
	Score       *int
	Comment     string
	RatedAt     *time.Time
	RemindedAt  *time.Time
	NextCheckAt *time.Time
	// Followup is the supervisor's 回访 record of a low rating.
	Followup   string
	FollowupBy string
	FollowupAt *time.Time
}

// TableName is the ratings table.
func (Rating) TableName() string { return "ratings" }

// RatingPolicy is how long a survey runs (configs.Rating).
type RatingPolicy struct {
	ChangeWindow, RemindAfter, ExpireAfter time.Duration
	AlertAtOrBelow                         int
}

// NewRatingPolicy reads the survey's timing from the configuration.
func NewRatingPolicy(r configs.Rating) RatingPolicy {
	return RatingPolicy{ChangeWindow: r.ChangeWindow.D(), RemindAfter: r.RemindAfter.D(), ExpireAfter: r.ExpireAfter.D(), AlertAtOrBelow: r.AlertAtOrBelow}
}

// Low reports whether a score must reach the supervisors at once.
func (p RatingPolicy) Low(points int) bool { return points <= p.AlertAtOrBelow }

// Rateable says whether a closed ticket's reporter is asked to rate: a
// person reported it (not an alert, an inspection or an import).
func Rateable(t *Ticket) bool {
	return t.Status == StatusClosed && t.ReporterID != "" && t.ReporterID != SystemActor && t.ReporterID != OpsGroup &&
		(t.Source == SourceWeCom || t.Source == SourceChat)
}

// AskRating opens the survey of a closed ticket; asked is false when one
// exists already (a message processed twice asks once).
func (tx *Tx) AskRating(t *Ticket, p RatingPolicy) (asked bool, err error) {
	next := tx.now.Add(p.RemindAfter)
	r := Rating{TicketID: t.ID, ReporterID: t.ReporterID, AskedAt: tx.now, Status: RatingAsked, NextCheckAt: &next}
	res := tx.db.Clauses(clause.OnConflict{DoNothing: true}).Create(&r)
	return res.RowsAffected == 1, wrap("ask rating", res.Error)
}

// RatingOf returns a ticket's survey, nil when none was asked.
func (tx *Tx) RatingOf(id int64) (*Rating, error) {
	var r Rating
	err := tx.db.Take(&r, "ticket_id = ?", id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	return &r, wrap("rating", err)
}

// Rate records the reporter's rating of ticket id. A rating may be
// changed within the change window; after it, or after the survey
// expired, it is refused with a message the reporter can act on. changed
// reports whether an earlier rating was replaced.
func (tx *Tx) Rate(id int64, a Actor, s Score, comment string, p RatingPolicy) (r *Rating, changed bool, err error) {
	r, err = tx.lockRating(id)
	if err != nil {
		return nil, false, err
	}
	if r == nil {
		return nil, false, Errorf(ENotFound, "工单 #%d 没有待评价的回访（工单关闭后才会邀请评价）", id)
	}
	if r.ReporterID != a.UserID {
		return nil, false, Errorf(EForbidden, "工单 #%d 只能由报修人评价", id)
	}
	switch r.Status {
	case RatingExpired:
		return nil, false, Errorf(EConflict, "工单 #%d 的评价已截止（%s 内未评价）", id, SpanText(p.ExpireAfter))
	case RatingRated:
		if tx.now.Sub(*r.RatedAt) > p.ChangeWindow {
			return nil, false, Errorf(EConflict, "工单 #%d 已评价为“%s”，超过 %s 不能再修改", id, ScoreLabel(*r.Score), SpanText(p.ChangeWindow))
		}
		changed = true
	}
	points := s.Points
	r.Score, r.Status, r.NextCheckAt = &points, RatingRated, nil
	if !changed {
		r.RatedAt = tx.at()
	}
	if c := strings.TrimSpace(comment); c != "" {
		r.Comment = c
	}
	if err := tx.db.Select("*").Save(r).Error; err != nil {
		return nil, false, wrap("rate", err)
	}
	note := s.Label
	if r.Comment != "" {
		note += "：" + r.Comment
	}
	t, err := tx.Ticket(id)
	if err != nil {
		return nil, false, err
	}
	return r, changed, tx.addEvent(id, a, ActRate, t.Status, t.Status, note)
}

// CommentRating adds the reporter's comment to a rated ticket.
func (tx *Tx) CommentRating(id int64, a Actor, comment string) (*Rating, error) {
	r, err := tx.lockRating(id)
	if err != nil {
		return nil, err
	}
	if r == nil || r.Status != RatingRated || r.ReporterID != a.UserID {
		return nil, Errorf(EConflict, "工单 #%d 没有可补充意见的评价", id)
	}
	r.Comment = strings.TrimSpace(comment)
	if err := tx.db.Model(r).Update("comment", r.Comment).Error; err != nil {
		return nil, wrap("comment rating", err)
	}
	t, err := tx.Ticket(id)
	if err != nil {
		return nil, err
	}
	return r, tx.addEvent(id, a, ActRate, t.Status, t.Status, "意见："+r.Comment)
}

// Followup records the supervisor's follow-up call on a rating (回访).
func (tx *Tx) Followup(id int64, a Actor, text string) (*Rating, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, Errorf(EInvalid, "请写上回访结果，例如：回访 %d 已电话沟通，打印机已更换，报修人认可", id)
	}
	r, err := tx.lockRating(id)
	if err != nil {
		return nil, err
	}
	if r == nil || r.Status != RatingRated {
		return nil, Errorf(EConflict, "工单 #%d 还没有评价，无需回访", id)
	}
	r.Followup, r.FollowupBy, r.FollowupAt = text, a.UserID, tx.at()
	if err := tx.db.Model(r).Updates(map[string]any{"followup": r.Followup, "followup_by": r.FollowupBy, "followup_at": r.FollowupAt}).Error; err != nil {
		return nil, wrap("followup", err)
	}
	t, err := tx.Ticket(id)
	if err != nil {
		return nil, err
	}
	return r, tx.addEvent(id, a, ActFollowup, t.Status, t.Status, text)
}

func (tx *Tx) lockRating(id int64) (*Rating, error) {
	var r Rating
	err := tx.forUpdate().Take(&r, "ticket_id = ?", id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		if _, terr := tx.Ticket(id); terr != nil {
			return nil, terr
		}
		return nil, nil
	}
	return &r, wrap("rating", err)
}

// RatingDue is a survey whose reminder or expiry has come.
type RatingDue struct {
	Rating Rating
	// Expired is true when the survey closes now; otherwise it is the one
	// reminder.
	Expired bool
}

// SweepRatings takes up to limit surveys whose next check has come: the
// one reminder after RemindAfter, the expiry after ExpireAfter. It records
// each and hands them to handle in the same transaction.
func (s *Store) SweepRatings(ctx context.Context, p RatingPolicy, limit int, handle func(tx *Tx, due []RatingDue) error) (int, error) {
	var n int
	err := s.Update(ctx, func(tx *Tx) error {
		q := tx.db.Where("next_check_at <= ? AND status = ?", tx.now, RatingAsked).Order("next_check_at").Limit(limit)
		if s.driver == "postgres" {
			q = q.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
		}
		var rs []Rating
		if err := q.Find(&rs).Error; err != nil {
			return err
		}
		n = len(rs)
		var due []RatingDue
		for i := range rs {
			r := &rs[i]
			expiry := r.AskedAt.Add(p.ExpireAfter)
			d := RatingDue{Rating: *r}
			if !tx.now.Before(expiry) {
				d.Expired = true
				r.Status, r.NextCheckAt = RatingExpired, nil
			} else {
				if r.RemindedAt != nil {
					r.NextCheckAt = &expiry
					if err := tx.db.Model(r).Update("next_check_at", r.NextCheckAt).Error; err != nil {
						return err
					}
					continue
				}
				r.RemindedAt, r.NextCheckAt = tx.at(), &expiry
			}
			if err := tx.db.Select("*").Save(r).Error; err != nil {
				return err
			}
			due = append(due, d)
		}
		if len(due) == 0 {
			return nil
		}
		return handle(tx, due)
	})
	return n, wrap("sweep ratings", err)
}

// LowRating is a low rating with what the report shows of its ticket.
type LowRating struct {
	Rating
	System, ReporterName string
}

// LowRatings lists the period's ratings at or below points, with their
// comments, follow-ups and tickets, oldest first (the reports' 满意度 sheet).
func (tx *Tx) LowRatings(p Period, points int) ([]LowRating, error) {
	var out []LowRating
	err := tx.db.Raw(`SELECT r.*, t.system_code AS system, t.reporter_name AS reporter_name FROM ratings r JOIN tickets t ON t.id = r.ticket_id
WHERE t.created_at >= ? AND t.created_at < ? AND t.status <> 'cancelled' AND r.score IS NOT NULL AND r.score <= ? ORDER BY r.ticket_id`,
		p.From.UTC(), p.To.UTC(), points).Scan(&out).Error
	return out, wrap("low ratings", err)
}
