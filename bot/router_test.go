package bot_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"opsbot/bot"
)

func testRouter() *bot.Router {
	r := bot.NewRouter()
	for _, c := range []bot.Command{
		{Name: "报修", Aliases: []string{"报障"}},
		{Name: "接单"},
		{Name: "催办", Aliases: []string{"催单"}},
		{Name: "我的工单", Aliases: []string{"我的"}},
		{Name: "工单"},
		{Name: "超时原因"},
		{Name: "帮助", Aliases: []string{"help", "?"}},
	} {
		r.Handle(c)
	}
	return r
}

func TestMatch(t *testing.T) {
	r := testRouter()
	cases := []struct{ text, cmd, args string }{
		{"报修 门诊收费 3号窗口打印不了发票", "报修", "门诊收费 3号窗口打印不了发票"},
		{"报障 LIS 打不开", "报修", "LIS 打不开"},
		{"接单 12", "接单", "12"},
		{"接单12", "接单", "12"},
		{"接单　＃１２", "接单", "#12"},
		{"  接单   12  ", "接单", "12"},
		{"我的工单", "我的工单", ""},
		{"工单 3", "工单", "3"},
		{"超时原因 3 等厂家", "超时原因", "3 等厂家"},
		{"help", "帮助", ""},
		{"helpdesk 坏了", "", ""},
		{"？", "帮助", ""},
		{"收费系统打不开", "", ""},
	}
	for _, c := range cases {
		cmd, args := r.Match(c.text)
		got := ""
		if cmd != nil {
			got = cmd.Name
		}
		if got != c.cmd || (cmd != nil && args != c.args) {
			t.Errorf("Match(%q) = %q %q, want %q %q", c.text, got, args, c.cmd, c.args)
		}
	}
}

func TestSuggest(t *testing.T) {
	r := testRouter()
	cases := []struct {
		text string
		want []string
	}{
		{"借单 3", []string{"接单", "工单"}},
		{"我得工单", []string{"我的工单"}},
		{"好的", nil},
		{"谢谢", nil},
		{"超时愿因 3", []string{"超时原因"}},
		{"", nil},
	}
	for _, c := range cases {
		if got := r.Suggest(c.text); !slices.Equal(got, c.want) {
			t.Errorf("Suggest(%q) = %v, want %v", c.text, got, c.want)
		}
	}
}

func TestDispatchRoutesAndWrapsMiddleware(t *testing.T) {
	r := bot.NewRouter()
	var trail []string
	mw := func(name string) bot.Middleware {
		return func(next bot.HandlerFunc) bot.HandlerFunc {
			return func(c *bot.Context) error { trail = append(trail, name); return next(c) }
		}
	}
	r.Use(mw("global"))
	r.Handle(bot.Command{Name: "接单", Handler: func(c *bot.Context) error { trail = append(trail, "claim:"+c.Args); return nil }, Middleware: []bot.Middleware{mw("role")}})
	r.Card("confirm:", func(c *bot.Context) error { trail = append(trail, "card:"+c.Msg.EventKey); return nil })
	r.Text(func(c *bot.Context) error { trail = append(trail, "text"); return nil })
	r.Other(func(c *bot.Context) error { trail = append(trail, "other:"+c.Msg.Type+c.Msg.Event); return nil })
	var gotErr error
	r.OnError(func(_ *bot.Context, err error) { gotErr = err })
	ctx := context.Background()
	r.Dispatch(ctx, bot.Incoming{Type: "text", Text: "接单 7"})
	r.Dispatch(ctx, bot.Incoming{Type: "text", Text: "打印机坏了"})
	r.Dispatch(ctx, bot.Incoming{Type: "event", Event: "template_card_event", EventKey: "confirm:7:yes"})
	r.Dispatch(ctx, bot.Incoming{Type: "event", Event: "template_card_event", EventKey: "rate:7:5"})
	r.Dispatch(ctx, bot.Incoming{Type: "image"})
	want := "global,role,claim:7,global,text,global,card:confirm:7:yes,global,other:eventtemplate_card_event,global,other:image"
	if got := strings.Join(trail, ","); got != want {
		t.Fatalf("trail\n got %s\nwant %s", got, want)
	}
	r.Handle(bot.Command{Name: "坏", Handler: func(*bot.Context) error { return fmt.Errorf("boom") }})
	if err := r.Dispatch(ctx, bot.Incoming{Type: "text", Text: "坏"}); err == nil || gotErr == nil {
		t.Fatal("error not returned and given to OnError")
	}
}

