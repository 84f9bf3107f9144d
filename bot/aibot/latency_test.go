package aibot_test

import (
	"slices"
	"testing"
	"time"

	"opsbot/bot/aibot"
	"opsbot/bot/aibot/aibottest"
)

// TestLatencyFigures measures, against the fake over loopback, the time from
// a pushed callback to its reply frame over 1,000 messages, and the time
// from a dropped connection to the next subscription with the default
// backoff. It prints the figures; the bounds only catch a gross regression.
func TestLatencyFigures(t *testing.T) {
	if testing.Short() {
		t.Skip("measurement")
	}
	srv := newServer(t)
	var logs logBuf
	cfg := fastConfig(srv, &logs)
	cfg.PingInterval = 30 * time.Second
	cfg.BackoffMin, cfg.BackoffMax = time.Second, 60*time.Second // the defaults
	c, _, _ := startEcho(t, cfg)
	ctx := timeout(t, 60*time.Second)
	if err := srv.WaitSubscribed(ctx); err != nil {
		t.Fatal(err)
	}

	const n = 1000
	lat := make([]time.Duration, 0, n)
	for range n {
		begin := time.Now()
		reqID, err := srv.PushMessage(ctx, aibottest.Msg{Content: "@运维助手 收费系统又卡了", ChatID: "wrGroup"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := srv.WaitReply(ctx, reqID); err != nil {
			t.Fatal(err)
		}
		lat = append(lat, time.Since(begin))
	}
	slices.Sort(lat)
	p50, p99 := lat[n/2], lat[n*99/100]
	t.Logf("callback → reply frame over %d messages: p50 %v, p99 %v, max %v", n, p50, p99, lat[n-1])
	if p99 > time.Second {
		t.Errorf("p99 %v", p99)
	}

	const drops = 3
	var total time.Duration
	for i := range drops {
		// A conversation on the connection, then the drop.
		reqID, err := srv.PushMessage(ctx, aibottest.Msg{Content: "还在吗"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := srv.WaitReply(ctx, reqID); err != nil {
			t.Fatal(err)
		}
		dials := srv.Dials()
		begin := time.Now()
		srv.Drop()
		if err := srv.WaitFor(ctx, func() bool { return srv.Dials() > dials && srv.Subscribed() }); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, c, 5*time.Second, "resubscription", func(s aibot.Status) bool { return s.Subscribed })
		d := time.Since(begin)
		total += d
		t.Logf("reconnect %d after a drop: %v (backoff min %v, jittered to half..full)", i+1, d, cfg.BackoffMin)
	}
	t.Logf("reconnect after a drop: mean %v over %d drops", total/drops, drops)

	// The same with a 1 ms backoff shows the cost of dial + subscribe alone.
	srv2 := newServer(t)
	cfg2 := fastConfig(srv2, &logs)
	cfg2.BackoffMin, cfg2.BackoffMax = time.Millisecond, time.Millisecond
	c2, _, _ := startEcho(t, cfg2)
	var mech []time.Duration
	for range 20 {
		waitStatus(t, c2, 5*time.Second, "subscription", func(s aibot.Status) bool { return s.Subscribed })
		dials := srv2.Dials()
		begin := time.Now()
		srv2.Drop()
		if err := srv2.WaitFor(ctx, func() bool { return srv2.Dials() > dials && srv2.Subscribed() }); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, c2, 5*time.Second, "resubscription", func(s aibot.Status) bool { return s.Subscribed })
		mech = append(mech, time.Since(begin))
	}
	slices.Sort(mech)
	t.Logf("reconnect with a 1ms backoff (dial + subscribe): median %v, max %v over %d drops", mech[len(mech)/2], mech[len(mech)-1], len(mech))
}
