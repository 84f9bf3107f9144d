package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"opsbot/bot"
	"opsbot/doctor"
	"opsbot/handlers"
	"opsbot/models"
	"opsbot/monitor"
	"opsbot/outbox"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The message queue: workers (parallel transactions), waiting messages
// per worker at most, and messages per commit. Sixteen per commit keeps a
// batch's savepoints under Postgres's 64 cached subtransactions. The limit
// is far above any real burst (8 × 65,536 messages, minutes of work): past
// it messages wait in the inbox for the recovery sweep.
const (
	queueWorkers = 8
	queueLimit   = 65536
	queueBatch   = 16
)

// server is opsbot serving: the WeCom edge, the sender and the jobs.
type server struct {
	*app
	reg     *prometheus.Registry
	botm    *bot.Metrics
	queue   *bot.Queue
	sender  *outbox.Sender
	calWarn prometheus.Gauge
	// crypto verifies and decrypts callbacks; nil without WeCom.
	crypto *bot.Crypto
	// robotStatus reports the smart robot's connection; nil when the robot
	// is not configured.
	robotStatus func(ctx context.Context) error
	// alertm counts the alert webhooks and probes.
	alertm *monitor.Metrics
	// wecom is the app's client (console login codes); nil without WeCom.
	wecom *bot.Client
	// robot is the smart robot's long connection; nil when not configured.
	robot *robotChannel
}

// cmdServe runs until SIGTERM, then stops taking callbacks, finishes the
// queued messages and exits.
func cmdServe(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	if err := fs.Parse(args); err != nil {
		return usageError{"用法：opsbot serve（配置见 README）"}
	}
	a, err := openApp(ctx, e, models.SourceWeCom, nil)
	if err != nil {
		return err
	}
	defer a.close()
	s, err := newServer(ctx, a)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", a.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", a.cfg.HTTPAddr, err)
	}
	admin, err := net.Listen("tcp", a.cfg.AdminAddr)
	if err != nil {
		ln.Close()
		return fmt.Errorf("listen %s (admin_addr): %w", a.cfg.AdminAddr, err)
	}
	return s.run(ctx, ln, admin)
}

func newServer(ctx context.Context, a *app) (*server, error) {
	s := &server{app: a, reg: prometheus.NewRegistry()}
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.botm = bot.NewMetrics(s.reg)
	s.calWarn = prometheus.NewGauge(prometheus.GaugeOpts{Name: "opsbot_calendar_next_year_missing", Help: "1 when next year's statutory holidays are not known yet (from 1 December)."})
	// Computed at every scrape, so the alert does not wait for a /readyz call.
	s.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "opsbot_calendar_data_missing", Help: "1 when this or, from 1 December, next year's statutory holidays are unknown."},
		func() float64 {
			if s.calendarWarning() != "" {
				return 1
			}
			return 0
		}))
	s.reg.MustRegister(s.calWarn)
	var route outbox.Route
	if a.cfg.Phone.GatewayURL != "" {
		route.Phone = &outbox.PhoneGateway{URL: a.cfg.Phone.GatewayURL, Token: a.cfg.Phone.Token}
	}
	var appMedia bot.MediaGetter // the app's media/get, for the robot's fetcher
	if a.cfg.WeCom.Enabled() {
		crypto, err := bot.NewCrypto(a.cfg.WeCom.Token, a.cfg.WeCom.AESKey, a.cfg.WeCom.CorpID)
		if err != nil {
			return nil, fmt.Errorf("wecom.aes_key / wecom.token: %w", err)
		}
		s.crypto = crypto
		c, err := bot.NewClient(bot.ClientConfig{
			CorpID: a.cfg.WeCom.CorpID, AgentID: a.cfg.WeCom.AgentID, Secret: a.cfg.WeCom.Secret,
			APIBase: a.cfg.WeCom.APIBase, Cache: a.kv, Metrics: s.botm, Log: a.log,
			// The outbox holds messages back per recipient itself.
			Limits: bot.Limits{Disabled: true},
		})
		if err != nil {
			return nil, err
		}
		a.handlers.SetDirectory(&directory{c: c})
		s.wecom = c
		a.jobs.Members = a.departmentMembers
		a.handlers.SetMedia(c, a.mediaBucket())
		appMedia = c
		route.WeCom = &outbox.WeCom{Client: c, OpsChatID: a.cfg.WeCom.OpsChatID, RobotKey: a.cfg.WeCom.RobotKey, Fallback: a.supervisors, Files: a.readFile}
	}
	if a.cfg.WeCom.BotEnabled() {
		if err := s.newRobot(&route, appMedia); err != nil {
			return nil, err
		}
	}
	if !a.cfg.WeCom.Enabled() && !a.cfg.WeCom.BotEnabled() {
		a.log.Warn("WeCom is not configured: callbacks are refused and messages stay in the outbox")
	}
	s.alertm = monitor.NewMetrics(s.reg)
	if err := s.loadInspections(); err != nil {
		return nil, err
	}
	s.sender = &outbox.Sender{Store: a.store, Deliverer: route, KV: a.kv, Limits: outbox.WeComLimits, Log: a.log, Metrics: outbox.NewMetrics(s.reg)}
	if a.cfg.WeCom.OpsChatID == "" && a.cfg.WeCom.RobotKey != "" {
		s.sender.GroupLimits = outbox.RobotLimits
	}
	return s, nil
}

