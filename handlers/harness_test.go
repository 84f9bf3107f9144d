package handlers_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"opsbot/bot"
	"opsbot/configs"
	"opsbot/handlers"
	"opsbot/kv"
	"opsbot/models"
	"opsbot/models/modelstest"
)

// harness is opsbot's handlers on a real store, spoken to like WeCom would.
type harness struct {
	t     *testing.T
	store *models.Store
	h     *handlers.Handlers
	deps  handlers.Deps
	clock *modelstest.Clock
	kv    *kv.Memory
	inbox *handlers.Inbox
	n     int
	last  bot.Incoming
}

// lastMessage is the last message said, to replay it.
func (hs *harness) lastMessage() bot.Incoming { return hs.last }

func newHarness(t *testing.T, open func(testing.TB, models.Options) *models.Store) *harness {
	t.Helper()
	return newHarnessWith(t, open, nil)
}

// newHarnessWith is newHarness with the configuration changed by set.
func newHarnessWith(t *testing.T, open func(testing.TB, models.Options) *models.Store, set func(*configs.Config)) *harness {
	t.Helper()
	clock := modelstest.NewClock(modelstest.Monday9)
	cfg := configs.Default()
	if set != nil {
		set(&cfg)
	}
	store := open(t, models.Options{Now: clock.Now, Reminders: cfg.Reminders, AutoClose: cfg.Ticket.AutoClose.D()})
	ctx := context.Background()
	sys, err := configs.LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	deps, err := configs.LoadDepartments("")
	if err != nil {
		t.Fatal(err)
	}
	cat := models.NewCatalog(models.SystemsFromConfig(sys), models.DepartmentsFromConfig(deps))
	if err := store.SyncCatalog(ctx, cat.Systems(), models.DepartmentsFromConfig(deps)); err != nil {
		t.Fatal(err)
	}
	roster, err := configs.LoadStaff("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.SyncStaff(ctx, roster, cat.Resolve); err != nil {
		t.Fatal(err)
	}
	mem := kv.NewMemory(clock.Now)
	oncall, err := configs.LoadOnCall("")
	if err != nil {
		t.Fatal(err)
	}
	hd := handlers.Deps{Store: store, KV: mem, Catalog: cat, Config: cfg, OnCall: oncall, PhoneGateway: true, Source: models.SourceChat}
	h := handlers.New(hd)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return &harness{t: t, store: store, h: h, deps: hd, clock: clock, kv: mem, inbox: handlers.NewInbox(ctx, store, 1)}
}

// reconfigure rebuilds the handlers with cfg, on the same store.
func (hs *harness) reconfigure(cfg configs.Config) {
	hs.deps.Config = cfg
	hs.h = handlers.New(hs.deps)
}

// eachStore runs a conversation test on SQLite and on Postgres.
func eachStore(t *testing.T, body func(t *testing.T, hs *harness)) {
	t.Run("sqlite", func(t *testing.T) { body(t, newHarness(t, modelstest.SQLite)) })
	t.Run("postgres", func(t *testing.T) { body(t, newHarness(t, modelstest.Postgres)) })
}

// sent is what opsbot sent in answer to one message, by recipient.
type sent map[string][]models.OutboxMessage

// text joins everything one recipient got.
func (s sent) text(to string) string {
	var parts []string
	for _, m := range s[to] {
		if m.Card != nil {
			parts = append(parts, m.Card.Title+" "+m.Card.Desc)
			for _, b := range m.Card.Buttons {
				parts = append(parts, b.Text+"="+b.Key)
			}
			continue
		}
		parts = append(parts, m.Content)
	}
	return strings.Join(parts, "\n")
}

// goErrors are signs of Go or SQL error text, which must never reach a user.
var goErrors = regexp.MustCompile(`(?i)store:|sql|gorm|error|panic|nil|%!|\bhandlers\b|context deadline`)

// say sends one line as user and returns what opsbot sent to anyone.
func (hs *harness) say(user, line string) sent {
	hs.t.Helper()
	hs.n++
	return hs.deliver(bot.Incoming{Key: fmt.Sprintf("msg:%d", hs.n), User: user, Type: "text", Text: line, CreateTime: hs.clock.Now()})
}

// click presses a card button as user.
func (hs *harness) click(user, key string) sent {
	hs.t.Helper()
	hs.n++
	return hs.deliver(bot.Incoming{Key: fmt.Sprintf("evt:%d", hs.n), User: user, Type: "event", Event: "template_card_event", EventKey: key, ResponseCode: fmt.Sprintf("rc-%d", hs.n), CreateTime: hs.clock.Now()})
}

func (hs *harness) deliver(msg bot.Incoming) sent {
	hs.t.Helper()
	hs.last = msg
	ctx := context.Background()
	if dup, err := hs.inbox.Accept(ctx, msg); err != nil || dup {
		hs.t.Fatalf("accept %q: dup=%v err=%v", msg.Text, dup, err)
	}
	if err := hs.h.Process(ctx, msg); err != nil {
		hs.t.Fatalf("process %q: %v", msg.Text, err)
	}
	return hs.drain()
}

// drain collects and marks sent everything queued.
func (hs *harness) drain() sent {
	hs.t.Helper()
	ctx := context.Background()
	out := sent{}
	rows, err := hs.store.LeaseDue(ctx, 1000, time.Hour)
	if err != nil {
		hs.t.Fatal(err)
	}
	for _, m := range rows {
		if goErrors.MatchString(m.Content) {
			hs.t.Errorf("a user sees error text: %q", m.Content)
		}
		// WeCom answers an interactive card's send with a response code,
		// the one later card updates need.
		rc := ""
		if m.MsgType == "template_card" {
			rc = fmt.Sprintf("send-rc-%d", m.ID)
			m.ResponseCode = rc
		}
		out[m.Recipient] = append(out[m.Recipient], m)
		if err := hs.store.MarkSent(ctx, m.ID, rc); err != nil {
			hs.t.Fatal(err)
		}
	}
	return out
}

func (hs *harness) ticket(id int64) *models.Ticket {
	hs.t.Helper()
	var t *models.Ticket
	if err := hs.store.View(context.Background(), func(tx *models.Tx) error {
		var err error
		t, err = tx.Ticket(id)
		return err
	}); err != nil {
		hs.t.Fatalf("ticket #%d: %v", id, err)
	}
	return t
}

func (hs *harness) count() int {
	hs.t.Helper()
	var ts []models.Ticket
	hs.store.View(context.Background(), func(tx *models.Tx) error {
		var err error
		ts, err = tx.Tickets(models.TicketFilter{})
		return err
	})
	return len(ts)
}

func (hs *harness) events(id int64) []models.TicketEvent {
	var ev []models.TicketEvent
	hs.store.View(context.Background(), func(tx *models.Tx) error {
		var err error
		ev, err = tx.Events(id)
		return err
	})
	return ev
}

// want fails unless got contains every fragment.
func want(t *testing.T, got string, fragments ...string) {
	t.Helper()
	for _, f := range fragments {
		if !strings.Contains(got, f) {
			t.Errorf("want %q in reply:\n%s", f, got)
		}
	}
}

// wantNot fails when got contains a fragment.
func wantNot(t *testing.T, got string, fragments ...string) {
	t.Helper()
	for _, f := range fragments {
		if strings.Contains(got, f) {
			t.Errorf("did not want %q in reply:\n%s", f, got)
		}
	}
}
