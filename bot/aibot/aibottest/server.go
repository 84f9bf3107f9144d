// Package aibottest is an in-process fake of WeCom's smart-robot
// long-connection server for tests and load runs. It checks the subscribe
// credentials, answers pings, acks replies and pushes, records every frame a
// client sends, pushes callbacks on demand, drops or replaces connections,
// and keeps one connection per robot as WeCom does: a new subscription
// kicks the old connection with disconnected_event.
package aibottest

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Errcodes the fake answers with.
const (
	CodeInvalidCredentials = 853000 // wrong bot_id or secret
	CodeNotSubscribed      = 846609 // a frame before a successful subscribe
)

// Frame is one frame a client sent.
type Frame struct {
	Conn  int             // which connection, counted from 1 in accept order
	Cmd   string          // aibot_subscribe, ping, aibot_respond_msg, …
	ReqID string          // headers.req_id
	Body  json.RawMessage // body as sent; nil when absent
	At    time.Time
}

// Decode unmarshals the body into v.
func (f Frame) Decode(v any) error { return json.Unmarshal(f.Body, v) }

// Server is the fake. Make one with New; Close it when done.
type Server struct {
	BotID  string
	Secret string
	URL    string // ws://127.0.0.1:port

	hs *httptest.Server

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every new frame or state change
	frames   []Frame
	dials    int
	conns    map[int]*conn
	current  *conn // the subscribed connection, nil when none
	noPong   bool
	ackError map[string][2]any // cmd → errcode, errmsg
}

type conn struct {
	id         int
	ws         *websocket.Conn
	subscribed bool
	acked      chan struct{} // closed once the subscribe ack is written
	cancel     context.CancelFunc
}

// New starts a fake that accepts botID and secret.
func New(botID, secret string) *Server {
	s := &Server{BotID: botID, Secret: secret, changed: make(chan struct{}),
		conns: map[int]*conn{}, ackError: map[string][2]any{}}
	s.hs = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = "ws" + strings.TrimPrefix(s.hs.URL, "http")
	return s
}

// Close drops every connection and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	for _, c := range s.conns {
		c.cancel()
		_ = c.ws.CloseNow()
	}
	s.mu.Unlock()
	s.hs.Close()
}

// notify wakes waiters; the caller holds mu.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	ws.SetReadLimit(-1)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	s.mu.Lock()
	s.dials++
	c := &conn{id: s.dials, ws: ws, cancel: cancel, acked: make(chan struct{})}
	s.conns[c.id] = c
	s.notify()
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c.id)
		if s.current == c {
			s.current = nil
		}
		s.notify()
		s.mu.Unlock()
		_ = ws.CloseNow()
	}()
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			return
		}
		var f struct {
			Cmd     string `json:"cmd"`
			Headers struct {
				ReqID string `json:"req_id"`
			} `json:"headers"`
			Body json.RawMessage `json:"body"`
		}
		if err := json.Unmarshal(data, &f); err != nil {
			continue
		}
		s.mu.Lock()
		s.frames = append(s.frames, Frame{Conn: c.id, Cmd: f.Cmd, ReqID: f.Headers.ReqID, Body: f.Body, At: time.Now()})
		s.notify()
		s.mu.Unlock()
		if !s.answer(ctx, c, f.Cmd, f.Headers.ReqID, f.Body) {
			return
		}
	}
}

// answer acks one client frame; false ends the connection.
func (s *Server) answer(ctx context.Context, c *conn, cmd, reqID string, body json.RawMessage) bool {
	if cmd == "aibot_subscribe" {
		var cred struct {
			BotID  string `json:"bot_id"`
			Secret string `json:"secret"`
		}
		_ = json.Unmarshal(body, &cred)
		if cred.BotID != s.BotID || cred.Secret != s.Secret {
			_ = s.write(ctx, c, ack(reqID, CodeInvalidCredentials, "invalid bot_id or secret"))
			return false
		}
		// The connection counts as subscribed before the ack goes out, so
		// a test that saw the client subscribed finds it here too; pushes
		// wait for acked, so none overtakes the ack.
		s.mu.Lock()
		old := s.current
		c.subscribed = true
		s.current = c
		s.notify()
		s.mu.Unlock()
		err := s.write(ctx, c, ack(reqID, 0, "ok"))
		close(c.acked)
		if err != nil {
			return false
		}
		if old != nil && old != c {
			s.kick(old)
		}
		return true
	}
	s.mu.Lock()
	subscribed, noPong := c.subscribed, s.noPong
	fail, failing := s.ackError[cmd]
	s.mu.Unlock()
	switch {
	case !subscribed:
		return s.write(ctx, c, ack(reqID, CodeNotSubscribed, "not subscribed")) == nil
	case cmd == "ping" && noPong:
		return true
	case failing:
		return s.write(ctx, c, ack(reqID, fail[0].(int), fail[1].(string))) == nil
	}
	return s.write(ctx, c, ack(reqID, 0, "ok")) == nil
}

