package handlers

import (
	"context"
	"encoding/json"

	"opsbot/bot"
	"opsbot/models"
)

// Inbox stores accepted WeCom messages durably before the callback is
// answered. Concurrent callbacks are written together in one transaction
// (group commit): under load one commit carries many messages, at no added
// wait when the load is light.
type Inbox struct {
	store *models.Store
	reqs  chan inboxReq
}

type inboxReq struct {
	item models.InboxItem
	done chan inboxResult
}

type inboxResult struct {
	dup bool
	err error
}

// maxBatch bounds one group commit.
const maxBatch = 256

// NewInbox starts writers goroutines that store messages until ctx ends.
func NewInbox(ctx context.Context, store *models.Store, writers int) *Inbox {
	in := &Inbox{store: store, reqs: make(chan inboxReq, 4096)}
	for range writers {
		go in.write(ctx)
	}
	return in
}

// Accept implements bot.Inbox.
func (in *Inbox) Accept(ctx context.Context, msg bot.Incoming) (bool, error) {
	payload, err := json.Marshal(msg)
	if err != nil {
		return false, err
	}
	req := inboxReq{item: models.InboxItem{Key: msg.Key, User: msg.User, MsgType: msg.Type, Payload: payload}, done: make(chan inboxResult, 1)}
	select {
	case in.reqs <- req:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	select {
	case r := <-req.done:
		return r.dup, r.err
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// write takes one request, then whatever else is already waiting, and
// stores them in one transaction.
func (in *Inbox) write(ctx context.Context) {
	batch := make([]inboxReq, 0, maxBatch)
	items := make([]models.InboxItem, 0, maxBatch)
	for {
		batch, items = batch[:0], items[:0]
		select {
		case <-ctx.Done():
			return
		case r := <-in.reqs:
			batch = append(batch, r)
		}
	more:
		for len(batch) < maxBatch {
			select {
			case r := <-in.reqs:
				batch = append(batch, r)
			default:
				break more
			}
		}
		for _, r := range batch {
			items = append(items, r.item)
		}
		dups, err := in.store.AcceptInbox(context.WithoutCancel(ctx), items)
		for i, r := range batch {
			res := inboxResult{err: err}
			if err == nil {
				res.dup = dups[i]
			}
			r.done <- res
		}
	}
}

// Decode turns a stored inbox row back into the message.
func Decode(row models.InboxMessage) (bot.Incoming, error) {
	var msg bot.Incoming
	err := json.Unmarshal([]byte(row.Payload), &msg)
	return msg, err
}
