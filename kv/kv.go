// Package kv holds the small shared-state interfaces opsbot needs across
// replicas (dedupe keys, short-lived hints, locks, rate windows) with a
// Redis implementation and an in-process one for a single instance.
package kv

import (
	"context"
	"errors"
	"time"
)

// ErrUnavailable wraps failures of the backing store, so callers can fall
// back to the database (dedupe) or skip a run (locks) instead of failing hard.
var ErrUnavailable = errors.New("kv: unavailable")

// Store is the shared state opsbot keeps outside the database.
type Store interface {
	// Get returns the value of key and whether it exists.
	Get(ctx context.Context, key string) (string, bool, error)
	// Set stores value under key; ttl 0 means no expiry.
	Set(ctx context.Context, key, value string, ttl time.Duration) error
	// Del removes keys; missing keys are not an error.
	Del(ctx context.Context, keys ...string) error
	// Lock takes the named lock for ttl on behalf of owner; it reports false
	// when another owner holds it. The holder may call Lock again to extend it.
	Lock(ctx context.Context, key, owner string, ttl time.Duration) (bool, error)
	// Unlock releases the lock only when owner still holds it.
	Unlock(ctx context.Context, key, owner string) error
	// Claim sets value under key for ttl when the key is absent, and
	// returns the value before in the same round trip ("" when the key was
	// absent and is now claimed). value must not be empty.
	Claim(ctx context.Context, key, value string, ttl time.Duration) (prior string, err error)
	// Allow records one event in every window when each has fewer than its
	// limit of events in the span ending now; otherwise it records nothing
	// and reports how long to wait.
	Allow(ctx context.Context, windows ...Window) (bool, time.Duration, error)
	// Ping checks that the store answers.
	Ping(ctx context.Context) error
	// Close releases connections.
	Close() error
}

// Window is a sliding rate window: at most Limit events under Key in any
// Span.
type Window struct {
	Key   string
	Limit int
	Span  time.Duration
}