func ack(reqID string, code int, msg string) map[string]any {
	return map[string]any{"headers": map[string]string{"req_id": reqID}, "errcode": code, "errmsg": msg}
}

func (s *Server) write(ctx context.Context, c *conn, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.writeRaw(ctx, c, data)
}

func (s *Server) writeRaw(ctx context.Context, c *conn, data []byte) error {
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return c.ws.Write(wctx, websocket.MessageText, data)
}

// kick tells c that another connection took over, then closes it.
func (s *Server) kick(c *conn) {
	ev := map[string]any{
		"cmd":     "aibot_event_callback",
		"headers": map[string]string{"req_id": NewReqID("disconnect")},
		"body": map[string]any{
			"msgid": NewReqID("ev"), "aibotid": s.BotID, "create_time": time.Now().Unix(),
			"msgtype": "event", "event": map[string]any{"eventtype": "disconnected_event"},
		},
	}
	_ = s.write(context.Background(), c, ev)
	// The event travels before the close, as over a real network: a close
	// hard on its heels could reach the client's reader first.
	time.Sleep(50 * time.Millisecond)
	s.mu.Lock()
	c.subscribed = false
	if s.current == c {
		s.current = nil
	}
	s.notify()
	s.mu.Unlock()
	c.cancel()
	_ = c.ws.Close(websocket.StatusNormalClosure, "replaced")
}

// NewReqID returns a fresh req_id with prefix.
func NewReqID(prefix string) string {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return prefix + "_" + hex.EncodeToString(b)
}

// ErrNoConnection is returned by the push methods when no client is
// subscribed.
var ErrNoConnection = errors.New("aibottest: no subscribed connection")

func (s *Server) live() *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current
}

