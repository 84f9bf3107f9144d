package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"opsbot/bot"
	"opsbot/configs"
	"opsbot/models"
	"opsbot/models/modelstest"
	"opsbot/monitor"
	"opsbot/monitor/alertmanagertest"
	"opsbot/monitor/probe"
	"opsbot/schedules"
)

const webhookToken = "opsbot-test-token-7d2e"

// webhookServer serves opsbot's alert webhooks over the harness's store.
func webhookServer(t *testing.T, hs *harness) *httptest.Server {
	t.Helper()
	wh, err := monitor.NewWebhooks(monitor.WebhookConfig{Token: webhookToken, Sink: hs.h,
		System: monitor.SystemRule{Labels: []string{"system", "job"}, Values: map[string]string{"his-exporter": "门急诊挂号"}}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	wh.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func (hs *harness) alertState(source, key string) (models.AlertState, bool) {
	hs.t.Helper()
	var st models.AlertState
	var ok bool
	if err := hs.store.View(context.Background(), func(tx *models.Tx) error {
		var err error
		st, ok, err = tx.AlertState(source, key)
		return err
	}); err != nil {
		hs.t.Fatal(err)
	}
	return st, ok
}

func (hs *harness) alertCounts() models.AlertCounts {
	hs.t.Helper()
	var c models.AlertCounts
	if err := hs.store.View(context.Background(), func(tx *models.Tx) error {
		var err error
		c, err = tx.AlertCounts()
		return err
	}); err != nil {
		hs.t.Fatal(err)
	}
	return c
}

// waitUntil polls cond for up to d.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRealAlertmanagerOpensOneTicket drives the real Alertmanager against
// opsbot's webhook on a real store: firing opens one ticket, the repeat
// opens none (repeat count 2), the resolution adds an event and resolves
// the unclaimed ticket.
func TestRealAlertmanagerOpensOneTicket(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		srv := webhookServer(t, hs)
		am := alertmanagertest.Start(t, alertmanagertest.Config{WebhookURL: srv.URL + monitor.PathAlertmanager, Token: webhookToken, RepeatInterval: 2 * time.Second})
		labels := map[string]string{"alertname": "HISDown", "job": "his-exporter", "severity": "critical", "instance": "10.0.0.5:9100"}
		startsAt := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
		ctx := context.Background()
		if err := am.Post(ctx, alertmanagertest.Alert{Labels: labels, Annotations: map[string]string{"summary": "挂号接口无响应"}, StartsAt: startsAt}); err != nil {
			t.Fatal(err)
		}
		var key string
		waitUntil(t, 15*time.Second, "the firing alert's ticket", func() bool { return hs.count() == 1 })
		tk := hs.ticket(1)
		if tk.Source != models.SourceAlert || tk.System != "REG" || tk.Priority != models.PriorityHigh || !strings.Contains(tk.Title, "挂号接口无响应") {
			t.Fatalf("alert ticket = %+v, want source alert, system REG, high", tk)
		}
		out := hs.drain()
		want(t, out.text(models.OpsGroup), "【告警·高优先级】门急诊挂号：挂号接口无响应，工单 #1")
		// The fingerprint is Alertmanager's; read it from the stored alert.
		key = fingerprintOf(t, hs)
		waitUntil(t, 15*time.Second, "the repeat", func() bool { st, _ := hs.alertState("alertmanager", key); return st.Repeats >= 2 })
		if n := hs.count(); n != 1 {
			t.Fatalf("after the repeat: %d tickets, want 1", n)
		}
		if out := hs.drain(); len(out) != 0 {
			t.Fatalf("a repeat sent messages: %v", out)
		}
		if err := am.Post(ctx, alertmanagertest.Alert{Labels: labels, StartsAt: startsAt, EndsAt: time.Now().Add(-time.Second).UTC()}); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 15*time.Second, "the resolution", func() bool { return hs.ticket(1).Status == models.StatusClosed })
		tk = hs.ticket(1)
		if tk.Resolution != models.AlertResolvedText || hs.count() != 1 {
			t.Fatalf("resolved ticket = %+v (tickets %d), want resolution %q and one ticket", tk, hs.count(), models.AlertResolvedText)
		}
		ev := hs.events(1)
		if res := ev[len(ev)-2]; res.Action != models.ActResolve || res.Note != models.AlertResolvedText || ev[len(ev)-1].Action != models.ActClose {
			t.Fatalf("events = %+v, want the automatic resolution, then the close", ev)
		}
		if c := hs.alertCounts(); c.Stored < 3 || c.Tickets != 1 {
			t.Fatalf("alert counts = %+v, want ≥ 3 stored, 1 ticket", c)
		}
	})
}

