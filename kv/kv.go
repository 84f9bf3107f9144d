// Package kv holds the small shared-state interfaces opsbot needs across
// replicas (dedupe keys, conversation state, locks, rate windows) with a
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
	// SetNX stores value under key for ttl when the key is absent and
	// reports whether it did.
	SetNX(ctx context.Context, key, value string, ttl time.Duration) (bool, error)
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
	// Allow records one event under key when fewer than limit events fall in
	// the sliding window ending now; otherwise it reports how long to wait.
	Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error)
	// Ping checks that the store answers.
	Ping(ctx context.Context) error
	// Close releases connections.
	Close() error
}