// supervisors are who gets ops-group messages when no group is set up.
func (a *app) supervisors(ctx context.Context) ([]string, error) {
	var ids []string
	err := a.store.View(ctx, func(tx *models.Tx) error {
		sups, err := tx.ListStaff(models.RoleSupervisor)
		for _, s := range sups {
			ids = append(ids, s.UserID)
		}
		return err
	})
	return ids, err
}

// routes is the public HTTP route table: what WeCom, monitoring senders
// and people reach. Nothing here tells internals or error text.
func (s *server) routes(inbox bot.Inbox) http.Handler {
	mux := http.NewServeMux()
	if s.crypto != nil {
		mux.Handle("/wecom/callback", bot.NewReceiver(bot.ReceiverConfig{
			Crypto: s.crypto, Inbox: inbox, Dedupe: s.kv, Metrics: s.botm, Log: s.log,
			OnAccepted: func(m bot.Incoming) { s.submit(m) },
		}))
	} else {
		mux.HandleFunc("/wecom/callback", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "wecom not configured", http.StatusServiceUnavailable)
		})
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	s.mountWebhooks(mux)
	if h, err := s.consoleHandler(); err != nil {
		s.log.Error("web console unavailable", "err", err)
	} else {
		mux.Handle("/console/", h)
	}
	return mux
}

// adminRoutes is the admin route table, on the admin listener only
// (loopback by default): metrics, the detailed readiness and pprof.
func (s *server) adminRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", s.ready)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	if s.cfg.Pprof {
		mountPprof(mux)
	}
	return mux
}

// submit queues an accepted message on its user's worker; a full queue
// leaves it to the recovery sweep (it is in the inbox already).
func (s *server) submit(msg bot.Incoming) bool {
	if !s.queue.TrySubmit(msg) {
		s.log.Warn("queue full, message left to recovery", "msg_key", msg.Key)
		return false
	}
	return true
}

