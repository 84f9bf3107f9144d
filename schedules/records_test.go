package schedules

import (
	"context"
	"strings"
	"testing"
	"time"

	"opsbot/kv"
	"opsbot/models"
	"opsbot/models/modelstest"
)

// eachJobs runs body with one replica's jobs on SQLite and on Postgres.
func eachJobs(t *testing.T, body func(t *testing.T, c *modelstest.Clock, s *models.Store, j *Jobs)) {
	for name, open := range map[string]func(testing.TB, models.Options) *models.Store{"sqlite": modelstest.SQLite, "postgres": modelstest.Postgres} {
		t.Run(name, func(t *testing.T) {
			c := modelstest.NewClock(monday9)
			s := open(t, options(c))
			cat := catalog(t)
			seedRoster(t, s, cat)
			body(t, c, s, newJobs(t, s, kv.NewMemory(c.Now), cat, "a"))
		})
	}
}

func TestMissingIncidentReportRemindsSupervisorOnceAfterThreeWorkingDays(t *testing.T) {
	eachJobs(t, testMissingIncidentReport)
}

func testMissingIncidentReport(t *testing.T, c *modelstest.Clock, s *models.Store, j *Jobs) {
	ctx := context.Background()
	id := create(t, s, 1, models.PriorityHigh, "nurse01")
	claim(t, s, id, "zhangsan")
	if err := s.Update(ctx, func(tx *models.Tx) error {
		if _, err := tx.MarkMajor(id, models.Actor{UserID: "zhaoliu", Role: models.RoleSupervisor}); err != nil {
			return err
		}
		_, err := tx.Resolve(id, models.Actor{UserID: "zhangsan", Role: models.RoleEngineer, Level: 2}, "重启数据库")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// A second major incident whose report was submitted is not reminded.
	other := create(t, s, 2, models.PriorityHigh, "nurse02")
	claim(t, s, other, "zhangsan")
	sup := models.Actor{UserID: "zhaoliu", Role: models.RoleSupervisor}
	if err := s.Update(ctx, func(tx *models.Tx) error {
		tx.MarkMajor(other, sup)
		tx.Resolve(other, models.Actor{UserID: "zhangsan", Role: models.RoleEngineer, Level: 2}, "换交换机")
		tx.RecordAnalysis(other, sup, models.FieldRootCause, "交换机故障")
		tx.RecordAnalysis(other, sup, models.FieldCorrective, "备用交换机")
		_, err := tx.SubmitIncidentReport(other, sup, []string{"xxk01"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	outbox(t, s)
	// Resolved Monday 09:00: three working days end Thursday 09:00.
	c.Set(time.Date(2026, 12, 3, 8, 30, 0, 0, modelstest.Shanghai))
	if err := j.RemindIncidentReports(ctx); err != nil {
		t.Fatal(err)
	}
	if got := outbox(t, s); len(got) != 0 {
		t.Fatalf("reminded early: %v", got)
	}
	c.Set(time.Date(2026, 12, 3, 9, 1, 0, 0, modelstest.Shanghai))
	if err := j.RemindIncidentReports(ctx); err != nil {
		t.Fatal(err)
	}
	got := outbox(t, s)
	if msg := joined(got, "zhaoliu"); !strings.Contains(msg, "【事件报告提醒】") || !strings.Contains(msg, "#1") || strings.Contains(msg, "#2") {
		t.Fatalf("reminder: %v", got)
	}
	j.RemindIncidentReports(ctx)
	if got := outbox(t, s); len(got) != 0 {
		t.Fatalf("reminded twice: %v", got)
	}
}

func TestChangeNoticeGoesToDepartmentContactsBeforeTheWindow(t *testing.T) {
	eachJobs(t, testChangeNotice)
}

func testChangeNotice(t *testing.T, c *modelstest.Clock, s *models.Store, j *Jobs) {
	j.Config.Records.DepartmentContacts = map[string][]string{"检验科": {"lis_head"}}
	ctx := context.Background()
	eng := models.Actor{UserID: "zhangsan", Name: "张三", Role: models.RoleEngineer, Level: 2}
	sup := models.Actor{UserID: "zhaoliu", Role: models.RoleSupervisor}
	from := time.Date(2026, 12, 2, 22, 0, 0, 0, modelstest.Shanghai)
	if err := s.Update(ctx, func(tx *models.Tx) error {
		rec, err := tx.RequestChange(models.NewChange{System: "LIS", What: "LIS 升级", Risk: "高", WindowFrom: from, WindowTo: from.Add(90 * time.Minute), Departments: []string{"检验科", "急诊科"}},
			eng, []models.ApprovalStep{{Label: "服务主管", Approvers: []string{"zhaoliu"}}})
		if err != nil {
			return err
		}
		// A change still waiting for approval is never announced.
		if _, err := tx.RequestChange(models.NewChange{System: "OPB", What: "发票模板", Risk: "低", WindowFrom: from, WindowTo: from.Add(time.Hour), Departments: []string{"检验科"}},
			eng, []models.ApprovalStep{{Label: "服务主管", Approvers: []string{"zhaoliu"}}}); err != nil {
			return err
		}
		_, err = tx.DecideChange(rec.Change.ID, 1, sup, true, "")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	j.NoticeChanges(ctx)
	if got := outbox(t, s); len(got) != 0 {
		t.Fatalf("told two days early: %v", got)
	}
	c.Set(from.Add(-23 * time.Hour))
	if err := j.NoticeChanges(ctx); err != nil {
		t.Fatal(err)
	}
	got := outbox(t, s)
	if msg := joined(got, "lis_head"); !strings.Contains(msg, "【系统变更通知】检验信息系统") || !strings.Contains(msg, "12月2日 22:00") || strings.Contains(msg, "发票模板") {
		t.Fatalf("notice: %v", got)
	}
	if msg := joined(got, "zhangsan"); !strings.Contains(msg, "急诊科") {
		t.Fatalf("requester not told of the department without contacts: %v", got)
	}
	j.NoticeChanges(ctx)
	if got := outbox(t, s); len(got) != 0 {
		t.Fatalf("told twice: %v", got)
	}
}
