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

	"opsbot/bot"
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

// WeComLimits are WeCom's per-person limits; beyond them messages are
// dropped silently by WeCom, so opsbot holds them back instead.
var WeComLimits = []Limit{{bot.LimitPerUserMinute, time.Minute}, {bot.LimitPerUserHour, time.Hour}}

// RobotLimits are a group robot webhook's limit: the ops group, when it is
// a robot, is held to it instead of a person's.
var RobotLimits = []Limit{{bot.LimitPerRobotMinute, time.Minute}}

// Sender runs delivery.
type Sender struct {
	Store     *models.Store
	Deliverer Deliverer
	// KV keeps the per-recipient windows, shared by all replicas.
	KV     kv.Store
	Limits []Limit
	// GroupLimits, when set, apply to the ops group instead of Limits.
	GroupLimits []Limit
	// MaxAttempts is how often a retryable failure is tried.
	MaxAttempts int
	// Backoff is the wait after attempt n (1-based).
	Backoff func(n int) time.Duration
	// Lease is how long an attempt holds a row before another sender may
	// try it (a sender that died mid-send).
	Lease time.Duration
	Batch int
	// Workers is how many deliveries run at once (8 when 0); the terminal
	// chat uses 1 so that what it prints keeps its order.
	Workers int
	// Only, when set, restricts delivery to messages whose key contains
	// it (the terminal chat forced onto a production database).
	Only    string
	Log     *slog.Logger
	Metrics *Metrics

	wake     chan struct{}
	once     sync.Once
	observed time.Time

	// held schedules the units of recipients over their limit, so that a
	// flood to one person is spread over the windows it needs instead of
	// coming due all at once, again and again, ahead of everyone else's
	// messages.
	heldMu sync.Mutex
	held   map[string]*heldSlots
	pruned time.Time
}

