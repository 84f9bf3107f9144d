package aibot

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// DefaultURL is WeCom's long-connection endpoint.
const DefaultURL = "wss://openws.work.weixin.qq.com"

// Locker is the shared lock that elects the one replica holding the
// connection; opsbot's kv.Store satisfies it.
type Locker interface {
	// Lock takes or extends the lock for ttl; false when another owner holds it.
	Lock(ctx context.Context, key, owner string, ttl time.Duration) (bool, error)
	// Unlock releases the lock when owner still holds it.
	Unlock(ctx context.Context, key, owner string) error
}

// Handler receives the callbacks of the connection. The client calls it
// from one goroutine, one callback after another in arrival order, across
// reconnections; a slow handler delays later callbacks but not acks, pings
// or replies. Callbacks received before Run's context ends are still
// handled; ctx ends 5 s after Run's. A returned error is logged.
type Handler interface {
	HandleMessage(ctx context.Context, m Message) error
	HandleEvent(ctx context.Context, e Event) error
}

// HandlerFuncs adapts two functions to Handler; a nil one ignores its
// callbacks.
type HandlerFuncs struct {
	Message func(ctx context.Context, m Message) error
	Event   func(ctx context.Context, e Event) error
}

// HandleMessage implements Handler.
func (h HandlerFuncs) HandleMessage(ctx context.Context, m Message) error {
	if h.Message == nil {
		return nil
	}
	return h.Message(ctx, m)
}

// HandleEvent implements Handler.
func (h HandlerFuncs) HandleEvent(ctx context.Context, e Event) error {
	if h.Event == nil {
		return nil
	}
	return h.Event(ctx, e)
}

// Config configures a Client; zero fields take the defaults named.
type Config struct {
	BotID  string // required
	Secret string // required
	URL    string // DefaultURL

	Log *slog.Logger     // slog.Default()
	Now func() time.Time // time.Now; stamps Status

	PingInterval time.Duration // 30s between pings
	PingTimeout  time.Duration // 10s for a ping's ack before the connection counts as dead
	AckTimeout   time.Duration // 10s for the dial, the subscribe ack and each outgoing frame's ack

	BackoffMin time.Duration // 1s: first wait after a failed or dropped connection
	BackoffMax time.Duration // 60s: cap of the doubling wait (jittered to half..full)
	// RefusedBackoff is the wait after WeCom refuses the subscription (wrong
	// bot_id or secret): 5 minutes, so a bad secret costs one attempt per
	// 5 minutes rather than a storm.
	RefusedBackoff time.Duration
	// ReplacedBackoff is the wait after disconnected_event (another
	// connection for this robot took over): 60s.
	ReplacedBackoff time.Duration

	MaxFrame int64 // 1 MiB; larger incoming frames are skipped, the connection stays

	// Locker, when set, elects one replica to hold the connection. Nil means
	// this process always connects (a single instance).
	Locker    Locker
	LockKey   string        // "aibot:conn:" + BotID
	Owner     string        // hostname-pid-random
	LockTTL   time.Duration // 15s; the holder renews every LockTTL/3
	LockRetry time.Duration // 5s between tries of a replica that is not the holder

	// HTTPClient dials the WebSocket; nil uses a client whose transport takes
	// the proxy from HTTPS_PROXY/HTTP_PROXY/NO_PROXY.
	HTTPClient *http.Client
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.URL == "" {
		c.URL = DefaultURL
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	def(&c.PingInterval, 30*time.Second)
	def(&c.PingTimeout, 10*time.Second)
	def(&c.AckTimeout, 10*time.Second)
	def(&c.BackoffMin, time.Second)
	def(&c.BackoffMax, 60*time.Second)
	def(&c.RefusedBackoff, 5*time.Minute)
	def(&c.ReplacedBackoff, 60*time.Second)
	def(&c.LockTTL, 15*time.Second)
	def(&c.LockRetry, 5*time.Second)
	if c.BackoffMax < c.BackoffMin {
		c.BackoffMax = c.BackoffMin
	}
	if c.MaxFrame <= 0 {
		c.MaxFrame = 1 << 20
	}
	if c.LockKey == "" {
		c.LockKey = "aibot:conn:" + c.BotID
	}
	if c.Owner == "" {
		host, _ := os.Hostname()
		c.Owner = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), randHex(4))
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment}}
	}
}

