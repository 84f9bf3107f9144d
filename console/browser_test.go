package console_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"opsbot/models"

	"github.com/chromedp/chromedp"
)

// screenshotDir is where the browser test leaves its screenshots (the
// repository's screenshots/, ignored by git).
const screenshotDir = "../screenshots"

// chromiumPath finds Debian's chromium; the test is skipped without it,
// except in CI, where .ci/run installs it.
func chromiumPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is required in CI (apt-get install -y chromium)")
	}
	t.Skip("chromium not installed; skipping the browser test")
	return ""
}

// jsErrors collects every JavaScript exception and console or log error
// of the pages.
type jsErrors struct {
	mu   sync.Mutex
	list []string
}

func (j *jsErrors) add(s string) { j.mu.Lock(); j.list = append(j.list, s); j.mu.Unlock() }

func (j *jsErrors) all() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.list...)
}

// TestBrowser drives the console in a real Chromium: log in with a console
// link, see the queue, claim a ticket and see the change without a reload,
// see another engineer's claim arrive by itself, and open the dashboard
// with its charts drawn. Any JavaScript error fails it. Every page is
// saved at phone and PC sizes.
func TestBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	hs := newHarness(t, sqliteStore)
	first := hs.report(nurse, "OPB", "门诊收费3号窗口打印不了发票", models.PriorityHigh)
	second := hs.report(nurse2, "REG", "挂号机无法读卡", models.PriorityMedium)
	hs.report(nurse2, "MIC", `<script>alert("x")</script> 检验单打不出来`, models.PriorityLow)

	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1366, 900),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	var errs jsErrors
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleError {
				errs.add(m.String() + " " + m.URL)
			}
		}
	}()
	css := func(format string, args ...any) chromedp.CSS { return chromedp.CSS(fmt.Sprintf(format, args...)) }
	text := func(sel chromedp.CSS) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}

	shoot := func(name string) {
		t.Helper()
		for _, size := range []struct {
			label  string
			w, h   int64
			mobile bool
		}{{"phone", 390, 844, true}, {"pc", 1366, 900, false}} {
			emulate := chromedp.EmulateViewport(size.w, size.h)
			if size.mobile {
				emulate = chromedp.EmulateViewport(size.w, size.h, chromedp.EmulateMobile)
			}
			if err := chromedp.Do(ctx, emulate, chromedp.Sleep(300*time.Millisecond)); err != nil {
				t.Fatalf("viewport %s %s: %v", name, size.label, err)
			}
			buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatalf("screenshot %s %s: %v", name, size.label, err)
			}
			if err := os.WriteFile(filepath.Join(screenshotDir, fmt.Sprintf("%s-%s.png", name, size.label)), buf, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(1366, 900)); err != nil {
			t.Fatal(err)
		}
	}

	// Log in with a console link and land on the queue.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(hs.link(engineer)),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("queue-rows")),
	); err != nil {
		t.Fatalf("log in: %v", err)
	}
	if title := text(css("#t%d .title", first)); !strings.Contains(title, "打印不了发票") {
		t.Errorf("queue row title: %q", title)
	}
	if s := text(css("#t%d .title", first+2)); !strings.Contains(s, `<script>alert("x")</script>`) {
		t.Errorf("a ticket's <script> is shown as text: %q", s)
	}
	shoot("queue")

	// Claim: the row changes in place; a marker set on the page proves no
	// reload happened.
	if err := chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`window.__noReload = "yes"`),
		chromedp.Click(css("#t%d button.claim", first)),
		chromedp.WaitVisible(css(`#t%d[data-status="claimed"]`, first)),
	); err != nil {
		t.Fatalf("claim: %v", err)
	}
	marker, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.__noReload || ""`))
	if err != nil {
		t.Fatal(err)
	}
	if status, assignee := text(css("#t%d .status", first)), text(css("#t%d .assignee", first)); status != "处理中" || assignee != "张三" || marker != "yes" {
		t.Errorf("after the claim: status %q, assignee %q, page kept (no reload) %q", status, assignee, marker)
	}
	if got := hs.ticket(first); got.AssigneeID != engineer {
		t.Errorf("the claim did not reach the database: %q", got.AssigneeID)
	}

	// Another engineer claims in chat. The engineer's default view shows
	// their tickets and the untaken ones, so the row leaves the live list by
	// itself, without a reload.
	if err := hs.store.Update(context.Background(), func(tx *models.Tx) error {
		_, err := tx.Claim(second, models.Actor{UserID: engineer3, Name: "李四", Role: models.RoleEngineer, Level: 3})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.__noReload = "still"`)); err != nil {
		t.Fatal(err)
	}
	waitCtx, waitCancel := context.WithTimeout(ctx, 15*time.Second)
	_, err = chromedp.Run(waitCtx, chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.getElementById("t%d") === null && window.__noReload === "still"`, second), chromedp.WithPollingInterval(200*time.Millisecond)))
	waitCancel()
	if err != nil {
		t.Errorf("another engineer's claim did not show without a reload: %v", err)
	}

	// A ticket's page.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(fmt.Sprintf("%s/console/tickets/%d", hs.srv.URL, first)),
		chromedp.WaitVisible(chromedp.CSS(".timeline")),
	); err != nil {
		t.Fatalf("ticket page: %v", err)
	}
	shoot("ticket")

	// The dashboard with its charts drawn.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(hs.srv.URL+"/console/dashboard"),
		chromedp.WaitVisible(chromedp.CSS("#chart-engineers canvas")),
	); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	sizes, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`["chart-trend","chart-systems","chart-engineers"].map(function (id) {
		var c = document.querySelector("#" + id + " canvas");
		return c ? c.width * c.height : 0;
	})`))
	if err != nil {
		t.Fatal(err)
	}
	if len(sizes) != 3 || sizes[0] == 0 || sizes[1] == 0 || sizes[2] == 0 {
		t.Errorf("charts drawn (canvas pixels): %v", sizes)
	}
	shoot("dashboard")

	if err := chromedp.Do(ctx, chromedp.Navigate(hs.srv.URL+"/console/wall"), chromedp.WaitVisible(chromedp.ID("wall"))); err != nil {
		t.Fatalf("wall: %v", err)
	}
	shoot("wall")

	// The supervisor's pages.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(hs.link(supervisor)),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("queue-rows")),
		chromedp.Navigate(hs.srv.URL+"/console/admin"),
		chromedp.WaitVisible(chromedp.ID("windows")),
	); err != nil {
		t.Fatalf("admin: %v", err)
	}
	shoot("admin")
	if err := chromedp.Do(ctx, chromedp.Navigate(hs.srv.URL+"/console/reports"), chromedp.WaitVisible(chromedp.CSS("table.plain"))); err != nil {
		t.Fatalf("reports: %v", err)
	}
	shoot("reports")
	if err := chromedp.Do(ctx, chromedp.Navigate(hs.srv.URL+"/console/login")); err != nil {
		t.Fatal(err)
	}
	shoot("login")
	// Let the last page's messages arrive.
	time.Sleep(200 * time.Millisecond)

	for _, e := range errs.all() {
		t.Errorf("JavaScript error in the console: %s", e)
	}
}
