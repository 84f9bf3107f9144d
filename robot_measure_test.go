package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"opsbot/bot/aibot/aibottest"
	"opsbot/bot/wecomtest"
	"opsbot/models/modelstest"
)

// TestRobotMeasure measures the robot channel through a served opsbot
// (robot only, default client timings): the time from a pushed callback
// to its reply frame over 1,000 messages (inbox → router → outbox →
// robot), and the reconnect time after a drop. It runs only when asked:
//
//	OPSBOT_ROBOT_MEASURE=1 go test -run TestRobotMeasure -v .
//	OPSBOT_ROBOT_MEASURE=postgres …   (the same on PostgreSQL)
func TestRobotMeasure(t *testing.T) {
	mode := os.Getenv("OPSBOT_ROBOT_MEASURE")
	if mode == "" {
		t.Skip("set OPSBOT_ROBOT_MEASURE=1 (or postgres) to measure")
	}
	rfake := newRobotFake(t)
	fake := wecomtest.New()
	defer fake.Close()
	env := robotOnly(withRobot(testEnv(t, fake), rfake))
	if mode == "postgres" {
		dsn, drop, err := modelstest.FreshSchema(modelstest.PostgresURL())
		if err != nil {
			modelstest.Unreachable(t, "PostgreSQL", err)
		}
		t.Cleanup(drop)
		env["OPSBOT_DB"] = dsn
	}
	startServe(t, env, fake)
	waitSubscribed(t, rfake)
	ctx := context.Background()

	// Warm up: the first messages pay for connections and caches.
	for i := range 20 {
		req := push(t, rfake, aibottest.Msg{UserID: fmt.Sprintf("warm%d", i), Content: "我的工单"})
		wait(t, rfake, req)
	}
	n := 1000
	if os.Getenv("OPSBOT_ROBOT_MEASURE_N") != "" {
		fmt.Sscan(os.Getenv("OPSBOT_ROBOT_MEASURE_N"), &n)
	}
	lat := make([]time.Duration, 0, n)
	for i := range n {
		// Many people, one message each at a time: per-person limits are
		// WeCom's, not what is measured here.
		start := time.Now()
		req := push(t, rfake, aibottest.Msg{UserID: fmt.Sprintf("nurse%03d", i%200), Content: "我的工单"})
		f := wait(t, rfake, req)
		lat = append(lat, f.At.Sub(start))
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))].Round(10 * time.Microsecond) }
	t.Logf("db=%s callback → reply frame over %d messages: p50 %v, p90 %v, p99 %v, max %v", mode, n, pct(0.5), pct(0.9), pct(0.99), lat[len(lat)-1].Round(10*time.Microsecond))

	// Reconnect after a drop of a healthy connection, with the default
	// backoff (1 s, jittered to 0.5–1 s).
	var rec []time.Duration
	for range 10 {
		// Not while a reply's ack is on its way: a frame whose ack the
		// drop cut off is sent again (it may not have arrived).
		time.Sleep(50 * time.Millisecond)
		rfake.Drop()
		start := time.Now()
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		for rfake.Subscribed() { // the fake forgets the dropped one at once
			time.Sleep(time.Millisecond)
		}
		if err := rfake.WaitSubscribed(wctx); err != nil {
			cancel()
			t.Fatal("no reconnect within 10 s")
		}
		cancel()
		rec = append(rec, time.Since(start))
		// A callback on the new connection makes it healthy, as a real one
		// is before it drops; a connection that dies before any frame
		// counts as flapping and backs off longer.
		wait(t, rfake, push(t, rfake, aibottest.Msg{UserID: "nurse998", Content: "我的工单"}))
	}
	slices.Sort(rec)
	t.Logf("reconnect after a drop (10 drops): min %v, median %v, max %v", rec[0].Round(time.Millisecond), rec[len(rec)/2].Round(time.Millisecond), rec[len(rec)-1].Round(time.Millisecond))

	// A reply that waited out the drop: pushed just before the drop, its
	// answer goes on the next connection.
	req := push(t, rfake, aibottest.Msg{UserID: "nurse999", Content: "我的工单"})
	rfake.Drop()
	start := time.Now()
	f := wait(t, rfake, req)
	t.Logf("a reply caught by a drop arrived %v after the drop (on connection %d)", time.Since(start).Round(time.Millisecond), f.Conn)
}

// wait returns the reply frame to the callback reqID: an answer, or a
// push to its sender when the answer could not be given.
func wait(t *testing.T, fake *aibottest.Server, reqID string) aibottest.Frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	f, err := fake.WaitReply(ctx, reqID)
	if err != nil {
		for _, f := range fake.Frames() {
			if f.Cmd != "ping" && time.Since(f.At) < 30*time.Second {
				t.Logf("conn %d %s %s at %s", f.Conn, f.Cmd, f.ReqID, f.At.Format("15:04:05.000"))
			}
		}
		t.Fatalf("no reply to %s (now %s)", reqID, time.Now().Format("15:04:05.000"))
	}
	return f
}
