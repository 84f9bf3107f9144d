package monitor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/common/model"
)

// Refusal reasons, the label reason of opsbot_alert_webhook_refusals_total
// and the "error" field of a refusal's JSON body.
const (
	ReasonMethod    = "method"
	ReasonAuth      = "unauthorized"
	ReasonTooLarge  = "too_large"
	ReasonMalformed = "malformed"
	ReasonVersion   = "unknown_version"
	ReasonInvalid   = "invalid"
	ReasonSink      = "sink_unavailable"
)

// InputError is why a webhook body was refused; Status is the HTTP status
// to answer with.
type InputError struct {
	Status int
	Reason string // one of the Reason* constants
	Detail string // a short English explanation for the sender's logs
}

func (e *InputError) Error() string { return "monitor: " + e.Reason + ": " + e.Detail }

func malformed(err error) error {
	return &InputError{Status: http.StatusBadRequest, Reason: ReasonMalformed, Detail: jsonDetail(err)}
}

func invalid(format string, args ...any) error {
	return &InputError{Status: http.StatusUnprocessableEntity, Reason: ReasonInvalid, Detail: fmt.Sprintf(format, args...)}
}

// jsonDetail keeps the position of a syntax error but never echoes input.
func jsonDetail(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q must be %s, not JSON %s", te.Field, te.Type, te.Value)
	case errors.Is(err, errTrailing):
		return errTrailing.Error()
	default:
		return "invalid JSON: " + err.Error()
	}
}

var errTrailing = errors.New("invalid JSON: data after the top-level value")

// decodeJSON decodes exactly one JSON value from body.
func decodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errTrailing
	}
	return nil
}

// SystemRule finds an alert's system in its labels: the first label of
// Labels that has a non-empty value names the system, translated through
// Values when the value is listed there (e.g. job "his-exporter" → "HIS").
type SystemRule struct {
	Labels []string          // default ["system"]
	Values map[string]string // optional label value → system name
}

// DefaultSystemLabel is the label read when SystemRule.Labels is empty.
const DefaultSystemLabel = "system"

// System returns the system named by labels, or "" when none of the rule's
// labels is set.
func (r SystemRule) System(labels map[string]string) string {
	names := r.Labels
	if len(names) == 0 {
		names = []string{DefaultSystemLabel}
	}
	for _, name := range names {
		v := strings.TrimSpace(labels[name])
		if v == "" {
			continue
		}
		if mapped, ok := r.Values[v]; ok {
			return mapped
		}
		return v
	}
	return ""
}

// AlertmanagerMessage is the body of an Alertmanager webhook (version 4).
// Fields Alertmanager adds later are ignored.
type AlertmanagerMessage struct {
	Version           string              `json:"version"`
	GroupKey          string              `json:"groupKey"`
	TruncatedAlerts   uint64              `json:"truncatedAlerts"`
	Status            string              `json:"status"`
	Receiver          string              `json:"receiver"`
	GroupLabels       map[string]string   `json:"groupLabels"`
	CommonLabels      map[string]string   `json:"commonLabels"`
	CommonAnnotations map[string]string   `json:"commonAnnotations"`
	ExternalURL       string              `json:"externalURL"`
	Alerts            []AlertmanagerAlert `json:"alerts"`
	// OrgID is only sent by Grafana's webhook contact point, whose payload
	// is Alertmanager's with version "1".
	OrgID *int64 `json:"orgId,omitempty"`
}

// AlertmanagerAlert is one alert of an AlertmanagerMessage.
type AlertmanagerAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// Severity label and the annotations the summary and details come from.
const (
	severityLabel     = "severity"
	summaryAnnotation = "summary"
	descAnnotation    = "description"
	alertnameLabel    = "alertname"
)

