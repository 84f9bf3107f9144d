package bot

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/sync/singleflight"

	"opsbot/kv"
)

// Inbox stores an accepted message durably before WeCom gets its 200.
type Inbox interface {
	// Accept stores msg; dup reports that a message with the same Key was stored before.
	Accept(ctx context.Context, msg Incoming) (dup bool, err error)
}

// ReceiverConfig wires the callback handler; zero durations and sizes take defaults.
type ReceiverConfig struct {
	Crypto *Crypto
	Inbox  Inbox
	// Dedupe answers WeCom's retries without touching the database; nil
	// leaves deduplication to the Inbox alone.
	Dedupe    kv.Store
	DedupeTTL time.Duration // default 24h
	MaxSkew   time.Duration // default 5 min; older or newer timestamps are replays
	MaxBody   int64         // default 1 MiB
	Now       func() time.Time
	Metrics   *Metrics
	Log       *slog.Logger
	// OnAccepted is called once per new message after the Inbox stored it;
	// it runs on the request goroutine, so it must only enqueue.
	OnAccepted func(Incoming)
}

// Receiver defaults.
const (
	DefaultDedupeTTL = 24 * time.Hour
	DefaultMaxSkew   = 5 * time.Minute
	DefaultMaxBody   = 1 << 20
	// storeTimeout bounds the dedupe and inbox writes. They do not follow the
	// request's context: when WeCom hangs up at 5 s the write should still
	// finish, so that its retry meets a stored message instead of a rollback.
	storeTimeout = 10 * time.Second
	dedupePrefix = "wecom:dedupe:"
	// Dedupe key values: pending while the inbox write runs, done after.
	dedupePending = "pending"
	dedupeDone    = "done"
)

type receiver struct {
	cfg ReceiverConfig
	// flights joins concurrent copies of one message in this process.
	flights singleflight.Group
}

// NewReceiver returns the http.Handler for /wecom/callback; it panics when
// Crypto or Inbox is missing, which is a wiring mistake.
func NewReceiver(cfg ReceiverConfig) http.Handler {
	if cfg.Crypto == nil || cfg.Inbox == nil {
		panic("bot: NewReceiver needs Crypto and Inbox")
	}
	if cfg.DedupeTTL <= 0 {
		cfg.DedupeTTL = DefaultDedupeTTL
	}
	if cfg.MaxSkew <= 0 {
		cfg.MaxSkew = DefaultMaxSkew
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &receiver{cfg: cfg}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		rc.verifyURL(w, r)
	case http.MethodPost:
		rc.receive(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		rc.refuse(w, r, http.StatusMethodNotAllowed, reasonMethod, nil)
	}
}

// verifyURL answers the check WeCom makes when an admin saves the callback
// URL. Its timestamp is not checked: replaying it reveals nothing new.
func (rc *receiver) verifyURL(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	plain, err := rc.cfg.Crypto.VerifyURL(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), q.Get("echostr"))
	if err != nil {
		rc.refuseErr(w, r, err)
		return
	}
	rc.cfg.Metrics.callback(resultVerified)
	rc.cfg.Log.Info("wecom callback URL verified")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, plain)
}

func (rc *receiver) receive(w http.ResponseWriter, r *http.Request) {
	start := time.Now() // wall time of this process, not the injected clock
	if r.ContentLength > rc.cfg.MaxBody {
		rc.refuse(w, r, http.StatusRequestEntityTooLarge, reasonTooLarge, nil)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, rc.cfg.MaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			rc.refuse(w, r, http.StatusRequestEntityTooLarge, reasonTooLarge, nil)
			return
		}
		rc.refuse(w, r, http.StatusBadRequest, reasonMalformed, err)
		return
	}
	q := r.URL.Query()
	ts := q.Get("timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		rc.refuse(w, r, http.StatusBadRequest, reasonMalformed, errors.New("timestamp is not a number"))
		return
	}
	plain, err := rc.cfg.Crypto.Open(q.Get("msg_signature"), ts, q.Get("nonce"), body)
	if err != nil {
		rc.refuseErr(w, r, err)
		return
	}
	// Checked after the signature, so a stale refusal means an authentic
	// message replayed late (or a clock gone wrong), not noise.
	if skew := rc.cfg.Now().Sub(time.Unix(sec, 0)); skew > rc.cfg.MaxSkew || skew < -rc.cfg.MaxSkew {
		rc.refuse(w, r, http.StatusForbidden, reasonStale, nil)
		return
	}
	msg, err := ParseIncoming(plain)
	if err != nil {
		rc.refuse(w, r, http.StatusBadRequest, reasonMalformed, err)
		return
	}

	// Copies of a message that arrive while this process is storing it
	// (WeCom retrying a slow answer) wait for that and share its outcome,
	// instead of racing it to Redis and to the inbox's unique key.
	leader := false
	v, err, _ := rc.flights.Do(msg.Key, func() (any, error) {
		leader = true
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), storeTimeout)
		defer cancel()
		return rc.store(ctx, msg)
	})
	if err != nil {
		rc.cfg.Metrics.callback(resultFailed)
		if leader {
			rc.cfg.Log.Error("wecom inbox accept failed", "msg_key", msg.Key, "wecom_user", msg.User, "err", err)
		}
		http.Error(w, "", http.StatusInternalServerError)
		return
	}
	if !leader || v.(string) == resultDuplicate {
		rc.ok(w, resultDuplicate, start)
		rc.debug(r, "wecom duplicate callback", msg)
		return
	}
	if rc.cfg.OnAccepted != nil {
		rc.cfg.OnAccepted(msg)
	}
	rc.ok(w, resultAccepted, start)
	rc.debug(r, "wecom callback accepted", msg)
}

