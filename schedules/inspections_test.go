package schedules

import (
	"context"
	"testing"
	"time"

	"opsbot/configs"
	"opsbot/models"
)

func TestTableHasInspectionTimesAndTheDigest(t *testing.T) {
	ins, err := configs.LoadInspections("")
	if err != nil {
		t.Fatal(err)
	}
	j := New(Deps{Config: configs.Default(), Inspections: ins})
	specs := map[string]string{}
	for _, job := range j.Table() {
		specs[job.Name] = job.Spec
	}
	for name, spec := range map[string]string{"inspection:早巡检": "0 8 * * *", "inspection:晚巡检": "30 17 * * *",
		"inspection-reminders": "@every 1m", "inspection-summary": "0 20 * * *", "alert-digest": "@every 1m", "sla-sweep": "@every 30s"} {
		if specs[name] != spec {
			t.Errorf("job %s has spec %q, want %q", name, specs[name], spec)
		}
	}
	if _, err := j.Start(context.Background()); err != nil {
		t.Fatalf("the table does not schedule: %v", err)
	}
}

// TestInspectionGoesToTheOnDutyEngineer: the checklist goes to whoever the
// rota has on call at that moment, and to the supervisors when nobody is.
func TestInspectionGoesToTheOnDutyEngineer(t *testing.T) {
	c, s, j := sqliteJobs(t)
	ins, _ := configs.LoadInspections("")
	j.Inspections = ins
	ctx := context.Background()
	c.Set(time.Date(2026, 12, 7, 8, 0, 0, 0, j.loc)) // the rota's second week: lisi
	if err := j.StartInspection(ctx, "早巡检"); err != nil {
		t.Fatal(err)
	}
	got := leased(t, s)
	if len(got["lisi"]) != 1 || len(got) != 1 {
		t.Fatalf("checklist went to %v, want lisi alone", keys(got))
	}
	j.OnCall = configs.OnCall{}
	c.Add(10 * time.Hour)
	if err := j.StartInspection(ctx, "晚巡检"); err != nil {
		t.Fatal(err)
	}
	if got := leased(t, s); len(got["zhaoliu"]) != 1 {
		t.Fatalf("without a rota the checklist went to %v, want the supervisor", keys(got))
	}
}

func leased(t *testing.T, s *models.Store) map[string][]models.OutboxMessage {
	t.Helper()
	rows, err := s.LeaseDue(context.Background(), 1000, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]models.OutboxMessage{}
	for _, m := range rows {
		out[m.Recipient] = append(out[m.Recipient], m)
		s.MarkSent(context.Background(), m.ID, "")
	}
	return out
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