// ParseAlertmanager decodes an Alertmanager webhook body (version 4, or
// Grafana's compatible version 1) into alerts. It returns an *InputError for
// anything the sender must fix; then no alert is returned.
func ParseAlertmanager(body []byte, rule SystemRule) ([]Alert, error) {
	var msg AlertmanagerMessage
	if err := decodeJSON(body, &msg); err != nil {
		return nil, malformed(err)
	}
	switch {
	case msg.Version == "4":
	case msg.Version == "1" && msg.OrgID != nil: // Grafana
	default:
		return nil, &InputError{Status: http.StatusBadRequest, Reason: ReasonVersion,
			Detail: fmt.Sprintf("payload version %q is not supported (want \"4\")", clip(msg.Version, 16))}
	}
	out := make([]Alert, 0, len(msg.Alerts))
	for i, a := range msg.Alerts {
		st := Status(strings.ToLower(a.Status))
		if !st.Valid() {
			return nil, invalid("alerts[%d].status must be firing or resolved", i)
		}
		key := a.Fingerprint
		if key == "" {
			key = labelFingerprint(a.Labels)
		}
		summary := firstNonEmpty(a.Annotations[summaryAnnotation], a.Annotations[descAnnotation], a.Labels[alertnameLabel])
		details := a.Annotations[descAnnotation]
		if details == summary {
			details = ""
		}
		al := Alert{
			Key:      key,
			Status:   st,
			System:   rule.System(a.Labels),
			Severity: strings.ToLower(strings.TrimSpace(a.Labels[severityLabel])),
			Summary:  summary,
			Details:  details,
			URL:      a.GeneratorURL,
			StartsAt: a.StartsAt,
			Labels:   a.Labels,
			Source:   SourceAlertmanager,
		}
		if st == StatusResolved {
			al.EndsAt = a.EndsAt
		}
		out = append(out, al)
	}
	return out, nil
}

// labelFingerprint is Alertmanager's fingerprint of a label set, for senders
// that leave it out.
func labelFingerprint(labels map[string]string) string {
	ls := make(model.LabelSet, len(labels))
	for k, v := range labels {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	return ls.Fingerprint().String()
}

// GenericAlert is one alert of the generic webhook (POST /webhooks/alerts);
// see docs/alerts.md. The body is one object or an array of them.
type GenericAlert struct {
	// Key identifies the alert: every notification of one problem, and its
	// resolution, carries the same key (Zabbix {EVENT.ID}, a rule name, …).
	Key      string            `json:"key"`
	Status   string            `json:"status"` // firing or resolved
	System   string            `json:"system,omitempty"`
	Severity string            `json:"severity,omitempty"`
	Summary  string            `json:"summary,omitempty"`
	Details  string            `json:"details,omitempty"`
	URL      string            `json:"url,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	// StartsAt and EndsAt are RFC 3339 times; optional.
	StartsAt *time.Time `json:"starts_at,omitempty"`
	EndsAt   *time.Time `json:"ends_at,omitempty"`
}

// Limits of generic fields; longer text is cut, a longer key refused.
const (
	maxKeyLen     = 200
	maxSummaryLen = 500
	maxDetailsLen = 8000
)

// ParseGeneric decodes a generic webhook body (an object or an array of
// objects) into alerts. Every alert must be valid or none is returned.
func ParseGeneric(body []byte) ([]Alert, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	var items []GenericAlert
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := decodeJSON(body, &items); err != nil {
			return nil, malformed(err)
		}
		if len(items) == 0 {
			return nil, invalid("empty array: send at least one alert")
		}
	} else {
		var one GenericAlert
		if err := decodeJSON(body, &one); err != nil {
			return nil, malformed(err)
		}
		items = []GenericAlert{one}
	}
	out := make([]Alert, 0, len(items))
	for i, g := range items {
		where := "alert"
		if len(items) > 1 {
			where = fmt.Sprintf("alerts[%d]", i)
		}
		key := strings.TrimSpace(g.Key)
		if key == "" {
			return nil, invalid("%s: key is required", where)
		}
		if len(key) > maxKeyLen {
			return nil, invalid("%s: key is longer than %d bytes", where, maxKeyLen)
		}
		st := Status(strings.ToLower(strings.TrimSpace(g.Status)))
		if !st.Valid() {
			return nil, invalid("%s: status must be firing or resolved", where)
		}
		a := Alert{
			Key:      key,
			Status:   st,
			System:   strings.TrimSpace(g.System),
			Severity: strings.ToLower(strings.TrimSpace(g.Severity)),
			Summary:  clip(strings.TrimSpace(g.Summary), maxSummaryLen),
			Details:  clip(g.Details, maxDetailsLen),
			URL:      strings.TrimSpace(g.URL),
			Labels:   g.Labels,
			Source:   SourceGeneric,
		}
		if g.StartsAt != nil {
			a.StartsAt = *g.StartsAt
		}
		if g.EndsAt != nil && st == StatusResolved {
			a.EndsAt = *g.EndsAt
		}
		out = append(out, a)
	}
	return out, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// clip cuts s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
