package probe

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExampleFileLoads(t *testing.T) {
	_, err := Load("../../configs/probes.example.yaml")
	if err == nil {
		t.Fatal("the example names /run/secrets/his-db-dsn, which does not exist here; want an error naming it")
	}
	if !strings.Contains(err.Error(), "his-db") || !strings.Contains(err.Error(), "dsn_file") {
		t.Fatalf("error %q should name the probe and dsn_file", err)
	}
	// With the secret file present the example is valid.
	data, _ := os.ReadFile("../../configs/probes.example.yaml")
	secret := filepath.Join(t.TempDir(), "dsn")
	os.WriteFile(secret, []byte("sqlserver://probe:pw@127.0.0.1:1433?database=HIS\n"), 0o600)
	probes, err := Parse([]byte(strings.Replace(string(data), "/run/secrets/his-db-dsn", secret, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if len(probes) != 6 {
		t.Fatalf("got %d probes, want 6", len(probes))
	}
	byName := map[string]Probe{}
	for _, p := range probes {
		byName[p.Name] = p
	}
	web := byName["his-web"]
	if web.Interval.D() != 30*time.Second || web.Timeout.D() != 5*time.Second || web.Failures != 3 || web.Severity != "critical" ||
		web.Kind() != "http" || web.HTTP.Status != 200 || web.HTTP.Body != "登录" || web.Key() != "probe:his-web" {
		t.Errorf("his-web = %+v", web)
	}
	if db := byName["his-db"]; db.Failures != 2 || db.Database.DSN != "sqlserver://probe:pw@127.0.0.1:1433?database=HIS" {
		t.Errorf("his-db = %+v (dsn_file must be read and trimmed)", db)
	}
	if emr := byName["emr-db"]; emr.Severity != "warning" || emr.Kind() != "database" {
		t.Errorf("emr-db = %+v", emr)
	}
	if p := byName["emr-portal"]; p.Interval.D() != time.Minute || !p.HTTP.TLSSkipVerify {
		t.Errorf("emr-portal = %+v", p)
	}
}

func TestParseRefusesMistakes(t *testing.T) {
	cases := map[string]struct{ src, want string }{
		"unknown key":      {"probes:\n  - name: a\n    system: HIS\n    htp: {url: http://x}\n", "htp"},
		"no check":         {"probes:\n  - name: a\n    system: HIS\n", "exactly one"},
		"two checks":       {"probes:\n  - name: a\n    system: HIS\n    tcp: {address: 'h:1'}\n    http: {url: 'http://h'}\n", "exactly one"},
		"no system":        {"probes:\n  - name: a\n    tcp: {address: 'h:1'}\n", "system is required"},
		"no name":          {"probes:\n  - system: HIS\n    tcp: {address: 'h:1'}\n", "name is required"},
		"duplicate":        {"probes:\n  - {name: a, system: HIS, tcp: {address: 'h:1'}}\n  - {name: a, system: LIS, tcp: {address: 'h:2'}}\n", "used twice"},
		"bad address":      {"probes:\n  - {name: a, system: HIS, tcp: {address: 'h'}}\n", "host:port"},
		"bad url":          {"probes:\n  - {name: a, system: HIS, http: {url: 'ftp://h'}}\n", "http:// or https://"},
		"bad driver":       {"probes:\n  - {name: a, system: HIS, database: {driver: oracle, dsn: x}}\n", "postgres, mysql or sqlserver"},
		"dsn twice":        {"probes:\n  - {name: a, system: HIS, database: {driver: mysql, dsn: x, dsn_file: y}}\n", "one of dsn and dsn_file"},
		"timeout too long": {"probes:\n  - {name: a, system: HIS, interval: 10s, timeout: 20s, tcp: {address: 'h:1'}}\n", "at most the interval"},
		"bad duration":     {"defaults:\n  interval: soon\n", "not a duration"},
		"bad failures":     {"probes:\n  - {name: a, system: HIS, failures: -1, tcp: {address: 'h:1'}}\n", "failures"},
	}
	for name, c := range cases {
		_, err := Parse([]byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", name, err, c.want)
		}
	}
	// Every mistake is reported at once.
	_, err := Parse([]byte("probes:\n  - {name: a, system: HIS}\n  - {name: b, tcp: {address: 'h:1'}}\n"))
	if err == nil || !strings.Contains(err.Error(), "(a)") || !strings.Contains(err.Error(), "(b)") {
		t.Errorf("error %v should name both probes", err)
	}
	if probes, err := Parse(nil); err != nil || len(probes) != 0 {
		t.Errorf("empty file: %v, %v; want no probes and no error", probes, err)
	}
}
