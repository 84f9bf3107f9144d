// Package console is opsbot's web console under /console/: the live queue,
// tickets, the figures with charts, the monitoring wall, report downloads
// and administration, rendered on the server with html/template. htmx
// (live parts) and Apache ECharts (charts) are vendored and embedded, so
// the pages work on a hospital intranet without internet access.
//
// Every action goes through the same domain functions, permissions, events
// and messages as the chat commands (handlers.Web*), and is recorded in the
// console audit with who, when and from which address.
package console

import (
	"context"
	"embed"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"opsbot/configs"
	"opsbot/handlers"
	"opsbot/models"
	"opsbot/reports"
)

//go:embed static
var staticFS embed.FS

//go:embed templates/*.html
var templateFS embed.FS

// ReportSource builds the service reports the Reports page offers for
// download (the main package implements it with the reports package).
type ReportSource interface {
	// XLSX builds the report of kind over p (a month or a year) and
	// writes it to w as XLSX.
	XLSX(ctx context.Context, kind reports.Kind, p models.Period, w io.Writer) error
}

// ConfirmationSource, when a ReportSource also implements it, gives the
// hospital approvers' answers to a report without building it, for the
// Reports page's confirmation column. period is "2026-11" or "2026".
type ConfirmationSource interface {
	Confirmations(ctx context.Context, kind reports.Kind, period string) ([]reports.Approval, error)
}

// MonitorSource is what the monitoring wall shows besides open major
// incidents: firing alerts, probe status and today's inspections. It is
// wired once monitoring exists; nil shows "未接入".
type MonitorSource interface {
	Firing(ctx context.Context) ([]Alert, error)
	Probes(ctx context.Context) ([]Probe, error)
	Inspections(ctx context.Context, day time.Time) ([]Inspection, error)
}

// Alert is one firing alert on the wall.
type Alert struct {
	Name, System, Severity, Summary string
	Since                           time.Time
}

// Probe is one probe's last result on the wall.
type Probe struct {
	Name, System, Detail string
	Up                   bool
	Checked              time.Time
}

// Inspection is one of today's inspections (巡检) on the wall.
type Inspection struct {
	// Shift is 早巡检 or 晚巡检; Status 已完成, 进行中 or 未开始.
	Shift, Engineer, Status, Findings string
	Done                              *time.Time
}

// CodeExchanger turns a WeCom login code (OAuth2 or QR) into a userid;
// bot.Client implements it.
type CodeExchanger interface {
	UserIDFromCode(ctx context.Context, code string) (string, error)
}

// Deps are what the console needs.
type Deps struct {
	Store    *models.Store
	Handlers *handlers.Handlers
	Catalog  *models.Catalog
	Config   configs.Config
	// OnCall is the rota file as loaded at start (overrides edited in the
	// console are added from the database).
	OnCall configs.OnCall
	// Reports, Monitor and WeCom may be nil.
	Reports ReportSource
	Monitor MonitorSource
	WeCom   CodeExchanger
	Log     *slog.Logger
	// Now is the clock; nil means the store's.
	Now func() time.Time
}

// Console serves the pages.
type Console struct {
	d     Deps
	pages map[string]*pageTemplate
	loc   *time.Location
	mux   *http.ServeMux
}

// LoginLinkTTL is how long a link of `opsbot console link` is valid.
const LoginLinkTTL = 15 * time.Minute

// New builds the console; it fails only on a broken template.
func New(d Deps) (*Console, error) {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = d.Store.Now
	}
	c := &Console{d: d, loc: d.Store.SLA().Clock().Location()}
	var err error
	if c.pages, err = parsePages(); err != nil {
		return nil, err
	}
	c.mux = c.routes()
	return c, nil
}

// Handler is the console's route table; mount it at /console/.
func (c *Console) Handler() http.Handler { return c.mux }

// routes is the console's one route table, read top to bottom.
func (c *Console) routes() *http.ServeMux {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /console/static/", http.StripPrefix("/console/static/", cacheStatic(http.FileServerFS(static))))

	mux.HandleFunc("GET /console/login", c.loginPage)
	mux.HandleFunc("GET /console/login/link", c.linkPage)
	mux.HandleFunc("POST /console/login/link", c.linkLogin)
	mux.HandleFunc("GET /console/login/wecom", c.wecomStart)
	mux.HandleFunc("GET /console/login/qr", c.qrStart)
	mux.HandleFunc("GET /console/login/callback", c.wecomCallback)
	mux.Handle("POST /console/logout", c.signedIn(c.logout))

	mux.Handle("GET /console/{$}", c.signedIn(c.home))
	mux.Handle("GET /console/queue", c.signedIn(c.queuePage))
	mux.Handle("GET /console/queue/rows", c.signedIn(c.queueRows))
	mux.Handle("GET /console/tickets/{id}", c.signedIn(c.ticketPage))
	mux.Handle("POST /console/tickets/{id}/claim", c.signedIn(c.act(actClaim)))
	mux.Handle("POST /console/tickets/{id}/assign", c.signedIn(c.act(actAssign)))
	mux.Handle("POST /console/tickets/{id}/priority", c.signedIn(c.act(actPriority)))
	mux.Handle("POST /console/tickets/{id}/pause", c.signedIn(c.act(actPause)))

	mux.Handle("GET /console/dashboard", c.signedIn(c.staffOnly(c.dashboard)))
	mux.Handle("GET /console/wall", c.signedIn(c.staffOnly(c.wall)))
	mux.Handle("GET /console/wall/body", c.signedIn(c.staffOnly(c.wallBody)))

	mux.Handle("GET /console/reports", c.signedIn(c.managersOnly(c.reportsPage)))
	mux.Handle("GET /console/reports/{kind}/{period}", c.signedIn(c.managersOnly(c.reportDownload)))

	mux.Handle("GET /console/admin", c.signedIn(c.supervisorOnly(c.admin)))
	mux.Handle("POST /console/admin/oncall", c.signedIn(c.supervisorOnly(c.addWindow(false))))
	mux.Handle("POST /console/admin/oncall/{wid}/delete", c.signedIn(c.supervisorOnly(c.deleteWindow(false))))
	mux.Handle("POST /console/admin/maintenance", c.signedIn(c.supervisorOnly(c.addWindow(true))))
	mux.Handle("POST /console/admin/maintenance/{wid}/delete", c.signedIn(c.supervisorOnly(c.deleteWindow(true))))
	return mux
}

// cacheStatic lets browsers keep the embedded assets for a day: they
// change only with a new release.
func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}

// CreateLoginLink stores a one-time login token for userID and returns the
// URL to open, valid LoginLinkTTL (`opsbot console link`).
func CreateLoginLink(ctx context.Context, store *models.Store, baseURL, userID string) (link string, expires time.Time, err error) {
	token, err := randomToken()
	if err != nil {
		return "", time.Time{}, err
	}
	err = store.Update(ctx, func(tx *models.Tx) error {
		expires, err = tx.CreateLoginLink(token, userID, LoginLinkTTL)
		if err != nil {
			return err
		}
		return tx.Audit(userID, "login_link_created", 0, "opsbot console link", "cli")
	})
	if baseURL == "" {
		baseURL = "http://localhost:8080"
	}
	return trimSlash(baseURL) + "/console/login/link?token=" + token, expires, err
}