// Status is the state of the channel for the admin /readyz.
type Status struct {
	Leader      bool      // this replica holds the connection lock (always true without a Locker)
	Connected   bool      // a WebSocket is open
	Subscribed  bool      // WeCom accepted aibot_subscribe on it; outgoing calls work
	Refused     bool      // the last subscribe was refused; cleared by the next accepted one
	RefusedCode int       // errcode of the refusal, e.g. 853000
	RefusedMsg  string    // errmsg of the refusal
	Replaced    bool      // the last connection ended with disconnected_event
	LastError   string    // why the last connection ended or failed; "" after a clean start
	Since       time.Time // when Leader, Connected or Subscribed last changed
}

// Ready reports whether this replica is in a good state: a follower waits
// for its turn, a leader must be subscribed.
func (s Status) Ready() bool {
	return !s.Refused && (!s.Leader || s.Subscribed)
}

// Client keeps the long connection of one smart robot: it subscribes,
// pings, reconnects with backoff, hands callbacks to the Handler and sends
// replies. Make one with New and call Run once; the other methods are safe
// for concurrent use.
type Client struct {
	cfg Config
	h   Handler
	log *slog.Logger

	mu  sync.Mutex
	st  Status
	cur *session // the live subscribed connection, nil when none

	queue callbackQueue
}

// New returns a client for cfg that delivers callbacks to h.
func New(cfg Config, h Handler) (*Client, error) {
	if cfg.BotID == "" || cfg.Secret == "" {
		return nil, errors.New("aibot: bot id and secret are required")
	}
	if h == nil {
		return nil, errors.New("aibot: handler is required")
	}
	cfg.defaults()
	c := &Client{cfg: cfg, h: h, log: cfg.Log.With("channel", "aibot", "aibot", cfg.BotID)}
	c.queue.init()
	c.st.Since = cfg.Now()
	return c, nil
}

// Status returns the current state.
func (c *Client) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st
}

func (c *Client) update(f func(*Status)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	before := c.st
	f(&c.st)
	if before.Leader != c.st.Leader || before.Connected != c.st.Connected || before.Subscribed != c.st.Subscribed {
		c.st.Since = c.cfg.Now()
	}
}

// live returns the subscribed connection, or nil.
func (c *Client) live() *session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur
}

// Run keeps the connection until ctx ends. With a Locker it first wins the
// lock (retrying every LockRetry), renews it every LockTTL/3 while it
// holds it, drops the connection when the lock is lost, and releases the
// lock when ctx ends. It returns nil once ctx ends and the callbacks
// already received are handled (at most 5 s later).
func (c *Client) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); c.dispatch(ctx) }()
	defer wg.Wait()

	if c.cfg.Locker == nil {
		c.update(func(s *Status) { s.Leader = true })
		c.connectLoop(ctx)
		return nil
	}
	lockFailing := false
	for {
		ok, err := c.cfg.Locker.Lock(ctx, c.cfg.LockKey, c.cfg.Owner, c.cfg.LockTTL)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if !lockFailing {
				c.log.Warn("aibot: connection lock unavailable", "err", err)
			}
			c.update(func(s *Status) { s.LastError = "lock: " + err.Error() })
		}
		lockFailing = err != nil
		if err == nil && ok {
			c.lead(ctx)
			if ctx.Err() != nil {
				uctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				if err := c.cfg.Locker.Unlock(uctx, c.cfg.LockKey, c.cfg.Owner); err != nil {
					c.log.Warn("aibot: release connection lock", "err", err)
				}
				cancel()
				return nil
			}
		}
		if !sleep(ctx, c.cfg.LockRetry) {
			return nil
		}
	}
}

// lead holds the connection while this replica keeps the lock.
func (c *Client) lead(ctx context.Context) {
	c.log.Info("aibot: took the connection lock", "owner", c.cfg.Owner)
	c.update(func(s *Status) { s.Leader = true })
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); c.holdLock(lctx, cancel) }()
	c.connectLoop(lctx)
	cancel()
	<-done
	c.update(func(s *Status) { s.Leader = false })
}

