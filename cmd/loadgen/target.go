package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

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
