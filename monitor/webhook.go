package monitor

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Webhook paths, as Register mounts them.
const (
	PathAlertmanager = "/webhooks/alertmanager"
	PathGeneric      = "/webhooks/alerts"
)

// Webhook names (label webhook of the metrics).
const (
	webhookAlertmanager = "alertmanager"
	webhookGeneric      = "generic"
)

// Webhook defaults.
const (
	DefaultMaxBody     = 1 << 20
	DefaultSinkTimeout = 10 * time.Second
)

// WebhookConfig wires the alert webhooks; zero sizes and durations take defaults.
type WebhookConfig struct {
	// Token is the bearer token every request must carry
	// (Authorization: Bearer <token>); required.
	Token string
	// Sink receives each request's alerts; required.
	Sink Sink
	// System finds an Alertmanager alert's system in its labels.
	System SystemRule
	// MaxBody is the largest body read; larger ones get 413. Default 1 MiB.
	MaxBody int64
	// SinkTimeout bounds one Sink call. The call does not follow the
	// request's context: when the sender hangs up, the write still finishes,
	// so that its retry meets stored alerts instead of a rollback.
	SinkTimeout time.Duration
	Metrics     *Metrics
	Log         *slog.Logger
}

// Webhooks serves POST /webhooks/alertmanager and POST /webhooks/alerts.
type Webhooks struct {
	cfg       WebhookConfig
	tokenHash [sha256.Size]byte
}

// NewWebhooks checks cfg and returns the webhook handlers.
func NewWebhooks(cfg WebhookConfig) (*Webhooks, error) {
	if strings.TrimSpace(cfg.Token) == "" {
		return nil, errors.New("monitor: webhooks need a bearer token")
	}
	if cfg.Sink == nil {
		return nil, errors.New("monitor: webhooks need a sink")
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.SinkTimeout <= 0 {
		cfg.SinkTimeout = DefaultSinkTimeout
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Webhooks{cfg: cfg, tokenHash: sha256.Sum256([]byte(cfg.Token))}, nil
}

// Register mounts both webhooks on mux at PathAlertmanager and PathGeneric.
func (wh *Webhooks) Register(mux *http.ServeMux) {
	mux.Handle(PathAlertmanager, wh.Alertmanager())
	mux.Handle(PathGeneric, wh.Generic())
}

// Alertmanager returns the handler of Alertmanager's webhook (payload
// version 4; Grafana's compatible version 1 too).
func (wh *Webhooks) Alertmanager() http.Handler {
	return wh.handler(webhookAlertmanager, func(body []byte) ([]Alert, error) {
		return ParseAlertmanager(body, wh.cfg.System)
	})
}

// Generic returns the handler of the generic JSON webhook (docs/alerts.md).
func (wh *Webhooks) Generic() http.Handler {
	return wh.handler(webhookGeneric, ParseGeneric)
}

func (wh *Webhooks) handler(name string, parse func([]byte) ([]Alert, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now() // wall time of the request, not a domain decision
		code := wh.serve(w, r, name, parse)
		wh.cfg.Metrics.observe(name, strconv.Itoa(code), time.Since(start))
	})
}

// serve answers one request and returns the status it wrote.
func (wh *Webhooks) serve(w http.ResponseWriter, r *http.Request, name string, parse func([]byte) ([]Alert, error)) int {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return wh.refuse(w, r, name, &InputError{Status: http.StatusMethodNotAllowed, Reason: ReasonMethod, Detail: "use POST"})
	}
	if !wh.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="opsbot"`)
		return wh.refuse(w, r, name, &InputError{Status: http.StatusUnauthorized, Reason: ReasonAuth, Detail: "missing or wrong bearer token"})
	}
	tooLarge := &InputError{Status: http.StatusRequestEntityTooLarge, Reason: ReasonTooLarge,
		Detail: "body is larger than " + strconv.FormatInt(wh.cfg.MaxBody, 10) + " bytes"}
	if r.ContentLength > wh.cfg.MaxBody {
		return wh.refuse(w, r, name, tooLarge)
	}
	// MaxBytesReader stops at the limit and makes the server close the
	// connection instead of draining the rest of a huge body.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, wh.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return wh.refuse(w, r, name, tooLarge)
		}
		return wh.refuse(w, r, name, &InputError{Status: http.StatusBadRequest, Reason: ReasonMalformed, Detail: "could not read body"})
	}
	alerts, err := parse(body)
	if err != nil {
		var ie *InputError
		if !errors.As(err, &ie) {
			ie = &InputError{Status: http.StatusBadRequest, Reason: ReasonMalformed, Detail: "unreadable payload"}
		}
		return wh.refuse(w, r, name, ie)
	}
	if len(alerts) > 0 {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), wh.cfg.SinkTimeout)
		err := wh.cfg.Sink.Alerts(ctx, alerts)
		cancel()
		if err != nil {
			wh.cfg.Log.Error("alert sink failed", "webhook", name, "alerts", len(alerts), "err", err)
			w.Header().Set("Retry-After", "10")
			return wh.refuse(w, r, name, &InputError{Status: http.StatusServiceUnavailable, Reason: ReasonSink, Detail: "alerts could not be stored; retry later"})
		}
		wh.cfg.Metrics.Received(alerts)
	}
	wh.cfg.Log.Debug("alerts accepted", "webhook", name, "alerts", len(alerts))
	writeJSON(w, http.StatusOK, map[string]any{"accepted": len(alerts)})
	return http.StatusOK
}

// authorized compares the bearer token in constant time; hashing first
// keeps the comparison's length fixed too.
func (wh *Webhooks) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(got[:], wh.tokenHash[:]) == 1
}

func (wh *Webhooks) refuse(w http.ResponseWriter, r *http.Request, name string, e *InputError) int {
	wh.cfg.Metrics.refused(name, e.Reason)
	level := slog.LevelInfo
	if e.Reason == ReasonAuth {
		level = slog.LevelWarn
	}
	if e.Reason != ReasonSink {
		wh.cfg.Log.Log(r.Context(), level, "alert webhook refused", "webhook", name, "reason", e.Reason, "detail", e.Detail, "remote", r.RemoteAddr)
	}
	writeJSON(w, e.Status, map[string]string{"error": e.Reason, "detail": e.Detail})
	return e.Status
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