// fingerprintOf returns the one fingerprint stored.
func fingerprintOf(t *testing.T, hs *harness) string {
	t.Helper()
	var key string
	waitUntil(t, 5*time.Second, "a stored alert", func() bool {
		rows := hs.alertRows()
		if len(rows) > 0 {
			key = rows[0].Key
		}
		return key != ""
	})
	return key
}

func (hs *harness) alertRows() []models.AlertRecord {
	var rows []models.AlertRecord
	hs.store.View(context.Background(), func(tx *models.Tx) error {
		var err error
		rows, err = tx.AlertRecords(100)
		return err
	})
	return rows
}

func postGeneric(t *testing.T, url, token, body string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+monitor.PathGeneric, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestBadTokenStoresNothing: a wrong token is refused and the alerts table stays empty.
func TestBadTokenStoresNothing(t *testing.T) {
	hs := newHarness(t, sqliteStore)
	srv := webhookServer(t, hs)
	body := `{"key":"disk-1","status":"firing","system":"门急诊收费","severity":"warning","summary":"磁盘将满"}`
	if code := postGeneric(t, srv.URL, "wrong-token", body); code != http.StatusUnauthorized {
		t.Fatalf("wrong token: status %d, want 401", code)
	}
	if c := hs.alertCounts(); c.Stored != 0 || hs.count() != 0 {
		t.Fatalf("after a refused request: %+v, %d tickets; want nothing stored", c, hs.count())
	}
	if code := postGeneric(t, srv.URL, webhookToken, body); code != http.StatusOK {
		t.Fatalf("right token: status %d, want 200", code)
	}
	if c := hs.alertCounts(); c.Stored != 1 || c.Tickets != 1 {
		t.Fatalf("after an accepted request: %+v, want 1 stored and 1 ticket", c)
	}
}

// TestAlertStormOneMessagePerSystem: 300 alerts on 3 systems give the
// ops group one message per system, then one summary per system.
func TestAlertStormOneMessagePerSystem(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		systems := []string{"门急诊收费", "门急诊挂号", "住院电子病历"}
		var alerts []monitor.Alert
		for i := range 300 {
			alerts = append(alerts, monitor.Alert{Key: fmt.Sprintf("storm-%d", i%150), Status: monitor.StatusFiring, System: systems[i%3],
				Severity: "warning", Summary: fmt.Sprintf("交换机端口 %d 中断", i%150), Source: monitor.SourceGeneric})
		}
		ctx := context.Background()
		for i := 0; i < len(alerts); i += 50 {
			if err := hs.h.Alerts(ctx, alerts[i:i+50]); err != nil {
				t.Fatal(err)
			}
		}
		if n := hs.count(); n != 150 {
			t.Fatalf("%d tickets, want 150 (one per fingerprint)", n)
		}
		out := hs.drain()
		total := 0
		for _, ms := range out {
			total += len(ms)
		}
		if len(out[models.OpsGroup]) != 3 || total != 3 {
			t.Fatalf("ops group got %d messages, everyone %d; want 3 and 3 (in business hours, warnings): %v", len(out[models.OpsGroup]), total, out)
		}
		hs.clock.Add(6 * time.Minute)
		jobs := newJobs(hs)
		if err := jobs.SummarizeAlerts(ctx); err != nil {
			t.Fatal(err)
		}
		out = hs.drain()
		if len(out[models.OpsGroup]) != 3 {
			t.Fatalf("summaries: %v, want 3", out)
		}
		want(t, out.text(models.OpsGroup), "【告警汇总】门急诊收费", "新告警工单 50 个", "重复告警 50 次")
		if err := jobs.SummarizeAlerts(ctx); err != nil {
			t.Fatal(err)
		}
		if out := hs.drain(); len(out) != 0 {
			t.Fatalf("a summary without news: %v", out)
		}
	})
}

