package models

import (
	"time"

	"opsbot/configs"
)

// OnCallAt returns who is on call at t: a dated override when one covers
// t, else the rotation's week. loc is the hospital's zone, in which the
// rota is written.
func OnCallAt(o configs.OnCall, t time.Time, loc *time.Location) []string {
	t = t.In(loc)
	for _, ov := range o.Overrides {
		from, err1 := time.ParseInLocation(configs.OnCallTimeLayout, ov.From, loc)
		to, err2 := time.ParseInLocation(configs.OnCallTimeLayout, ov.To, loc)
		if err1 == nil && err2 == nil && !t.Before(from) && t.Before(to) {
			return ov.Users
		}
	}
	weeks := o.Rotation.Weeks
	if len(weeks) == 0 {
		return nil
	}
	start, err := time.ParseInLocation(time.DateOnly, o.Rotation.Start, loc)
	if err != nil {
		return nil
	}
	hh, err := time.Parse("15:04", o.Rotation.Handover)
	if err == nil {
		start = start.Add(time.Duration(hh.Hour())*time.Hour + time.Duration(hh.Minute())*time.Minute)
	}
	// Count weeks by calendar days so that a daylight-saving zone would not
	// shift the hand-over; Asia/Shanghai has none, but the rota is general.
	days := int(t.Sub(start).Hours() / 24)
	if t.Before(start) {
		days -= 7
	}
	week := days / 7
	if days < 0 {
		week = (days - 6) / 7
	}
	n := len(weeks)
	return weeks[((week%n)+n)%n]
}

// OnCall is who is on call at the transaction's instant: the overrides
// edited in the console (kept in the database, so every replica sees
// them) win over the rota file's. When they cannot be read, the file
// alone answers, so nobody's reminder is lost to a read error.
func (tx *Tx) OnCall(o configs.OnCall, loc *time.Location) []string {
	ws, err := tx.Windows(false)
	if err == nil && len(ws) > 0 {
		o = WithOverrides(o, ws, loc)
	}
	return OnCallAt(o, tx.now, loc)
}

// WithOverrides puts database on-call overrides ahead of the file's.
func WithOverrides(file configs.OnCall, db []Window, loc *time.Location) configs.OnCall {
	out := file
	out.Overrides = nil
	for _, w := range db {
		out.Overrides = append(out.Overrides, configs.OnCallOverride{From: w.From.In(loc).Format(configs.OnCallTimeLayout), To: w.To.In(loc).Format(configs.OnCallTimeLayout), Users: w.Users, Note: w.Note})
	}
	out.Overrides = append(out.Overrides, file.Overrides...)
	return out
}
