package main

// The image and compose checks live beside the manifest checks because
// they guard the same thing, what reaches a running opsbot, and this is
// the module that may have dependencies opsbot itself does not need.

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"sigs.k8s.io/yaml"
)

const repoRoot = "../../.."

func dockerIgnore(t *testing.T) *patternmatcher.PatternMatcher {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	return pm
}

func excluded(t *testing.T, pm *patternmatcher.PatternMatcher, p string) bool {
	t.Helper()
	ex, err := pm.MatchesOrParentMatches(p)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// A developer's real configuration and secrets never reach the build
// context, matched the way Docker matches .dockerignore.
func TestDockerContextKeepsSecretsOut(t *testing.T) {
	pm := dockerIgnore(t)
	for _, p := range []string{
		"configs/config.yaml", "configs/staff.yaml", "configs/oncall.yaml",
		"deploy/secrets/db_url", "secrets/wecom_secret", "configs/secrets/x",
		"server.key", "tls/server.key", "tls/ca.pem", "certs/client.p12",
		".env", ".env.production", "configs/.env",
		"data/opsbot.db", ".git/config",
		"opsbot", "loadgen", "cmd/loadgen/loadgen", "handlers/handlers.test",
		"cover.out", "coverage.html", "cpu.pprof", "screenshots/queue.png",
	} {
		if !excluded(t, pm, p) {
			t.Errorf("%s would be sent to the Docker daemon", p)
		}
	}
}

var embedLine = regexp.MustCompile(`^//go:embed\s+(.+)$`)

// What `go build` needs is still in the context: every Go file and every
// file a package embeds.
func TestDockerContextKeepsTheBuild(t *testing.T) {
	pm := dockerIgnore(t)
	need := []string{"go.mod", "go.sum", "configs/config.example.yaml", "configs/staff.example.yaml", "configs/oncall.example.yaml"}
	err := filepath.WalkDir(repoRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(repoRoot, p)
		if d.IsDir() {
			// Nested modules and other tooling are not part of the image.
			if rel == ".git" || rel == "deploy" || rel == "docs" || rel == ".ci" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		need = append(need, filepath.ToSlash(rel))
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if m := embedLine.FindStringSubmatch(strings.TrimSpace(sc.Text())); m != nil {
				for _, name := range strings.Fields(m[1]) {
					need = append(need, filepath.ToSlash(filepath.Join(filepath.Dir(rel), name)))
				}
			}
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range need {
		if excluded(t, pm, p) {
			t.Errorf(".dockerignore drops %s, which the build needs", p)
		}
	}
	if len(need) < 20 {
		t.Fatalf("found only %d files the build needs; is the walk looking at the repository?", len(need))
	}
}

// The final image gets files named one by one, never a glob that could
// pick up a real config.yaml or staff.yaml, and runs as a numeric non-root
// user with the admin listener reachable inside the container.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	cont := ""
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasSuffix(l, "\\") {
			cont += strings.TrimSuffix(l, "\\") + " "
			continue
		}
		lines = append(lines, cont+l)
		cont = ""
	}
	last := -1
	for i, l := range lines {
		if strings.HasPrefix(strings.ToUpper(l), "FROM ") {
			last = i
		}
	}
	if last < 0 {
		t.Fatal("no FROM")
	}
	var user, env string
	copies := 0
	for _, l := range lines[last:] {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "USER":
			user = f[1]
		case "ENV":
			env += " " + strings.Join(f[1:], " ")
		case "COPY", "ADD":
			var args []string
			fromStage := false
			for _, a := range f[1:] {
				if strings.HasPrefix(a, "--from=") {
					fromStage = true
				}
				if !strings.HasPrefix(a, "--") {
					args = append(args, a)
				}
			}
			if fromStage {
				continue
			}
			copies++
			for _, src := range args[:len(args)-1] {
				if strings.ContainsAny(src, "*?[") || src == "." || strings.HasSuffix(src, "/") {
					t.Errorf("%q copies %s, a glob or a folder, into the image: name each file", l, src)
				}
				if b := filepath.Base(src); b == "config.yaml" || b == "staff.yaml" || b == "oncall.yaml" {
					t.Errorf("%q copies a real %s into the image", l, b)
				}
				if _, err := os.Stat(filepath.Join(repoRoot, src)); err != nil {
					t.Errorf("%q: %v", l, err)
				}
			}
		}
	}
	if copies == 0 {
		t.Error("the final stage copies nothing from the context; was the parse right?")
	}
	if uid := strings.Split(user, ":")[0]; uid == "" || uid == "0" || strings.Trim(uid, "0123456789") != "" {
		t.Errorf("USER %q: want a numeric non-root uid, which runAsNonRoot can verify", user)
	}
	if !strings.Contains(env, "OPSBOT_ADMIN_ADDR=:9090") {
		t.Errorf("ENV%s: want OPSBOT_ADMIN_ADDR=:9090, else probes and Prometheus cannot reach the admin listener", env)
	}
}

// compose wires each *_FILE to a declared secret and keeps 9090 on the
// host's loopback.
func TestComposeSecretsAndPorts(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "deploy/docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Image       string            `json:"image"`
			Environment map[string]string `json:"environment"`
			Secrets     []string          `json:"secrets"`
			Ports       []string          `json:"ports"`
			ReadOnly    bool              `json:"read_only"`
		} `json:"services"`
		Secrets map[string]struct {
			File string `json:"file"`
		} `json:"secrets"`
	}
	if err := yaml.Unmarshal(data, &compose); err != nil {
		t.Fatal(err)
	}
	seen := 0
	for name, s := range compose.Services {
		if !strings.HasPrefix(s.Image, "opsbot:") {
			continue
		}
		seen++
		if !s.ReadOnly {
			t.Errorf("service %s: want read_only: true", name)
		}
		if s.Environment["OPSBOT_ADMIN_ADDR"] != ":9090" {
			t.Errorf("service %s: OPSBOT_ADMIN_ADDR=%q, want \":9090\"", name, s.Environment["OPSBOT_ADMIN_ADDR"])
		}
		for _, v := range serverSecretFiles {
			if v == "OPSBOT_REDIS_FILE" {
				continue // compose's Redis has no password: a plain OPSBOT_REDIS
			}
			if _, ok := s.Environment[v]; !ok {
				t.Errorf("service %s: %s is missing", name, v)
			}
		}
		for k, v := range s.Environment {
			if secretVars[k] && k != "OPSBOT_REDIS" {
				t.Errorf("service %s: %s carries a secret; use %s_FILE", name, k, k)
			}
			if !strings.HasSuffix(k, "_FILE") || !strings.HasPrefix(v, "/run/secrets/") {
				continue
			}
			secret := strings.TrimPrefix(v, "/run/secrets/")
			if _, ok := compose.Secrets[secret]; !ok {
				t.Errorf("service %s: %s=%s names no secret of the file", name, k, v)
			}
			if !strings.Contains(" "+strings.Join(s.Secrets, " ")+" ", " "+secret+" ") {
				t.Errorf("service %s: %s=%s, but the service does not list secret %s", name, k, v, secret)
			}
		}
		for _, p := range s.Ports {
			if strings.HasSuffix(p, ":9090") && !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("service %s publishes the admin port beyond loopback: %s", name, p)
			}
		}
	}
	if seen != 2 {
		t.Errorf("found %d opsbot services, want 2 (migrate and opsbot)", seen)
	}
}
