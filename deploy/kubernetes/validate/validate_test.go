package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestManifestsAreValid(t *testing.T) {
	n, err := validateDir("..")
	if err != nil {
		t.Fatalf("the committed manifests are refused:\n%v", err)
	}
	// Namespace, ConfigMap, example Secret, Deployment, Service, PDB,
	// NetworkPolicy and the migration Job.
	if n != 8 {
		t.Errorf("checked %d objects, want 8", n)
	}
}

// edit changes one manifest of a copy of the real folder.
type edit struct {
	file string
	// replace old with new (old must occur), or drop the block that starts
	// at the line holding drop (that line and its more indented children).
	old, new, drop string
}

func TestBadManifestsAreRefused(t *testing.T) {
	cases := []struct {
		name  string
		edits []edit
		want  string
	}{
		{"unknown field", []edit{{file: "deployment.yaml", old: "revisionHistoryLimit: 5", new: "revisionHistoryLimt: 5"}}, `unknown field "spec.revisionHistoryLimt"`},
		{"misspelt case", []edit{{file: "deployment.yaml", old: "  replicas: 3", new: "  Replicas: 3"}}, `unknown field "spec.Replicas"`},
		{"duplicate field", []edit{{file: "service.yaml", old: "  type: ClusterIP", new: "  type: ClusterIP\n  type: NodePort"}}, `key "type" already set`},
		{"wrong type", []edit{{file: "deployment.yaml", old: `value: ":8080"`, new: `value: 8080`}}, `cannot unmarshal number`},
		{"bad quantity", []edit{{file: "deployment.yaml", old: "memory: 256Mi", new: "memory: 256MB!"}}, `quantities must match`},
		{"unknown kind", []edit{{file: "pdb.yaml", old: "apiVersion: policy/v1", new: "apiVersion: policy/v1beta1"}}, `policy/v1beta1/PodDisruptionBudget is not a kind`},
		{"two replicas", []edit{{file: "deployment.yaml", old: "replicas: 3", new: "replicas: 2"}}, "spec.replicas must be 3"},
		{"no readiness probe", []edit{{file: "deployment.yaml", drop: "readinessProbe:"}}, "no readinessProbe"},
		{"no liveness probe", []edit{{file: "deployment.yaml", drop: "livenessProbe:"}}, "no livenessProbe"},
		{"readiness on the public port", []edit{{file: "deployment.yaml", old: "path: /readyz\n              port: admin", new: "path: /readyz\n              port: http"}}, "readinessProbe must ask /readyz on port 9090"},
		{"no limits", []edit{{file: "deployment.yaml", drop: "limits:"}}, "resources.limits.memory is not set"},
		{"request above limit", []edit{{file: "deployment.yaml", old: "memory: 128Mi", new: "memory: 512Mi"}}, "above its limit"},
		{"root", []edit{{file: "deployment.yaml", old: "runAsNonRoot: true\n        runAsUser: 65532", new: "runAsNonRoot: false\n        runAsUser: 0"}}, "runAsNonRoot must be true"},
		{"writable root", []edit{{file: "deployment.yaml", old: "readOnlyRootFilesystem: true", new: "readOnlyRootFilesystem: false"}}, "readOnlyRootFilesystem must be true"},
		{"escalation", []edit{{file: "migrate-job.yaml", old: "allowPrivilegeEscalation: false", new: "allowPrivilegeEscalation: true"}}, "container migrate: securityContext.allowPrivilegeEscalation must be false"},
		{"capabilities kept", []edit{{file: "deployment.yaml", drop: "capabilities:"}}, "capabilities.drop must contain ALL"},
		{"no tmp", []edit{{file: "deployment.yaml", old: "mountPath: /tmp", new: "mountPath: /scratch"}}, "/tmp must be an emptyDir"},
		{"latest image", []edit{{file: "deployment.yaml", old: "image: registry.example.org/opsbot:1.0.0", new: "image: registry.example.org/opsbot:latest"}}, "must name a version"},
		{"secret file outside the secret", []edit{{file: "deployment.yaml", old: "value: /run/secrets/opsbot/webhook_token", new: "value: /etc/opsbot/webhook_token"}}, "OPSBOT_WEBHOOK_TOKEN_FILE=/etc/opsbot/webhook_token must point into a mounted Secret"},
		{"file on no mount", []edit{{file: "deployment.yaml", old: "value: /run/secrets/opsbot/db_url", new: "value: /var/run/db_url"}}, "OPSBOT_DB_FILE=/var/run/db_url points into no mounted"},
		{"secret key missing", []edit{{file: "secret.example.yaml", old: "  wecom_bot_secret: \"\"\n", new: ""}}, `Secret "opsbot-secrets" has no key "wecom_bot_secret"`},
		{"secret file var missing", []edit{{file: "deployment.yaml", drop: "- name: OPSBOT_REDIS_FILE"}}, "env OPSBOT_REDIS_FILE is missing"},
		{"literal secret", []edit{{file: "deployment.yaml", old: "- name: GOMEMLIMIT", new: "- name: OPSBOT_WECOM_SECRET\n              value: s3cret\n            - name: GOMEMLIMIT"}}, "env OPSBOT_WECOM_SECRET carries a secret"},
		{"admin on loopback", []edit{{file: "deployment.yaml", old: `value: ":9090"`, new: `value: "127.0.0.1:9090"`}}, "OPSBOT_ADMIN_ADDR must be"},
		{"admin port open", []edit{{file: "networkpolicy.yaml", old: "        - port: http\n", new: "        - port: http\n        - port: 9090\n"}}, "ingress rule 1 admits a port other than the public port"},
		{"every port open", []edit{{file: "networkpolicy.yaml", old: "    - ports:\n        - port: http\n          protocol: TCP\n", new: "    - {}\n"}}, "ingress rule 1 admits every port"},
		{"no DNS", []edit{{file: "networkpolicy.yaml", old: "- port: 53\n          protocol: UDP\n        - port: 53\n", new: "- port: 5353\n          protocol: UDP\n        - port: 5353\n"}}, "egress to DNS (port 53)"},
		{"service on admin", []edit{{file: "service.yaml", old: "targetPort: http", new: "targetPort: admin"}}, "a Service exposes only the public port"},
		{"pdb blocks drains", []edit{{file: "pdb.yaml", old: "maxUnavailable: 1", new: "minAvailable: 3"}}, "would block every node drain"},
		{"config typo", []edit{{file: "configmap.yaml", old: "log_level: info", new: "log_levle: info"}}, "field log_levle not found"},
		{"roster error", []edit{{file: "configmap.yaml", old: "role: supervisor", new: "role: boss"}}, "config staff_file"},
		{"config outside the mount", []edit{{file: "configmap.yaml", old: "oncall_file: /etc/opsbot/oncall.yaml", new: "oncall_file: /srv/oncall.yaml"}}, "oncall_file=/srv/oncall.yaml is no key"},
		{"not applied", []edit{{file: "kustomization.yaml", old: "  - pdb.yaml\n", new: ""}}, "pdb.yaml: PodDisruptionBudget opsbot: not in kustomization.yaml"},
		{"example applied", []edit{{file: "kustomization.yaml", old: "  - pdb.yaml\n", new: "  - pdb.yaml\n  - secret.example.yaml\n"}}, "must stay out of kustomization.yaml"},
		{"wrong namespace", []edit{{file: "service.yaml", old: "namespace: opsbot", new: "namespace: default"}}, `namespace "default", want "opsbot"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyManifests(t, tc.edits)
			_, err := validateDir(dir)
			if err == nil {
				t.Fatalf("accepted; want an error with %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error does not say %q:\n%v", tc.want, err)
			}
		})
	}
}

// copyManifests copies ../*.yaml to a temp folder and applies edits.
func copyManifests(t *testing.T, edits []edit) string {
	t.Helper()
	dir := t.TempDir()
	files, err := filepath.Glob("../*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		for _, e := range edits {
			if e.file != filepath.Base(f) {
				continue
			}
			switch {
			case e.drop != "":
				text = dropBlock(t, text, e.drop)
			case !strings.Contains(text, e.old):
				t.Fatalf("%s does not contain %q", e.file, e.old)
			default:
				text = strings.Replace(text, e.old, e.new, 1)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// dropBlock removes the first line containing key and the lines below it
// that are indented deeper (its YAML children).
func dropBlock(t *testing.T, text, key string) string {
	t.Helper()
	lines := strings.Split(text, "\n")
	indent := func(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }
	for i, l := range lines {
		if !strings.Contains(l, key) {
			continue
		}
		j := i + 1
		for j < len(lines) && strings.TrimSpace(lines[j]) != "" && indent(lines[j]) > indent(l) {
			j++
		}
		return strings.Join(append(lines[:i:i], lines[j:]...), "\n")
	}
	t.Fatalf("no line with %q", key)
	return ""
}
