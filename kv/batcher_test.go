package kv_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"opsbot/kv"
)

// TestBatcherGathersConcurrentCalls: calls made while a run is in flight go
// together in the next run, each gets its own result, and a run's error
// reaches all of its callers.
func TestBatcherGathersConcurrentCalls(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var runs [][]int
	b := kv.NewBatcher(100, time.Second, func(_ context.Context, in []int) ([]int, error) {
		mu.Lock()
		runs = append(runs, append([]int(nil), in...))
		first := len(runs) == 1
		mu.Unlock()
		if first {
			<-release // hold the first run so that the others pile up
		}
		if in[0] < 0 {
			return nil, errors.New("store down")
		}
		out := make([]int, len(in))
		for i, v := range in {
			out[i] = v * 10
		}
		return out, nil
	})
	ctx := context.Background()
	got := make([]int, 6)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); got[0], _ = b.Do(ctx, 0) }()
	for { // wait until the first run holds
		mu.Lock()
		n := len(runs)
		mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	for i := 1; i < 6; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); got[i], _ = b.Do(ctx, i) }()
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if len(runs) != 2 || len(runs[1]) != 5 {
		t.Fatalf("runs %v, want the first call alone and the five waiting ones together", runs)
	}
	for i, v := range got {
		if v != i*10 {
			t.Fatalf("results %v", got)
		}
	}
	if _, err := b.Do(ctx, -1); err == nil {
		t.Fatal("run error not returned")
	}
	boom := kv.NewBatcher(10, time.Second, func(context.Context, []int) ([]int, error) { panic("bug") })
	for range 2 { // the batcher stays usable after a panic
		if _, err := boom.Do(ctx, 1); err == nil {
			t.Fatal("panic in a run not returned as an error")
		}
	}
}
