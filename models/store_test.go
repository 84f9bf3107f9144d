package models_test

import (
	"context"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"opsbot/configs"
	"opsbot/models"
	"opsbot/models/modelstest"
)

var (
	nurse    = models.Actor{UserID: "nurse01", Name: "护士甲", Role: models.RoleReporter}
	engineer = models.Actor{UserID: "zhangsan", Name: "张三", Role: models.RoleEngineer, Level: 2}
)

func newClock() *modelstest.Clock { return modelstest.NewClock(modelstest.Monday9) }

func TestMigrateTwiceIsNoop(t *testing.T) {
	modelstest.Each(t, models.Options{}, func(t *testing.T, s *models.Store) {
		n, err := s.Migrate(context.Background())
		if err != nil || n != 0 {
			t.Fatalf("second migrate applied %d, err %v; want 0, nil", n, err)
		}
		v, err := s.SchemaVersion(context.Background())
		if err != nil || v < 1 {
			t.Fatalf("schema version %d, %v", v, err)
		}
	})
}

func TestBothDatabasesHaveTheSameSchema(t *testing.T) {
	lite := modelstest.SQLite(t, models.Options{})
	pg := modelstest.Postgres(t, models.Options{})
	a, err := lite.Columns(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, err := pg.Columns(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Fatalf("schemas differ:\nsqlite:\n%s\npostgres:\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
	if len(a) < 50 {
		t.Fatalf("only %d columns listed", len(a))
	}
}

func createTicket(t *testing.T, s *models.Store, key string) *models.Ticket {
	t.Helper()
	var tk *models.Ticket
	err := s.Update(context.Background(), func(tx *models.Tx) error {
		var err error
		tk, _, err = tx.CreateTicket(models.NewTicket{
			System: "OPB", Description: "门诊收费 3号窗口打印不了发票", ReporterID: nurse.UserID,
			ReporterName: nurse.Name, Source: models.SourceChat, SourceKey: key,
		}, nurse)
		return err
	})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	return tk
}

func TestCreateClaimAndEvents(t *testing.T) {
	clock := newClock()
	modelstest.Each(t, models.Options{Now: clock.Now}, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		tk := createTicket(t, s, "msg:1")
		if tk.ID == 0 || tk.Status != models.StatusNew || tk.Title != "门诊收费 3号窗口打印不了发票" {
			t.Fatalf("created %+v", tk)
		}
		again := createTicket(t, s, "msg:1")
		if again.ID != tk.ID {
			t.Fatalf("same source key made a second ticket #%d (first #%d)", again.ID, tk.ID)
		}
		clock.Add(10 * time.Minute)
		err := s.Update(ctx, func(tx *models.Tx) error {
			_, err := tx.Claim(tk.ID, nurse)
			return err
		})
		if models.ErrorCode(err) != models.EForbidden || !strings.Contains(err.Error(), "服务工程师") {
			t.Fatalf("nurse claim: %v", err)
		}
		err = s.Update(ctx, func(tx *models.Tx) error {
			_, err := tx.Claim(tk.ID, engineer)
			return err
		})
		if err != nil {
			t.Fatalf("claim: %v", err)
		}
		var got *models.Ticket
		var ev []models.TicketEvent
		s.View(ctx, func(tx *models.Tx) error {
			got, _ = tx.Ticket(tk.ID)
			ev, _ = tx.Events(tk.ID)
			return nil
		})
		if got.Status != models.StatusClaimed || got.AssigneeID != "zhangsan" || got.ClaimedAt == nil {
			t.Fatalf("after claim %+v", got)
		}
		if !got.ClaimedAt.Equal(clock.Now()) {
			t.Fatalf("claimed at %v, want %v", got.ClaimedAt, clock.Now())
		}
		if len(ev) != 2 || ev[0].Action != models.ActCreate || ev[1].Action != models.ActClaim || ev[1].From != models.StatusNew || ev[1].To != models.StatusClaimed || ev[1].Actor != "zhangsan" {
			t.Fatalf("events %+v", ev)
		}
		// Events are append-only, enforced by the database itself.
		if err := s.Exec(ctx, "UPDATE ticket_events SET note = 'x'"); err == nil {
			t.Fatal("updating an event succeeded")
		}
		if err := s.Exec(ctx, "DELETE FROM ticket_events"); err == nil {
			t.Fatal("deleting an event succeeded")
		}
	})
}

func TestConcurrentCreatesWithOneKeyMakeOneTicket(t *testing.T) {
	modelstest.Each(t, models.Options{}, func(t *testing.T, s *models.Store) {
		var wg sync.WaitGroup
		ids := make([]int64, 8)
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ids[i] = createTicket(t, s, "msg:same").ID
			}()
		}
		wg.Wait()
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		if ids[0] != ids[len(ids)-1] {
			t.Fatalf("one key gave tickets %v", ids)
		}
	})
}

