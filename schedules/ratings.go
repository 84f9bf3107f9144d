package schedules

import (
	"context"
	"fmt"

	"opsbot/models"
)

// ratingPolicy is the survey's timing from the configuration.
func (j *Jobs) ratingPolicy() models.RatingPolicy {
	return models.NewRatingPolicy(j.Config.Rating)
}

// SweepRatings sends the one reminder of a survey nobody answered
// (rating.remind_after) and closes surveys that ran out
// (rating.expire_after) as not rated. An expired survey sends nothing: a
// click on its card is answered that the survey has ended.
func (j *Jobs) SweepRatings(ctx context.Context) error {
	for {
		n, err := j.Store.SweepRatings(ctx, j.ratingPolicy(), sweepBatch, func(tx *models.Tx, due []models.RatingDue) error {
			for _, d := range due {
				if d.Expired {
					continue
				}
				t, err := tx.Ticket(d.Rating.TicketID)
				if err != nil {
					return err
				}
				card := models.RatingCard(t)
				card.TaskID = fmt.Sprintf("rate-again-%d", t.ID)
				card.Title = fmt.Sprintf("工单 #%d 还未评价，耽误您几秒钟", t.ID)
				if err := tx.Send(models.Message{To: d.Rating.ReporterID, Card: card, TicketID: t.ID, Key: fmt.Sprintf("remind-rating:%d", t.ID)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil || n < sweepBatch {
			return err
		}
	}
}
