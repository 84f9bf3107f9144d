// Package alertmanagertest runs the real Alertmanager binary for tests: on a
// free loopback port, with a temporary configuration whose only receiver is
// a webhook pointed at the URL the test gives, and with intervals of seconds
// so that firing, repeat and resolved notifications all arrive within one
// test.
//
// Debian and Ubuntu ship the binary as prometheus-alertmanager (package
// prometheus-alertmanager); OPSBOT_ALERTMANAGER names another. A test whose
// binary is missing is skipped, except in CI (CI=true), where it fails.
package alertmanagertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Config is what the started Alertmanager notifies, and how often; zero
// durations take the defaults below.
type Config struct {
	// WebhookURL receives every notification (required).
	WebhookURL string
	// Token is sent as Authorization: Bearer <token> through the
	// receiver's http_config.authorization; empty sends none.
	Token string
	// GroupBy lists the labels alerts are grouped by; default one group per
	// alert ("...").
	GroupBy []string
	// GroupWait (default 1s), GroupInterval (default 1s) and RepeatInterval
	// (default 3s) are the route's timers.
	GroupWait, GroupInterval, RepeatInterval time.Duration
	// Binary is the Alertmanager executable; default $OPSBOT_ALERTMANAGER,
	// then prometheus-alertmanager, then alertmanager on PATH.
	Binary string
}

// Server is a running Alertmanager.
type Server struct {
	// URL is its base URL, http://127.0.0.1:<port>.
	URL string

	cmd  *exec.Cmd
	logs *lockedBuffer
	done chan struct{}
	once sync.Once
}

// Alert is what the tests post to /api/v2/alerts. A zero EndsAt keeps the
// alert firing for Alertmanager's resolve_timeout (5 min); an EndsAt in
// the past resolves it.
type Alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt,omitzero"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// Binary returns the Alertmanager executable to run, or "" when none is found.
func Binary() string {
	if b := os.Getenv("OPSBOT_ALERTMANAGER"); b != "" {
		return b
	}
	for _, name := range []string{"prometheus-alertmanager", "alertmanager"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Start runs Alertmanager for the rest of the test and stops it at cleanup.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.WebhookURL == "" {
		t.Fatal("alertmanagertest: Config.WebhookURL is required")
	}
	bin := cfg.Binary
	if bin == "" {
		bin = Binary()
	}
	if bin == "" {
		const msg = "alertmanager binary not found (apt-get install -y prometheus-alertmanager, or set OPSBOT_ALERTMANAGER)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + "; it is required in CI")
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	confPath := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(confPath, []byte(configYAML(cfg)), 0o600); err != nil {
		t.Fatalf("alertmanagertest: write config: %v", err)
	}
	addr := freeAddr(t)
	s := &Server{URL: "http://" + addr, logs: &lockedBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(bin,
		"--config.file="+confPath,
		"--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--cluster.listen-address=", // no gossip: a single, isolated instance
		"--log.level=debug",
	)
	s.cmd.Stdout = s.logs
	s.cmd.Stderr = s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("alertmanagertest: start %s: %v", bin, err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("alertmanager log:\n%s", s.logs.String())
		}
	})
	if err := s.waitReady(15 * time.Second); err != nil {
		t.Fatalf("alertmanagertest: %v\nlog:\n%s", err, s.logs.String())
	}
	return s
}

// Post sends alerts to Alertmanager's API v2.
func (s *Server) Post(ctx context.Context, alerts ...Alert) error {
	body, err := json.Marshal(alerts)
	if err != nil {
		return fmt.Errorf("alertmanagertest: encode alerts: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/api/v2/alerts", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("alertmanagertest: post alerts: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("alertmanagertest: post alerts: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return fmt.Errorf("alertmanagertest: post alerts: %s: %s", resp.Status, strings.TrimSpace(b.String()))
	}
	return nil
}

// Logs returns what Alertmanager has logged so far.
func (s *Server) Logs() string { return s.logs.String() }

// Stop ends Alertmanager; Start's cleanup calls it too.
func (s *Server) Stop() {
	s.once.Do(func() {
		if s.cmd.Process == nil {
			return
		}
		s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
		}
	})
}

func (s *Server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("alertmanager exited early: %v", s.cmd.ProcessState)
		default:
		}
		resp, err := http.Get(s.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("alertmanager not ready at %s after %s", s.URL, limit)
}

// configYAML writes the route and the one webhook receiver. JSON strings
// are valid YAML scalars, which keeps URLs and tokens quoted safely.
func configYAML(cfg Config) string {
	or := func(d, def time.Duration) string {
		if d <= 0 {
			d = def
		}
		return model(d)
	}
	groupBy := cfg.GroupBy
	if len(groupBy) == 0 {
		groupBy = []string{"..."}
	}
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	var gb []string
	for _, l := range groupBy {
		gb = append(gb, q(l))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "route:\n  receiver: opsbot\n  group_by: [%s]\n  group_wait: %s\n  group_interval: %s\n  repeat_interval: %s\n",
		strings.Join(gb, ", "), or(cfg.GroupWait, time.Second), or(cfg.GroupInterval, time.Second), or(cfg.RepeatInterval, 3*time.Second))
	fmt.Fprintf(&b, "receivers:\n  - name: opsbot\n    webhook_configs:\n      - url: %s\n        send_resolved: true\n", q(cfg.WebhookURL))
	if cfg.Token != "" {
		fmt.Fprintf(&b, "        http_config:\n          authorization:\n            type: Bearer\n            credentials: %s\n", q(cfg.Token))
	}
	return b.String()
}

// model formats d in Prometheus' duration syntax (whole milliseconds).
func model(d time.Duration) string {
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("alertmanagertest: find a free port: %v", err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
