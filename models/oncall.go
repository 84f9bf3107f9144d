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