func TestSyncStaffDeactivatesRemoved(t *testing.T) {
	modelstest.Each(t, models.Options{}, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		roster, err := configs.LoadStaff("")
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.SyncStaff(ctx, roster, nil)
		if err != nil || res.Added != len(roster.Staff) {
			t.Fatalf("first sync %+v %v", res, err)
		}
		res, err = s.SyncStaff(ctx, roster, nil)
		if err != nil || res != (models.SyncResult{}) {
			t.Fatalf("second sync changed %+v %v", res, err)
		}
		// Planned leave in the roster.
		roster.Staff[1].AwayFrom, roster.Staff[1].AwayUntil = "2026-11-30", "2026-12-01"
		if res, err = s.SyncStaff(ctx, roster, nil); err != nil || res.Updated != 1 {
			t.Fatalf("leave sync %+v %v", res, err)
		}
		s.View(ctx, func(tx *models.Tx) error {
			st, _, _ := tx.StaffMember(roster.Staff[1].UserID)
			mon := time.Date(2026, 11, 30, 9, 0, 0, 0, modelstest.Shanghai)
			if !st.Away(mon) || !st.Away(mon.Add(38*time.Hour)) || st.Away(mon.Add(39*time.Hour)) {
				t.Fatalf("roster leave %v–%v", st.AwayFrom, st.AwayUntil)
			}
			return nil
		})
		roster.Staff = roster.Staff[1:]
		res, err = s.SyncStaff(ctx, roster, nil)
		if err != nil || res.Deactivated != 1 {
			t.Fatalf("third sync %+v %v", res, err)
		}
		s.View(ctx, func(tx *models.Tx) error {
			a, err := tx.ActorFor("zhangsan", "")
			if err != nil || a.Role != models.RoleReporter {
				t.Fatalf("removed engineer still acts as %+v %v", a, err)
			}
			return nil
		})
	})
}

// TestBatchIsolatesFailures: in a batch, each Update is a savepoint; a
// failing one is undone alone and the others commit together.
func TestBatchIsolatesFailures(t *testing.T) {
	modelstest.Each(t, models.Options{}, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		var errs [3]error
		err := s.Batch(ctx, nil, func(b *models.Batch) error {
			errs[0] = b.Update(func(tx *models.Tx) error {
				_, _, err := tx.CreateTicket(models.NewTicket{Description: "第一", ReporterID: "a", Source: models.SourceChat, SourceKey: "b:1"}, nurse)
				return err
			})
			errs[1] = b.Update(func(tx *models.Tx) error {
				if _, _, err := tx.CreateTicket(models.NewTicket{Description: "第二", ReporterID: "b", Source: models.SourceChat, SourceKey: "b:2"}, nurse); err != nil {
					return err
				}
				return tx.Exec("INSERT INTO no_such_table VALUES (1)")
			})
			errs[2] = b.Update(func(tx *models.Tx) error {
				_, _, err := tx.CreateTicket(models.NewTicket{Description: "第三", ReporterID: "c", Source: models.SourceChat, SourceKey: "b:3"}, nurse)
				return err
			})
			return nil
		})
		if err != nil || errs[0] != nil || errs[1] == nil || errs[2] != nil {
			t.Fatalf("batch %v, updates %v", err, errs)
		}
		var ts []models.Ticket
		s.View(ctx, func(tx *models.Tx) error { ts, _ = tx.Tickets(models.TicketFilter{}); return nil })
		var titles []string
		for _, tk := range ts {
			titles = append(titles, tk.Title)
		}
		if strings.Join(titles, ",") != "第三,第一" {
			t.Fatalf("committed %v, want the first and the third", titles)
		}
	})
}

