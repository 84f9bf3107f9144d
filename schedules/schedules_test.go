package schedules

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"opsbot/configs"
	"opsbot/kv"
	"opsbot/models"
	"opsbot/models/modelstest"
)

var monday9 = modelstest.Monday9

func catalog(t testing.TB) *models.Catalog {
	sys, err := configs.LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	return models.NewCatalog(models.SystemsFromConfig(sys), nil)
}

func options(c *modelstest.Clock) models.Options {
	cfg := configs.Default()
	return models.Options{Now: c.Now, Reminders: cfg.Reminders, AutoClose: cfg.Ticket.AutoClose.D()}
}

func seedRoster(t testing.TB, s *models.Store, cat *models.Catalog) {
	roster, _ := configs.LoadStaff("")
	if _, err := s.SyncStaff(context.Background(), roster, cat.Resolve); err != nil {
		t.Fatal(err)
	}
}

func newJobs(t testing.TB, s *models.Store, store kv.Store, cat *models.Catalog, owner string) *Jobs {
	oncall, err := configs.LoadOnCall("")
	if err != nil {
		t.Fatal(err)
	}
	return New(Deps{Store: s, KV: store, Catalog: cat, Config: configs.Default(), OnCall: oncall, Owner: owner})
}

// sqliteJobs is one replica's jobs on a fresh SQLite store with the
// example roster, its clock at Monday 09:00.
func sqliteJobs(t *testing.T) (*modelstest.Clock, *models.Store, *Jobs) {
	c := modelstest.NewClock(monday9)
	s := modelstest.SQLite(t, options(c))
	cat := catalog(t)
	seedRoster(t, s, cat)
	return c, s, newJobs(t, s, kv.NewMemory(c.Now), cat, "a")
}

