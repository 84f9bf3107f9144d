package aibot

import (
	"errors"
	"fmt"
)

// ErrNotConnected is returned (wrapped in *Error) by the outgoing calls when
// no subscribed connection is live: this replica is not the leader, the
// connection is down, or it has not subscribed yet. The outbox keeps the
// message and tries again later.
var ErrNotConnected = errors.New("aibot: not connected")

// ErrConnectionLost is returned (wrapped in *Error) when the connection
// ended after the frame was written and before its ack: it may or may not
// have arrived.
var ErrConnectionLost = errors.New("aibot: connection lost before the ack")

// Error is the failure of one outgoing frame.
type Error struct {
	Cmd     string // aibot_respond_msg, aibot_send_msg, …
	ErrCode int    // WeCom's errcode in the ack; 0 when no ack came
	ErrMsg  string
	err     error // transport cause when no ack came
}

func (e *Error) Error() string {
	if e.err != nil {
		return fmt.Sprintf("aibot: %s: %v", e.Cmd, e.err)
	}
	return fmt.Sprintf("aibot: %s: errcode %d: %s", e.Cmd, e.ErrCode, e.ErrMsg)
}

func (e *Error) Unwrap() error { return e.err }

// Retryable reports whether the same frame may succeed later: no live
// connection, the connection lost before the ack, an ack timeout (the frame
// may then have arrived: a retry can duplicate it), the caller's context
// ending before the ack, WeCom busy (-1) or a
// frequency limit (45009, 45033). Other errcodes (a bad body, an expired
// req_id, a card update after its 5 s window) need a fix, not a retry.
func (e *Error) Retryable() bool {
	if e.err != nil {
		return true // the frame itself was not refused
	}
	switch e.ErrCode {
	case -1, 45009, 45033:
		return true
	}
	return false
}

// Retryable reports whether err, from any outgoing call, may go away when
// the same call is made again later.
func Retryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Retryable()
	}
	return false
}
