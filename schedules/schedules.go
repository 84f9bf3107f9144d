// Package schedules holds opsbot's one job table: the SLA sweep (reminders,
// escalations, auto-close) and the hand-over of an absent engineer's work.
// Each job asks models what is due and hands messages to the outbox; a
// shared lock lets only one replica run a job at a time.
package schedules

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"opsbot/configs"
	"opsbot/kv"
	"opsbot/models"

	"github.com/robfig/cron/v3"
)

// Deps are what the jobs need.
type Deps struct {
	Store   *models.Store
	KV      kv.Store
	Catalog *models.Catalog
	Config  configs.Config
	OnCall  configs.OnCall
	Log     *slog.Logger
	// Owner names this replica in the job locks; empty picks a random one.
	Owner string
	// Members lists a WeCom department's userids (by name or id), for the
	// yearly survey's recipients; nil without WeCom.
	Members func(ctx context.Context, department string) ([]string, error)
	// Objects deletes purged attachments kept in a bucket; nil when the
	// database keeps them.
	Objects ObjectDeleter
	// Inspections are the routine inspection times and checklists.
	Inspections configs.Inspections
}

// ObjectDeleter removes an object from the attachment bucket.
type ObjectDeleter interface {
	Delete(ctx context.Context, key string) error
}

// Jobs runs the job table.
type Jobs struct {
	Deps
	loc *time.Location
	// beforeCommit lets a test kill a sweep half-way through.
	beforeCommit func() error
}

// Job is one row of the job table.
type Job struct {
	Name string
	// Spec is a robfig/cron spec ("@every 30s", "0 8 * * *").
	Spec string
	Run  func(ctx context.Context) error
	// Lock is how long the job's lock lives; a replica that dies holding
	// it blocks the job for at most this long.
	Lock time.Duration
	// EveryReplica runs the job on each replica (its lock is the
	// replica's own): it refreshes what a replica holds in memory.
	EveryReplica bool
}

// New builds the jobs.
func New(d Deps) *Jobs {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Owner == "" {
		b := make([]byte, 8)
		rand.Read(b)
		d.Owner = hex.EncodeToString(b)
	}
	return &Jobs{Deps: d, loc: d.Config.Location()}
}

// Table is the one job table, read top to bottom.
func (j *Jobs) Table() []Job {
	return append([]Job{
		{Name: "sla-sweep", Spec: "@every 30s", Run: j.Sweep, Lock: 2 * time.Minute},
		{Name: "leave-handover", Spec: "@every 1m", Run: j.HandOverAbsent, Lock: 2 * time.Minute},
		{Name: "rating-sweep", Spec: "@every 1m", Run: j.SweepRatings, Lock: 2 * time.Minute},
		{Name: "monthly-report", Spec: "0 9 1 * *", Run: j.MonthlyReport, Lock: 10 * time.Minute},
		{Name: "report-build", Spec: "@every 30s", Run: j.BuildReports, Lock: 10 * time.Minute},
		{Name: "survey", Spec: "@every 1m", Run: j.Survey, Lock: 5 * time.Minute},
		{Name: "incident-report-reminders", Spec: "@every 10m", Run: j.RemindIncidentReports, Lock: 2 * time.Minute},
		{Name: "change-notices", Spec: "@every 5m", Run: j.NoticeChanges, Lock: 2 * time.Minute},
		{Name: "calendar-check", Spec: "0 9 * * *", Run: j.CheckCalendar, Lock: time.Minute},
		{Name: "retention", Spec: "30 3 * * *", Run: j.Retention, Lock: 10 * time.Minute},
		{Name: "learned-aliases", Spec: "@every 1m", Run: j.RefreshLearned, Lock: time.Minute, EveryReplica: true},
	}, j.InspectionJobs()...)
}

// Start schedules the table on a cron in the hospital's time zone; a run
// that is still going when its next turn comes is skipped, and a panic is
// recovered and logged. Stop the returned cron to end.
func (j *Jobs) Start(ctx context.Context) (*cron.Cron, error) {
	logger := cronLogger{j.Log}
	c := cron.New(cron.WithLocation(j.loc), cron.WithChain(cron.Recover(logger), cron.SkipIfStillRunning(logger)))
	table := j.Table()
	for name := range j.Config.Jobs {
		if !slices.ContainsFunc(table, func(job Job) bool { return job.Name == name }) {
			return nil, fmt.Errorf("jobs.%s: no such job (see schedules.Table)", name)
		}
	}
	for _, job := range table {
		if spec, ok := j.Config.Jobs[job.Name]; ok {
			job.Spec = spec
		}
		if _, err := c.AddFunc(job.Spec, func() { j.RunGuarded(ctx, job) }); err != nil {
			return nil, fmt.Errorf("job %s: %w", job.Name, err)
		}
	}
	c.Start()
	return c, nil
}

