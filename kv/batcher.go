package kv

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Batcher turns calls made at the same time into one call with many items.
// A lone call runs at once; while a run is in flight new items wait and go
// together in the next one. Under load a run carries everything that
// arrived during the one before, so a burst costs one round trip per run
// instead of one per item, with no timer and no added wait when idle.
type Batcher[In, Out any] struct {
	run     func(ctx context.Context, in []In) ([]Out, error)
	timeout time.Duration
	max     int

	mu    sync.Mutex
	queue []batchCall[In, Out]
	busy  bool
}

type batchCall[In, Out any] struct {
	in   In
	done chan batchResult[Out]
}

type batchResult[Out any] struct {
	out Out
	err error
}

// NewBatcher returns a Batcher whose runs take at most max items and
// timeout each. run returns one result per item, in order; its error goes
// to every item of the run.
func NewBatcher[In, Out any](max int, timeout time.Duration, run func(ctx context.Context, in []In) ([]Out, error)) *Batcher[In, Out] {
	return &Batcher[In, Out]{run: run, timeout: timeout, max: max}
}

// Do adds in to the next run and returns its result. The run itself is not
// cancelled with ctx: other callers share it.
func (b *Batcher[In, Out]) Do(ctx context.Context, in In) (Out, error) {
	done := make(chan batchResult[Out], 1)
	b.enqueue(batchCall[In, Out]{in: in, done: done})
	select {
	case r := <-done:
		return r.out, r.err
	case <-ctx.Done():
		var zero Out
		return zero, ctx.Err()
	}
}

func (b *Batcher[In, Out]) enqueue(c batchCall[In, Out]) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.queue = append(b.queue, c)
	if !b.busy {
		b.busy = true
		go b.loop()
	}
}

// loop runs batches until the queue is empty, then ends: no goroutine
// outlives the work.
func (b *Batcher[In, Out]) loop() {
	for {
		b.mu.Lock()
		n := min(len(b.queue), b.max)
		if n == 0 {
			b.busy = false
			b.queue = nil
			b.mu.Unlock()
			return
		}
		calls := b.queue[:n:n]
		b.queue = b.queue[n:]
		b.mu.Unlock()

		in := make([]In, len(calls))
		for i, c := range calls {
			in[i] = c.in
		}
		out, err := b.runSafely(in)
		for i, c := range calls {
			r := batchResult[Out]{err: err}
			if err == nil && i < len(out) {
				r.out = out[i]
			}
			c.done <- r
		}
	}
}

// runSafely runs one batch; a panic in run becomes the error of its
// callers instead of leaving the batcher busy for ever.
func (b *Batcher[In, Out]) runSafely(in []In) (out []Out, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("kv: batch failed: %v", r)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	return b.run(ctx, in)
}
