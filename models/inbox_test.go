package models_test

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// TestPurgeInbox: processed messages older than the cut are deleted, a
// page at a time; recent and unprocessed ones stay, and the unique key of
// a deleted message is free again.
func TestPurgeInbox(t *testing.T) {
	c := modelstest.NewClock(modelstest.Monday9)
	modelstest.Each(t, models.Options{Now: c.Now}, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		accept := func(keys ...string) {
			t.Helper()
			var items []models.InboxItem
			for _, k := range keys {
				items = append(items, models.InboxItem{Key: k, User: "nurse01", MsgType: "text", Payload: []byte(`{"Text":"3床病人张三的医嘱打不开"}`)})
			}
			if _, err := s.AcceptInbox(ctx, items); err != nil {
				t.Fatal(err)
			}
		}
		process := func(keys ...string) {
			t.Helper()
			for _, k := range keys {
				if err := s.Update(ctx, func(tx *models.Tx) error { _, err := tx.ClaimInbox(k); return err }); err != nil {
					t.Fatal(err)
				}
			}
		}
		accept("old1", "old2", "old3", "stuck")
		process("old1", "old2", "old3")
		c.Add(8 * 24 * time.Hour)
		accept("new")
		process("new")
		cut := c.Now().Add(-7 * 24 * time.Hour)
		n1, err := s.PurgeInbox(ctx, cut, 2)
		if err != nil {
			t.Fatal(err)
		}
		n2, _ := s.PurgeInbox(ctx, cut, 2)
		n3, _ := s.PurgeInbox(ctx, cut, 2)
		if n1 != 2 || n2 != 1 || n3 != 0 {
			t.Fatalf("purged %d, %d, %d; want 2, 1, 0", n1, n2, n3)
		}
		pending, _ := s.PendingInbox(ctx, c.Now().Add(time.Hour), 0, 10)
		if len(pending) != 1 || pending[0].Key != "stuck" {
			t.Fatalf("unprocessed after purge: %+v", pending)
		}
		dup, err := s.AcceptInbox(ctx, []models.InboxItem{{Key: "new", User: "u", MsgType: "text", Payload: []byte("{}")}, {Key: "old1", User: "u", MsgType: "text", Payload: []byte("{}")}})
		if err != nil || !dup[0] || dup[1] {
			t.Fatalf("after purge: new dup=%v, old1 dup=%v (%v); want the recent one kept, the purged one gone", dup[0], dup[1], err)
		}
	})
}
