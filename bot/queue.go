package bot

import (
	"context"
	"hash/fnv"
	"sync"
)

// Queue handles the messages of one user in arrival order, so that a
// multi-step conversation never interleaves, while different users are
// handled in parallel: each user always lands on the same worker. A worker
// hands over what has piled up on it (up to a batch) in one call, so that
// the handler can store many messages' effects with one commit.
//
// A worker's backlog grows as needed up to its limit, taking memory only
// while a burst lasts: a burst is absorbed in order instead of being put
// aside for the recovery sweep, which would handle it late and, for a
// user whose later messages were queued, out of order.
type Queue struct {
	shards   []*shard
	handle   func(context.Context, []Incoming)
	maxBatch int
	limit    int
	ctx      context.Context
	wg       sync.WaitGroup
}

// shard is one worker's backlog.
type shard struct {
	mu     sync.Mutex
	items  []Incoming
	closed bool
	wake   chan struct{} // one pending signal: there is work or the shard closed
}

// NewBatchQueue starts workers that hand handle up to maxBatch waiting
// messages at once, in arrival order; a lone message is handed over at
// once, never held back to fill a batch. handle must not keep the slice.
func NewBatchQueue(ctx context.Context, workers, limit, maxBatch int, handle func(context.Context, []Incoming)) *Queue {
	q := &Queue{shards: make([]*shard, workers), handle: handle, maxBatch: max(maxBatch, 1), limit: max(limit, 1), ctx: ctx}
	for i := range q.shards {
		sh := &shard{wake: make(chan struct{}, 1)}
		q.shards[i] = sh
		q.wg.Add(1)
		go q.work(sh)
	}
	return q
}

func (q *Queue) work(sh *shard) {
	defer q.wg.Done()
	batch := make([]Incoming, 0, q.maxBatch)
	for {
		sh.mu.Lock()
		if len(sh.items) == 0 {
			closed := sh.closed
			sh.mu.Unlock()
			if closed {
				return
			}
			<-sh.wake
			continue
		}
		n := min(len(sh.items), q.maxBatch)
		batch = append(batch[:0], sh.items[:n]...)
		clear(sh.items[:n]) // let the texts go
		sh.items = sh.items[n:]
		if len(sh.items) == 0 {
			sh.items = nil // give a burst's memory back
		}
		sh.mu.Unlock()
		q.handle(q.ctx, batch)
	}
}

// TrySubmit queues msg on its user's worker; it reports false when that
// worker's backlog is at its limit or the queue is closed. The message is
// safe in the inbox either way: the recovery sweep picks up what was not
// queued.
func (q *Queue) TrySubmit(msg Incoming) bool {
	h := fnv.New32a()
	h.Write([]byte(msg.User))
	sh := q.shards[h.Sum32()%uint32(len(q.shards))]
	sh.mu.Lock()
	if sh.closed || len(sh.items) >= q.limit {
		sh.mu.Unlock()
		return false
	}
	sh.items = append(sh.items, msg)
	sh.mu.Unlock()
	select {
	case sh.wake <- struct{}{}:
	default:
	}
	return true
}

// Close stops accepting and waits for the queued messages to be handled.
func (q *Queue) Close() {
	for _, sh := range q.shards {
		sh.mu.Lock()
		sh.closed = true
		sh.mu.Unlock()
		select {
		case sh.wake <- struct{}{}:
		default:
		}
	}
	q.wg.Wait()
}