// RunGuarded runs job when this replica gets its lock; another replica
// holding the lock means the job is being done, so this run is skipped.
func (j *Jobs) RunGuarded(ctx context.Context, job Job) bool {
	key := "job:" + job.Name
	if job.EveryReplica {
		key += ":" + j.Owner
	}
	ok, err := j.KV.Lock(ctx, key, j.Owner, job.Lock)
	if err != nil {
		// Without the lock service the database still keeps every reminder
		// to one sending (unique rows, row locks): run rather than stall.
		j.Log.Warn("job lock unavailable, running unguarded", "job", job.Name, "err", err)
	} else if !ok {
		return false
	}
	defer j.KV.Unlock(context.WithoutCancel(ctx), key, j.Owner)
	start := time.Now()
	if err := job.Run(ctx); err != nil && ctx.Err() == nil {
		j.Log.Error("job failed", "job", job.Name, "err", err)
	} else {
		j.Log.Debug("job done", "job", job.Name, "took", time.Since(start))
	}
	return true
}

// cronLogger adapts slog to robfig/cron's logger.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}

// purgePage bounds one delete, so that the purge never holds many rows
// locked at once.
var purgePage = 5000

// Retention deletes what opsbot no longer needs and may name patients
// (个人信息保护法: minimum retention): WeCom messages processed more than
// inbox.keep ago, sent or failed outgoing messages older than outbox.keep,
// conversations that expired, and attachments older than attachments.keep
// whose ticket is closed or cancelled (or that never joined a ticket). Unprocessed and unsent rows stay; ticket
// text stays, it is the record.
func (j *Jobs) Retention(ctx context.Context) error {
	now := j.Store.Now()
	inbox, err := purgeAll(func() (int64, error) { return j.Store.PurgeInbox(ctx, now.Add(-j.Config.Inbox.Keep.D()), purgePage) })
	if err != nil {
		return err
	}
	outbox, err := purgeAll(func() (int64, error) { return j.Store.PurgeOutbox(ctx, now.Add(-j.Config.Outbox.Keep.D()), purgePage) })
	if err != nil {
		return err
	}
	convs, err := j.Store.PurgeConversations(ctx, now)
	if err != nil {
		return err
	}
	files, err := purgeAll(func() (int64, error) {
		n, keys, err := j.Store.PurgeAttachments(ctx, now.Add(-j.Config.Attachments.Keep.D()), purgePage)
		for _, k := range keys {
			if j.Objects == nil {
				break
			}
			if derr := j.Objects.Delete(ctx, k); derr != nil {
				j.Log.Warn("cannot delete a purged attachment from the bucket", "job", "retention", "key", k, "err", derr)
			}
		}
		return n, err
	})
	if err != nil {
		return err
	}
	if inbox+outbox+convs+files > 0 {
		j.Log.Info("retention", "job", "retention", "inbox", inbox, "outbox", outbox, "conversations", convs, "attachments", files)
	}
	return nil
}

// RefreshLearned loads the learned aliases (改系统) into this replica's
// catalog, so a correction made on another replica is recognised here too.
func (j *Jobs) RefreshLearned(ctx context.Context) error {
	if j.Catalog == nil {
		return nil
	}
	phrases, err := j.Store.LearnedPhrases(ctx)
	if err != nil {
		return err
	}
	j.Catalog.SetLearned(phrases)
	return nil
}

// purgeAll calls purge a page at a time until a page comes back short.
func purgeAll(purge func() (int64, error)) (int64, error) {
	var total int64
	for {
		n, err := purge()
		total += n
		if err != nil || n < int64(purgePage) {
			return total, err
		}
	}
}

// CheckCalendar warns every morning, from 1 December, while next year's
// statutory holidays are unknown: deadlines in January would be counted on
// a calendar without its holidays and make-up workdays.
func (j *Jobs) CheckCalendar(ctx context.Context) error {
	if year, missing := j.Store.SLA().Clock().Calendar().MissingYear(j.Store.Now()); missing {
		j.Log.Warn("statutory holidays unknown: add them to configs/calendar.yaml (docs/sla.md)", "job", "calendar-check", "year", year)
	}
	return nil
}
