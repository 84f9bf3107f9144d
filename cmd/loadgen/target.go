package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// moduleRoot finds the opsbot module above dir, so that the program and
// its test build the opsbot next to them.
func moduleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(bytes.TrimSpace(data), []byte("module opsbot")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no opsbot go.mod above the working directory; use --opsbot-src or --opsbot-bin")
		}
		dir = parent
	}
}

// buildOpsbot compiles opsbot from src into dir.
func buildOpsbot(ctx context.Context, src, dir string) (string, error) {
	bin := filepath.Join(dir, "opsbot")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = src
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build opsbot in %s: %w\n%s", src, err, out)
	}
	return bin, nil
}

// dbURL returns the URL of database name on the server of base.
func dbURL(base, name string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("--pg: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

// recreateDB drops and creates the load database, so that every run starts
// from an empty schema that opsbot migrates itself.
func recreateDB(ctx context.Context, base, name string) error {
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(ctx)
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop %s: %w", name, err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	return nil
}

// flushRedis empties the load run's Redis database: dedupe keys, cached
// users and rate windows of an earlier run would change what is measured.
func flushRedis(ctx context.Context, rawURL string) error {
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return fmt.Errorf("--redis: %w", err)
	}
	if opt.DB == 0 {
		// Database 0 is where everything else lives by default; a load run
		// flushing it would be a nasty surprise.
		return errors.New("--redis must name a dedicated database other than 0, e.g. redis://127.0.0.1:6379/13")
	}
	c := redis.NewClient(opt)
	defer c.Close()
	return c.FlushDB(ctx).Err()
}

// freeAddr picks a free loopback port for opsbot.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// opsbotProc is opsbot running as a child process.
type opsbotProc struct {
	cmd     *exec.Cmd
	logPath string
	logFile *os.File
	exited  chan struct{}
	err     error
}

// startOpsbot runs `opsbot serve` with env; its log goes to logPath.
func startOpsbot(bin, dir, logPath string, env []string) (*opsbotProc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	// A scratch working directory keeps a developer's configs/config.yaml
	// out of the run.
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	p := &opsbotProc{cmd: cmd, logPath: logPath, logFile: f, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// pid is the opsbot process id.
func (p *opsbotProc) pid() int { return p.cmd.Process.Pid }

// stop asks opsbot to finish (SIGTERM) and waits for it.
func (p *opsbotProc) stop() error {
	defer p.logFile.Close()
	select {
	case <-p.exited:
		return p.err
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return p.err
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
		return errors.New("opsbot did not stop within 20 s of SIGTERM; killed")
	}
}

// logTail is the end of opsbot's log, for error messages.
func (p *opsbotProc) logTail(lines int) string {
	data, _ := os.ReadFile(p.logPath)
	all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// countLog counts log lines containing substr.
func countLog(path, substr string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), substr) {
			n++
		}
	}
	return n
}

// waitReady polls /healthz until it answers 200; exited is closed when the
// process died (nil when attached to a server we did not start).
func waitReady(ctx context.Context, base string, timeout time.Duration, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	last := "no answer"
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
		resp, err := client.Do(req)
		if err == nil {
			var body bytes.Buffer
			body.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(body.String()))
		} else {
			last = err.Error()
		}
		select {
		case <-exited:
			return errors.New("opsbot exited before it was ready")
		case <-ctx.Done():
			return fmt.Errorf("opsbot not ready after %s: %s", timeout, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// opsbotEnv is the environment of the spawned opsbot: ours without any
// OPSBOT_ setting, plus the run's, plus the caller's extras.
func opsbotEnv(set map[string]string, extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OPSBOT_") {
			env = append(env, kv)
		}
	}
	for k, v := range set {
		env = append(env, k+"="+v)
	}
	return append(env, extra...)
}
