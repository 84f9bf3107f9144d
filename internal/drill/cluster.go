// Package drill runs opsbot as several real processes on one PostgreSQL and
// one Redis, behind a round-robin proxy, and plays WeCom against them: the
// pieces of the three-replica test (replicas_test.go, docs/replicas.md).
package drill

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Build compiles opsbot from the module at src into dir and returns the
// binary's path. The replicas must be real processes so that SIGKILL is
// real: nothing deferred runs, no connection is closed politely.
func Build(ctx context.Context, src, dir string) (string, error) {
	bin := filepath.Join(dir, "opsbot")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = src
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("drill: go build opsbot in %s: %w\n%s", src, err, out)
	}
	return bin, nil
}

// FreeAddr picks a free loopback address.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Replica is one `opsbot serve` process with its own public and admin
// ports.
type Replica struct {
	Name string
	// Public is the base URL of the callback listener; Admin that of
	// /readyz and /metrics.
	Public, Admin string
	LogPath       string

	cmd    *exec.Cmd
	log    *os.File
	exited chan struct{}
	err    error
	killed bool
}

// Start runs `opsbot serve` from bin in dir with env (OPSBOT_* settings;
// OPSBOT_HTTP_ADDR and OPSBOT_ADMIN_ADDR are picked here). Other OPSBOT_
// variables of this process are not passed on.
func Start(bin, dir, name string, env map[string]string) (*Replica, error) {
	return StartLogged(bin, dir, filepath.Join(dir, name+".log"), name, env)
}

// StartLogged is Start with the log written to logPath.
func StartLogged(bin, dir, logPath, name string, env map[string]string) (*Replica, error) {
	pub, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	adm, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	var vars []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OPSBOT_") {
			vars = append(vars, kv)
		}
	}
	for k, v := range env {
		vars = append(vars, k+"="+v)
	}
	vars = append(vars, "OPSBOT_HTTP_ADDR="+pub, "OPSBOT_ADMIN_ADDR="+adm)
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	// A scratch directory keeps a developer's configs/config.yaml out.
	cmd.Dir = dir
	cmd.Env = vars
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("drill: start %s: %w", name, err)
	}
	r := &Replica{Name: name, Public: "http://" + pub, Admin: "http://" + adm, LogPath: logPath, cmd: cmd, log: f, exited: make(chan struct{})}
	go func() {
		r.err = cmd.Wait()
		f.Close()
		close(r.exited)
	}()
	return r, nil
}

// WaitReady polls the admin /readyz until it answers 200.
func (r *Replica) WaitReady(ctx context.Context, timeout time.Duration) error {
	err := WaitOK(ctx, r.Admin+"/readyz", timeout, r.exited)
	if errors.Is(err, errExited) {
		return fmt.Errorf("drill: %s exited before it was ready: %v\n%s", r.Name, r.err, r.LogTail(20))
	}
	if err != nil {
		return fmt.Errorf("drill: %s %w\n%s", r.Name, err, r.LogTail(20))
	}
	return nil
}

var errExited = errors.New("exited before it was ready")

// WaitOK polls url until it answers 200, for at most timeout; exited, when
// not nil, is closed if the process serving it dies first. The error says
// the last answer.
func WaitOK(ctx context.Context, url string, timeout time.Duration, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	last := "no answer"
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err == nil {
			var b bytes.Buffer
			b.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(b.String()))
		} else {
			last = err.Error()
		}
		select {
		case <-exited:
			return errExited
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %s", timeout, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// PID is the process id.
func (r *Replica) PID() int { return r.cmd.Process.Pid }

// Alive reports whether the process is still running.
func (r *Replica) Alive() bool {
	select {
	case <-r.exited:
		return false
	default:
		return true
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (r *Replica) Kill() error {
	r.killed = true
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil && r.Alive() {
		return err
	}
	<-r.exited
	return nil
}

// Killed reports whether Kill was called.
func (r *Replica) Killed() bool { return r.killed }

// Stop sends SIGTERM and waits; after timeout it kills. It returns an error
// when the process did not exit cleanly (a killed replica is not an error).
func (r *Replica) Stop(timeout time.Duration) error {
	if !r.Alive() {
		if r.killed {
			return nil
		}
		return r.exitErr()
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
		return r.exitErr()
	case <-time.After(timeout):
		r.cmd.Process.Kill()
		<-r.exited
		return fmt.Errorf("drill: %s did not stop within %s of SIGTERM; killed", r.Name, timeout)
	}
}

func (r *Replica) exitErr() error {
	if r.err != nil {
		return fmt.Errorf("drill: %s: %w\n%s", r.Name, r.err, r.LogTail(20))
	}
	return nil
}

// LogTail is the end of the replica's log, for failure messages.
func (r *Replica) LogTail(lines int) string {
	data, _ := os.ReadFile(r.LogPath)
	all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// LogLines returns the replica's log lines that contain substr.
func (r *Replica) LogLines(substr string) ([]string, error) {
	f, err := os.Open(r.LogPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), substr) {
			out = append(out, sc.Text())
		}
	}
	return out, sc.Err()
}

// CPU is the processor time the process has used so far (user + system,
// from /proc; zero where there is no /proc or the process is gone).
func (r *Replica) CPU() time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", r.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may
	// hold spaces: state is field 3, utime 14, stime 15.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	var ut, st int64
	fmt.Sscan(f[11], &ut)
	fmt.Sscan(f[12], &st)
	// The kernel counts in clock ticks of 1/100 s (USER_HZ on Linux).
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// LoadAvg is the machine's 1-minute load average ("" without /proc).
func LoadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return strings.Fields(string(data))[0]
}
