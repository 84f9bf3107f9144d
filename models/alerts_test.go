package models_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"opsbot/models"
	"opsbot/models/modelstest"
)

func recordAlert(t *testing.T, s *models.Store, in models.AlertIn) models.AlertOutcome {
	t.Helper()
	var out models.AlertOutcome
	if err := s.Update(context.Background(), func(tx *models.Tx) error {
		var err error
		out, err = tx.RecordAlert(in)
		return err
	}); err != nil {
		t.Fatalf("record alert: %v", err)
	}
	return out
}

func firing(key string) models.AlertIn {
	return models.AlertIn{Source: "alertmanager", Key: key, Status: models.AlertFiring, System: "OPB", Severity: "critical",
		Summary: "收费服务无响应", Priority: models.PriorityHigh, Labels: map[string]string{"alertname": "OPBDown"}}
}

func resolved(key string) models.AlertIn {
	in := firing(key)
	in.Status = models.AlertResolved
	return in
}

func TestAlertLifeCycle(t *testing.T) {
	clock := newClock()
	modelstest.Each(t, models.Options{Now: clock.Now}, func(t *testing.T, s *models.Store) {
		clock.Set(modelstest.Monday9) // each database starts at the same instant
		ctx := context.Background()
		out := recordAlert(t, s, firing("fp1"))
		if !out.Opened || out.Ticket == nil || out.Ticket.Source != models.SourceAlert || out.Ticket.Priority != models.PriorityHigh ||
			out.Ticket.System != "OPB" || out.Ticket.ReporterID != models.AlertReporter {
			t.Fatalf("first firing = %+v / %+v, want a new high OPB alert ticket", out, out.Ticket)
		}
		id := out.Ticket.ID
		// A retried webhook delivers the same alert again: a repeat, no ticket.
		out = recordAlert(t, s, firing("fp1"))
		if out.Opened || !out.Repeat || out.Repeats != 2 || out.Ticket.ID != id {
			t.Fatalf("repeat = %+v, want repeat 2 on #%d", out, id)
		}
		// Claimed, then resolved: the ticket stays with its engineer.
		if err := s.Update(ctx, func(tx *models.Tx) error { _, err := tx.Claim(id, engineer); return err }); err != nil {
			t.Fatal(err)
		}
		out = recordAlert(t, s, resolved("fp1"))
		if !out.TellAssignee || out.AutoResolved || out.Ticket.Status != models.StatusClaimed {
			t.Fatalf("resolved on a claimed ticket = %+v, want the engineer told", out)
		}
		out = recordAlert(t, s, resolved("fp1"))
		if out.TellAssignee {
			t.Fatal("a repeated resolution told the engineer twice")
		}
		// Firing again while the claimed ticket is open: still that ticket.
		out = recordAlert(t, s, firing("fp1"))
		if out.Opened || out.Ticket.ID != id {
			t.Fatalf("re-firing on an open ticket = %+v", out)
		}

		// An unclaimed alert that recovers resolves and closes its ticket.
		out = recordAlert(t, s, firing("fp2"))
		id2 := out.Ticket.ID
		out = recordAlert(t, s, resolved("fp2"))
		if !out.AutoResolved || out.Ticket.Status != models.StatusClosed || out.Ticket.Resolution != models.AlertResolvedText {
			t.Fatalf("auto resolution = %+v / %+v", out, out.Ticket)
		}
		// The next episode opens a new ticket.
		out = recordAlert(t, s, firing("fp2"))
		if !out.Opened || out.Ticket.ID == id2 {
			t.Fatalf("a new episode = %+v, want a new ticket after #%d", out, id2)
		}
		// Muted alerts are stored and nothing else.
		muted := firing("fp3")
		muted.Muted = true
		if out = recordAlert(t, s, muted); out.Ticket != nil {
			t.Fatalf("a muted alert opened %+v", out.Ticket)
		}
		var c models.AlertCounts
		s.View(ctx, func(tx *models.Tx) error { var err error; c, err = tx.AlertCounts(); return err })
		if c.Stored != 9 || c.Muted != 1 || c.Tickets != 3 {
			t.Fatalf("counts = %+v, want 9 stored, 1 muted, 3 tickets", c)
		}
	})
}

// TestConcurrentDeliveriesOpenOneTicket: Alertmanager retries and
// parallel webhook requests carry the same alert at once.
func TestConcurrentDeliveriesOpenOneTicket(t *testing.T) {
	modelstest.Each(t, models.Options{}, func(t *testing.T, s *models.Store) {
		var wg sync.WaitGroup
		ids := make([]int64, 8)
		for i := range ids {
			wg.Go(func() { ids[i] = recordAlert(t, s, firing("same")).Ticket.ID })
		}
		wg.Wait()
		for _, id := range ids {
			if id != ids[0] {
				t.Fatalf("one fingerprint gave tickets %v", ids)
			}
		}
		var st models.AlertState
		s.View(context.Background(), func(tx *models.Tx) error {
			var err error
			st, _, err = tx.AlertState("alertmanager", "same")
			return err
		})
		if st.Repeats != 8 {
			t.Fatalf("repeat count %d, want 8", st.Repeats)
		}
	})
}

