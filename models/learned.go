package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"opsbot/configs"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ActSystem records a corrected system (改系统); the note is "OLD→NEW".
const ActSystem Action = "system"

func init() { actionLabels[ActSystem] = "改系统" }

// LearnedAlias is a phrase an engineer's correction taught the recogniser.
// A phrase corrected to two different systems is kept as Conflict and never
// installed, so that a disputed word does not keep flipping.
type LearnedAlias struct {
	Phrase    string `gorm:"primaryKey"`
	Code      string
	Conflict  bool
	CreatedBy string
	CreatedAt time.Time
}

// TableName is the learned aliases table.
func (LearnedAlias) TableName() string { return "learned_aliases" }

// Learn outcomes.
const (
	LearnedNew      = "new"      // the phrase is now an alias
	LearnedSame     = "same"     // it already pointed at this system
	LearnedConflict = "conflict" // it pointed elsewhere: now disputed, not learned
)

// CorrectSystem sets a ticket's system (改系统) and records the event; it
// returns the ticket and the code it had before. Engineers and supervisors
// may correct any ticket: recognition is what is being corrected.
func (tx *Tx) CorrectSystem(id int64, a Actor, code string) (*Ticket, string, error) {
	if a.Role != RoleEngineer && !a.Manages() {
		return nil, "", Errorf(EForbidden, "只有服务工程师或服务主管可以改系统")
	}
	t, err := tx.ticketForUpdate(id)
	if err != nil {
		return nil, "", err
	}
	old := t.System
	if old == code {
		return nil, "", Errorf(EConflict, "工单 #%d 的系统已经是它了，无需修改", id)
	}
	t.System = code
	t.UpdatedAt = tx.now
	if err := tx.save(t); err != nil {
		return nil, "", err
	}
	return t, old, tx.addEvent(t.ID, a, ActSystem, t.Status, t.Status, fmt.Sprintf("%s→%s", orNone(old), code))
}

func orNone(s string) string {
	if s == "" {
		return "未定"
	}
	return s
}

// LearnAlias records that phrase means the system code. A phrase already
// learned for another system becomes conflicting (and stays so).
func (tx *Tx) LearnAlias(phrase, code, by string) (string, error) {
	key := configs.FoldKey(phrase)
	if key == "" {
		return "", fmt.Errorf("store: learn alias: empty phrase")
	}
	row := LearnedAlias{Phrase: key, Code: code, CreatedBy: by, CreatedAt: tx.now}
	res := tx.db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "phrase"}}, DoNothing: true}).Create(&row)
	if res.Error != nil {
		return "", wrap("learn alias", res.Error)
	}
	if res.RowsAffected == 1 {
		return LearnedNew, nil
	}
	var prev LearnedAlias
	if err := tx.forUpdate().Take(&prev, "phrase = ?", key).Error; err != nil {
		return "", wrap("learn alias", err)
	}
	if prev.Code == code && !prev.Conflict {
		return LearnedSame, nil
	}
	if prev.Code == code {
		return LearnedConflict, nil
	}
	err := tx.db.Model(&LearnedAlias{}).Where("phrase = ?", key).Update("conflict", true).Error
	return LearnedConflict, wrap("learn alias", err)
}

// LearnedAliases lists every learned phrase, conflicting ones included,
// in phrase order.
func (tx *Tx) LearnedAliases() ([]LearnedAlias, error) {
	var out []LearnedAlias
	return out, wrap("learned aliases", tx.db.Order("phrase").Find(&out).Error)
}

// DeleteLearnedAlias removes one phrase; a missing one is a user error.
func (tx *Tx) DeleteLearnedAlias(phrase string) error {
	res := tx.db.Where("phrase = ?", configs.FoldKey(phrase)).Delete(&LearnedAlias{})
	if res.Error != nil {
		return wrap("delete learned alias", res.Error)
	}
	if res.RowsAffected == 0 {
		return Errorf(ENotFound, "没有学到过“%s”，发“别名”查看已学的词", phrase)
	}
	return nil
}

// LearnedPhrases returns the usable learned aliases (phrase → code), what
// Catalog.SetLearned takes; every replica reloads them periodically.
func (s *Store) LearnedPhrases(ctx context.Context) (map[string]string, error) {
	var rows []LearnedAlias
	err := s.db.WithContext(ctx).Where("conflict = ?", false).Find(&rows).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		err = nil
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.Phrase] = r.Code
	}
	return out, wrap("learned phrases", err)
}

// CorrectedIn counts the tickets created in [from, to) whose system was
// corrected at least once (统计, the learning's headline).
func (tx *Tx) CorrectedIn(from, to time.Time) (int64, error) {
	if err := tx.flush(); err != nil {
		return 0, err
	}
	var n int64
	err := tx.db.Raw(`SELECT COUNT(DISTINCT e.ticket_id) FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id
WHERE e.action = ? AND `+inPeriod, ActSystem, from.UTC(), to.UTC()).Scan(&n).Error
	return n, wrap("corrected", err)
}