// pushTarget returns the subscribed connection once its subscribe ack is
// out.
func (s *Server) pushTarget(ctx context.Context) (*conn, error) {
	c := s.live()
	if c == nil {
		return nil, ErrNoConnection
	}
	select {
	case <-c.acked:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Push sends a frame with cmd, reqID and body to the subscribed client.
func (s *Server) Push(ctx context.Context, cmd, reqID string, body any) error {
	c, err := s.pushTarget(ctx)
	if err != nil {
		return err
	}
	return s.write(ctx, c, map[string]any{"cmd": cmd, "headers": map[string]string{"req_id": reqID}, "body": body})
}

// PushRaw sends data as one text frame, as is: malformed, oversize or
// foreign frames for robustness tests.
func (s *Server) PushRaw(ctx context.Context, data []byte) error {
	c, err := s.pushTarget(ctx)
	if err != nil {
		return err
	}
	return s.writeRaw(ctx, c, data)
}

// Msg describes a message callback to push; empty fields take defaults.
type Msg struct {
	MsgID    string // random
	AIBotID  string // the server's BotID
	ChatType string // "single", or "group" when ChatID is set
	ChatID   string
	UserID   string         // "zhangsan"
	MsgType  string         // "text"
	Content  string         // text.content, or voice.content for voice
	Extra    map[string]any // merged into the body last (image, file, mixed, quote, …)
}

func (m Msg) body(botID string) map[string]any {
	chatType := "single"
	if m.ChatID != "" {
		chatType = "group"
	}
	b := map[string]any{
		"msgid":    or(m.MsgID, NewReqID("msg")),
		"aibotid":  or(m.AIBotID, botID),
		"chattype": or(m.ChatType, chatType),
		"from":     map[string]string{"userid": or(m.UserID, "zhangsan")},
		"msgtype":  or(m.MsgType, "text"),
	}
	if m.ChatID != "" {
		b["chatid"] = m.ChatID
	}
	switch b["msgtype"] {
	case "text", "voice":
		b[b["msgtype"].(string)] = map[string]string{"content": m.Content}
	}
	for k, v := range m.Extra {
		b[k] = v
	}
	return b
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// PushMessage sends an aibot_msg_callback and returns its req_id.
func (s *Server) PushMessage(ctx context.Context, m Msg) (string, error) {
	reqID := NewReqID("cb")
	return reqID, s.Push(ctx, "aibot_msg_callback", reqID, m.body(s.BotID))
}

// PushEvent sends an aibot_event_callback with event (it must hold
// "eventtype") from userID and returns its req_id.
func (s *Server) PushEvent(ctx context.Context, userID string, event map[string]any) (string, error) {
	reqID := NewReqID("ev")
	body := map[string]any{
		"msgid": NewReqID("ev"), "aibotid": s.BotID, "create_time": time.Now().Unix(),
		"from": map[string]string{"userid": userID}, "msgtype": "event", "event": event,
	}
	return reqID, s.Push(ctx, "aibot_event_callback", reqID, body)
}

// PushCardClick sends a template_card_event for taskID with eventKey and
// returns its req_id.
func (s *Server) PushCardClick(ctx context.Context, userID, taskID, eventKey string) (string, error) {
	return s.PushEvent(ctx, userID, map[string]any{
		"eventtype": "template_card_event",
		"template_card_event": map[string]any{
			"card_type": "button_interaction", "event_key": eventKey, "task_id": taskID,
		},
	})
}

// Drop closes the subscribed connection abruptly, as a network failure
// would.
func (s *Server) Drop() {
	c := s.live()
	if c == nil {
		return
	}
	c.cancel()
	_ = c.ws.CloseNow()
}

// Replace sends disconnected_event to the subscribed client and closes its
// connection, as WeCom does when another connection subscribes.
func (s *Server) Replace() {
	if c := s.live(); c != nil {
		s.kick(c)
	}
}

// SetPong turns the answers to pings on or off (off simulates a silent,
// half-dead connection).
func (s *Server) SetPong(on bool) {
	s.mu.Lock()
	s.noPong = !on
	s.mu.Unlock()
}

// FailAcks makes the fake ack every later frame with cmd with code and
// msg; code 0 restores success.
func (s *Server) FailAcks(cmd string, code int, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == 0 {
		delete(s.ackError, cmd)
		return
	}
	s.ackError[cmd] = [2]any{code, msg}
}

// Dials counts the WebSocket connections accepted so far.
func (s *Server) Dials() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dials
}

// Subscribed reports whether a client holds the subscription.
func (s *Server) Subscribed() bool { return s.live() != nil }

// Frames returns every frame clients sent, in order.
func (s *Server) Frames() []Frame {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Frame(nil), s.frames...)
}

// FramesOf returns the frames clients sent with cmd.
func (s *Server) FramesOf(cmd string) []Frame {
	var out []Frame
	for _, f := range s.Frames() {
		if f.Cmd == cmd {
			out = append(out, f)
		}
	}
	return out
}

// WaitFor waits until cond holds, checking after every frame and state
// change, or until ctx ends.
func (s *Server) WaitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("aibottest: wait: %w", ctx.Err())
		case <-ch:
		}
	}
}

// WaitFrame waits for the first frame, sent at index from or later, that
// match accepts, and returns it with the index after it.
func (s *Server) WaitFrame(ctx context.Context, from int, match func(Frame) bool) (Frame, int, error) {
	var found Frame
	next := from
	err := s.WaitFor(ctx, func() bool {
		fs := s.Frames()
		for i := next; i < len(fs); i++ {
			if match(fs[i]) {
				found, next = fs[i], i+1
				return true
			}
		}
		next = max(next, len(fs))
		return false
	})
	return found, next, err
}

// WaitReply waits for the frame answering the callback reqID (a respond,
// welcome or card update with the same req_id).
func (s *Server) WaitReply(ctx context.Context, reqID string) (Frame, error) {
	f, _, err := s.WaitFrame(ctx, 0, func(f Frame) bool {
		return f.ReqID == reqID && f.Cmd != "ping" && f.Cmd != "aibot_subscribe"
	})
	return f, err
}

// WaitSubscribed waits until a client holds the subscription.
func (s *Server) WaitSubscribed(ctx context.Context) error {
	return s.WaitFor(ctx, s.Subscribed)
}
