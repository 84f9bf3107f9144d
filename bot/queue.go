package bot

import (
	"context"
	"hash/fnv"
	"sync"
)

// Queue handles the messages of one user in arrival order, so that a
// multi-step conversation never interleaves, while different users are
// handled in parallel: each user always lands on the same worker.
type Queue struct {
	shards []chan Incoming
	handle func(context.Context, Incoming)
	ctx    context.Context
	wg     sync.WaitGroup
	mu     sync.RWMutex
	closed bool
}

// NewQueue starts workers, each with a buffer of depth messages.
func NewQueue(ctx context.Context, workers, depth int, handle func(context.Context, Incoming)) *Queue {
	q := &Queue{shards: make([]chan Incoming, workers), handle: handle, ctx: ctx}
	for i := range q.shards {
		ch := make(chan Incoming, depth)
		q.shards[i] = ch
		q.wg.Add(1)
		go func() {
			defer q.wg.Done()
			for msg := range ch {
				q.handle(q.ctx, msg)
			}
		}()
	}
	return q
}

// TrySubmit queues msg on its user's worker; it reports false when that
// worker's buffer is full or the queue is closed. The message is safe in
// the inbox either way: the recovery sweep picks up what was not queued.
func (q *Queue) TrySubmit(msg Incoming) bool {
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		return false
	}
	h := fnv.New32a()
	h.Write([]byte(msg.User))
	select {
	case q.shards[h.Sum32()%uint32(len(q.shards))] <- msg:
		return true
	default:
		return false
	}
}

// Close stops accepting and waits for the queued messages to be handled.
func (q *Queue) Close() {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		for _, ch := range q.shards {
			close(ch)
		}
	}
	q.mu.Unlock()
	q.wg.Wait()
}
