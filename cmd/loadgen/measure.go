package main

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// clockTicks is Linux's USER_HZ, the unit of /proc CPU times; it is 100 on
// every architecture Go supports Linux on.
const clockTicks = 100

// cpuSample is the machine's and the interesting processes' CPU time at
// one instant, read from /proc.
type cpuSample struct {
	at    time.Time
	busy  float64 // seconds of all cores not idle (steal included)
	total float64 // seconds of all cores
	irq   float64 // hard and soft interrupts: mostly loopback networking here
	steal float64 // taken by the hypervisor for other guests
	procs map[int]procCPU
}

type procCPU struct {
	comm string
	sec  float64
}

// sampleCPU reads /proc/stat and every process's stat.
func sampleCPU() cpuSample {
	s := cpuSample{at: time.Now(), procs: map[int]procCPU{}}
	if data, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(data), "\n")
		f := strings.Fields(line)
		for i, v := range f[1:] {
			n, _ := strconv.ParseFloat(v, 64)
			// Guest time (fields 9 and 10) is already counted in user time.
			if i >= 8 {
				break
			}
			s.total += n / clockTicks
			if i != 3 && i != 4 { // idle, iowait
				s.busy += n / clockTicks
			}
			switch i {
			case 5, 6:
				s.irq += n / clockTicks
			case 7:
				s.steal += n / clockTicks
			}
		}
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The command name is in parentheses and may hold spaces.
		open, close := strings.IndexByte(string(data), '('), strings.LastIndexByte(string(data), ')')
		if open < 0 || close < open {
			continue
		}
		rest := strings.Fields(string(data[close+1:]))
		if len(rest) < 13 {
			continue
		}
		ut, _ := strconv.ParseFloat(rest[11], 64)
		st, _ := strconv.ParseFloat(rest[12], 64)
		s.procs[pid] = procCPU{comm: string(data[open+1 : close]), sec: (ut + st) / clockTicks}
	}
	return s
}

// cpuShare is how the cores were used between two samples, in percent of
// one core (2 cores = 200 %).
type cpuShare struct {
	wall  time.Duration
	cores float64
	// percent of one core
	opsbot, postgres, loadgen, redis, pgbench, kernel, irq, steal, other, idle float64
	// seconds of CPU, for per-report costs
	opsbotSec, postgresSec, loadgenSec, redisSec float64
	// others names the busiest other processes: another job on the
	// machine makes the figures worthless, and this says which.
	others string
}

// shareBetween attributes the CPU used between a and b. Processes that
// exited in between (pgbench's backends, another job's compiler) are not
// in b, so their time shows as other.
func shareBetween(a, b cpuSample, opsbotPID int) cpuShare {
	wall := b.at.Sub(a.at)
	sh := cpuShare{wall: wall}
	if wall <= 0 {
		return sh
	}
	sh.cores = (b.total - a.total) / wall.Seconds()
	self := os.Getpid()
	var known float64
	otherBy := map[string]float64{}
	for pid, p := range b.procs {
		d := p.sec - a.procs[pid].sec
		if prev, ok := a.procs[pid]; ok && prev.comm != p.comm {
			d = p.sec // a reused pid
		}
		if d <= 0 {
			continue
		}
		switch {
		case pid == self:
			sh.loadgenSec += d
		case pid == opsbotPID:
			sh.opsbotSec += d
		case p.comm == "postgres":
			sh.postgresSec += d
		case strings.HasPrefix(p.comm, "redis-server"):
			sh.redisSec += d
		case p.comm == "pgbench":
			sh.pgbench += d
		case strings.HasPrefix(p.comm, "kworker") || strings.HasPrefix(p.comm, "jbd2"):
			// Writeback and journal threads: mostly the WAL's fsyncs.
			sh.kernel += d
		default:
			otherBy[p.comm] += d
			continue
		}
		known += d
	}
	busy := b.busy - a.busy
	pct := func(sec float64) float64 { return 100 * sec / wall.Seconds() }
	sh.opsbot, sh.postgres, sh.loadgen, sh.redis = pct(sh.opsbotSec), pct(sh.postgresSec), pct(sh.loadgenSec), pct(sh.redisSec)
	sh.pgbench, sh.kernel = pct(sh.pgbench), pct(sh.kernel)
	irq, steal := b.irq-a.irq, b.steal-a.steal
	sh.irq, sh.steal = pct(irq), pct(steal)
	sh.other = max(0, pct(busy-known-irq-steal))
	names := slices.SortedFunc(maps.Keys(otherBy), func(x, y string) int { return cmp.Compare(otherBy[y], otherBy[x]) })
	var top []string
	for _, n := range names[:min(3, len(names))] {
		if v := pct(otherBy[n]); v >= 1 {
			top = append(top, fmt.Sprintf("%s %.0f%%", n, v))
		}
	}
	sh.others = strings.Join(top, ", ")
	sh.idle = max(0, pct((b.total-a.total)-busy))
	return sh
}

