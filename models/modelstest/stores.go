// Package modelstest opens real, freshly migrated stores for tests: an
// embedded SQLite file and a private schema on the real PostgreSQL.
package modelstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"opsbot/configs"
	"opsbot/models"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// PostgresURL is the server tests use; OPSBOT_TEST_POSTGRES overrides it.
func PostgresURL() string {
	if u := os.Getenv("OPSBOT_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// RedisURL is the Redis tests use; OPSBOT_TEST_REDIS overrides it.
func RedisURL() string {
	if u := os.Getenv("OPSBOT_TEST_REDIS"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// Unreachable skips the test when a real service is missing, except in CI
// (CI=true), where a missing service fails the test instead of hiding it.
func Unreachable(t testing.TB, what string, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required in CI but unreachable: %v", what, err)
	}
	t.Skipf("%s unreachable, skipping: %v", what, err)
}

// Each runs body as a subtest against each database.
func Each(t *testing.T, opt models.Options, body func(t *testing.T, s *models.Store)) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			var s *models.Store
			if db == "sqlite" {
				s = SQLite(t, opt)
			} else {
				s = Postgres(t, opt)
			}
			body(t, s)
		})
	}
}

// Shanghai is the hospital's time zone.
var Shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}()

// DefaultSLA is the contract's default policy on the statutory calendar.
func DefaultSLA(t testing.TB) models.SLAPolicy {
	t.Helper()
	p, err := models.LoadSLA(configs.DefaultSLA(), Shanghai)
	if err != nil {
		t.Fatalf("default SLA: %v", err)
	}
	return p
}

func withDefaults(t testing.TB, opt models.Options) models.Options {
	if !opt.SLA.Ready() {
		opt.SLA = DefaultSLA(t)
	}
	return opt
}

// SQLite opens a migrated store in a temporary file.
func SQLite(t testing.TB, opt models.Options) *models.Store {
	t.Helper()
	opt = withDefaults(t, opt)
	path := filepath.Join(t.TempDir(), "opsbot.db")
	s, err := models.Open(context.Background(), "sqlite", path, opt)
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate sqlite: %v", err)
	}
	return s
}

// Postgres opens a migrated store in a private schema that is dropped
// after the test.
func Postgres(t testing.TB, opt models.Options) *models.Store {
	t.Helper()
	opt = withDefaults(t, opt)
	dsn, cleanup, err := FreshSchema(PostgresURL())
	if err != nil {
		Unreachable(t, "PostgreSQL", err)
	}
	t.Cleanup(cleanup)
	s, err := models.Open(context.Background(), "postgres", dsn, opt)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate postgres: %v", err)
	}
	return s
}

// FreshSchema creates an empty schema on the server at base and returns a
// DSN whose search_path points at it, and a function that drops it.
func FreshSchema(base string) (dsn string, drop func(), err error) {
	admin, err := gorm.Open(postgres.Open(base), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return "", nil, err
	}
	sqlDB, _ := admin.DB()
	if err := sqlDB.Ping(); err != nil {
		sqlDB.Close()
		return "", nil, err
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if err := admin.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		sqlDB.Close()
		return "", nil, err
	}
	u, err := url.Parse(base)
	if err != nil {
		sqlDB.Close()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), func() {
		admin.Exec(fmt.Sprintf("DROP SCHEMA %s CASCADE", schema))
		sqlDB.Close()
	}, nil
}
