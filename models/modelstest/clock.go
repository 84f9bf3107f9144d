package modelstest

import (
	"sync"
	"time"
)

// Clock is a clock tests move by hand; pass its Now as the store's,
// the kv store's and the handlers' clock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Add moves the clock forward by d.
func (c *Clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// Set puts the clock at t.
func (c *Clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// Monday9 is Monday 2026-11-30 09:00 in Shanghai: a working day, in
// business hours, where most tests start.
var Monday9 = time.Date(2026, 11, 30, 9, 0, 0, 0, Shanghai)