// holdLock renews the lock until ctx ends, and calls lost when the lock is
// gone: taken by another owner, or not renewed for two thirds of its TTL
// (the store unreachable), after which another replica may hold it.
func (c *Client) holdLock(ctx context.Context, lost context.CancelFunc) {
	every := c.cfg.LockTTL / 3
	t := time.NewTicker(every)
	defer t.Stop()
	renewed := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ok, err := c.cfg.Locker.Lock(ctx, c.cfg.LockKey, c.cfg.Owner, c.cfg.LockTTL)
		switch {
		case ctx.Err() != nil:
			return
		case err == nil && ok:
			renewed = time.Now()
		case err == nil:
			c.log.Warn("aibot: connection lock taken by another replica; disconnecting")
			c.update(func(s *Status) { s.LastError = "lock taken by another replica" })
			lost()
			return
		case time.Since(renewed) >= c.cfg.LockTTL*2/3:
			c.log.Warn("aibot: connection lock not renewed in time; disconnecting", "err", err)
			c.update(func(s *Status) { s.LastError = "lock: " + err.Error() })
			lost()
			return
		}
	}
}

// connectLoop connects and reconnects until ctx ends.
func (c *Client) connectLoop(ctx context.Context) {
	attempt := 0
	for ctx.Err() == nil {
		healthy, err := c.connect(ctx)
		if ctx.Err() != nil {
			return
		}
		var wait time.Duration
		var refused *refusedError
		switch {
		case errors.As(err, &refused):
			wait = c.cfg.RefusedBackoff
			c.log.Error("aibot: WeCom refused the subscription; check the robot's bot id and secret",
				"errcode", refused.code, "errmsg", refused.msg, "retry_in", wait)
		case errors.Is(err, errReplaced):
			// Another connection for this robot took over. With the lock the
			// usual cause is a process outside it (a test run, a second
			// deployment); reconnecting at once would kick it and start a
			// tug of war, so wait long, and only while still the leader:
			// ctx ends when the lock is lost.
			wait = c.cfg.ReplacedBackoff
			c.log.Warn("aibot: connection replaced by another; reconnecting later", "retry_in", wait)
		default:
			if healthy {
				attempt = 0
			}
			wait = backoff(c.cfg.BackoffMin, c.cfg.BackoffMax, attempt)
			attempt++
			c.log.Warn("aibot: connection lost", "err", err, "attempt", attempt, "retry_in", wait)
		}
		c.update(func(s *Status) { s.LastError = err.Error() })
		if !sleep(ctx, wait) {
			return
		}
	}
}

// backoff is min·2^attempt capped at max, jittered to a random point in
// its upper half so replicas and restarts do not retry in step.
func backoff(minD, maxD time.Duration, attempt int) time.Duration {
	d := minD
	for i := 0; i < attempt && d < maxD; i++ {
		d *= 2
	}
	d = min(d, maxD)
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

var (
	errReplaced    = errors.New("aibot: replaced by another connection (disconnected_event)")
	errAckTimeout  = errors.New("aibot: no ack in time")
	errPingTimeout = errors.New("aibot: ping not acknowledged in time")
	errWrite       = fmt.Errorf("aibot: write failed: %w", ErrConnectionLost)
)

type refusedError struct {
	code int
	msg  string
}

func (e *refusedError) Error() string {
	return fmt.Sprintf("aibot: subscribe refused: errcode %d: %s", e.code, e.msg)
}

// connect runs one connection to its end. healthy reports whether it
// subscribed and then received a frame (an ack, a callback), which resets
// the backoff; a connection dropped right after subscribing keeps doubling
// it.
func (c *Client) connect(ctx context.Context) (healthy bool, err error) {
	dctx, cancel := context.WithTimeout(ctx, c.cfg.AckTimeout)
	ws, _, err := websocket.Dial(dctx, c.cfg.URL, &websocket.DialOptions{HTTPClient: c.cfg.HTTPClient})
	cancel()
	if err != nil {
		return false, fmt.Errorf("aibot: dial: %w", err)
	}
	// The library would close the connection on an oversize frame; the
	// read loop enforces MaxFrame itself and skips such frames instead.
	ws.SetReadLimit(-1)
	c.update(func(s *Status) { s.Connected = true })
	defer c.update(func(s *Status) { s.Connected, s.Subscribed = false, false })

	s := newSession(ctx, c, ws)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.readLoop() }()
	defer func() {
		s.stop(nil)
		if ctx.Err() != nil {
			_ = ws.Close(websocket.StatusNormalClosure, "")
		} else {
			_ = ws.CloseNow()
		}
		wg.Wait()
	}()

	// The read loop holds back the frames after the subscribe ack until
	// the outcome is settled, so a callback pushed right after the ack
	// finds the connection live when the handler replies.
	defer s.settle()
	ack, err := s.request(ctx, CmdSubscribe, s.subReqID,
		map[string]string{"bot_id": c.cfg.BotID, "secret": c.cfg.Secret})
	if err != nil {
		return false, fmt.Errorf("aibot: subscribe: %w", err)
	}
	if code := ack.code(); code != 0 {
		if code == -1 { // WeCom busy: an ordinary failure, retried with backoff
			return false, fmt.Errorf("aibot: subscribe: errcode %d: %s", code, ack.ErrMsg)
		}
		c.update(func(st *Status) { st.Refused, st.RefusedCode, st.RefusedMsg = true, code, ack.ErrMsg })
		return false, &refusedError{code: code, msg: ack.ErrMsg}
	}
	c.log.Info("aibot: subscribed")
	c.mu.Lock()
	c.cur = s
	c.mu.Unlock()
	c.update(func(st *Status) {
		st.Subscribed, st.Refused, st.RefusedCode, st.RefusedMsg, st.Replaced, st.LastError = true, false, 0, "", false, ""
	})
	defer c.drop(s)
	s.settle()

	wg.Add(1)
	go func() { defer wg.Done(); s.pingLoop() }()
	<-s.ctx.Done()
	if ctx.Err() != nil {
		return s.healthy.Load(), ctx.Err()
	}
	return s.healthy.Load(), context.Cause(s.ctx)
}