// TestThirtyReportsOneIncident: thirty nurses report HIS down at once;
// one major incident opens with thirty reports linked, every nurse is
// told at once, and the supervisor hears of it once.
func TestThirtyReportsOneIncident(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		ctx := context.Background()
		var wg sync.WaitGroup
		errs := make(chan error, 30)
		for i := range 30 {
			msg := bot.Incoming{Key: fmt.Sprintf("burst:%d", i), User: fmt.Sprintf("nurse%02d", i+1), Type: "text", Text: "HIS又登不上了", CreateTime: hs.clock.Now()}
			if dup, err := hs.inbox.Accept(ctx, msg); err != nil || dup {
				t.Fatalf("accept: %v %v", dup, err)
			}
			wg.Go(func() {
				hs.clock.Add(time.Second)
				errs <- hs.h.Process(ctx, msg)
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		var all []models.Ticket
		hs.store.View(ctx, func(tx *models.Tx) error {
			var err error
			all, err = tx.Tickets(models.TicketFilter{})
			return err
		})
		var incidents []models.Ticket
		for _, tk := range all {
			if tk.Major {
				incidents = append(incidents, tk)
			}
		}
		if len(incidents) != 1 || len(all) != 31 {
			t.Fatalf("%d incidents among %d tickets, want 1 among 31", len(incidents), len(all))
		}
		inc := incidents[0]
		reporters := map[string]bool{}
		for _, tk := range all {
			if tk.ID == inc.ID {
				continue
			}
			if tk.ParentID == nil || *tk.ParentID != inc.ID {
				t.Fatalf("report #%d not linked to incident #%d: %+v", tk.ID, inc.ID, tk)
			}
			reporters[tk.ReporterID] = true
		}
		if len(reporters) != 30 {
			t.Fatalf("%d reporters linked, want 30", len(reporters))
		}
		out := hs.drain()
		if n := len(out["zhaoliu"]); n != 1 {
			t.Fatalf("supervisor got %d messages, want 1: %s", n, out.text("zhaoliu"))
		}
		want(t, out.text("zhaoliu"), fmt.Sprintf("【重大事件】工单 #%d", inc.ID))
		for i := range 30 {
			nurse := fmt.Sprintf("nurse%02d", i+1)
			want(t, out.text(nurse), fmt.Sprintf("该系统故障已知，正在处理，工单 #%d", inc.ID))
		}
		// The incident's news reaches every linked reporter.
		got := hs.say("lisi", fmt.Sprintf("接单 %d", inc.ID))
		want(t, got.text("nurse17"), "已并入", fmt.Sprintf("#%d", inc.ID), "李四")
		// A wrongly linked report is split off.
		var child int64
		for _, tk := range all {
			if tk.ParentID != nil && tk.ReporterID != "nurse05" {
				child = tk.ID
				break
			}
		}
		got = hs.say("lisi", fmt.Sprintf("拆分 %d", child))
		want(t, got.text("lisi"), fmt.Sprintf("已把工单 #%d 从 #%d 拆出", child, inc.ID))
		if hs.ticket(child).ParentID != nil {
			t.Fatalf("#%d still linked after 拆分", child)
		}
		got = hs.say("lisi", fmt.Sprintf("解决 %d 重启了 HIS 应用服务器", inc.ID))
		want(t, got.text("nurse05"), "已处理，请确认")
		if hs.ticket(child).Status == models.StatusResolved {
			t.Fatalf("the split report resolved with the incident")
		}
	})
}

// TestReportOnFiringAlertJoinsIt: a report naming a system with a firing
// alert is linked to the alert ticket, which becomes the incident.
func TestReportOnFiringAlertJoinsIt(t *testing.T) {
	hs := newHarness(t, sqliteStore)
	ctx := context.Background()
	if err := hs.h.Alerts(ctx, []monitor.Alert{{Key: "opb-down", Status: monitor.StatusFiring, System: "门急诊收费", Severity: "critical", Summary: "收费服务无响应", Source: monitor.SourceGeneric}}); err != nil {
		t.Fatal(err)
	}
	hs.drain()
	got := hs.say("nurse01", "收费系统打不开了，门诊一楼3号窗口")
	want(t, got.text("nurse01"), "该系统故障已知，正在处理，工单 #1")
	want(t, got.text("zhaoliu"), "【重大事件】工单 #1")
	if !hs.ticket(1).Major || *hs.ticket(2).ParentID != 1 {
		t.Fatalf("alert ticket %+v / report %+v: want major and linked", hs.ticket(1), hs.ticket(2))
	}
	got = hs.say("nurse02", "收费系统还是打不开，急诊收费处")
	want(t, got.text("nurse02"), "工单 #1")
	wantNot(t, got.text("zhaoliu"), "重大事件")
}

// TestMaintenanceMutesProbeAndTellsReporters: during a maintenance window
// a failing probe of the system does not fire, and a reporter hears of the
// planned work; after 维护 取消 the probe fires.
func TestMaintenanceMutesProbeAndTellsReporters(t *testing.T) {
	hs := newHarness(t, sqliteStore)
	got := hs.say("zhangsan", "维护 收费 2h 数据库升级")
	want(t, got.text("zhangsan"), "是服务主管或客户经理的命令")
	got = hs.say("zhaoliu", "维护 收费 2h 数据库升级")
	want(t, got.text("zhaoliu"), "已登记计划维护：门急诊收费")
	want(t, got.text(models.OpsGroup), "【计划维护】门急诊收费", "数据库升级")
	got = hs.say("zhaoliu", "维护")
	want(t, got.text("zhaoliu"), "进行中的维护", "门急诊收费")

	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	defer down.Close()
	checked := make(chan bool, 16)
	tick := &manualTicker{c: make(chan time.Time)}
	runner, err := probe.NewRunner(probe.RunnerConfig{
		Probes:    []probe.Probe{{Name: "opb-web", System: "门急诊收费", Settings: probe.Settings{Failures: 1}, HTTP: &probe.HTTPCheck{URL: down.URL}}},
		Sink:      hs.h,
		Mute:      func(s string) bool { m := hs.h.Muted(s); checked <- m; return m },
		NewTicker: func(time.Duration) probe.Ticker { return tick },
		Now:       hs.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { runner.Run(ctx); close(done) }()
	defer func() { cancel(); <-done; runner.Close() }()
	if m := <-checked; !m {
		t.Fatal("the probe's system is not muted during maintenance")
	}
	if c := hs.alertCounts(); c.Stored != 0 || hs.count() != 0 {
		t.Fatalf("a muted probe stored %+v and opened %d tickets", c, hs.count())
	}
	got = hs.say("nurse01", "收费系统打不开了，门诊一楼3号窗口")
	want(t, got.text("nurse01"), "该系统正在计划维护（", "数据库升级")

	got = hs.say("zhaoliu", "维护 取消")
	want(t, got.text("zhaoliu"), "已结束维护：门急诊收费")
	tick.c <- hs.clock.Now()
	if m := <-checked; m {
		t.Fatal("still muted after 维护 取消")
	}
	waitUntil(t, 5*time.Second, "the probe's alert ticket", func() bool { return hs.alertCounts().Tickets == 1 })
}

var sqliteStore = modelstest.SQLite

// newJobs builds the job table over the harness's store.
func newJobs(hs *harness) *schedules.Jobs {
	oncall, err := configs.LoadOnCall("")
	if err != nil {
		hs.t.Fatal(err)
	}
	ins, err := configs.LoadInspections("")
	if err != nil {
		hs.t.Fatal(err)
	}
	sys, err := configs.LoadSystems("")
	if err != nil {
		hs.t.Fatal(err)
	}
	cat := models.NewCatalog(models.SystemsFromConfig(sys), nil)
	return schedules.New(schedules.Deps{Store: hs.store, KV: hs.kv, Catalog: cat, Config: configs.Default(), OnCall: oncall, Inspections: ins})
}

type manualTicker struct{ c chan time.Time }

func (m *manualTicker) C() <-chan time.Time { return m.c }
func (m *manualTicker) Stop()               {}

// TestResolutionGoesThroughMaintenance: an alert ticket opened before the
// maintenance still closes when its alert recovers during it; a new firing
// during it opens nothing.
func TestResolutionGoesThroughMaintenance(t *testing.T) {
	hs := newHarness(t, sqliteStore)
	ctx := context.Background()
	alert := monitor.Alert{Key: "opb-down", Status: monitor.StatusFiring, System: "门急诊收费", Severity: "warning", Summary: "收费服务慢", Source: monitor.SourceGeneric}
	if err := hs.h.Alerts(ctx, []monitor.Alert{alert}); err != nil {
		t.Fatal(err)
	}
	hs.say("zhaoliu", "维护 收费 1h 切换数据库")
	hs.drain()
	other := alert
	other.Key = "opb-disk"
	resolvedAlert := alert
	resolvedAlert.Status = monitor.StatusResolved
	if err := hs.h.Alerts(ctx, []monitor.Alert{resolvedAlert, other}); err != nil {
		t.Fatal(err)
	}
	if st := hs.ticket(1).Status; st != models.StatusClosed {
		t.Fatalf("alert ticket is %s after its recovery during maintenance, want closed", st)
	}
	if c := hs.alertCounts(); c.Tickets != 1 || c.Muted != 1 {
		t.Fatalf("counts = %+v, want the firing during maintenance muted, no new ticket", c)
	}
	if out := hs.drain(); len(out) != 0 {
		t.Fatalf("maintenance let messages through: %v", out)
	}
}

// TestConcurrentMixedBatches: parallel webhook requests carrying the same
// alerts of several systems in different orders neither deadlock nor open
// a ticket twice.
func TestConcurrentMixedBatches(t *testing.T) {
	eachStore(t, func(t *testing.T, hs *harness) {
		systems := []string{"门急诊收费", "门急诊挂号", "住院电子病历", "检验信息系统"}
		var base []monitor.Alert
		for i := range 40 {
			base = append(base, monitor.Alert{Key: fmt.Sprintf("mix-%d", i), Status: monitor.StatusFiring, System: systems[i%4],
				Severity: "warning", Summary: "端口中断", Source: monitor.SourceGeneric})
		}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := range 8 {
			// Every goroutine its own subset, in its own order.
			var batch []monitor.Alert
			for i, a := range base {
				if (i+g)%3 != 0 || g == 0 {
					batch = append(batch, a)
				}
			}
			for i := range batch {
				j := (i*7 + g*13) % len(batch)
				batch[i], batch[j] = batch[j], batch[i]
			}
			wg.Go(func() { errs <- hs.h.Alerts(context.Background(), batch) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("a concurrent request failed: %v", err)
			}
		}
		if c := hs.alertCounts(); c.Tickets != 40 {
			t.Fatalf("counts = %+v, want 40 tickets", c)
		}
	})
}
