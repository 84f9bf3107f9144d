package probe

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"opsbot/configs"
	"opsbot/monitor"
)

func TestDecide(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	type step struct {
		ok, muted bool
		want      event
	}
	cases := map[string][]step{
		"three failures fire once": {{false, false, eventNone}, {false, false, eventNone}, {false, false, eventFire}, {false, false, eventNone}, {false, false, eventNone}},
		"first success resolves":   {{false, false, eventNone}, {false, false, eventNone}, {false, false, eventFire}, {true, false, eventResolve}, {true, false, eventNone}},
		"flapping below threshold": {{false, false, eventNone}, {false, false, eventNone}, {true, false, eventNone}, {false, false, eventNone}, {false, false, eventNone}, {true, false, eventNone}},
		"muted does not fire":      {{false, true, eventNone}, {false, true, eventNone}, {false, true, eventNone}, {false, true, eventNone}},
		"fires when mute ends":     {{false, true, eventNone}, {false, true, eventNone}, {false, true, eventNone}, {false, false, eventFire}},
		"muted still resolves":     {{false, false, eventNone}, {false, false, eventNone}, {false, false, eventFire}, {true, true, eventResolve}},
		"muted outage ends quiet":  {{false, true, eventNone}, {false, true, eventNone}, {false, true, eventNone}, {true, false, eventNone}},
	}
	for name, steps := range cases {
		var s state
		for i, st := range steps {
			var ev event
			s, ev = decide(s, st.ok, t0.Add(time.Duration(i)*time.Minute), 3, st.muted)
			if ev != st.want {
				t.Fatalf("%s: step %d: event %d, want %d", name, i, ev, st.want)
			}
			if ev == eventFire {
				if !s.since.Equal(t0) {
					t.Fatalf("%s: outage starts %s, want the first failure %s", name, s.since, t0)
				}
				s.firing = true // what step does after the sink took it
			}
			if ev == eventResolve {
				s.firing = false
			}
		}
	}
}

// manualTicker ticks when the test sends.
type manualTicker struct{ c chan time.Time }

func (m *manualTicker) C() <-chan time.Time { return m.c }
func (m *manualTicker) Stop()               {}

// sink records alerts; fail makes it refuse.
type sink struct {
	mu     sync.Mutex
	alerts []monitor.Alert
	fail   bool
}

func (s *sink) Alerts(_ context.Context, a []monitor.Alert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return errors.New("store down")
	}
	s.alerts = append(s.alerts, a...)
	return nil
}

func (s *sink) setFail(v bool) {
	s.mu.Lock()
	s.fail = v
	s.mu.Unlock()
}

func (s *sink) got() []monitor.Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]monitor.Alert(nil), s.alerts...)
}

func (s *sink) statuses() string {
	var out []string
	for _, a := range s.got() {
		out = append(out, string(a.Status))
	}
	return strings.Join(out, ",")
}

// harness runs one probe check by check.
type harness struct {
	t       *testing.T
	ticker  *manualTicker
	stepped chan string
	reg     *prometheus.Registry
	done    chan struct{}
}

// startProbe starts Run on p and waits for its first check.
func startProbe(t *testing.T, p Probe, s monitor.Sink, mute func(string) bool, now func() time.Time) *harness {
	t.Helper()
	p.Settings = p.Settings.withDefaults(Settings{Interval: configs.Duration(time.Minute), Timeout: configs.Duration(2 * time.Second), Failures: 3, Severity: "critical"})
	h := &harness{t: t, ticker: &manualTicker{c: make(chan time.Time)}, stepped: make(chan string), reg: prometheus.NewRegistry(), done: make(chan struct{})}
	r, err := NewRunner(RunnerConfig{
		Probes: []Probe{p}, Sink: s, Mute: mute, Now: now,
		NewTicker: func(time.Duration) Ticker { return h.ticker },
		Metrics:   NewMetrics(h.reg),
	})
	if err != nil {
		t.Fatal(err)
	}
	r.stepped = h.stepped
	ctx, cancel := context.WithCancel(context.Background())
	go func() { r.Run(ctx); r.Close(); close(h.done) }()
	t.Cleanup(func() {
		cancel()
		// The loop may be waiting to report a check or for a tick.
		for {
			select {
			case <-h.stepped:
			case <-h.done:
				return
			}
		}
	})
	h.wait()
	return h
}

func (h *harness) wait() {
	h.t.Helper()
	select {
	case <-h.stepped:
	case <-time.After(10 * time.Second):
		h.t.Fatal("probe check did not finish")
	}
}

// check ticks once and waits for that check to finish.
func (h *harness) check() {
	h.t.Helper()
	select {
	case h.ticker.c <- time.Now():
	case <-time.After(10 * time.Second):
		h.t.Fatal("probe loop did not take the tick")
	}
	h.wait()
}

// checks ticks n times, each waiting for its check.
func (h *harness) checks(n int) {
	h.t.Helper()
	for range n {
		h.check()
	}
}