// debug logs a handled callback; the check comes first because building
// the record costs allocations on every callback, and debug is off in
// production.
func (rc *receiver) debug(r *http.Request, what string, msg Incoming) {
	if rc.cfg.Log.Enabled(r.Context(), slog.LevelDebug) {
		rc.cfg.Log.Debug(what, "msg_key", msg.Key, "wecom_user", msg.User, "type", msg.Type)
	}
}

// store dedupes msg and stores it in the inbox; it returns resultAccepted
// for a new message and resultDuplicate for a copy.
func (rc *receiver) store(ctx context.Context, msg Incoming) (string, error) {
	claimed, seen := rc.claim(ctx, msg.Key)
	if seen {
		return resultDuplicate, nil
	}
	dup, err := rc.cfg.Inbox.Accept(ctx, msg)
	if err != nil {
		// Forget the claim, or WeCom's retry would be answered as a
		// duplicate of a message that was never stored.
		if claimed {
			if derr := rc.cfg.Dedupe.Del(ctx, dedupePrefix+msg.Key); derr != nil {
				rc.cfg.Metrics.dedupeFailed()
				rc.cfg.Log.Error("wecom dedupe key not released; retries of this message will be dropped until it expires", "msg_key", msg.Key, "err", derr)
			}
		}
		return "", err
	}
	rc.markDone(msg.Key)
	if dup {
		return resultDuplicate, nil
	}
	return resultAccepted, nil
}

// claim takes the dedupe key. seen reports a message already stored, to be
// answered 200 at once; claimed reports that this request holds the key.
// A key still pending (another request is storing the same message right
// now, typically WeCom retrying a slow answer) is not treated as stored:
// that request may yet fail and release it, so this one goes on to the
// inbox, whose unique key decides. A store outage also goes on to the inbox.
func (rc *receiver) claim(ctx context.Context, key string) (claimed, seen bool) {
	if rc.cfg.Dedupe == nil {
		return false, false
	}
	prior, err := rc.cfg.Dedupe.Claim(ctx, dedupePrefix+key, dedupePending, rc.cfg.DedupeTTL)
	if err != nil {
		rc.cfg.Metrics.dedupeFailed()
		rc.cfg.Log.Warn("wecom dedupe store failed; relying on the inbox", "msg_key", key, "err", err)
		return false, false
	}
	return prior == "", prior == dedupeDone
}

// markDone records that the message is stored, so later retries are
// answered without asking the inbox. The answer does not wait for it:
// until the mark is written a retry finds the key pending and asks the
// inbox, which knows.
func (rc *receiver) markDone(key string) {
	if rc.cfg.Dedupe == nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		defer cancel()
		if err := rc.cfg.Dedupe.Set(ctx, dedupePrefix+key, dedupeDone, rc.cfg.DedupeTTL); err != nil {
			rc.cfg.Metrics.dedupeFailed()
			rc.cfg.Log.Warn("wecom dedupe store failed; retries of this message go to the inbox", "msg_key", key, "err", err)
		}
	}()
}

func (rc *receiver) ok(w http.ResponseWriter, result string, start time.Time) {
	w.WriteHeader(http.StatusOK)
	rc.cfg.Metrics.callback(result)
	rc.cfg.Metrics.acked(result, time.Since(start))
}

// refuseErr maps the crypto and parse errors to statuses.
func (rc *receiver) refuseErr(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrSignature):
		rc.refuse(w, r, http.StatusForbidden, reasonSignature, nil)
	case errors.Is(err, ErrReceiveID):
		rc.refuse(w, r, http.StatusForbidden, reasonReceiveID, nil)
	default:
		rc.refuse(w, r, http.StatusBadRequest, reasonMalformed, err)
	}
}

// refuse answers an error status. The log names the reason and the peer
// only: bodies may carry patients' names and the query carries signatures.
func (rc *receiver) refuse(w http.ResponseWriter, r *http.Request, status int, reason string, detail error) {
	rc.cfg.Metrics.refused(reason)
	attrs := []any{"reason", reason, "status", status, "remote", r.RemoteAddr}
	if detail != nil {
		attrs = append(attrs, "err", detail.Error())
	}
	rc.cfg.Log.Warn("wecom callback refused", attrs...)
	http.Error(w, http.StatusText(status), status)
}
