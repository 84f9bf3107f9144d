package monitor_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"opsbot/monitor"
)

// recorder is a Sink that keeps every batch; fail makes it refuse.
type recorder struct {
	mu      sync.Mutex
	batches [][]monitor.Alert
	fail    error
	changed chan struct{}
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{}, 1)} }

func (r *recorder) Alerts(_ context.Context, alerts []monitor.Alert) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.batches = append(r.batches, append([]monitor.Alert(nil), alerts...))
	select {
	case r.changed <- struct{}{}:
	default:
	}
	return nil
}

func (r *recorder) all() []monitor.Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []monitor.Alert
	for _, b := range r.batches {
		out = append(out, b...)
	}
	return out
}

// waitFor waits until ok holds for the alerts received so far.
func (r *recorder) waitFor(t *testing.T, limit time.Duration, what string, ok func([]monitor.Alert) bool) []monitor.Alert {
	t.Helper()
	deadline := time.After(limit)
	for {
		got := r.all()
		if ok(got) {
			return got
		}
		select {
		case <-r.changed:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out after %s waiting for %s; sink got %d alerts: %+v", limit, what, len(got), got)
		}
	}
}
