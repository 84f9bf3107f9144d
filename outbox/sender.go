// Package outbox delivers the messages handlers and jobs queued in the
// database: each row is sent once, retried with backoff when a retry can
// help, held back when a recipient reached WeCom's per-person limits, and
// marked failed (and reported) when it cannot be delivered.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"time"

	"opsbot/kv"
	"opsbot/models"

	"github.com/prometheus/client_golang/prometheus"
)

// Deliverer puts one message in front of its recipient.
type Deliverer interface {
	// Deliver sends m; the response code is kept for interactive cards. An
	// error whose Retryable() reports false is not tried again.
	Deliver(ctx context.Context, m models.OutboxMessage) (responseCode string, err error)
}

// Limit is a per-recipient rate: at most N messages per Window.
type Limit struct {
	N      int
	Window time.Duration
}

// WeComLimits are WeCom's per-recipient limits; beyond them messages are
// dropped silently by WeCom, so opsbot holds them back instead.
var WeComLimits = []Limit{{30, time.Minute}, {1000, time.Hour}}

// Sender runs delivery.
type Sender struct {
	Store     *models.Store
	Deliverer Deliverer
	// KV keeps the per-recipient windows, shared by all replicas.
	KV     kv.Store
	Limits []Limit
	// MaxAttempts is how often a retryable failure is tried.
	MaxAttempts int
	// Backoff is the wait after attempt n (1-based).
	Backoff func(n int) time.Duration
	// Lease is how long an attempt holds a row before another sender may
	// try it (a sender that died mid-send).
	Lease   time.Duration
	Batch   int
	Log     *slog.Logger
	Metrics *Metrics

	wake     chan struct{}
	once     sync.Once
	observed time.Time
}

func (s *Sender) init() {
	s.once.Do(func() {
		s.wake = make(chan struct{}, 1)
		if s.MaxAttempts == 0 {
			s.MaxAttempts = 6
		}
		if s.Backoff == nil {
			s.Backoff = func(n int) time.Duration { return time.Duration(1<<min(n, 8)) * 2 * time.Second }
		}
		if s.Lease == 0 {
			s.Lease = time.Minute
		}
		if s.Batch == 0 {
			s.Batch = 100
		}
		if s.Log == nil {
			s.Log = slog.New(slog.DiscardHandler)
		}
	})
}