func (h *harness) up(name, system string) float64 {
	h.t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "opsbot_probe_up" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			if l["probe"] == name && l["system"] == system {
				return m.GetGauge().GetValue()
			}
		}
	}
	return -1
}

// scripted answers the i-th request with codes[i] (the last code after the end).
func scripted(t *testing.T, codes ...int) *httptest.Server {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		w.WriteHeader(codes[min(i, len(codes)-1)])
		w.Write([]byte("欢迎登录 HIS"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// fixedClock advances one minute per reading.
func fixedClock() func() time.Time {
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	var n atomic.Int64
	return func() time.Time { return t0.Add(time.Duration(n.Add(1)) * time.Minute) }
}

func TestFlappingFiresOnce(t *testing.T) {
	// fail, fail, ok, fail, fail, fail | fail, fail | ok, ok
	srv := scripted(t, 503, 503, 200, 503, 503, 503, 500, 500, 200, 200)
	s := &sink{}
	h := startProbe(t, Probe{Name: "his-web", System: "HIS", HTTP: &HTTPCheck{URL: srv.URL + "/login"}}, s, nil, fixedClock())
	h.checks(4)
	if got := s.statuses(); got != "" {
		t.Fatalf("after fail,fail,ok,fail,fail the sink got %q; want nothing", got)
	}
	if up := h.up("his-web", "HIS"); up != 0 {
		t.Errorf("opsbot_probe_up = %v after a failure, want 0", up)
	}
	h.check()
	if got := s.statuses(); got != "firing" {
		t.Fatalf("after the third failure in a row the sink got %q; want one firing", got)
	}
	fire := s.got()[0]
	if fire.Key != "probe:his-web" || fire.System != "HIS" || fire.Severity != "critical" || fire.Source != monitor.SourceProbe ||
		!strings.Contains(fire.Summary, "连续 3 次失败") || !strings.Contains(fire.Details, "503") || fire.URL != srv.URL+"/login" ||
		fire.StartsAt.IsZero() || fire.Labels["kind"] != "http" {
		t.Errorf("firing alert = %+v", fire)
	}
	h.checks(2)
	if got := s.statuses(); got != "firing" {
		t.Fatalf("further failures must not fire again; sink got %q", got)
	}
	h.check()
	if got := s.statuses(); got != "firing,resolved" {
		t.Fatalf("the first success after the outage must resolve; sink got %q", got)
	}
	res := s.got()[1]
	if res.Key != fire.Key || !res.StartsAt.Equal(fire.StartsAt) || !res.EndsAt.After(res.StartsAt) || !strings.Contains(res.Summary, "已恢复") {
		t.Errorf("resolved alert = %+v (firing %+v)", res, fire)
	}
	if up := h.up("his-web", "HIS"); up != 1 {
		t.Errorf("opsbot_probe_up = %v after a success, want 1", up)
	}
	h.check()
	if got := s.statuses(); got != "firing,resolved" {
		t.Fatalf("a success while up must stay quiet; sink got %q", got)
	}
	if n := testutil.CollectAndCount(h.reg, "opsbot_probe_duration_seconds"); n != 1 {
		t.Errorf("opsbot_probe_duration_seconds has %d series, want 1", n)
	}
}

func TestHTTPBodyAndStatus(t *testing.T) {
	srv := scripted(t, 200)
	cases := []struct {
		c    HTTPCheck
		fail string
	}{
		{HTTPCheck{URL: srv.URL}, ""},
		{HTTPCheck{URL: srv.URL, Status: 200, Body: "登录"}, ""},
		{HTTPCheck{URL: srv.URL, Body: "维护中"}, "响应中没有"},
		{HTTPCheck{URL: srv.URL, Status: 204}, "HTTP 状态 200，期望 204"},
	}
	for _, c := range cases {
		err := newHTTPChecker(c.c).check(context.Background())
		if c.fail == "" && err != nil || c.fail != "" && (err == nil || !strings.Contains(err.Error(), c.fail)) {
			t.Errorf("%+v: error %v, want %q", c.c, err, c.fail)
		}
	}
}

func TestHTTPErrorHidesPassword(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	err = newHTTPChecker(HTTPCheck{URL: "http://probe:hunter2@" + addr + "/"}).check(context.Background())
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error %v: want a failure that does not show the password", err)
	}
}

func TestTCPProbe(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	s := &sink{}
	h := startProbe(t, Probe{Name: "lis-port", System: "LIS", Settings: Settings{Failures: 2}, TCP: &TCPCheck{Address: l.Addr().String()}}, s, nil, fixedClock())
	if up := h.up("lis-port", "LIS"); up != 1 {
		t.Fatalf("opsbot_probe_up = %v with a listener, want 1", up)
	}
	l.Close()
	h.checks(2)
	if got := s.got(); len(got) != 1 || got[0].Status != monitor.StatusFiring || !strings.Contains(got[0].Details, "TCP 连接失败") {
		t.Fatalf("closed port after 2 failures: sink got %+v; want one firing", got)
	}
}

func TestMuteSuppressesFiring(t *testing.T) {
	srv := scripted(t, 500)
	s := &sink{}
	var muted atomic.Bool
	muted.Store(true)
	mute := func(system string) bool { return system == "HIS" && muted.Load() }
	h := startProbe(t, Probe{Name: "his-web", System: "HIS", HTTP: &HTTPCheck{URL: srv.URL}}, s, mute, fixedClock())
	h.checks(4)
	if got := s.statuses(); got != "" {
		t.Fatalf("muted system: sink got %q; want nothing", got)
	}
	if up := h.up("his-web", "HIS"); up != 0 {
		t.Errorf("a muted probe is still checked and exported; up = %v, want 0", up)
	}
	muted.Store(false)
	h.check()
	if got := s.statuses(); got != "firing" {
		t.Fatalf("after the maintenance ends, the ongoing outage must fire once; sink got %q", got)
	}
}

func TestSinkFailureRetriedNextCheck(t *testing.T) {
	srv := scripted(t, 500, 500, 500, 500, 200, 200)
	s := &sink{fail: true}
	h := startProbe(t, Probe{Name: "his-web", System: "HIS", HTTP: &HTTPCheck{URL: srv.URL}}, s, nil, fixedClock())
	h.checks(2) // third failure: the sink refuses
	s.setFail(false)
	h.check() // fourth failure: sent again
	if got := s.statuses(); got != "firing" {
		t.Fatalf("sink got %q; the refused firing must be sent at the next failure", got)
	}
	s.setFail(true)
	h.check() // recovery: the sink refuses the resolution
	s.setFail(false)
	h.check()
	if got := s.statuses(); got != "firing,resolved" {
		t.Fatalf("sink got %q; the refused resolution must be sent at the next success", got)
	}
}

// TestPostgresProbe runs SELECT 1 against the local PostgreSQL, and a
// probe of a closed port with each SQL driver.
func TestPostgresProbe(t *testing.T) {
	dsn := os.Getenv("OPSBOT_TEST_POSTGRES")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ok, err := newSQLChecker(DatabaseCheck{Driver: DriverPostgres, DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer ok.close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ok.check(ctx); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is required in CI but unreachable: %v", err)
		}
		t.Skipf("PostgreSQL unreachable: %v", err)
	}
	s := &sink{}
	h := startProbe(t, Probe{Name: "emr-db", System: "EMR", Database: &DatabaseCheck{Driver: DriverPostgres, DSN: dsn}}, s, nil, fixedClock())
	h.checks(3)
	if up := h.up("emr-db", "EMR"); up != 1 || len(s.got()) != 0 {
		t.Fatalf("live PostgreSQL: up = %v, sink %+v; want 1 and nothing", up, s.got())
	}

	bad, err := newSQLChecker(DatabaseCheck{Driver: DriverPostgres, DSN: strings.Replace(dsn, "/test?", "/opsbot_no_such_db?", 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer bad.close()
	if err := bad.check(ctx); err == nil || !strings.Contains(err.Error(), "数据库查询失败") {
		t.Fatalf("missing database: error %v, want a failure", err)
	}
}

func TestSQLDriversFailOnClosedPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	for driver, dsn := range map[string]string{
		DriverPostgres:  "postgres://probe:pw@" + addr + "/x?sslmode=disable",
		DriverMySQL:     "probe:pw@tcp(" + addr + ")/x",
		DriverSQLServer: "sqlserver://probe:pw@" + addr + "?database=x",
	} {
		c, err := newSQLChecker(DatabaseCheck{Driver: driver, DSN: dsn})
		if err != nil {
			t.Fatalf("%s: %v", driver, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err = c.check(ctx)
		cancel()
		c.close()
		if err == nil {
			t.Errorf("%s: a closed port passed", driver)
		} else if strings.Contains(err.Error(), ":pw@") {
			t.Errorf("%s: error shows the password: %v", driver, err)
		}
	}
}

func TestNewRunnerChecksProbes(t *testing.T) {
	if _, err := NewRunner(RunnerConfig{Sink: &sink{}, Probes: []Probe{{Name: "x", System: "HIS"}}}); err == nil {
		t.Error("a probe without a check must be refused")
	}
	if _, err := NewRunner(RunnerConfig{Probes: nil}); err == nil {
		t.Error("a runner without a sink must be refused")
	}
	r, err := NewRunner(RunnerConfig{Sink: &sink{}, Probes: []Probe{{Name: "x", System: "HIS", TCP: &TCPCheck{Address: "127.0.0.1:1"}}}})
	if err != nil {
		t.Fatalf("a probe built in code takes the defaults: %v", err)
	}
	if p := r.probes[0].p; p.Interval.D() != DefaultInterval || p.Failures != DefaultFailures {
		t.Errorf("defaults not applied: %+v", p.Settings)
	}
	r.Close()
}
