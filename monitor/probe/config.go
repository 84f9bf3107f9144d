// Package probe runs opsbot's built-in checks for hospitals without a
// monitoring stack: HTTP, TCP and database (SELECT 1) probes per system,
// read from configs/probes.yaml. A probe that fails N times in a row fires
// one monitor.Alert; its first success after that resolves it.
package probe

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"opsbot/configs"
)

// Defaults of a probe that does not set its own.
const (
	DefaultInterval = 30 * time.Second
	DefaultTimeout  = 5 * time.Second
	DefaultFailures = 3
	DefaultSeverity = "critical"
	DefaultQuery    = "SELECT 1"
)

// Database drivers a probe may name.
const (
	DriverPostgres  = "postgres"
	DriverMySQL     = "mysql"
	DriverSQLServer = "sqlserver"
)

// File is the probes file (configs/probes.example.yaml shows one).
type File struct {
	Defaults Settings `yaml:"defaults"`
	Probes   []Probe  `yaml:"probes"`
}

// Settings are the timing and severity a probe takes from defaults when
// it leaves them out.
type Settings struct {
	Interval configs.Duration `yaml:"interval"`
	Timeout  configs.Duration `yaml:"timeout"`
	// Failures is how many failed checks in a row fire the alert.
	Failures int    `yaml:"failures"`
	Severity string `yaml:"severity"`
}

// Probe is one check of one system; exactly one of HTTP, TCP and Database is set.
type Probe struct {
	Name     string `yaml:"name"`
	System   string `yaml:"system"`
	Settings `yaml:",inline"`

	HTTP     *HTTPCheck     `yaml:"http"`
	TCP      *TCPCheck      `yaml:"tcp"`
	Database *DatabaseCheck `yaml:"database"`
}

// HTTPCheck passes when a GET of URL answers Status (any 2xx when 0) and,
// if Body is set, the response contains it.
type HTTPCheck struct {
	URL    string `yaml:"url"`
	Status int    `yaml:"status"`
	Body   string `yaml:"body"`
	// TLSSkipVerify accepts any certificate, for intranet systems with
	// self-signed ones.
	TLSSkipVerify bool `yaml:"tls_skip_verify"`
}

// TCPCheck passes when a connection to Address (host:port) opens.
type TCPCheck struct {
	Address string `yaml:"address"`
}

// DatabaseCheck passes when Query (default SELECT 1) runs on a fresh
// connection. The DSN is given inline or, better for a password, in a file.
type DatabaseCheck struct {
	Driver  string `yaml:"driver"` // postgres, mysql or sqlserver
	DSN     string `yaml:"dsn"`
	DSNFile string `yaml:"dsn_file"`
	Query   string `yaml:"query"`
}

// Kind names the probe's check: http, tcp or database.
func (p Probe) Kind() string {
	switch {
	case p.HTTP != nil:
		return "http"
	case p.TCP != nil:
		return "tcp"
	case p.Database != nil:
		return "database"
	}
	return ""
}

// Key is the alert key of the probe, "probe:<name>".
func (p Probe) Key() string { return "probe:" + p.Name }

// Load reads a probes file, applies the defaults and checks every probe.
func Load(path string) ([]Probe, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("probes file: %w", err)
	}
	probes, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("probes file %s: %w", path, err)
	}
	return probes, nil
}

// Parse decodes a probes file strictly (unknown keys are errors), fills
// defaults, reads dsn_file and checks every probe; it reports all problems
// at once.
func Parse(data []byte) ([]Probe, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) /* an empty file: no probes */ {
		return nil, fmt.Errorf("parse: %w", err)
	}
	def := f.Defaults.withDefaults(Settings{
		Interval: configs.Duration(DefaultInterval), Timeout: configs.Duration(DefaultTimeout),
		Failures: DefaultFailures, Severity: DefaultSeverity,
	})
	if err := def.check(); err != nil {
		return nil, fmt.Errorf("defaults: %w", err)
	}
	var errs []error
	seen := map[string]bool{}
	out := make([]Probe, 0, len(f.Probes))
	for i, p := range f.Probes {
		p.Name = strings.TrimSpace(p.Name)
		p.System = strings.TrimSpace(p.System)
		p.Settings = p.Settings.withDefaults(def)
		where := fmt.Sprintf("probes[%d]", i)
		if p.Name != "" {
			where += " (" + p.Name + ")"
		}
		if err := p.check(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		if seen[p.Name] {
			errs = append(errs, fmt.Errorf("%s: name %q is used twice", where, p.Name))
			continue
		}
		seen[p.Name] = true
		if d := p.Database; d != nil && d.DSNFile != "" {
			b, err := os.ReadFile(d.DSNFile)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: dsn_file: %w", where, err))
				continue
			}
			d.DSN = strings.TrimSpace(string(b))
		}
		out = append(out, p)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

func (s Settings) withDefaults(def Settings) Settings {
	if s.Interval == 0 {
		s.Interval = def.Interval
	}
	if s.Timeout == 0 {
		s.Timeout = def.Timeout
	}
	if s.Failures == 0 {
		s.Failures = def.Failures
	}
	s.Severity = strings.ToLower(strings.TrimSpace(s.Severity))
	if s.Severity == "" {
		s.Severity = def.Severity
	}
	return s
}

func (s Settings) check() error {
	switch {
	case s.Interval.D() < time.Second:
		return fmt.Errorf("interval %s is shorter than 1s", s.Interval)
	case s.Timeout.D() <= 0 || s.Timeout.D() > s.Interval.D():
		return fmt.Errorf("timeout %s must be positive and at most the interval %s", s.Timeout, s.Interval)
	case s.Failures < 1 || s.Failures > 100:
		return fmt.Errorf("failures %d must be between 1 and 100", s.Failures)
	}
	return nil
}

func (p Probe) check() error {
	if p.Name == "" {
		return errors.New("name is required")
	}
	if p.System == "" {
		return errors.New("system is required")
	}
	if err := p.Settings.check(); err != nil {
		return err
	}
	n := 0
	for _, set := range []bool{p.HTTP != nil, p.TCP != nil, p.Database != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return errors.New("set exactly one of http, tcp and database")
	}
	switch {
	case p.HTTP != nil:
		u, err := url.Parse(p.HTTP.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("http.url %q must be an http:// or https:// URL", p.HTTP.URL)
		}
		if p.HTTP.Status != 0 && (p.HTTP.Status < 100 || p.HTTP.Status > 599) {
			return fmt.Errorf("http.status %d is not an HTTP status", p.HTTP.Status)
		}
	case p.TCP != nil:
		host, port, err := net.SplitHostPort(p.TCP.Address)
		if err != nil || host == "" || port == "" {
			return fmt.Errorf("tcp.address %q must be host:port", p.TCP.Address)
		}
	case p.Database != nil:
		d := p.Database
		if _, ok := sqlDrivers[d.Driver]; !ok {
			return fmt.Errorf("database.driver %q must be postgres, mysql or sqlserver", d.Driver)
		}
		if (d.DSN == "") == (d.DSNFile == "") {
			return errors.New("database: set one of dsn and dsn_file")
		}
	}
	return nil
}