func TestQueueKeepsEachUsersOrder(t *testing.T) {
	var mu sync.Mutex
	seen := map[string][]int{}
	active := map[string]bool{}
	overlap := false
	q := bot.NewQueue(context.Background(), 4, 64, func(_ context.Context, m bot.Incoming) {
		mu.Lock()
		if active[m.User] {
			overlap = true
		}
		active[m.User] = true
		mu.Unlock()
		time.Sleep(time.Millisecond)
		mu.Lock()
		active[m.User] = false
		var n int
		fmt.Sscan(m.Text, &n)
		seen[m.User] = append(seen[m.User], n)
		mu.Unlock()
	})
	users := []string{"a", "b", "c", "d", "e", "f"}
	for i := range 40 {
		for _, u := range users {
			for !q.TrySubmit(bot.Incoming{User: u, Text: fmt.Sprint(i)}) {
				time.Sleep(time.Millisecond)
			}
		}
	}
	q.Close()
	if overlap {
		t.Fatal("two messages of one user were handled at the same time")
	}
	for _, u := range users {
		if len(seen[u]) != 40 || !slices.IsSorted(seen[u]) {
			t.Fatalf("user %s handled %v", u, seen[u])
		}
	}
	if q.TrySubmit(bot.Incoming{User: "a"}) {
		t.Fatal("closed queue accepted a message")
	}
}

// FuzzCommandParser checks the command parser never panics, keeps text
// valid, and that what it matched is really at the start of the text.
func FuzzCommandParser(f *testing.F) {
	r := testRouter()
	for _, s := range []string{"接单 12", "接单＃１２", "报修 门诊收费 3号窗口打印不了发票", "我的工单", "help", "\x00\xff", "借单 3", "　", "超时原因 #3 等"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		n := bot.Normalize(text)
		if !utf8.ValidString(text) {
			return
		}
		if n != strings.TrimSpace(n) || strings.Contains(n, "  ") {
			t.Fatalf("Normalize(%q) = %q is not trimmed and single-spaced", text, n)
		}
		if bot.Normalize(n) != n {
			t.Fatalf("Normalize is not idempotent on %q", text)
		}
		cmd, args := r.Match(text)
		if cmd != nil && !strings.HasSuffix(n, args) {
			t.Fatalf("Match(%q) args %q are not the end of %q", text, args, n)
		}
		_ = r.Suggest(text)
	})
}

// TestQueueAbsorbsBurstUpToItsLimit: a worker busy with one message holds
// everything that arrives meanwhile, up to its limit, and then hands it
// over in order, a batch at a time.
func TestQueueAbsorbsBurstUpToItsLimit(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var got []string
	var sizes []int
	q := bot.NewBatchQueue(context.Background(), 1, 100, 16, func(_ context.Context, ms []bot.Incoming) {
		if len(got) == 0 {
			<-release
		}
		mu.Lock()
		defer mu.Unlock()
		sizes = append(sizes, len(ms))
		for _, m := range ms {
			got = append(got, m.Text)
		}
	})
	if !q.TrySubmit(bot.Incoming{User: "a", Text: "0"}) {
		t.Fatal("first message refused")
	}
	time.Sleep(20 * time.Millisecond) // the worker holds message 0
	accepted := 0
	for i := 1; i <= 150; i++ {
		if q.TrySubmit(bot.Incoming{User: "a", Text: fmt.Sprint(i)}) {
			accepted++
		}
	}
	if accepted != 100 {
		t.Errorf("accepted %d while the worker was busy, want the limit of 100", accepted)
	}
	close(release)
	q.Close()
	if len(got) != 101 {
		t.Fatalf("handled %d messages, want 101", len(got))
	}
	for i, s := range got {
		if s != fmt.Sprint(i) {
			t.Fatalf("order broken at %d: %v", i, got)
		}
	}
	for _, n := range sizes {
		if n > 16 {
			t.Fatalf("batch of %d, want at most 16", n)
		}
	}
}
