package kv_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"opsbot/kv"
)

// stores runs the same test against the in-process store and real Redis.
func stores(t *testing.T, body func(t *testing.T, s kv.Store, wait func(time.Duration))) {
	t.Run("memory", func(t *testing.T) {
		var mu sync.Mutex
		now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
		m := kv.NewMemory(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
		body(t, m, func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() })
	})
	t.Run("redis", func(t *testing.T) {
		url := redisURL()
		b := make([]byte, 6)
		rand.Read(b)
		r, err := kv.OpenRedis(context.Background(), url, "test:"+hex.EncodeToString(b)+":")
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("Redis is required in CI: %v", err)
			}
			t.Skipf("Redis unreachable: %v", err)
		}
		t.Cleanup(func() { r.Close() })
		body(t, r, time.Sleep)
	})
}

func TestClaimGetDelAndExpiry(t *testing.T) {
	stores(t, func(t *testing.T, s kv.Store, wait func(time.Duration)) {
		ctx := context.Background()
		prior, err := s.Claim(ctx, "k", "1", 300*time.Millisecond)
		if err != nil || prior != "" {
			t.Fatalf("first Claim %q %v", prior, err)
		}
		if prior, _ := s.Claim(ctx, "k", "2", time.Second); prior == "" {
			t.Fatal("second Claim set an existing key")
		}
		if v, ok, _ := s.Get(ctx, "k"); !ok || v != "1" {
			t.Fatalf("Get %q %v", v, ok)
		}
		wait(400 * time.Millisecond)
		if _, ok, _ := s.Get(ctx, "k"); ok {
			t.Fatal("key outlived its TTL")
		}
		s.Set(ctx, "p", "x", 0)
		s.Del(ctx, "p", "missing")
		if _, ok, _ := s.Get(ctx, "p"); ok {
			t.Fatal("Del left the key")
		}
		if err := s.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestLockHasOneOwner(t *testing.T) {
	stores(t, func(t *testing.T, s kv.Store, wait func(time.Duration)) {
		ctx := context.Background()
		if ok, _ := s.Lock(ctx, "job", "a", 300*time.Millisecond); !ok {
			t.Fatal("a could not lock")
		}
		if ok, _ := s.Lock(ctx, "job", "b", time.Second); ok {
			t.Fatal("b took a held lock")
		}
		if ok, _ := s.Lock(ctx, "job", "a", 300*time.Millisecond); !ok {
			t.Fatal("a could not extend its own lock")
		}
		s.Unlock(ctx, "job", "b") // not b's: no effect
		if ok, _ := s.Lock(ctx, "job", "b", time.Second); ok {
			t.Fatal("b's unlock released a's lock")
		}
		wait(400 * time.Millisecond)
		if ok, _ := s.Lock(ctx, "job", "b", time.Second); !ok {
			t.Fatal("an expired lock was not free")
		}
		s.Unlock(ctx, "job", "b")
		if ok, _ := s.Lock(ctx, "job", "a", time.Second); !ok {
			t.Fatal("released lock not free")
		}
	})
}

func TestAllowSlidingWindow(t *testing.T) {
	stores(t, func(t *testing.T, s kv.Store, wait func(time.Duration)) {
		ctx := context.Background()
		for i := range 3 {
			if ok, _, err := s.Allow(ctx, kv.Window{Key: "rate", Limit: 3, Span: 500 * time.Millisecond}); !ok || err != nil {
				t.Fatalf("event %d refused: %v", i, err)
			}
		}
		ok, waitFor, _ := s.Allow(ctx, kv.Window{Key: "rate", Limit: 3, Span: 500 * time.Millisecond})
		if ok || waitFor <= 0 || waitFor > 500*time.Millisecond {
			t.Fatalf("fourth event: ok=%v wait=%v", ok, waitFor)
		}
		wait(600 * time.Millisecond)
		if ok, _, _ := s.Allow(ctx, kv.Window{Key: "rate", Limit: 3, Span: 500 * time.Millisecond}); !ok {
			t.Fatal("window did not slide")
		}
	})
}

// TestAllowEveryWindowOrNone: a message to one person takes a slot in the
// minute and the hour window; a refusal by one must not use up the other.
func TestAllowEveryWindowOrNone(t *testing.T) {
	stores(t, func(t *testing.T, s kv.Store, wait func(time.Duration)) {
		ctx := context.Background()
		short := kv.Window{Key: "m", Limit: 2, Span: 300 * time.Millisecond}
		long := kv.Window{Key: "h", Limit: 3, Span: 10 * time.Second}
		for i := range 2 {
			if ok, _, err := s.Allow(ctx, short, long); !ok || err != nil {
				t.Fatalf("event %d refused: %v", i, err)
			}
		}
		ok, w, _ := s.Allow(ctx, short, long)
		if ok || w <= 0 || w > 300*time.Millisecond {
			t.Fatalf("third event within the short span: ok=%v wait=%v", ok, w)
		}
		wait(400 * time.Millisecond)
		// The refused event took no slot in the long window: one is left.
		if ok, _, _ := s.Allow(ctx, short, long); !ok {
			t.Fatal("long window used up by a refused event")
		}
		ok, w, _ = s.Allow(ctx, short, long)
		if ok || w < 9*time.Second || w > 10*time.Second {
			t.Fatalf("fourth event within the long span: ok=%v wait=%v", ok, w)
		}
	})
}

func TestClaim(t *testing.T) {
	stores(t, func(t *testing.T, s kv.Store, wait func(time.Duration)) {
		ctx := context.Background()
		for _, k := range []string{"a", "b"} {
			if err := s.Set(ctx, k, "done", 300*time.Millisecond); err != nil {
				t.Fatal(err)
			}
		}
		var prior []string
		for _, k := range []string{"a", "c", "c"} {
			p, err := s.Claim(ctx, k, "pending", time.Second)
			if err != nil {
				t.Fatal(err)
			}
			prior = append(prior, p)
		}
		if len(prior) != 3 || prior[0] != "done" || prior[1] != "" || prior[2] != "pending" {
			t.Fatalf("Claim = %q; want done, claimed, then the claim just made", prior)
		}
		if v, _, _ := s.Get(ctx, "a"); v != "done" {
			t.Fatalf("Claim overwrote a present key: %q", v)
		}
		wait(400 * time.Millisecond)
		if _, ok, _ := s.Get(ctx, "b"); ok {
			t.Fatal("key outlived its TTL")
		}
		if prior, _ := s.Claim(ctx, "a", "pending", time.Second); prior != "" {
			t.Fatalf("expired key not claimable: %q", prior)
		}
	})
}

// TestConcurrentCallsGetTheirOwnAnswers: concurrent commands share round
// trips to Redis; each caller must still get the answer to its own.
func TestConcurrentCallsGetTheirOwnAnswers(t *testing.T) {
	stores(t, func(t *testing.T, s kv.Store, wait func(time.Duration)) {
		ctx := context.Background()
		var wg sync.WaitGroup
		errs := make(chan string, 400)
		for i := range 200 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				k, v := "c"+strconv.Itoa(i), "v"+strconv.Itoa(i)
				if err := s.Set(ctx, k, v, time.Minute); err != nil {
					errs <- err.Error()
					return
				}
				if prior, err := s.Claim(ctx, k, "other", time.Minute); err == nil && prior == "" {
					errs <- k + ": Claim over a present key"
				}
				if got, ok, err := s.Get(ctx, k); got != v || !ok || err != nil {
					errs <- k + ": got " + got
				}
				if err := s.Del(ctx, k); err != nil {
					errs <- err.Error()
				}
				if _, ok, _ := s.Get(ctx, k); ok {
					errs <- k + ": still there after Del"
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
	})
}

// TestRedisDownIsUnavailable: a failing Redis is reported as ErrUnavailable,
// which callers turn into their fallbacks.
func TestRedisDownIsUnavailable(t *testing.T) {
	r, err := kv.OpenRedis(context.Background(), redisURL(), "test:down:")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Redis is required in CI: %v", err)
		}
		t.Skipf("Redis unreachable: %v", err)
	}
	r.Close()
	ctx := context.Background()
	if _, _, err := r.Get(ctx, "k"); !errors.Is(err, kv.ErrUnavailable) {
		t.Errorf("Get on a closed client: %v", err)
	}
	if err := r.Set(ctx, "k", "v", time.Second); !errors.Is(err, kv.ErrUnavailable) {
		t.Errorf("Set on a closed client: %v", err)
	}
	if err := r.Del(ctx, "k"); !errors.Is(err, kv.ErrUnavailable) {
		t.Errorf("Del on a closed client: %v", err)
	}
	if _, err := r.Claim(ctx, "k", "v", time.Second); !errors.Is(err, kv.ErrUnavailable) {
		t.Errorf("Claim on a closed client: %v", err)
	}
}

func redisURL() string {
	if url := os.Getenv("OPSBOT_TEST_REDIS"); url != "" {
		return url
	}
	return "redis://127.0.0.1:6379/0"
}