func (s cpuShare) String() string {
	if s.wall <= 0 {
		return "n/a"
	}
	parts := []string{}
	add := func(name string, v float64) {
		if v >= 0.5 || name == "opsbot" || name == "postgres" || name == "loadgen" {
			parts = append(parts, fmt.Sprintf("%s %.0f%%", name, v))
		}
	}
	add("opsbot", s.opsbot)
	add("postgres", s.postgres)
	add("loadgen", s.loadgen)
	add("redis", s.redis)
	add("pgbench", s.pgbench)
	add("kworker", s.kernel)
	add("irq", s.irq)
	add("steal", s.steal)
	add("other", s.other)
	add("idle", s.idle)
	out := fmt.Sprintf("%s of %.0f%% over %.1f s", strings.Join(parts, ", "), 100*s.cores, s.wall.Seconds())
	if s.others != "" {
		out += " (other: " + s.others + ")"
	}
	return out
}

// waitIdle waits, up to limit, for a second in which the machine is at
// most 15 % busy, so that another job's build or test does not land in the
// figures; it returns how busy the last second was.
func waitIdle(ctx context.Context, limit time.Duration) (busy float64, waited time.Duration) {
	start := time.Now()
	for {
		a := sampleCPU()
		select {
		case <-ctx.Done():
			return busy, time.Since(start)
		case <-time.After(time.Second):
		}
		b := sampleCPU()
		if b.total > a.total {
			busy = 100 * (b.busy - a.busy) / (b.total - a.total)
		}
		if busy <= 15 || time.Since(start) >= limit {
			return busy, time.Since(start)
		}
	}
}

// loadAvg is the 1-minute load average: a busy machine before the run
// makes its figures worthless.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// metrics is a scrape of opsbot's /metrics, the series this run cares about.
type metrics map[string]float64

// scrapeMetrics reads the opsbot_* and process CPU series.
func scrapeMetrics(ctx context.Context, base string) (metrics, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/metrics: %s", resp.Status)
	}
	m := metrics{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || !(strings.HasPrefix(line, "opsbot_") || strings.HasPrefix(line, "process_cpu_seconds_total")) {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			m[line[:i]] = v
		}
	}
	return m, sc.Err()
}

// pgbenchResult is what raw single-row inserts reach on the same server.
type pgbenchResult struct {
	script string
	tps    float64
	cpu    cpuShare
	output string
}

var tpsLine = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)