func TestDigestFirstOncePerWindow(t *testing.T) {
	clock := newClock()
	modelstest.Each(t, models.Options{Now: clock.Now}, func(t *testing.T, s *models.Store) {
		clock.Set(modelstest.Monday9) // each database starts at the same instant
		ctx := context.Background()
		note := func(out models.AlertOutcome) bool {
			var first bool
			if err := s.Update(ctx, func(tx *models.Tx) error {
				var err error
				first, _, err = tx.NoteAlert("OPB", 10*time.Minute, out)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return first
		}
		due := func() []models.AlertDigest {
			var ds []models.AlertDigest
			if err := s.Update(ctx, func(tx *models.Tx) error { var err error; ds, err = tx.DueDigests(5 * time.Minute); return err }); err != nil {
				t.Fatal(err)
			}
			return ds
		}
		a := recordAlert(t, s, firing("a"))
		b := recordAlert(t, s, firing("b"))
		if !note(a) || note(b) {
			t.Fatal("want the first alert ticket of the window first, the second not")
		}
		if ds := due(); len(ds) != 0 {
			t.Fatalf("summary before summary_every: %+v", ds)
		}
		clock.Add(5 * time.Minute)
		ds := due()
		if len(ds) != 1 || ds[0].Opened != 2 {
			t.Fatalf("summary = %+v, want one with 2 opened", ds)
		}
		clock.Add(5 * time.Minute)
		note(recordAlert(t, s, firing("a")))
		if ds := due(); len(ds) != 0 {
			t.Fatalf("a repeat alone brought a summary: %+v", ds)
		}
		// A new window: the next new alert ticket is first again.
		if !note(recordAlert(t, s, firing("c"))) {
			t.Fatal("the first alert of a new window was not first")
		}
	})
}

func TestMaintenanceWindows(t *testing.T) {
	clock := newClock()
	sup := models.Actor{UserID: "zhaoliu", Name: "赵六", Role: models.RoleSupervisor}
	modelstest.Each(t, models.Options{Now: clock.Now}, func(t *testing.T, s *models.Store) {
		clock.Set(modelstest.Monday9) // each database starts at the same instant
		ctx := context.Background()
		err := s.Update(ctx, func(tx *models.Tx) error {
			_, err := tx.StartMaintenance([]string{"OPB"}, time.Hour, "升级", engineer)
			return err
		})
		if models.ErrorCode(err) != models.EForbidden {
			t.Fatalf("an engineer started maintenance: %v", err)
		}
		if err := s.Update(ctx, func(tx *models.Tx) error {
			_, err := tx.StartMaintenance([]string{"OPB", "REG"}, time.Hour, "升级", sup)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		ms, err := s.MaintainedSystems(ctx)
		if err != nil || len(ms) != 2 {
			t.Fatalf("maintained = %v, %v", ms, err)
		}
		clock.Add(61 * time.Minute)
		if ms, _ := s.MaintainedSystems(ctx); len(ms) != 0 {
			t.Fatalf("windows still active after their end: %v", ms)
		}
	})
}

func TestInspectionMonth(t *testing.T) {
	clock := newClock()
	modelstest.Each(t, models.Options{Now: clock.Now}, func(t *testing.T, s *models.Store) {
		clock.Set(modelstest.Monday9) // each database starts at the same instant
		ctx := context.Background()
		plan := func(slot string) *models.Inspection {
			var in *models.Inspection
			if err := s.Update(ctx, func(tx *models.Tx) error {
				var err error
				in, _, err = tx.PlanInspection(slot, "早巡检", "zhangsan", time.Hour)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return in
		}
		plan("2026-11-30 早巡检")
		if err := s.Update(ctx, func(tx *models.Tx) error {
			in, err := tx.CurrentInspection()
			if err != nil {
				return err
			}
			_, err = tx.RecordAnomaly(in, "数据库备份", "昨晚备份失败", models.NewTicket{SourceKey: "m1"}, engineer)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		clock.Add(24 * time.Hour)
		plan("2026-12-01 早巡检") // never done
		clock.Add(13 * time.Hour)
		var rep models.InspectionReport
		if err := s.View(ctx, func(tx *models.Tx) error {
			var err error
			rep, err = tx.InspectionMonth(2026, time.November, modelstest.Shanghai)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if rep.Done != 1 || rep.Missed != 0 || len(rep.Anomalies) != 1 || rep.Anomalies[0].TicketID == nil {
			t.Fatalf("November = %+v, want 1 done with 1 anomaly ticket", rep)
		}
		anomalyTicket := *rep.Anomalies[0].TicketID
		s.View(ctx, func(tx *models.Tx) error {
			var err error
			rep, err = tx.InspectionMonth(2026, time.December, modelstest.Shanghai)
			return err
		})
		if rep.Done != 0 || rep.Missed != 1 {
			t.Fatalf("December = %+v, want 1 missed", rep)
		}
		var tk *models.Ticket
		s.View(ctx, func(tx *models.Tx) error { var err error; tk, err = tx.Ticket(anomalyTicket); return err })
		if tk.Source != models.SourceInspection || tk.ReporterID != "zhangsan" {
			t.Fatalf("anomaly ticket = %+v", tk)
		}
	})
}