func create(t testing.TB, s *models.Store, n int, p models.Priority, reporter string) int64 {
	var id int64
	err := s.Update(context.Background(), func(tx *models.Tx) error {
		tk, _, err := tx.CreateTicket(models.NewTicket{System: "OPB", Priority: p, Description: fmt.Sprintf("收费故障 %d", n), ReporterID: reporter, Source: models.SourceChat, SourceKey: fmt.Sprintf("seed:%d", n)}, models.Actor{UserID: reporter, Role: models.RoleReporter})
		if tk != nil {
			id = tk.ID
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func claim(t testing.TB, s *models.Store, id int64, who string) {
	err := s.Update(context.Background(), func(tx *models.Tx) error {
		st, _, err := tx.StaffMember(who)
		if err != nil {
			return err
		}
		_, err = tx.Claim(id, st.Actor())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// outbox returns every queued message text by recipient, and marks them
// sent so the next call returns only new ones.
func outbox(t testing.TB, s *models.Store) map[string][]string {
	rows, err := s.LeaseDue(context.Background(), 100000, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, m := range rows {
		out[m.Recipient] = append(out[m.Recipient], m.Content)
		s.MarkSent(context.Background(), m.ID, "")
	}
	return out
}

func joined(m map[string][]string, who string) string { return strings.Join(m[who], "\n") }

func TestReminderLevelsGoToTheRightPeopleOnce(t *testing.T) {
	c, s, j := sqliteJobs(t)
	ctx := context.Background()
	id := create(t, s, 1, models.PriorityMedium, "nurse01")

	step := func(d time.Duration) map[string][]string {
		c.Add(d)
		if err := j.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		return outbox(t, s)
	}
	if got := step(14 * time.Minute); len(got) != 0 {
		t.Fatalf("reminder before 15 min: %v", got)
	}
	// 15 min unclaimed: the on-call engineer (the example rota: zhangsan this week).
	got := step(time.Minute)
	if !strings.Contains(joined(got, "zhangsan"), "【未接单提醒】#1 门急诊收费｜收费故障 1 已等待 15分 无人接单") || len(got) != 1 {
		t.Fatalf("15 min: %v", got)
	}
	if got := step(time.Minute); len(got) != 0 {
		t.Fatalf("the 15-min reminder came twice: %v", got)
	}
	got = step(14 * time.Minute) // 30 min
	if !strings.Contains(joined(got, "zhaoliu"), "【未接单升级】#1") || len(got) != 1 {
		t.Fatalf("30 min: %v", got)
	}
	got = step(30 * time.Minute) // 60 min: breach of the response target
	if !strings.Contains(joined(got, "zhaoliu"), "【响应超时】#1") || !strings.Contains(joined(got, "qianqi"), "【响应超时】#1") {
		t.Fatalf("60 min: %v", got)
	}
	claim(t, s, id, "zhangsan")
	// Medium: 3 working days = 24 business hours from Mon 09:00 → Thu 09:00.
	// 75 % = 18 business hours → Wednesday 11:00.
	c.Set(time.Date(2026, 12, 2, 10, 59, 0, 0, modelstest.Shanghai))
	if got := step(0); len(got) != 0 {
		t.Fatalf("before 75 %%: %v", got)
	}
	got = step(time.Minute)
	if !strings.Contains(joined(got, "zhangsan"), "【即将超时】#1") || !strings.Contains(joined(got, "zhangsan"), "解决时限 12月3日 09:00") {
		t.Fatalf("75 %%: %v", got)
	}
	c.Set(time.Date(2026, 12, 3, 9, 0, 0, 0, modelstest.Shanghai))
	got = step(0)
	if !strings.Contains(joined(got, "zhangsan"), "【解决超时】#1") || !strings.Contains(joined(got, "zhaoliu"), "【解决超时】#1") || len(got["qianqi"]) != 0 {
		t.Fatalf("breach: %v", got)
	}
	// One working day after the breach: the account manager.
	c.Set(time.Date(2026, 12, 4, 8, 59, 0, 0, modelstest.Shanghai))
	if got := step(0); len(got) != 0 {
		t.Fatalf("before breach + 1 day: %v", got)
	}
	got = step(time.Minute)
	if !strings.Contains(joined(got, "qianqi"), "【超时升级】#1") || !strings.Contains(joined(got, "qianqi"), "负责人 张三") {
		t.Fatalf("breach + 1 working day: %v", got)
	}
	if got := step(24 * time.Hour); len(got) != 0 {
		t.Fatalf("reminders after the last level: %v", got)
	}
}

func TestPauseMovesRemindersAndDigestGroups(t *testing.T) {
	c, s, j := sqliteJobs(t)
	ctx := context.Background()
	a := create(t, s, 1, models.PriorityHigh, "nurse01")
	b := create(t, s, 2, models.PriorityHigh, "nurse02")
	claim(t, s, a, "lisi")
	claim(t, s, b, "lisi")
	outbox(t, s)
	// Pause a at 10:00 for a whole working day.
	c.Set(monday9.Add(time.Hour))
	s.Update(ctx, func(tx *models.Tx) error {
		st, _, _ := tx.StaffMember("lisi")
		_, err := tx.Pause(a, st.Actor(), "等厂家")
		return err
	})
	// High: 8 business hours → Tuesday 09:00; 75 % = 6h → Monday 17:00. Ticket b
	// gets its reminders; a is paused and gets none.
	c.Set(time.Date(2026, 11, 30, 17, 0, 0, 0, modelstest.Shanghai))
	j.Sweep(ctx)
	got := outbox(t, s)
	if !strings.Contains(joined(got, "lisi"), "#2") || strings.Contains(joined(got, "lisi"), "#1 ") {
		t.Fatalf("paused ticket reminded: %v", got)
	}
	// Resume Tuesday 10:00: a used 1 business hour, was paused 8 → due Wednesday 09:00.
	c.Set(time.Date(2026, 12, 1, 10, 0, 0, 0, modelstest.Shanghai))
	s.Update(ctx, func(tx *models.Tx) error {
		st, _, _ := tx.StaffMember("lisi")
		tk, err := tx.Resume(a, st.Actor(), "")
		if err == nil && !tk.DueResolution.Equal(time.Date(2026, 12, 2, 9, 0, 0, 0, modelstest.Shanghai)) {
			t.Errorf("due after the pause %v", tk.DueResolution)
		}
		return err
	})
	outbox(t, s)
	// Wednesday 09:00: a breaches (engineer + supervisor); b breached a day ago
	// and its +1 working day level is due now too: the supervisor's and the
	// account manager's reminders arrive as one message each.
	c.Set(time.Date(2026, 12, 2, 9, 0, 0, 0, modelstest.Shanghai))
	j.Sweep(ctx)
	got = outbox(t, s)
	if len(got["lisi"]) != 1 || !strings.Contains(got["lisi"][0], "【提醒汇总】") {
		t.Fatalf("lisi got %v", got["lisi"])
	}
}

func TestAutoCloseAfterTheConfirmationWindow(t *testing.T) {
	c, s, j := sqliteJobs(t)
	ctx := context.Background()
	id := create(t, s, 1, models.PriorityLow, "nurse01")
	claim(t, s, id, "zhangsan")
	s.Update(ctx, func(tx *models.Tx) error {
		st, _, _ := tx.StaffMember("zhangsan")
		_, err := tx.Resolve(id, st.Actor(), "已处理")
		return err
	})
	outbox(t, s)
	c.Add(71*time.Hour + 59*time.Minute)
	j.Sweep(ctx)
	var tk *models.Ticket
	s.View(ctx, func(tx *models.Tx) error { tk, _ = tx.Ticket(id); return nil })
	if tk.Status != models.StatusResolved {
		t.Fatalf("closed before 72 h: %s", tk.Status)
	}
	c.Add(time.Minute)
	j.Sweep(ctx)
	got := outbox(t, s)
	s.View(ctx, func(tx *models.Tx) error { tk, _ = tx.Ticket(id); return nil })
	if tk.Status != models.StatusClosed || tk.Confirmed || tk.NextCheckAt != nil {
		t.Fatalf("after 72 h: %+v", tk)
	}
	if !strings.Contains(joined(got, "nurse01"), "72 小时未确认，已自动关闭") || !strings.Contains(joined(got, "zhangsan"), "未经报修人确认") {
		t.Fatalf("messages %v", got)
	}
}

func TestLeaveHandsTicketsToAPeerOfNoLowerLevel(t *testing.T) {
	_, s, j := sqliteJobs(t)
	ctx := context.Background()
	a := create(t, s, 1, models.PriorityMedium, "nurse01")
	b := create(t, s, 2, models.PriorityMedium, "nurse02")
	claim(t, s, a, "zhangsan") // level 2
	claim(t, s, b, "lisi")     // level 3, the only level 3
	err := s.Update(ctx, func(tx *models.Tx) error {
		for _, who := range []string{"zhangsan", "lisi"} {
			st, _, _ := tx.StaffMember(who)
			if _, err := tx.SetLeave(st.Actor(), who, monday9, monday9.AddDate(0, 0, 2)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	outbox(t, s)
	if err := j.HandOverAbsent(ctx); err != nil {
		t.Fatal(err)
	}
	got := outbox(t, s)
	var ta, tb *models.Ticket
	s.View(ctx, func(tx *models.Tx) error { ta, _ = tx.Ticket(a); tb, _ = tx.Ticket(b); return nil })
	// zhangsan (2) has no available peer of level ≥ 2 (lisi is away too, wangwu is 1):
	// both stay and the supervisor is asked, once.
	if ta.AssigneeID != "zhangsan" || tb.AssigneeID != "lisi" {
		t.Fatalf("moved to a lower level: %s %s", ta.AssigneeID, tb.AssigneeID)
	}
	if n := strings.Count(joined(got, "zhaoliu"), "【需指派】"); n != 2 {
		t.Fatalf("supervisor asked %d times: %v", n, got)
	}
	j.HandOverAbsent(ctx)
	if again := outbox(t, s); len(again) != 0 {
		t.Fatalf("asked again: %v", again)
	}
	// lisi comes back: zhangsan's ticket moves to lisi; the reporter is told.
	s.Update(ctx, func(tx *models.Tx) error {
		st, _, _ := tx.StaffMember("lisi")
		_, err := tx.SetLeave(st.Actor(), "lisi", time.Time{}, time.Time{})
		return err
	})
	j.HandOverAbsent(ctx)
	got = outbox(t, s)
	s.View(ctx, func(tx *models.Tx) error { ta, _ = tx.Ticket(a); return nil })
	if ta.AssigneeID != "lisi" || !strings.Contains(joined(got, "nurse01"), "改由 李四 13800000002 处理") || !strings.Contains(joined(got, "lisi"), "张三 请假") {
		t.Fatalf("after lisi's return: %s %v", ta.AssigneeID, got)
	}
}

// scenario creates tickets and claims some, then walks the clock through
// two working days in steps, calling sweep at each step.
func scenario(t *testing.T, s *models.Store, c *modelstest.Clock, sweep func()) {
	for i := range 30 {
		p := []models.Priority{models.PriorityHigh, models.PriorityMedium, models.PriorityLow}[i%3]
		id := create(t, s, i, p, fmt.Sprintf("nurse%02d", i))
		if i%2 == 0 {
			claim(t, s, id, "lisi")
		}
	}
	for step := 0; step < 200; step++ {
		c.Add(17 * time.Minute)
		sweep()
	}
}

// reminderSet lists every (ticket, clock, level) reminded.
func reminderSet(t *testing.T, s *models.Store) []string {
	var rows []struct {
		TicketID int64
		Clock    string
		Level    int
	}
	if err := s.Raw(context.Background(), &rows, "SELECT ticket_id, clock, level FROM reminders ORDER BY ticket_id, clock, level"); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%d/%s/%d", r.TicketID, r.Clock, r.Level))
	}
	return out
}

// deliveries counts, per person, how often each reminder item reached them.
func deliveries(t *testing.T, s *models.Store) map[string]int {
	var rows []models.OutboxMessage
	if err := s.Raw(context.Background(), &rows, "SELECT * FROM outbox WHERE msg_key LIKE 'rem:%'"); err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, m := range rows {
		for _, line := range strings.Split(m.Content, "\n") {
			if i := strings.Index(line, "】#"); i >= 0 {
				item := line[strings.Index(line, "【"):]
				item = item[:strings.Index(item, " ")]
				n[m.Recipient+" "+item]++
			}
		}
	}
	return n
}

func redisStore(t *testing.T, prefix string) kv.Store {
	r, err := kv.OpenRedis(context.Background(), modelstest.RedisURL(), prefix)
	if err != nil {
		modelstest.Unreachable(t, "Redis", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func randomPrefix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "test:" + hex.EncodeToString(b) + ":"
}

func TestTwoSchedulersSendEachLevelOnce(t *testing.T) {
	cat := catalog(t)
	// The reference: one scheduler alone.
	c1 := modelstest.NewClock(monday9)
	ref := modelstest.Postgres(t, options(c1))
	seedRoster(t, ref, cat)
	solo := newJobs(t, ref, redisStore(t, randomPrefix()), cat, "solo")
	scenario(t, ref, c1, func() { solo.Sweep(context.Background()) })
	want := reminderSet(t, ref)
	if len(want) < 60 {
		t.Fatalf("scenario reminded only %d levels", len(want))
	}

	// Two replicas: two connection pools on one database, one Redis.
	c2 := modelstest.NewClock(monday9)
	dsn, drop, err := modelstest.FreshSchema(modelstest.PostgresURL())
	if err != nil {
		modelstest.Unreachable(t, "PostgreSQL", err)
	}
	t.Cleanup(drop)
	open := func() *models.Store {
		s, err := models.Open(context.Background(), "postgres", dsn, withSLA(t, options(c2)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	s1, s2 := open(), open()
	if _, err := s1.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	seedRoster(t, s1, cat)
	prefix := randomPrefix()
	r1, r2 := newJobs(t, s1, redisStore(t, prefix), cat, "r1"), newJobs(t, s2, redisStore(t, prefix), cat, "r2")
	job := r1.Table()[0]
	scenario(t, s1, c2, func() {
		var wg sync.WaitGroup
		wg.Add(3)
		go func() { defer wg.Done(); r1.RunGuarded(context.Background(), job) }()
		go func() { defer wg.Done(); r2.RunGuarded(context.Background(), job) }()
		// A Redis blip: a replica runs unguarded; the database still decides.
		go func() { defer wg.Done(); r2.Sweep(context.Background()) }()
		wg.Wait()
	})
	got := reminderSet(t, s1)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("two schedulers reminded %d levels, one alone %d", len(got), len(want))
	}
	for item, n := range deliveries(t, s1) {
		if n != 1 {
			t.Errorf("%s delivered %d times", item, n)
		}
	}
	if refN, n := len(deliveries(t, ref)), len(deliveries(t, s1)); refN != n {
		t.Fatalf("%d person-items with two schedulers, %d alone", n, refN)
	}
}

func TestSchedulerKilledMidRunIsTakenOver(t *testing.T) {
	cat := catalog(t)
	c := modelstest.NewClock(monday9)
	s := modelstest.Postgres(t, options(c))
	seedRoster(t, s, cat)
	prefix := randomPrefix()
	dying := newJobs(t, s, redisStore(t, prefix), cat, "dying")
	other := newJobs(t, s, redisStore(t, prefix), cat, "other")
	for i := range 5 {
		create(t, s, i, models.PriorityMedium, fmt.Sprintf("nurse%02d", i))
	}
	c.Add(16 * time.Minute)
	ctx := context.Background()
	job := Job{Name: "sla-sweep", Run: dying.Sweep, Lock: time.Second}
	// The dying replica takes the lock, starts the sweep and dies before
	// its transaction commits: no unlock, no commit.
	if ok, _ := dying.KV.Lock(ctx, "job:sla-sweep", "dying", job.Lock); !ok {
		t.Fatal("no lock")
	}
	dying.beforeCommit = func() error { return errors.New("killed") }
	if err := dying.Sweep(ctx); err == nil {
		t.Fatal("the killed sweep committed")
	}
	if len(reminderSet(t, s)) != 0 {
		t.Fatal("a killed sweep left reminders")
	}
	job.Run = other.Sweep
	if other.RunGuarded(ctx, job) {
		t.Fatal("the other replica ran while the dead one's lock lived")
	}
	time.Sleep(1100 * time.Millisecond)
	if !other.RunGuarded(ctx, job) {
		t.Fatal("the other replica did not take over after the lock expired")
	}
	if got := reminderSet(t, s); len(got) != 5 {
		t.Fatalf("reminded %v, want the 15-min level of 5 tickets", got)
	}
	for item, n := range deliveries(t, s) {
		if n != 1 {
			t.Errorf("%s delivered %d times", item, n)
		}
	}
	other.RunGuarded(ctx, job)
	if got := reminderSet(t, s); len(got) != 5 {
		t.Fatalf("a second run added reminders: %v", got)
	}
}

func withSLA(t *testing.T, o models.Options) models.Options {
	o.SLA = modelstest.DefaultSLA(t)
	return o
}

func TestCalendarCheckWarnsInDecemberWithoutNextYear(t *testing.T) {
	c := modelstest.NewClock(time.Date(2026, 12, 5, 9, 0, 0, 0, modelstest.Shanghai))
	s := modelstest.SQLite(t, options(c))
	var buf bytes.Buffer
	j := newJobs(t, s, kv.NewMemory(c.Now), catalog(t), "a")
	j.Log = slog.New(slog.NewTextHandler(&buf, nil))
	j.CheckCalendar(context.Background())
	if buf.Len() != 0 {
		t.Fatalf("2027 is known, yet: %s", buf.String())
	}
	c.Set(time.Date(2027, 12, 5, 9, 0, 0, 0, modelstest.Shanghai))
	j.CheckCalendar(context.Background())
	if !strings.Contains(buf.String(), "statutory holidays unknown") || !strings.Contains(buf.String(), "year=2028") {
		t.Fatalf("no warning in December 2027: %q", buf.String())
	}
}

// TestInboxPurgeJob: the nightly job deletes messages processed more than
// inbox.keep (7 days) ago, however many, and keeps the rest.
func TestInboxPurgeJob(t *testing.T) {
	c, s, j := sqliteJobs(t)
	ctx := context.Background()
	defer func(n int) { purgePage = n }(purgePage)
	purgePage = 10 // three pages
	var keys []string
	for i := range 2*purgePage + 3 {
		keys = append(keys, fmt.Sprintf("msg:%d", i))
	}
	store := func(keys []string) {
		var items []models.InboxItem
		for _, k := range keys {
			items = append(items, models.InboxItem{Key: k, User: "nurse01", MsgType: "text", Payload: []byte(`{}`)})
		}
		if _, err := s.AcceptInbox(ctx, items); err != nil {
			t.Fatal(err)
		}
		if err := s.Batch(ctx, keys, func(b *models.Batch) error {
			return b.Update(func(tx *models.Tx) error {
				for _, k := range keys {
					if _, err := tx.ClaimInbox(k); err != nil {
						return err
					}
				}
				return nil
			})
		}); err != nil {
			t.Fatal(err)
		}
	}
	store(keys)
	c.Add(6 * 24 * time.Hour)
	store([]string{"msg:recent"})
	c.Add(36 * time.Hour) // the first lot is 7.5 days old, the last 1.5 days
	var job Job
	for _, jb := range j.Table() {
		if jb.Name == "retention" {
			job = jb
		}
	}
	if job.Run == nil {
		t.Fatal("no retention job in the table")
	}
	if err := job.Run(ctx); err != nil {
		t.Fatal(err)
	}
	dup, err := s.AcceptInbox(ctx, []models.InboxItem{{Key: "msg:0", User: "u", MsgType: "text", Payload: []byte("{}")}, {Key: fmt.Sprintf("msg:%d", 2*purgePage+2), User: "u", MsgType: "text", Payload: []byte("{}")}, {Key: "msg:recent", User: "u", MsgType: "text", Payload: []byte("{}")}})
	if err != nil {
		t.Fatal(err)
	}
	if dup[0] || dup[1] || !dup[2] {
		t.Fatalf("after the purge, stored again: %v; want the old ones gone and the recent one kept", dup)
	}
}
