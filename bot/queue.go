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
type Queue struct {
	shards   []chan Incoming
	handle   func(context.Context, []Incoming)
	maxBatch int
	ctx      context.Context
	wg       sync.WaitGroup
	mu       sync.RWMutex
	closed   bool
}

// NewQueue starts workers, each with a buffer of depth messages, handling
// one message at a time.
func NewQueue(ctx context.Context, workers, depth int, handle func(context.Context, Incoming)) *Queue {
	return NewBatchQueue(ctx, workers, depth, 1, func(ctx context.Context, msgs []Incoming) {
		for _, m := range msgs {
			handle(ctx, m)
		}
	})
}

// NewBatchQueue starts workers that hand handle up to maxBatch waiting
// messages at once, in arrival order; a lone message is handed over at
// once, never held back to fill a batch. handle must not keep the slice.
func NewBatchQueue(ctx context.Context, workers, depth, maxBatch int, handle func(context.Context, []Incoming)) *Queue {
	q := &Queue{shards: make([]chan Incoming, workers), handle: handle, maxBatch: max(maxBatch, 1), ctx: ctx}
	for i := range q.shards {
		ch := make(chan Incoming, depth)
		q.shards[i] = ch
		q.wg.Add(1)
		go q.work(ch)
	}
	return q
}

func (q *Queue) work(ch chan Incoming) {
	defer q.wg.Done()
	batch := make([]Incoming, 0, q.maxBatch)
	for msg := range ch {
		batch = append(batch[:0], msg)
	more:
		for len(batch) < q.maxBatch {
			select {
			case m, ok := <-ch:
				if !ok {
					break more
				}
				batch = append(batch, m)
			default:
				break more
			}
		}
		q.handle(q.ctx, batch)
	}
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