// Wake asks the sender to look for work now instead of at its next tick.
func (s *Sender) Wake() {
	s.init()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends, looking for due rows every interval and
// whenever woken.
func (s *Sender) Run(ctx context.Context, interval time.Duration) {
	s.init()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.RunOnce(ctx); err != nil && ctx.Err() == nil {
			s.Log.Error("outbox run failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
	}
}

// RunOnce delivers the rows due now and reports how many it sent. Rows
// are leased a batch at a time and delivered by several workers; one
// recipient's messages always go to the same worker, in order.
func (s *Sender) RunOnce(ctx context.Context) (int, error) {
	s.init()
	sent := 0
	for {
		rows, err := s.Store.LeaseDue(ctx, s.Batch, s.Lease)
		if err != nil {
			return sent, err
		}
		n, err := s.deliverAll(ctx, rows)
		sent += n
		if err != nil {
			return sent, err
		}
		if len(rows) < s.Batch {
			s.observe(ctx)
			return sent, nil
		}
	}
}

// senders is how many deliveries run at once.
const senders = 8

// mergeLimit bounds a message made of several queued texts; WeCom cuts an
// app text at 2048 bytes.
const mergeLimit = 1800

// deliverAll delivers leased rows: each recipient's rows go to one worker,
// in order, and the sent ones are marked in one update.
func (s *Sender) deliverAll(ctx context.Context, rows []models.OutboxMessage) (int, error) {
	byRecipient := map[string][]models.OutboxMessage{}
	var order []string
	for _, m := range rows {
		if _, ok := byRecipient[m.Recipient]; !ok {
			order = append(order, m.Recipient)
		}
		byRecipient[m.Recipient] = append(byRecipient[m.Recipient], m)
	}
	shards := make([][]string, senders)
	for _, r := range order {
		h := fnv.New32a()
		h.Write([]byte(r))
		i := h.Sum32() % senders
		shards[i] = append(shards[i], r)
	}
	var mu sync.Mutex
	var n int
	var done []int64
	var errs []error
	var wg sync.WaitGroup
	for _, shard := range shards {
		if len(shard) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, r := range shard {
				sent, toMark, err := s.deliverTo(ctx, byRecipient[r])
				mu.Lock()
				n += sent
				done = append(done, toMark...)
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := s.Store.MarkSentBatch(ctx, done); err != nil {
		errs = append(errs, err)
	}
	return n, errors.Join(errs...)
}

// deliverTo sends one recipient's rows in order. Texts queued together
// go out as one message (a storm of alerts to one supervisor would
// otherwise wait out WeCom's 30-a-minute limit one by one); when the
// recipient's window is full, the rest waits its turn, postponed at once.
func (s *Sender) deliverTo(ctx context.Context, rows []models.OutboxMessage) (sent int, toMark []int64, err error) {
	units := mergeUnits(rows)
	for i, u := range units {
		wait, err := s.allow(ctx, u[0].Recipient)
		if err != nil {
			return sent, toMark, err
		}
		if wait > 0 {
			s.Metrics.limited()
			var ids []int64
			for _, rest := range units[i:] {
				for _, m := range rest {
					ids = append(ids, m.ID)
				}
			}
			return sent, toMark, s.Store.Postpone(ctx, ids, s.Store.Now().Add(wait))
		}
		ok, marked, err := s.deliverUnit(ctx, u)
		if err != nil {
			return sent, toMark, err
		}
		if ok {
			sent += len(u)
			if !marked {
				for _, m := range u {
					toMark = append(toMark, m.ID)
				}
			}
		}
	}
	return sent, toMark, nil
}

// mergeUnits cuts one recipient's rows into what goes out as one message:
// runs of plain texts joined up to mergeLimit, everything else alone.
func mergeUnits(rows []models.OutboxMessage) [][]models.OutboxMessage {
	var units [][]models.OutboxMessage
	size := 0
	for _, m := range rows {
		if n := len(units); n > 0 && m.MsgType == "text" && units[n-1][0].MsgType == "text" && size+len(m.Content)+2 <= mergeLimit {
			units[n-1] = append(units[n-1], m)
			size += len(m.Content) + 2
			continue
		}
		units = append(units, []models.OutboxMessage{m})
		size = len(m.Content)
	}
	return units
}

// deliverUnit makes one attempt on a unit. ok says it went out; marked
// says it was marked sent already (a card's response code is stored at
// once, it is needed to update the card later).
func (s *Sender) deliverUnit(ctx context.Context, u []models.OutboxMessage) (ok, marked bool, err error) {
	m := u[0]
	if len(u) > 1 {
		parts := make([]string, len(u))
		for i, x := range u {
			parts[i] = x.Content
		}
		m.Content = strings.Join(parts, "\n\n")
	}
	code, derr := s.Deliverer.Deliver(ctx, m)
	if derr == nil {
		s.Metrics.sent()
		if code == "" {
			return true, false, nil
		}
		return true, true, s.Store.MarkSent(ctx, m.ID, code)
	}
	reason := derr.Error()
	for _, x := range u {
		if err := s.failed(ctx, x, derr, reason); err != nil {
			return false, false, err
		}
	}
	return false, false, nil
}

// failed handles a failed attempt on one row: retry later, or give up and
// tell the supervisors.
func (s *Sender) failed(ctx context.Context, m models.OutboxMessage, derr error, reason string) error {
	if retryable(derr) && m.Attempts < s.MaxAttempts {
		s.Log.Warn("outbox send failed, will retry", "outbox", m.ID, "attempt", m.Attempts, "err", reason)
		s.Metrics.retried()
		return s.Store.RetryOutbox(ctx, m.ID, s.Store.Now().Add(s.Backoff(m.Attempts)), reason)
	}
	s.Log.Error("outbox send failed for good", "outbox", m.ID, "attempt", m.Attempts, "err", reason)
	s.Metrics.failed()
	if err := s.Store.FailOutbox(ctx, m.ID, reason); err != nil {
		return err
	}
	return s.reportFailure(ctx, m, reason)
}

// allow takes a slot in every per-recipient window, or says how long to
// wait. The ops group is one recipient like any other.
func (s *Sender) allow(ctx context.Context, recipient string) (time.Duration, error) {
	if s.KV == nil {
		return 0, nil
	}
	for _, l := range s.Limits {
		ok, wait, err := s.KV.Allow(ctx, fmt.Sprintf("outbox:rate:%s:%s", l.Window, recipient), l.N, l.Window)
		if err != nil {
			// Without the shared window, sending is better than holding
			// every message; WeCom's own limit still applies.
			s.Log.Warn("rate window unavailable", "err", err)
			return 0, nil
		}
		if !ok {
			return max(wait, time.Second), nil
		}
	}
	return 0, nil
}

// reportFailure tells the supervisors that a message could not be
// delivered, so that nobody waits for a message that never comes. A failure
// to reach a supervisor is not reported again (no loops).
func (s *Sender) reportFailure(ctx context.Context, m models.OutboxMessage, reason string) error {
	if strings.HasPrefix(m.Key, "failed:") {
		return nil
	}
	return s.Store.Update(ctx, func(tx *models.Tx) error {
		sups, err := tx.ListStaff(models.RoleSupervisor)
		if err != nil {
			return err
		}
		what := "一条消息"
		if m.TicketID != nil {
			what = fmt.Sprintf("工单 #%d 的一条消息", *m.TicketID)
		}
		for _, sup := range sups {
			if sup.UserID == m.Recipient {
				continue
			}
			text := fmt.Sprintf("【发送失败】%s未能送达 %s（%s），请电话联系对方。", what, m.Recipient, shortReason(reason))
			if err := tx.Send(models.Message{To: sup.UserID, Text: text, Key: fmt.Sprintf("failed:%d:%s", m.ID, sup.UserID)}); err != nil {
				return err
			}
		}
		return nil
	})
}

func shortReason(s string) string {
	if r := []rune(s); len(r) > 60 {
		return string(r[:60]) + "…"
	}
	return s
}

// retryable reports whether another attempt may succeed; errors that do
// not say are treated as retryable (network trouble is the common case).
func retryable(err error) bool {
	var r interface{ Retryable() bool }
	if errors.As(err, &r) {
		return r.Retryable()
	}
	return true
}

// Permanent marks an error no retry can fix.
type Permanent struct{ Err error }

func (p Permanent) Error() string   { return p.Err.Error() }
func (p Permanent) Unwrap() error   { return p.Err }
func (p Permanent) Retryable() bool { return false }

// Metrics count deliveries.
type Metrics struct {
	result  *prometheus.CounterVec
	pending prometheus.Gauge
	failedG prometheus.Gauge
	store   *models.Store
}

// NewMetrics registers the outbox metrics.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		result:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "opsbot_outbox_deliveries_total", Help: "Outbox delivery attempts by result (sent, retry, failed, limited)."}, []string{"result"}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{Name: "opsbot_outbox_pending", Help: "Messages waiting for delivery."}),
		failedG: prometheus.NewGauge(prometheus.GaugeOpts{Name: "opsbot_outbox_failed", Help: "Messages given up after their last attempt."}),
	}
	reg.MustRegister(m.result, m.pending, m.failedG)
	return m
}

func (m *Metrics) inc(r string) {
	if m != nil {
		m.result.WithLabelValues(r).Inc()
	}
}
func (m *Metrics) sent()    { m.inc("sent") }
func (m *Metrics) retried() { m.inc("retry") }
func (m *Metrics) failed()  { m.inc("failed") }
func (m *Metrics) limited() { m.inc("limited") }

// observe refreshes the outbox gauges, at most every few seconds: the
// count scans the outbox, too costly to run after every message.
func (s *Sender) observe(ctx context.Context) {
	if s.Metrics == nil || time.Since(s.observed) < 5*time.Second {
		return
	}
	s.observed = time.Now()
	counts, err := s.Store.OutboxCounts(ctx)
	if err != nil {
		return
	}
	s.Metrics.pending.Set(float64(counts[models.OutboxPending]))
	s.Metrics.failedG.Set(float64(counts[models.OutboxFailed]))
}
