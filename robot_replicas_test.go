package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"opsbot/bot/aibot/aibottest"
	"opsbot/kv"
	"opsbot/models/modelstest"
)

// replica is `opsbot serve` as a child process.
type replica struct {
	cmd    *exec.Cmd
	admin  string
	log    string
	exited chan struct{}
}

func startReplica(t *testing.T, bin string, env []string, name string) *replica {
	t.Helper()
	dir := t.TempDir()
	admin := freeAddr(t)
	env = append(append([]string(nil), env...), "OPSBOT_HTTP_ADDR="+freeAddr(t), "OPSBOT_ADMIN_ADDR="+admin)
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve")
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, env, f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &replica{cmd: cmd, admin: "http://" + admin, log: logPath, exited: make(chan struct{})}
	go func() { cmd.Wait(); f.Close(); close(r.exited) }()
	t.Cleanup(func() {
		select {
		case <-r.exited:
			return
		default:
		}
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.exited:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("%s log:\n%s", name, b)
		}
	})
	waitFor(t, name+" ready", func() bool {
		resp, err := http.Get(r.admin + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return r
}

// Two replicas on one database and one Redis: only one holds the robot's
// connection; when it is killed (SIGKILL, so it releases nothing), the
// other takes over within WeCom's expectations (lock TTL 15 s + retry
// 5 s) and answers.
func TestRobotTwoReplicasTakeover(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs two processes")
	}
	r, err := kv.OpenRedis(context.Background(), modelstest.RedisURL(), "probe:")
	if err != nil {
		modelstest.Unreachable(t, "Redis", err)
	}
	r.Close()
	dsn, drop, err := modelstest.FreshSchema(modelstest.PostgresURL())
	if err != nil {
		modelstest.Unreachable(t, "PostgreSQL", err)
	}
	t.Cleanup(drop)
	bin := filepath.Join(t.TempDir(), "opsbot")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	rfake := newRobotFake(t)
	wd, _ := os.Getwd()
	b := make([]byte, 6)
	rand.Read(b)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OPSBOT_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"OPSBOT_DB="+dsn,
		"OPSBOT_REDIS="+modelstest.RedisURL(),
		"OPSBOT_REDIS_PREFIX=test:"+hex.EncodeToString(b)+":",
		"OPSBOT_LOG_LEVEL=info",
		"OPSBOT_STAFF_FILE="+filepath.Join(wd, "configs/staff.example.yaml"),
		"OPSBOT_ONCALL_FILE="+filepath.Join(wd, "configs/oncall.example.yaml"),
		"OPSBOT_WECOM_BOT_ID="+testBotID,
		"OPSBOT_WECOM_BOT_SECRET="+testBotSecret,
		"OPSBOT_WECOM_BOT_WS_URL="+rfake.URL,
	)

	a := startReplica(t, bin, env, "replica-a")
	waitSubscribed(t, rfake)
	startReplica(t, bin, env, "replica-b")
	time.Sleep(2 * time.Second)
	if n := rfake.Dials(); n != 1 {
		t.Fatalf("%d connections with two replicas, want 1", n)
	}
	first := push(t, rfake, aibottest.Msg{UserID: "nurse01", Content: "报修 门诊收费 3号窗口打印不了发票"})
	waitFor(t, "replica A's answer", func() bool { return len(robotTo(t, rfake, "nurse01", first)) == 1 })

	a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.exited
	killed := time.Now()
	deadline := time.Now().Add(30 * time.Second)
	// The fake may not have seen A's connection close yet: wait for B's.
	for rfake.Dials() < 2 || !rfake.Subscribed() {
		if time.Now().After(deadline) {
			t.Fatal("replica B did not take over within 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("takeover after SIGKILL: %v", time.Since(killed).Round(10*time.Millisecond))
	if n := rfake.Dials(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
	second := push(t, rfake, aibottest.Msg{UserID: "nurse01", Content: "我的工单"})
	waitFor(t, "replica B's answer", func() bool { return len(robotTo(t, rfake, "nurse01", second)) == 1 })
	if got := robotTo(t, rfake, "nurse01", second)[0].Text; !strings.Contains(got, "#1") {
		t.Fatalf("replica B answered %q", got)
	}
}
