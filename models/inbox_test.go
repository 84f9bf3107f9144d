package models_test

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"

	"opsbot/models"
	"opsbot/models/modelstest"
)

func items(keys ...string) []models.InboxItem {
	out := make([]models.InboxItem, len(keys))
	for i, k := range keys {
		out[i] = models.InboxItem{Key: k, User: "nurse01", MsgType: "text", Payload: []byte(`{}`)}
	}
	return out
}

func TestAcceptInboxTellsCopiesApart(t *testing.T) {
	modelstest.Each(t, models.Options{}, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		dup, err := s.AcceptInbox(ctx, items("msg:1", "msg:2", "msg:1"))
		if err != nil || fmt.Sprint(dup) != "[false false true]" {
			t.Fatalf("first batch %v %v", dup, err)
		}
		dup, err = s.AcceptInbox(ctx, items("msg:2", "msg:3"))
		if err != nil || fmt.Sprint(dup) != "[true false]" {
			t.Fatalf("second batch %v %v", dup, err)
		}
	})
}

// Retries of the same messages arrive in concurrent batches in any order;
// they must neither deadlock nor be stored twice.
func TestConcurrentBatchesOfTheSameMessages(t *testing.T) {
	modelstest.Each(t, models.Options{}, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		keys := make([]string, 60)
		for i := range keys {
			keys[i] = fmt.Sprintf("msg:%d", i)
		}
		var fresh atomic.Int64
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				mine := append([]string(nil), keys...)
				rand.New(rand.NewSource(int64(g))).Shuffle(len(mine), func(i, j int) { mine[i], mine[j] = mine[j], mine[i] })
				dup, err := s.AcceptInbox(ctx, items(mine...))
				if err != nil {
					t.Errorf("batch %d: %v", g, err)
					return
				}
				for _, d := range dup {
					if !d {
						fresh.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		if fresh.Load() != int64(len(keys)) {
			t.Fatalf("%d messages taken as new, want %d", fresh.Load(), len(keys))
		}
	})
}