// drop forgets s as the live connection so outgoing calls fail fast with
// ErrNotConnected.
func (c *Client) drop(s *session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == s {
		c.cur = nil
	}
}

// session is one WebSocket connection.
type session struct {
	c       *Client
	ws      *websocket.Conn
	ctx     context.Context
	stop    context.CancelCauseFunc
	healthy atomic.Bool // a frame arrived after the subscribe ack

	subReqID string
	settled  chan struct{} // closed once the subscribe outcome is known
	settle   func()

	mu      sync.Mutex
	pending map[string]chan frame
	reqs    map[string]*reqLock
}

// reqLock serialises frames that share a req_id (the stream frames of one
// reply), so that each ack finds its waiter.
type reqLock struct {
	ch    chan struct{}
	users int
}

func newSession(ctx context.Context, c *Client, ws *websocket.Conn) *session {
	sctx, stop := context.WithCancelCause(ctx)
	settled := make(chan struct{})
	return &session{c: c, ws: ws, ctx: sctx, stop: stop,
		subReqID: newReqID(CmdSubscribe), settled: settled,
		settle:  sync.OnceFunc(func() { close(settled) }),
		pending: map[string]chan frame{}, reqs: map[string]*reqLock{}}
}

func (s *session) lockReq(ctx context.Context, id string) (func(), error) {
	s.mu.Lock()
	l := s.reqs[id]
	if l == nil {
		l = &reqLock{ch: make(chan struct{}, 1)}
		s.reqs[id] = l
	}
	l.users++
	s.mu.Unlock()
	release := func() {
		s.mu.Lock()
		l.users--
		if l.users == 0 {
			delete(s.reqs, id)
		}
		s.mu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	case <-s.ctx.Done():
		release()
		return nil, ErrConnectionLost
	}
}

// request writes one frame and waits for the ack with its req_id.
func (s *session) request(ctx context.Context, cmd, reqID string, body any) (frame, error) {
	unlock, err := s.lockReq(ctx, reqID)
	if err != nil {
		return frame{}, err
	}
	defer unlock()
	f := frame{Cmd: cmd, Headers: headers{ReqID: reqID}}
	if body != nil {
		if f.Body, err = json.Marshal(body); err != nil {
			return frame{}, fmt.Errorf("encode body: %w", err)
		}
	}
	data, err := json.Marshal(f)
	if err != nil {
		return frame{}, fmt.Errorf("encode frame: %w", err)
	}
	ch := make(chan frame, 1)
	s.mu.Lock()
	s.pending[reqID] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.pending, reqID)
		s.mu.Unlock()
	}()
	// Writes use the connection's context, not the caller's: the library
	// closes the connection when a write's context ends mid-write.
	wctx, cancel := context.WithTimeout(s.ctx, s.c.cfg.AckTimeout)
	err = s.ws.Write(wctx, websocket.MessageText, data)
	cancel()
	if err != nil {
		// A failed write leaves a closed connection; let the read loop
		// find out first, so that a disconnected_event already received
		// stays the recorded cause. The timer only covers a connection the
		// library left open.
		err = fmt.Errorf("aibot: write: %w", err)
		time.AfterFunc(time.Second, func() { s.stop(err) })
		return frame{}, errWrite
	}
	t := time.NewTimer(s.c.cfg.AckTimeout)
	defer t.Stop()
	select {
	case ack := <-ch:
		return ack, nil
	case <-ctx.Done():
		return frame{}, ctx.Err()
	case <-s.ctx.Done():
		return frame{}, ErrConnectionLost
	case <-t.C:
		return frame{}, errAckTimeout
	}
}