// ready runs the doctor's cheap checks (database, Redis, calendar, the
// smart robot's connection): 503 when one fails. It is on the admin
// listener only, so its details never reach the public port.
func (s *server) ready(w http.ResponseWriter, r *http.Request) {
	rep := doctor.Runner{Checks: doctor.Cheap(doctor.ReadyDeps{
		DB: s.store, KV: s.kv, InProcessKV: s.cfg.Redis == "",
		Calendar: s.sla.Clock().Calendar(), Loc: s.sla.Clock().Location(), Now: s.now,
		Robot: s.robotStatus,
	})}.Run(r.Context(), nil)
	s.calendarWarning()
	code := http.StatusOK
	if rep.Failed() {
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	rep.WriteJSON(w)
}

// calendarWarning says when next year's holidays are missing.
func (s *server) calendarWarning() string {
	cal := s.sla.Clock().Calendar()
	if year, missing := cal.MissingYear(s.now()); missing {
		s.calWarn.Set(1)
		return fmt.Sprintf("%d 年法定节假日未知，请在 configs/calendar.yaml 中补充（见 docs/sla.md）", year)
	}
	s.calWarn.Set(0)
	return ""
}

// run serves until ctx ends: the public routes on ln, the admin ones on
// admin.
func (s *server) run(ctx context.Context, ln, admin net.Listener) error {
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	// Each worker stores what piled up on it with one commit; per-user
	// order holds because a user always lands on the same worker.
	s.queue = bot.NewBatchQueue(work, queueWorkers, queueLimit, queueBatch, func(ctx context.Context, msgs []bot.Incoming) {
		s.handlers.ProcessBatch(ctx, msgs)
		s.sender.Wake()
	})
	inbox := handlers.NewInbox(work, s.store, 4)
	srv := &http.Server{Handler: s.routes(inbox), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	// pprof's profile endpoint streams for 30 s by default.
	adm := &http.Server{Handler: s.adminRoutes(), ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 2 * time.Minute}
	if w := s.calendarWarning(); w != "" {
		s.log.Warn("calendar", "warning", w)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		// Without WeCom, messages wait in the outbox for it to be set up.
		if s.cfg.WeCom.Enabled() || s.cfg.WeCom.BotEnabled() {
			s.sender.Run(work, 2*time.Second)
		}
	}()
	go func() { defer wg.Done(); s.recoverLoop(work) }()
	if err := s.startProbes(work, &wg); err != nil {
		return err
	}
	cr, err := s.jobs.Start(work)
	if err != nil {
		return err
	}
	robotCtx, stopRobot := context.WithCancel(work)
	defer stopRobot()
	robotDone := make(<-chan struct{})
	if s.robot != nil {
		robotDone = s.startRobot(robotCtx, inbox)
	}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	go func() { errc <- adm.Serve(admin) }()
	s.log.Info("opsbot serving", "addr", ln.Addr().String(), "admin_addr", admin.Addr().String(), "wecom", s.cfg.WeCom.Enabled(), "robot", s.cfg.WeCom.BotEnabled(), "db", s.store.Driver(), "redis", s.cfg.Redis != "")
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shut, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	srv.Shutdown(shut)
	// The robot's callbacks already received reach the queue before it
	// closes (at most 5 s).
	stopRobot()
	if s.robot != nil {
		select {
		case <-robotDone:
		case <-shut.Done():
		}
	}
	adm.Shutdown(shut)
	<-cr.Stop().Done()
	s.queue.Close()
	stopWork()
	wg.Wait()
	s.log.Info("opsbot stopped")
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// recoveryPage is how many inbox rows the recovery sweep reads at a time.
var recoveryPage = 500

// recoverLoop processes inbox rows left unprocessed: at start, whatever a
// crash left behind; later, what a full queue or a failure put aside.
func (s *server) recoverLoop(ctx context.Context) {
	const grace = 30 * time.Second
	before := time.Now()
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		// All of it at once, page after page (after a crash in a burst),
		// until the queue is full.
		if err := s.eachPending(ctx, before, recoveryPage, s.submit); err != nil && ctx.Err() == nil {
			s.log.Error("inbox recovery", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			before = time.Now().Add(-grace)
		}
	}
}

// directory adapts the WeCom address list for the handlers. The client
// caches people in Redis (shared by replicas); this keeps the answer in the
// process for a few minutes as well, since every message asks who sent it
// and a Redis round trip per message showed in the load profile.
type directory struct {
	c     *bot.Client
	cache sync.Map // userid → dirEntry
}

type dirEntry struct {
	name, dept string
	err        error
	until      time.Time
}

// dirTTL bounds how stale a name or department may be in one process.
const dirTTL = 5 * time.Minute

func (d *directory) Lookup(ctx context.Context, userID string) (string, string, error) {
	if v, ok := d.cache.Load(userID); ok {
		if e := v.(dirEntry); time.Now().Before(e.until) {
			return e.name, e.dept, e.err
		}
	}
	u, err := d.c.GetUser(ctx, userID)
	e := dirEntry{name: u.Name, dept: strings.Join(u.DepartmentNames, "/"), err: err, until: time.Now().Add(dirTTL)}
	if err != nil && !errors.Is(err, bot.ErrUserNotFound) {
		return "", "", err // a WeCom outage is not remembered
	}
	d.cache.Store(userID, e)
	return e.name, e.dept, e.err
}

// departmentMembers lists the userids of a WeCom department (a name or an
// id), for the yearly survey's recipients. It calls WeCom, so it runs in
// the survey job before any transaction.
func (a *app) departmentMembers(ctx context.Context, department string) ([]string, error) {
	p := bot.Probe{Base: a.cfg.WeCom.APIBase}
	tok, err := p.GetToken(ctx, a.cfg.WeCom.CorpID, a.cfg.WeCom.Secret)
	if err != nil {
		return nil, err
	}
	d, err := resolveDepartment(ctx, p, tok.Value, department)
	if err != nil {
		return nil, err
	}
	members, _, err := p.DepartmentMembers(ctx, tok.Value, d.ID, true)
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.UserID
	}
	return ids, err
}