// heldSlots is the window a recipient's next held unit goes into and how
// many units that window has taken.
type heldSlots struct {
	at time.Time
	n  int
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
		if s.Workers <= 0 {
			s.Workers = 8
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
// are leased in a short transaction; the workers (one recipient's rows on
// one worker, in order) call WeCom outside any transaction and record each
// outcome with its own short write as soon as it is known, so a crash
// repeats at most the sends in flight (docs/wecom.md).
func (s *Sender) RunOnce(ctx context.Context) (int, error) {
	s.init()
	sent := 0
	for {
		rows, err := s.Store.LeaseDueFor(ctx, s.Batch, s.Lease, s.Only)
		if err != nil {
			return sent, err
		}
		n, failures, err := s.deliverAll(ctx, rows)
		sent += n
		if err != nil {
			return sent, err
		}
		for _, f := range failures {
			if err := s.reportFailure(ctx, f.m, f.reason); err != nil {
				return sent, err
			}
		}
		if len(rows) < s.Batch {
			s.observe(ctx)
			return sent, nil
		}
	}
}

// failure is a message given up, to report to the supervisors.
type failure struct {
	m      models.OutboxMessage
	reason string
}

// mergeLimit bounds a message made of several queued texts; WeCom cuts an
// app text at 2048 bytes.
const mergeLimit = 1800

// deliverAll delivers leased rows: each recipient's rows go to one worker,
// in order. It returns how many rows went out, which were given up, and
// the first error met recording an outcome.
func (s *Sender) deliverAll(ctx context.Context, rows []models.OutboxMessage) (int, []failure, error) {
	byRecipient := map[string][]models.OutboxMessage{}
	var order []string
	for _, m := range rows {
		if _, ok := byRecipient[m.Recipient]; !ok {
			order = append(order, m.Recipient)
		}
		byRecipient[m.Recipient] = append(byRecipient[m.Recipient], m)
	}
	shards := make([][]string, s.Workers)
	for _, r := range order {
		h := fnv.New32a()
		h.Write([]byte(r))
		i := h.Sum32() % uint32(s.Workers)
		shards[i] = append(shards[i], r)
	}
	type result struct {
		n        int
		failures []failure
		err      error
	}
	results := make([]result, len(shards))
	var wg sync.WaitGroup
	for i, shard := range shards {
		if len(shard) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, r := range shard {
				n, f, err := s.deliverTo(ctx, byRecipient[r])
				results[i].n += n
				results[i].failures = append(results[i].failures, f...)
				if err != nil {
					results[i].err = err
					return
				}
			}
		}()
	}
	wg.Wait()
	var n int
	var failures []failure
	var errs []error
	for _, r := range results {
		n += r.n
		failures = append(failures, r.failures...)
		if r.err != nil {
			errs = append(errs, r.err)
		}
	}
	return n, failures, errors.Join(errs...)
}

// outcome is what happened to some rows: sent (code kept for cards),
// postponed until at, or failed with err.
type outcome struct {
	rows []models.OutboxMessage
	kind int
	code string
	at   time.Time
	err  error
}

const (
	outSent = iota
	outPostponed
	outFailed
)

// deliverTo sends one recipient's rows in order and records each outcome
// at once. Texts queued together go out as one message (a storm of alerts
// to one supervisor would otherwise wait out WeCom's 30-a-minute limit one
// by one); when the recipient's window is full, the rest waits its turn.
func (s *Sender) deliverTo(ctx context.Context, rows []models.OutboxMessage) (int, []failure, error) {
	units := mergeUnits(rows)
	sent := 0
	var failures []failure
	for i, u := range units {
		if wait, down := s.channelDown(u[0]); down {
			// No rate slot is spent on a channel that cannot send.
			ids := make([]int64, 0, len(rows))
			for _, v := range units[i:] {
				for _, m := range v {
					ids = append(ids, m.ID)
				}
			}
			return sent, failures, s.Store.Postpone(context.WithoutCancel(ctx), ids, s.Store.Now().Add(wait))
		}
		if wait := s.allow(ctx, u[0].Recipient); wait > 0 {
			s.Metrics.limited()
			for _, o := range s.hold(u[0].Recipient, units[i:], s.Store.Now().Add(wait)) {
				if _, _, err := s.record(ctx, o); err != nil {
					return sent, failures, err
				}
			}
			return sent, failures, nil
		}
		code, err := s.deliverUnit(ctx, u)
		o := outcome{rows: u, kind: outSent, code: code}
		if err != nil {
			o = outcome{rows: u, kind: outFailed, err: err}
		} else {
			s.Metrics.sent()
		}
		// The outcome is written with its own statement, not held for the
		// rest of the lease: a crash now repeats this send at most.
		n, f, rerr := s.record(context.WithoutCancel(ctx), o)
		sent += n
		failures = append(failures, f...)
		if rerr != nil {
			return sent, failures, rerr
		}
	}
	return sent, failures, nil
}

// hold postpones units of a recipient whose window is full until from:
// as many as one window of the tightest limit allows go there, the next
// ones a window later, and so on. Later leases continue where this one
// stopped.
func (s *Sender) hold(recipient string, units [][]models.OutboxMessage, from time.Time) []outcome {
	limits := s.limitsFor(recipient)
	per, span := limits[0].N, limits[0].Window
	for _, l := range limits[1:] {
		if l.Window < span {
			per, span = l.N, l.Window
		}
	}
	s.heldMu.Lock()
	defer s.heldMu.Unlock()
	if s.held == nil {
		s.held = map[string]*heldSlots{}
	}
	if from.Sub(s.pruned) > span { // forget windows that have passed
		for r, h := range s.held {
			if h.at.Before(from.Add(-span)) {
				delete(s.held, r)
			}
		}
		s.pruned = from
	}
	h := s.held[recipient]
	if h == nil || h.at.Before(from) {
		h = &heldSlots{at: from}
		s.held[recipient] = h
	}
	var out []outcome
	for _, u := range units {
		if h.n >= per {
			h.at, h.n = h.at.Add(span), 0
		}
		h.n++
		if n := len(out); n > 0 && out[n-1].at.Equal(h.at) {
			out[n-1].rows = append(out[n-1].rows, u...)
			continue
		}
		out = append(out, outcome{rows: append([]models.OutboxMessage(nil), u...), kind: outPostponed, at: h.at})
	}
	return out
}

// record writes one outcome; it returns how many rows went out and which
// were given up.
func (s *Sender) record(ctx context.Context, o outcome) (int, []failure, error) {
	switch o.kind {
	case outSent:
		if o.code != "" {
			return len(o.rows), nil, s.Store.MarkSent(ctx, o.rows[0].ID, o.code)
		}
		ids := make([]int64, len(o.rows))
		for i, m := range o.rows {
			ids[i] = m.ID
		}
		return len(o.rows), nil, s.Store.MarkSentBatch(ctx, ids)
	case outPostponed:
		ids := make([]int64, len(o.rows))
		for i, m := range o.rows {
			ids[i] = m.ID
		}
		return 0, nil, s.Store.Postpone(ctx, ids, o.at)
	}
	var failures []failure
	for _, m := range o.rows {
		gaveUp, err := s.failed(ctx, m, o.err)
		if err != nil {
			return 0, failures, err
		}
		if gaveUp {
			failures = append(failures, failure{m, o.err.Error()})
		}
	}
	return 0, failures, nil
}

// mergeUnits cuts one recipient's rows into what goes out as one message:
// runs of plain texts joined up to mergeLimit, everything else alone.
func mergeUnits(rows []models.OutboxMessage) [][]models.OutboxMessage {
	var units [][]models.OutboxMessage
	size := 0
	for _, m := range rows {
		// Rows answering different robot callbacks stay apart: each is
		// the answer to its own message.
		if n := len(units); n > 0 && m.MsgType == "text" && units[n-1][0].MsgType == "text" && m.ResponseCode == units[n-1][0].ResponseCode && size+len(m.Content)+2 <= mergeLimit {
			units[n-1] = append(units[n-1], m)
			size += len(m.Content) + 2
			continue
		}
		units = append(units, []models.OutboxMessage{m})
		size = len(m.Content)
	}
	return units
}

// deliverUnit sends a unit as one message and returns the response code.
func (s *Sender) deliverUnit(ctx context.Context, u []models.OutboxMessage) (string, error) {
	m := u[0]
	if len(u) > 1 {
		parts := make([]string, len(u))
		for i, x := range u {
			parts[i] = x.Content
		}
		m.Content = strings.Join(parts, "\n\n")
	}
	return s.Deliverer.Deliver(ctx, m)
}

// failed counts a failed attempt on one row: it is retried later, or given
// up (gaveUp) after its last attempt or an error no retry can fix.
func (s *Sender) failed(ctx context.Context, m models.OutboxMessage, derr error) (gaveUp bool, err error) {
	attempt := m.Attempts + 1
	reason := derr.Error()
	var down Unavailable
	if errors.As(derr, &down) {
		// The channel is down, not the message: it waits, however long
		// the outage, without using up its attempts.
		s.Log.Debug("outbox channel unavailable, postponed", "outbox", m.ID, "err", reason)
		return false, s.Store.Postpone(ctx, []int64{m.ID}, s.Store.Now().Add(max(down.Wait, time.Second)))
	}
	if retryable(derr) && attempt < s.MaxAttempts {
		s.Log.Warn("outbox send failed, will retry", "outbox", m.ID, "attempt", attempt, "err", reason)
		s.Metrics.retried()
		return false, s.Store.RetryOutbox(ctx, m.ID, s.Store.Now().Add(s.Backoff(attempt)), reason)
	}
	s.Log.Error("outbox send failed for good", "outbox", m.ID, "attempt", attempt, "err", reason)
	s.Metrics.failed()
	return true, s.Store.FailOutbox(ctx, m.ID, reason)
}

// allow takes a slot in every per-recipient window, or says how long to
// wait. The ops group is one recipient like any other.
func (s *Sender) allow(ctx context.Context, recipient string) time.Duration {
	limits := s.limitsFor(recipient)
	if s.KV == nil || len(limits) == 0 {
		return 0
	}
	windows := make([]kv.Window, len(limits))
	for i, l := range limits {
		windows[i] = kv.Window{Key: "outbox:rate:" + l.Window.String() + ":" + recipient, Limit: l.N, Span: l.Window}
	}
	ok, wait, err := s.KV.Allow(ctx, windows...)
	if err != nil {
		// Without the shared window, sending is better than holding
		// every message; WeCom's own limit still applies.
		s.Log.Warn("rate window unavailable", "err", err)
		return 0
	}
	if !ok {
		return max(wait, time.Second)
	}
	return 0
}

// limitsFor are the limits that hold for one recipient.
func (s *Sender) limitsFor(recipient string) []Limit {
	if recipient == models.OpsGroup && len(s.GroupLimits) > 0 {
		return s.GroupLimits
	}
	return s.Limits
}

// reportFailure tells the supervisors that a message could not be
// delivered, so that nobody waits for a message that never comes. A failure
// to reach a supervisor is not reported again (no loops).
func (s *Sender) reportFailure(ctx context.Context, m models.OutboxMessage, reason string) error {
	if strings.HasPrefix(m.Key, "failed:") {
		return nil
	}
	return s.Store.Update(ctx, func(tx *models.Tx) error {
		what := "一条消息"
		if m.TicketID != nil {
			what = fmt.Sprintf("工单 #%d 的一条消息", *m.TicketID)
		}
		text := fmt.Sprintf("【发送失败】%s未能送达 %s（%s），请电话联系对方。", what, m.Recipient, shortReason(reason))
		// Not to the one it failed to reach: that would fail the same way.
		return tx.SendSupervisors(models.Message{Text: text}, fmt.Sprintf("failed:%d", m.ID), m.Recipient)
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

// Unavailable marks a channel that cannot send right now (the smart
// robot's connection is down or held by another replica): the message is
// postponed by Wait, not counted as a failed attempt.
type Unavailable struct {
	Err  error
	Wait time.Duration
}

func (u Unavailable) Error() string   { return u.Err.Error() }
func (u Unavailable) Unwrap() error   { return u.Err }
func (u Unavailable) Retryable() bool { return true }

// Gate is implemented by a Deliverer that can tell, before a rate slot is
// taken, that a message cannot go now (the robot's connection is down).
type Gate interface {
	// Hold reports whether m must wait, and how long to wait before asking again.
	Hold(m models.OutboxMessage) (wait time.Duration, hold bool)
}

// channelDown asks the Deliverer's Gate, if any, whether m must wait.
func (s *Sender) channelDown(m models.OutboxMessage) (time.Duration, bool) {
	g, ok := s.Deliverer.(Gate)
	if !ok {
		return 0, false
	}
	wait, hold := g.Hold(m)
	return max(wait, time.Second), hold
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