// runPgbench measures single-row INSERT + COMMIT transactions against a
// scratch table of the load database, with the run's concurrency, so the
// ticket rate can be read against what the database does at most.
func runPgbench(ctx context.Context, dsn, dir string, clients int, dur time.Duration, autocommit bool, opsbotPID int) (pgbenchResult, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return pgbenchResult{}, err
	}
	if err := execSQL(ctx, dsn, "DROP TABLE IF EXISTS loadgen_pgbench",
		"CREATE TABLE loadgen_pgbench (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), note text NOT NULL)"); err != nil {
		return pgbenchResult{}, err
	}
	defer execSQL(context.WithoutCancel(ctx), dsn, "DROP TABLE IF EXISTS loadgen_pgbench")
	script := "BEGIN;\nINSERT INTO loadgen_pgbench (note) VALUES ('报修 收费系统打印不了发票，门诊一楼3号窗口');\nCOMMIT;\n"
	if autocommit {
		script = "INSERT INTO loadgen_pgbench (note) VALUES ('报修 收费系统打印不了发票，门诊一楼3号窗口');\n"
	}
	path := filepath.Join(dir, "insert.sql")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		return pgbenchResult{}, err
	}
	secs := max(1, int(dur.Round(time.Second).Seconds()))
	args := []string{"-n", "-c", strconv.Itoa(clients), "-j", "2", "-T", strconv.Itoa(secs), "-f", path}
	host, port := u.Hostname(), u.Port()
	if host != "" {
		args = append(args, "-h", host)
	}
	if port != "" {
		args = append(args, "-p", port)
	}
	if u.User != nil && u.User.Username() != "" {
		args = append(args, "-U", u.User.Username())
	}
	args = append(args, strings.TrimPrefix(u.Path, "/"))
	cmd := exec.CommandContext(ctx, "pgbench", args...)
	cmd.Env = os.Environ()
	if pw, ok := u.User.Password(); ok {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+pw)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return pgbenchResult{}, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return pgbenchResult{}, fmt.Errorf("pgbench: %w", err)
	}
	res := pgbenchResult{script: strings.ReplaceAll(strings.TrimSpace(script), "\n", " ")}
	// pgbench's backends exit with it; sample just before its end so their
	// CPU is still attributed to postgres.
	a := sampleCPU()
	sampled := make(chan cpuSample, 1)
	go func() {
		time.Sleep(time.Duration(secs)*time.Second - 300*time.Millisecond)
		sampled <- sampleCPU()
	}()
	data, _ := io.ReadAll(out)
	err = cmd.Wait()
	res.output = string(data)
	res.cpu = shareBetween(a, <-sampled, opsbotPID)
	if err != nil {
		return res, fmt.Errorf("pgbench: %w\n%s", err, data)
	}
	m := tpsLine.FindStringSubmatch(res.output)
	if m == nil {
		return res, fmt.Errorf("pgbench: no tps in its output:\n%s", data)
	}
	res.tps, _ = strconv.ParseFloat(m[1], 64)
	return res, nil
}

// fetchProfile saves a CPU profile of a process that serves net/http/pprof.
func fetchProfile(ctx context.Context, base string, seconds int, path string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", strings.TrimRight(base, "/"), seconds), nil)
	resp, err := (&http.Client{Timeout: time.Duration(seconds+30) * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("pprof: %s %s", resp.Status, body)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// profileTop renders the top entries of a profile with go tool pprof.
func profileTop(ctx context.Context, bin, path string, n int) string {
	args := []string{"tool", "pprof", "-top", "-nodecount=" + strconv.Itoa(n)}
	if bin != "" {
		args = append(args, bin)
	}
	out, err := exec.CommandContext(ctx, "go", append(args, path)...).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("go tool pprof: %v\n%s", err, out)
	}
	return string(out)
}

// pidListening finds the process listening on a loopback TCP port, so that
// an attached opsbot's CPU can be told apart; 0 when not found (another
// user's process, or not Linux).
func pidListening(port int) int {
	inode := ""
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			fs := strings.Fields(line)
			// local_address is hex ip:port; state 0A is LISTEN.
			if len(fs) < 10 || fs[3] != "0A" {
				continue
			}
			_, hexPort, _ := strings.Cut(fs[1], ":")
			if p, err := strconv.ParseInt(hexPort, 16, 32); err == nil && int(p) == port {
				inode = fs[9]
			}
		}
	}
	if inode == "" {
		return 0
	}
	want := "socket:[" + inode + "]"
	procs, _ := os.ReadDir("/proc")
	for _, e := range procs {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		fds, _ := os.ReadDir(filepath.Join("/proc", e.Name(), "fd"))
		for _, fd := range fds {
			if l, _ := os.Readlink(filepath.Join("/proc", e.Name(), "fd", fd.Name())); l == want {
				return pid
			}
		}
	}
	return 0
}