// TestBatchClaimsAndHeldRows: a batch claims its messages' inbox rows up
// front and holds events and outgoing messages back until the end. What a
// failing Update did is gone, claim included, even when it wrote rows of
// earlier Updates on the way; a claim nobody used is given back.
func TestBatchClaimsAndHeldRows(t *testing.T) {
	modelstest.Each(t, models.Options{}, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		var items []models.InboxItem
		for _, k := range []string{"k1", "k2", "k3", "k4"} {
			items = append(items, models.InboxItem{Key: k, User: "u" + k, MsgType: "text", Payload: []byte("{}")})
		}
		if _, err := s.AcceptInbox(ctx, items); err != nil {
			t.Fatal(err)
		}
		// k4 was processed by someone else before the batch.
		if err := s.Update(ctx, func(tx *models.Tx) error { _, err := tx.ClaimInbox("k4"); return err }); err != nil {
			t.Fatal(err)
		}
		report := func(tx *models.Tx, key string) (*models.Ticket, error) {
			tk, _, err := tx.CreateTicket(models.NewTicket{Description: "报修 " + key, ReporterID: "u" + key, Source: models.SourceWeCom, SourceKey: key}, nurse)
			if err != nil {
				return nil, err
			}
			return tk, tx.Send(models.Message{To: "u" + key, Text: "已登记", Key: "r:" + key, TicketID: tk.ID})
		}
		var first *models.Ticket
		var seen []models.TicketEvent
		var claims [4]bool
		err := s.Batch(ctx, []string{"k1", "k2", "k3", "k4"}, func(b *models.Batch) error {
			b.Update(func(tx *models.Tx) (err error) {
				if claims[0], err = tx.ClaimInbox("k1"); err != nil {
					return err
				}
				first, err = report(tx, "k1")
				return err
			})
			failed := b.Update(func(tx *models.Tx) (err error) {
				if claims[1], err = tx.ClaimInbox("k2"); err != nil {
					return err
				}
				if _, err := report(tx, "k2"); err != nil {
					return err
				}
				// Reading the timeline writes what the batch held so far.
				if seen, err = tx.Events(first.ID); err != nil {
					return err
				}
				return tx.Exec("INSERT INTO no_such_table VALUES (1)")
			})
			if failed == nil {
				t.Error("the second update did not fail")
			}
			// The message is answered after its failure, as finish does.
			return b.Update(func(tx *models.Tx) (err error) {
				if claims[2], err = tx.ClaimInbox("k2"); err != nil {
					return err
				}
				if claims[3], err = tx.ClaimInbox("k4"); err != nil {
					return err
				}
				return tx.Send(models.Message{To: "uk2", Text: "格式不对", Key: "e:k2"})
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		if claims != [4]bool{true, true, true, false} {
			t.Fatalf("claims k1, k2, k2 again, k4 = %v", claims)
		}
		if len(seen) != 1 || seen[0].Action != models.ActCreate {
			t.Fatalf("timeline read inside the batch: %+v", seen)
		}
		var ts []models.Ticket
		var evs []models.TicketEvent
		s.View(ctx, func(tx *models.Tx) (err error) {
			ts, _ = tx.Tickets(models.TicketFilter{})
			evs, err = tx.Events(first.ID)
			return err
		})
		if len(ts) != 1 || ts[0].ID != first.ID || len(evs) != 1 {
			t.Fatalf("tickets %+v, events of the first %+v", ts, evs)
		}
		out, err := s.LeaseDue(ctx, 10, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, m := range out {
			keys = append(keys, m.Key)
		}
		if strings.Join(keys, ",") != "r:k1,e:k2" {
			t.Fatalf("outbox %v, want the first reply and the second's answer", keys)
		}
		pending, err := s.PendingInbox(ctx, time.Now().Add(time.Hour), 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(pending) != 1 || pending[0].Key != "k3" {
			t.Fatalf("unprocessed %+v, want only k3 (claimed by the batch, used by nobody)", pending)
		}
	})
}

// SendSupervisors queues one copy per active supervisor, keyed by the
// prefix and their userid, and none to the one skipped; sent again (the
// same cause processed twice) it queues nothing more.
func TestSendSupervisors(t *testing.T) {
	modelstest.Each(t, models.Options{}, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		roster, err := configs.LoadStaff("")
		if err != nil {
			t.Fatal(err)
		}
		// Two more supervisors besides the example's one.
		roster.Staff = append(roster.Staff,
			configs.StaffEntry{UserID: "sup2", Name: "孙主管", Role: configs.RoleSupervisor, Level: 3, Phone: "13800000101"},
			configs.StaffEntry{UserID: "sup3", Name: "李主管", Role: configs.RoleSupervisor, Level: 3, Phone: "13800000102"})
		if _, err := s.SyncStaff(ctx, roster, nil); err != nil {
			t.Fatal(err)
		}
		var sups []string
		for _, st := range roster.Staff {
			if models.Role(st.Role) == models.RoleSupervisor {
				sups = append(sups, st.UserID)
			}
		}
		if len(sups) != 3 {
			t.Fatalf("supervisors %v, want 3", sups)
		}
		skip := sups[0]
		for range 2 {
			if err := s.Update(ctx, func(tx *models.Tx) error {
				return tx.SendSupervisors(models.Message{Text: "【测试】请跟进", TicketID: 7}, "test:1", skip)
			}); err != nil {
				t.Fatal(err)
			}
		}
		counts, err := s.OutboxCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := counts[models.OutboxPending]; got != int64(len(sups)-1) {
			t.Errorf("%d messages queued, want %d (every supervisor but %s, once)", got, len(sups)-1, skip)
		}
		if _, err := s.OutboxByKey(ctx, "test:1:"+skip); err == nil {
			t.Errorf("the skipped supervisor %s got a copy", skip)
		}
		for _, id := range sups[1:] {
			m, err := s.OutboxByKey(ctx, "test:1:"+id)
			if err != nil || m.Recipient != id || m.Content != "【测试】请跟进" {
				t.Errorf("copy for %s: %+v %v", id, m, err)
			}
		}
	})
}
