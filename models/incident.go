package models

import (
	"fmt"
)

// SetPriority changes a ticket's priority. The resolution deadline is
// recomputed from creation with the new target, so the business time
// already used still counts.
func (tx *Tx) SetPriority(id int64, a Actor, p Priority, reason string) (*Ticket, error) {
	t, err := tx.ticketForUpdate(id)
	if err != nil {
		return nil, err
	}
	if err := Authorize(a, t, ActPriority); err != nil {
		return nil, err
	}
	if !t.Status.Open() {
		return nil, Errorf(EConflict, "工单 #%d %s，不能调整优先级", id, statusPhrases[t.Status])
	}
	if t.Priority == p {
		return nil, Errorf(EInvalid, "工单 #%d 已经是%s优先级", id, p.Label())
	}
	note := fmt.Sprintf("%s→%s %s", t.Priority.Label(), p.Label(), reason)
	t.Priority = p
	if t.Kind != KindPolicy {
		t.DueResolution = tx.s.sla.ResolutionDue(t.CreatedAt, p, t.PausedBusiness).UTC()
	}
	if OnsiteRequired(p, t.Kind) && t.DueOnsite == nil {
		o := tx.s.sla.Deadlines(t.CreatedAt, p, t.Kind).Onsite.UTC()
		t.DueOnsite = &o
	}
	t.UpdatedAt = tx.now
	if err := tx.save(t); err != nil {
		return nil, err
	}
	return t, tx.addEvent(id, a, ActPriority, t.Status, t.Status, note)
}

// MarkMajor flags a major incident (重大事件), which gets an analysis report.
func (tx *Tx) MarkMajor(id int64, a Actor) (*Ticket, error) {
	t, err := tx.ticketForUpdate(id)
	if err != nil {
		return nil, err
	}
	if err := Authorize(a, t, ActMajor); err != nil {
		return nil, err
	}
	if t.Major {
		return nil, Errorf(EInvalid, "工单 #%d 已经是重大事件", id)
	}
	t.Major = true
	t.UpdatedAt = tx.now
	if err := tx.save(t); err != nil {
		return nil, err
	}
	return t, tx.addEvent(id, a, ActMajor, t.Status, t.Status, "")
}

// Merge links duplicate reports to one parent incident. The children stay
// open and follow the parent: they resolve when it resolves, and their
// reporters hear its news.
func (tx *Tx) Merge(parentID int64, childIDs []int64, a Actor) (*Ticket, []Ticket, error) {
	parent, err := tx.ticketForUpdate(parentID)
	if err != nil {
		return nil, nil, err
	}
	if err := Authorize(a, parent, ActMerge); err != nil {
		return nil, nil, err
	}
	if !parent.Status.Open() {
		return nil, nil, Errorf(EConflict, "主工单 #%d %s，不能再并入", parentID, statusPhrases[parent.Status])
	}
	if parent.ParentID != nil {
		return nil, nil, Errorf(EInvalid, "#%d 本身已并入 #%d，请以 #%d 为主单", parentID, *parent.ParentID, *parent.ParentID)
	}
	var out []Ticket
	for _, cid := range childIDs {
		if cid == parentID {
			return nil, nil, Errorf(EInvalid, "主单 #%d 不能并入自己", cid)
		}
		ch, err := tx.ticketForUpdate(cid)
		if err != nil {
			return nil, nil, err
		}
		if !ch.Status.Open() {
			return nil, nil, Errorf(EConflict, "工单 #%d %s，不能合并", cid, statusPhrases[ch.Status])
		}
		if ch.ParentID != nil {
			return nil, nil, Errorf(EConflict, "工单 #%d 已并入 #%d", cid, *ch.ParentID)
		}
		p := parentID
		ch.ParentID = &p
		ch.UpdatedAt = tx.now
		if err := tx.save(ch); err != nil {
			return nil, nil, err
		}
		if err := tx.addEvent(cid, a, ActMerge, ch.Status, ch.Status, fmt.Sprintf("并入 #%d", parentID)); err != nil {
			return nil, nil, err
		}
		if err := tx.addEvent(parentID, a, ActMerge, parent.Status, parent.Status, fmt.Sprintf("并入 #%d", cid)); err != nil {
			return nil, nil, err
		}
		out = append(out, *ch)
	}
	return parent, out, nil
}

// resolveChildren resolves the open tickets merged into t with its text.
func (tx *Tx) resolveChildren(t *Ticket, a Actor) error {
	var children []Ticket
	if err := tx.forUpdate().Where("parent_id = ? AND status IN ?", t.ID, OpenStatuses).Order("id DESC").Find(&children).Error; err != nil {
		return wrap("resolve merged", err)
	}
	for i := range children {
		ch := &children[i]
		_, err := tx.moveLocked(ch, ActResolve, a, fmt.Sprintf("随 #%d 一并解决：%s", t.ID, t.Resolution), tx.resolving(t.Resolution, t.AssigneeID))
		if err != nil {
			return err
		}
	}
	return nil
}