func (f frame) code() int {
	if f.ErrCode == nil {
		return 0
	}
	return *f.ErrCode
}

func (s *session) pingLoop() {
	t := time.NewTicker(s.c.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(s.ctx, s.c.cfg.PingTimeout)
		ack, err := s.request(ctx, CmdPing, newReqID(CmdPing), nil)
		cancel()
		if s.ctx.Err() != nil {
			return
		}
		if errors.Is(err, errWrite) {
			return // the read loop ends the session
		}
		if err != nil {
			s.stop(errPingTimeout)
			return
		}
		if code := ack.code(); code != 0 {
			s.stop(fmt.Errorf("aibot: ping: errcode %d: %s", code, ack.ErrMsg))
			return
		}
	}
}

func (s *session) readLoop() {
	maxFrame := s.c.cfg.MaxFrame
	for {
		_, r, err := s.ws.Reader(s.ctx)
		if err != nil {
			s.stop(fmt.Errorf("aibot: read: %w", err))
			return
		}
		data, err := io.ReadAll(io.LimitReader(r, maxFrame+1))
		if err == nil && int64(len(data)) > maxFrame {
			var n int64
			n, err = io.Copy(io.Discard, r)
			s.c.log.Warn("aibot: oversize frame skipped", "bytes", int64(len(data))+n, "max", maxFrame)
			data = nil
		}
		if err != nil {
			s.stop(fmt.Errorf("aibot: read: %w", err))
			return
		}
		if data != nil {
			s.handle(data)
		}
	}
}

// handle routes one incoming frame: callbacks to the handler queue, acks to
// their waiters; anything else is logged without its body and skipped.
func (s *session) handle(data []byte) {
	log := s.c.log
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		log.Warn("aibot: malformed frame skipped", "bytes", len(data), "err", err)
		return
	}
	reqID := f.Headers.ReqID
	if reqID != s.subReqID {
		s.healthy.Store(true)
	}
	switch f.Cmd {
	case CmdMsgCallback:
		var m Message
		if err := json.Unmarshal(f.Body, &m); err != nil || reqID == "" || m.MsgID == "" {
			log.Warn("aibot: malformed message callback skipped", "req_id", reqID, "bytes", len(data))
			return
		}
		if m.AIBotID != "" && m.AIBotID != s.c.cfg.BotID {
			log.Warn("aibot: callback for another robot skipped", "req_id", reqID, "other", m.AIBotID)
			return
		}
		m.ReqID = reqID
		log.Debug("aibot: message", "req_id", reqID, "msgid", m.MsgID, "msgtype", m.MsgType, "chattype", m.ChatType)
		s.c.queue.push(m)
	case CmdEventCallback:
		var e Event
		if err := json.Unmarshal(f.Body, &e); err != nil || reqID == "" || e.Event.Type == "" {
			log.Warn("aibot: malformed event callback skipped", "req_id", reqID, "bytes", len(data))
			return
		}
		if e.AIBotID != "" && e.AIBotID != s.c.cfg.BotID {
			log.Warn("aibot: callback for another robot skipped", "req_id", reqID, "other", e.AIBotID)
			return
		}
		if e.Event.Type == EventDisconnected {
			// Stop using this connection at once: WeCom now talks to the
			// other one, and frames sent here would be lost.
			s.c.drop(s)
			s.c.update(func(st *Status) { st.Replaced = true })
			s.stop(errReplaced)
			return
		}
		e.ReqID = reqID
		log.Debug("aibot: event", "req_id", reqID, "eventtype", e.Event.Type)
		s.c.queue.push(e)
	default:
		s.mu.Lock()
		ch := s.pending[reqID]
		delete(s.pending, reqID)
		s.mu.Unlock()
		if ch != nil {
			ch <- f
			if reqID == s.subReqID {
				select {
				case <-s.settled:
				case <-s.ctx.Done():
				}
			}
			return
		}
		log.Warn("aibot: unexpected frame skipped", "cmd", f.Cmd, "req_id", reqID)
	}
}

