package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"opsbot/bot"
	"opsbot/bucket"
	"opsbot/configs"
	"opsbot/handlers"
	"opsbot/kv"
	"opsbot/models"
	"opsbot/schedules"
)

// app is opsbot wired together: config → DB → Redis → catalog and roster →
// handlers. serve and chat add the WeCom edge, the sender and the jobs.
type app struct {
	cfg      configs.Config
	log      *slog.Logger
	sla      models.SLAPolicy
	store    *models.Store
	kv       kv.Store
	catalog  *models.Catalog
	handlers *handlers.Handlers
	jobs     *schedules.Jobs
	// bucket keeps attachments when configured (attachments.s3); nil: the database.
	bucket *bucket.Bucket
	// clock is time.Now; tests move it.
	clock func() time.Time
	// getenv reads the environment (debug switches outside the config).
	getenv func(string) string
}

// loadConfig reads and validates the configuration.
func loadConfig(e env) (configs.Config, error) {
	cfg, err := configs.Load(e.getenv)
	if err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("配置有误 (invalid configuration):\n%w", err)
	}
	return cfg, nil
}

// newLogger logs JSON to w at the configured level.
func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// openStore opens and migrates the database.
func openStore(ctx context.Context, cfg configs.Config, log *slog.Logger, sla models.SLAPolicy) (*models.Store, error) {
	driver, dsn := cfg.Database()
	store, err := models.Open(ctx, driver, dsn, models.Options{SLA: sla, Reminders: cfg.Reminders, AutoClose: cfg.Ticket.AutoClose.D()})
	if err != nil {
		return nil, err
	}
	n, err := store.Migrate(ctx)
	if err != nil {
		store.Close()
		return nil, err
	}
	if n > 0 {
		log.Info("database migrated", "steps", n, "driver", driver)
	}
	return store, nil
}

// openApp wires opsbot; source marks where its tickets come from.
func openApp(ctx context.Context, e env, source models.Source, log *slog.Logger) (*app, error) {
	cfg, err := loadConfig(e)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = newLogger(e.stderr, cfg.LogLevel)
	}
	a := &app{cfg: cfg, log: log, getenv: e.getenv}
	if a.sla, err = models.LoadSLA(cfg.SLA, cfg.Location()); err != nil {
		return nil, err
	}
	if a.store, err = openStore(ctx, cfg, log, a.sla); err != nil {
		return nil, err
	}
	if a.kv, err = openKV(ctx, cfg); err != nil {
		a.close()
		return nil, err
	}
	if a.catalog, err = loadCatalog(ctx, cfg, a.store); err != nil {
		a.close()
		return nil, err
	}
	if err := a.syncRoster(ctx); err != nil {
		a.close()
		return nil, err
	}
	oncall, err := a.loadOnCall()
	if err != nil {
		a.close()
		return nil, err
	}
	a.handlers = handlers.New(handlers.Deps{Store: a.store, KV: a.kv, Catalog: a.catalog, Config: cfg, OnCall: oncall,
		PhoneGateway: cfg.Phone.GatewayURL != "", Log: log, Source: source})
	a.jobs = schedules.New(schedules.Deps{Store: a.store, KV: a.kv, Catalog: a.catalog, Config: cfg, OnCall: oncall, Log: log})
	if err := a.openAttachments(ctx); err != nil {
		a.close()
		return nil, err
	}
	return a, nil
}

// loadOnCall reads the rota: the configured file, configs/oncall.yaml, or
// (only without WeCom, for demos) the example. With none, reminders meant
// for the on-call engineer go to the supervisors.
func (a *app) loadOnCall() (configs.OnCall, error) {
	path := a.cfg.OnCallFile
	if path == "" {
		if _, err := os.Stat(configs.DefaultOnCallFile); err == nil {
			path = configs.DefaultOnCallFile
		} else if a.cfg.WeCom.Enabled() {
			a.log.Warn("no on-call rota: on-call reminders go to the supervisors", "file", configs.DefaultOnCallFile)
			return configs.OnCall{}, nil
		}
	}
	o, err := configs.LoadOnCall(path)
	if err != nil {
		return o, err
	}
	err = a.store.View(context.Background(), func(tx *models.Tx) error {
		team, err := tx.Team()
		if err != nil {
			return err
		}
		for _, id := range o.UserIDs() {
			if s, ok := team.Member(id); !ok || !s.Active {
				a.log.Warn("on-call rota names someone not in the roster", "file", o.Source, "wecom_user", id)
			}
		}
		return nil
	})
	return o, err
}

// syncRoster loads the staff file into the staff table.
func (a *app) syncRoster(ctx context.Context) error {
	path := a.cfg.StaffFile
	if path == "" {
		if _, err := os.Stat(configs.DefaultStaffFile); err == nil {
			path = configs.DefaultStaffFile
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	roster, err := configs.LoadStaff(path)
	if err != nil {
		return err
	}
	if path == "" {
		a.log.Warn("no staff file: using the example roster (demo only)", "file", roster.Source)
	}
	res, err := a.store.SyncStaff(ctx, roster, a.catalog.Resolve)
	if err != nil {
		return err
	}
	a.log.Info("roster loaded", "file", roster.Source, "added", res.Added, "updated", res.Updated, "deactivated", res.Deactivated)
	return nil
}

func (a *app) close() {
	if a.kv != nil {
		a.kv.Close()
	}
	if a.store != nil {
		a.store.Close()
	}
}

// now is the wall clock in the hospital's zone.
func (a *app) now() time.Time {
	loc := a.sla.Clock().Location()
	if a.clock != nil {
		return a.clock().In(loc)
	}
	return time.Now().In(loc)
}

// openKV opens the shared state: Redis when configured, else the
// in-process store (one instance only).
func openKV(ctx context.Context, cfg configs.Config) (kv.Store, error) {
	if cfg.Redis == "" {
		return kv.NewMemory(nil), nil
	}
	r, err := kv.OpenRedis(ctx, cfg.Redis, cfg.RedisPrefix)
	if err != nil {
		return nil, err // not a nil *Redis inside the interface
	}
	return r, nil
}

// eachPending hands take the messages accepted before before and never
// processed, oldest first, a page at a time, until none is left or take
// refuses one. An unreadable row is logged and passed over.
func (a *app) eachPending(ctx context.Context, before time.Time, page int, take func(bot.Incoming) bool) error {
	var after int64
	for {
		rows, err := a.store.PendingInbox(ctx, before, after, page)
		if err != nil {
			return err
		}
		for _, r := range rows {
			after = r.ID
			msg, err := handlers.Decode(r)
			if err != nil {
				a.log.Error("unreadable inbox row", "msg_key", r.Key, "err", err)
				continue
			}
			if !take(msg) {
				return nil
			}
		}
		if len(rows) < page {
			return nil
		}
	}
}
