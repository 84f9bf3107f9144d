// Package monitor is opsbot's edge for machine alerts: it turns Alertmanager
// webhooks, a small generic JSON webhook and its own probes into one
// normalised Alert and hands batches of them to a Sink. It knows nothing of
// tickets; the Sink (handlers/models) decides what an alert means.
package monitor

import (
	"context"
	"time"
)

// Status is whether an alert is firing or resolved.
type Status string

// Alert statuses, the same words Alertmanager uses.
const (
	StatusFiring   Status = "firing"
	StatusResolved Status = "resolved"
)

// Valid reports whether s is firing or resolved.
func (s Status) Valid() bool { return s == StatusFiring || s == StatusResolved }

// Source names where an alert came from.
type Source string

// Alert sources.
const (
	SourceAlertmanager Source = "alertmanager"
	SourceGeneric      Source = "generic"
	SourceProbe        Source = "probe"
)

// Alert is one alert notification, the same shape whatever sent it.
//
// Key identifies the alert across its notifications within one Source:
// Alertmanager's fingerprint, the generic webhook's key, or "probe:<name>".
// Repeats of a firing alert carry the same Key; so does its resolution.
type Alert struct {
	Key    string
	Status Status
	// System is the raw system name the sender gave (a label value, possibly
	// mapped by SystemRule); it is not checked against the catalog here.
	System   string
	Severity string // as sent, lower-cased: critical, warning, info, …; may be empty
	Summary  string
	Details  string
	URL      string
	// StartsAt is when the problem began, as the sender saw it; zero if unknown.
	StartsAt time.Time
	// EndsAt is when a resolved alert ended; zero while firing.
	EndsAt time.Time
	Labels map[string]string
	Source Source
}

// Sink takes accepted alerts. The webhooks call it once per request with all
// of that request's alerts; an error makes the webhook answer 503 so the
// sender retries the whole batch, so Alerts must tolerate seeing an alert
// twice.
type Sink interface {
	Alerts(ctx context.Context, alerts []Alert) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ctx context.Context, alerts []Alert) error

// Alerts calls f.
func (f SinkFunc) Alerts(ctx context.Context, alerts []Alert) error { return f(ctx, alerts) }
