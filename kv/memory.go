package kv

import (
	"context"
	"sync"
	"time"
)

// Memory is the in-process Store for a single opsbot instance without Redis.
type Memory struct {
	mu     sync.Mutex
	now    func() time.Time
	values map[string]memValue
	events map[string][]time.Time
}

type memValue struct {
	value   string
	expires time.Time // zero: never
}

// NewMemory returns an empty in-process store; now may be nil for time.Now.
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, values: map[string]memValue{}, events: map[string][]time.Time{}}
}

// get returns a live value; the caller holds mu.
func (m *Memory) get(key string) (memValue, bool) {
	v, ok := m.values[key]
	if !ok {
		return v, false
	}
	if !v.expires.IsZero() && !m.now().Before(v.expires) {
		delete(m.values, key)
		return v, false
	}
	return v, true
}

func (m *Memory) expiry(ttl time.Duration) time.Time {
	if ttl <= 0 {
		return time.Time{}
	}
	return m.now().Add(ttl)
}

// Get implements Store.
func (m *Memory) Get(_ context.Context, key string) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.get(key)
	return v.value, ok, nil
}

// Set implements Store.
func (m *Memory) Set(_ context.Context, key, value string, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.values[key] = memValue{value: value, expires: m.expiry(ttl)}
	return nil
}

// Del implements Store.
func (m *Memory) Del(_ context.Context, keys ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		delete(m.values, k)
		delete(m.events, k)
	}
	return nil
}

// Lock implements Store.
func (m *Memory) Lock(_ context.Context, key, owner string, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.get(key); ok && v.value != owner {
		return false, nil
	}
	m.values[key] = memValue{value: owner, expires: m.expiry(ttl)}
	return true, nil
}

// Unlock implements Store.
func (m *Memory) Unlock(_ context.Context, key, owner string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.get(key); ok && v.value == owner {
		delete(m.values, key)
	}
	return nil
}

// Claim implements Store.
func (m *Memory) Claim(_ context.Context, key, value string, ttl time.Duration) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.get(key); ok {
		return v.value, nil
	}
	m.values[key] = memValue{value: value, expires: m.expiry(ttl)}
	return "", nil
}

// Allow implements Store with a sliding log of event times per key.
func (m *Memory) Allow(_ context.Context, windows ...Window) (bool, time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	var wait time.Duration
	for _, w := range windows {
		log := m.events[w.Key]
		keep := log[:0]
		for _, t := range log {
			if now.Sub(t) < w.Span {
				keep = append(keep, t)
			}
		}
		m.events[w.Key] = keep
		if len(keep) >= w.Limit {
			wait = max(wait, keep[len(keep)-w.Limit].Add(w.Span).Sub(now))
		}
	}
	if wait > 0 {
		return false, wait, nil
	}
	for _, w := range windows {
		m.events[w.Key] = append(m.events[w.Key], now)
	}
	return true, 0, nil
}

// Ping implements Store.
func (m *Memory) Ping(context.Context) error { return nil }

// Close implements Store.
func (m *Memory) Close() error { return nil }
