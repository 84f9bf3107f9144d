package console_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"opsbot/configs"
	"opsbot/console"
	"opsbot/handlers"
	"opsbot/kv"
	"opsbot/models"
	"opsbot/models/modelstest"
)

// harness is the console on a real store with the example roster, served
// by an httptest server.
type harness struct {
	t     testing.TB
	store *models.Store
	clock *modelstest.Clock
	srv   *httptest.Server
	deps  console.Deps
}

type harnessOpt func(*console.Deps)

func newHarness(t testing.TB, open func(testing.TB, models.Options) *models.Store, opts ...harnessOpt) *harness {
	t.Helper()
	clock := modelstest.NewClock(modelstest.Monday9)
	cfg := configs.Default()
	cfg.Console.CookieSecure = false
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
	oncall, err := configs.LoadOnCall("")
	if err != nil {
		t.Fatal(err)
	}
	h := handlers.New(handlers.Deps{Store: store, KV: kv.NewMemory(clock.Now), Catalog: cat, Config: cfg, OnCall: oncall, Source: models.SourceChat})
	d := console.Deps{Store: store, Handlers: h, Catalog: cat, Config: cfg, OnCall: oncall, Now: clock.Now}
	for _, o := range opts {
		o(&d)
	}
	c, err := console.New(d)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)
	return &harness{t: t, store: store, clock: clock, srv: srv, deps: d}
}

// eachStore runs body against SQLite and PostgreSQL.
func eachStore(t *testing.T, body func(t *testing.T, hs *harness), opts ...harnessOpt) {
	t.Run("sqlite", func(t *testing.T) { body(t, newHarness(t, modelstest.SQLite, opts...)) })
	t.Run("postgres", func(t *testing.T) { body(t, newHarness(t, modelstest.Postgres, opts...)) })
}

// report files a ticket as reporter.
func (hs *harness) report(reporter, system, title string, p models.Priority) int64 {
	hs.t.Helper()
	var id int64
	err := hs.store.Update(context.Background(), func(tx *models.Tx) error {
		t, _, err := tx.CreateTicket(models.NewTicket{System: system, Priority: p, Title: title, Description: title,
			ReporterID: reporter, ReporterName: "护士" + reporter, Department: "门诊", Source: models.SourceChat}, models.Actor{UserID: reporter, Role: models.RoleReporter})
		if err != nil {
			return err
		}
		id = t.ID
		return nil
	})
	if err != nil {
		hs.t.Fatal(err)
	}
	return id
}

func (hs *harness) ticket(id int64) *models.Ticket {
	hs.t.Helper()
	var t *models.Ticket
	if err := hs.store.View(context.Background(), func(tx *models.Tx) error {
		var err error
		t, err = tx.Ticket(id)
		return err
	}); err != nil {
		hs.t.Fatal(err)
	}
	return t
}

func (hs *harness) events(id int64) []models.TicketEvent {
	hs.t.Helper()
	var ev []models.TicketEvent
	if err := hs.store.View(context.Background(), func(tx *models.Tx) error {
		var err error
		ev, err = tx.Events(id)
		return err
	}); err != nil {
		hs.t.Fatal(err)
	}
	return ev
}

func (hs *harness) audit() []models.AuditEntry {
	hs.t.Helper()
	var out []models.AuditEntry
	if err := hs.store.View(context.Background(), func(tx *models.Tx) error {
		var err error
		out, err = tx.AuditLog(100)
		return err
	}); err != nil {
		hs.t.Fatal(err)
	}
	return out
}

// outbox is every pending message, by recipient.
func (hs *harness) outbox() map[string][]string {
	hs.t.Helper()
	msgs, err := hs.store.LeaseDue(context.Background(), 1000, time.Hour)
	if err != nil {
		hs.t.Fatal(err)
	}
	out := map[string][]string{}
	for _, m := range msgs {
		out[m.Recipient] = append(out[m.Recipient], m.Content)
	}
	return out
}

// link is a one-time login URL for user.
func (hs *harness) link(user string) string {
	hs.t.Helper()
	l, _, err := console.CreateLoginLink(context.Background(), hs.store, hs.srv.URL, user)
	if err != nil {
		hs.t.Fatal(err)
	}
	return l
}

// browser is one signed-in person's cookie jar.
type browser struct {
	hs   *harness
	c    *http.Client
	csrf string
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login signs user in with a console link and remembers the CSRF token.
func (hs *harness) login(user string) *browser {
	hs.t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &browser{hs: hs, c: &http.Client{Jar: jar}}
	token := strings.TrimPrefix(hs.link(user), hs.srv.URL+"/console/login/link?token=")
	res := b.post("/console/login/link", url.Values{"token": {token}}, nil)
	if res.code != http.StatusOK || !strings.Contains(res.body, "工单队列") {
		hs.t.Fatalf("login %s: %d %s", user, res.code, res.body)
	}
	m := csrfField.FindStringSubmatch(res.body)
	if m == nil {
		hs.t.Fatalf("no CSRF token on the queue page")
	}
	b.csrf = m[1]
	return b
}

type response struct {
	code   int
	body   string
	header http.Header
}

func (b *browser) do(req *http.Request) response {
	b.hs.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.hs.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return response{code: res.StatusCode, body: string(data), header: res.Header}
}

func (b *browser) get(path string) response {
	b.hs.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.hs.srv.URL+path, nil)
	return b.do(req)
}

// post sends a form; header adds headers (e.g. HX-Request).
func (b *browser) post(path string, form url.Values, header map[string]string) response {
	b.hs.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.hs.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return b.do(req)
}

// act posts a form with the session's CSRF token.
func (b *browser) act(path string, form url.Values, htmx bool) response {
	b.hs.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	h := map[string]string{}
	if htmx {
		h["HX-Request"] = "true"
		h["X-CSRF-Token"] = b.csrf
	} else {
		form.Set("csrf", b.csrf)
	}
	return b.post(path, form, h)
}

func mustContain(t testing.TB, what, body string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(body, p) {
			t.Errorf("%s: want %q in:\n%s", what, p, excerpt(body))
		}
	}
}

func excerpt(s string) string {
	if len(s) > 3000 {
		return s[:3000] + "…"
	}
	return s
}

func path(id int64, action string) string { return fmt.Sprintf("/console/tickets/%d/%s", id, action) }

func sqliteStore(t testing.TB, o models.Options) *models.Store { return modelstest.SQLite(t, o) }