// callbackQueue is unbounded so that the read loop never waits for the
// handler: a handler blocked on a reply's ack would otherwise deadlock
// with the read loop that delivers the ack.
type callbackQueue struct {
	mu     sync.Mutex
	items  []any
	signal chan struct{}
}

func (q *callbackQueue) init() { q.signal = make(chan struct{}, 1) }

func (q *callbackQueue) push(v any) {
	q.mu.Lock()
	q.items = append(q.items, v)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

func (q *callbackQueue) take() []any {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}

// drainTimeout is how long callbacks already received may still be
// handled after Run's context ends.
const drainTimeout = 5 * time.Second

// dispatch calls the handler for each queued callback. When Run's context
// ends it still hands over what was received (WeCom does not deliver a
// callback twice, so dropping it would lose a report); the handlers'
// context ends drainTimeout later.
func (c *Client) dispatch(ctx context.Context) {
	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(drainTimeout, cancel) })
	defer stop()
	for {
		select {
		case <-ctx.Done():
			c.handleQueued(hctx)
			return
		case <-c.queue.signal:
		}
		c.handleQueued(hctx)
	}
}

func (c *Client) handleQueued(ctx context.Context) {
	for {
		items := c.queue.take()
		if len(items) == 0 {
			return
		}
		for i, v := range items {
			if ctx.Err() != nil {
				c.log.Warn("aibot: callbacks dropped at shutdown", "count", len(items)-i)
				return
			}
			var err error
			switch v := v.(type) {
			case Message:
				if err = c.h.HandleMessage(ctx, v); err != nil {
					c.log.Warn("aibot: message handler failed", "req_id", v.ReqID, "msgid", v.MsgID, "err", err)
				}
			case Event:
				if err = c.h.HandleEvent(ctx, v); err != nil {
					c.log.Warn("aibot: event handler failed", "req_id", v.ReqID, "eventtype", v.Event.Type, "err", err)
				}
			}
		}
	}
}

// Respond answers a message callback (aibot_respond_msg) with the
// callback's req_id: text, markdown, a stream frame or a template card.
// Stream frames of one reply go one at a time, each after the previous ack.
func (c *Client) Respond(ctx context.Context, reqID string, body Body) error {
	return c.call(ctx, CmdRespond, reqID, body)
}

// RespondWelcome answers an enter_chat event (aibot_respond_welcome_msg)
// within its 5 s window.
func (c *Client) RespondWelcome(ctx context.Context, reqID string, body Body) error {
	return c.call(ctx, CmdRespondWelcome, reqID, body)
}

// UpdateCard replaces the clicked template card (aibot_respond_update_msg)
// within 5 s of a template_card_event; card should keep the event's task_id.
func (c *Client) UpdateCard(ctx context.Context, reqID string, card TemplateCard) error {
	return c.call(ctx, CmdRespondUpdate, reqID, updateBody{ResponseType: "update_template_card", TemplateCard: card})
}

// Send pushes a message that answers no callback (aibot_send_msg): chatID
// is a userid for one-to-one or a group chatid.
func (c *Client) Send(ctx context.Context, chatID string, body Body) error {
	return c.call(ctx, CmdSend, newReqID(CmdSend), sendBody{ChatID: chatID, Body: body})
}

func (c *Client) call(ctx context.Context, cmd, reqID string, body any) error {
	s := c.live()
	if s == nil {
		return &Error{Cmd: cmd, err: ErrNotConnected}
	}
	ack, err := s.request(ctx, cmd, reqID, body)
	if err != nil {
		return &Error{Cmd: cmd, err: err}
	}
	if code := ack.code(); code != 0 {
		c.log.Warn("aibot: frame refused", "cmd", cmd, "req_id", reqID, "errcode", code, "errmsg", ack.ErrMsg)
		return &Error{Cmd: cmd, ErrCode: code, ErrMsg: ack.ErrMsg}
	}
	return nil
}

// newReqID returns a fresh req_id such as "ping_3f2a…".
func newReqID(prefix string) string { return prefix + "_" + randHex(8) }

func randHex(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return hex.EncodeToString(b)
}
