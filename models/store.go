package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"opsbot/configs"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"
)

// Store persists the domain through GORM on PostgreSQL or embedded SQLite.
type Store struct {
	db     *gorm.DB
	driver string
	now    func() time.Time
	sla    SLAPolicy
	rem    ReminderPolicy
}

// Options are what a Store needs besides the database.
type Options struct {
	// Now is the clock; nil means time.Now. Tests move it by hand.
	Now func() time.Time
	// SLA computes deadlines.
	SLA SLAPolicy
	// Reminders are the reminder levels; AutoClose how long a resolved
	// ticket waits for the reporter's confirmation (0: never).
	Reminders configs.Reminders
	AutoClose time.Duration
}

// Open connects to the database: driver "postgres" with a postgres:// URL,
// or "sqlite" with a file path (its folder is created). It does not migrate.
func Open(ctx context.Context, driver, dsn string, opt Options) (*Store, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	var dial gorm.Dialector
	switch driver {
	case "postgres":
		dial = postgres.Open(dsn)
	case "sqlite":
		if dir := filepath.Dir(dsn); dir != "." {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("database folder: %w", err)
			}
		}
		// WAL lets readers run beside the writer; immediate transactions take
		// the write lock up front so two writers wait instead of deadlocking.
		dial = sqlite.Open("file:" + dsn + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	default:
		return nil, fmt.Errorf("unknown database driver %q", driver)
	}
	db, err := gorm.Open(dial, &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return opt.Now().UTC() },
		TranslateError:         true,
	})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", driver, redact(err, dsn))
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	if driver == "sqlite" {
		// One connection: SQLite has one writer anyway, and a single
		// connection never meets SQLITE_BUSY.
		sqlDB.SetMaxOpenConns(1)
	} else {
		sqlDB.SetMaxOpenConns(32)
		sqlDB.SetMaxIdleConns(32)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("connect to %s: %w", driver, redact(err, dsn))
	}
	rem := ReminderPolicy{SLA: opt.SLA, Levels: opt.Reminders, AutoClose: opt.AutoClose}
	return &Store{db: db, driver: driver, now: opt.Now, sla: opt.SLA, rem: rem}, nil
}

// redact keeps a DSN's password out of an error.
func redact(err error, dsn string) error {
	msg := err.Error()
	if i := strings.Index(dsn, "://"); i >= 0 {
		if at := strings.Index(dsn[i+3:], "@"); at >= 0 {
			userinfo := dsn[i+3 : i+3+at]
			if c := strings.Index(userinfo, ":"); c >= 0 {
				msg = strings.ReplaceAll(msg, userinfo[c+1:], "***")
			}
		}
	}
	return errors.New(msg)
}

// Driver names the database: "postgres" or "sqlite".
func (s *Store) Driver() string { return s.driver }

// Now is the store's clock.
func (s *Store) Now() time.Time { return s.now() }

// SLA returns the deadline policy the store applies.
func (s *Store) SLA() SLAPolicy { return s.sla }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Close releases the connections.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Tx is one transaction: every domain change and the messages it causes
// are written through it together or not at all.
type Tx struct {
	db  *gorm.DB
	s   *Store
	now time.Time
	// b is the batch this Tx is a savepoint of (nil outside a batch) and
	// sp the savepoint's number.
	b  *Batch
	sp int
}

// Now is the instant the transaction acts at (UTC).
func (tx *Tx) Now() time.Time { return tx.now }

// Update runs fn in its own read-write transaction; fn's error rolls it
// back. To share a commit with other changes, use Batch.Update instead.
func (s *Store) Update(ctx context.Context, fn func(*Tx) error) error {
	return s.db.WithContext(ctx).Transaction(func(g *gorm.DB) error {
		return fn(&Tx{db: g, s: s, now: s.now().UTC()})
	})
}

// View runs fn with a consistent read. It uses a transaction too, so the
// same Tx methods serve both.
func (s *Store) View(ctx context.Context, fn func(*Tx) error) error {
	return s.Update(ctx, fn)
}

// Batch is one transaction shared by many changes (group commit): each
// Batch.Update is a savepoint of it, so one failing change is rolled back
// alone while the others commit together. It is passed explicitly to
// whatever writes through it; nothing else changes meaning inside a batch.
//
// A round trip to the database costs more than the statement it carries,
// so a batch saves them where it can: the inbox rows of its messages are
// claimed with one statement up front, and ticket events and outgoing
// messages (rows that are only appended) are held back and inserted
// together, each table in one statement, at the end of the batch or
// before anything reads them.
//
// On SQLite (one connection, one writer) a batch holds no transaction of
// its own: each Batch.Update is a transaction.
type Batch struct {
	s   *Store
	ctx context.Context
	db  *gorm.DB // nil on SQLite
	n   int
	// claims holds the inbox keys claimed up front: claimFree while no
	// change has used the claim, then the number of the savepoint that
	// did; claimedElsewhere for a key the batch could not claim.
	claims map[string]int
	events []held[TicketEvent]
	sends  []held[OutboxMessage]
}

const (
	claimFree        = 0
	claimedElsewhere = -1
)

// held is an appended row not yet written: owner is the savepoint that
// made it, flushedIn the savepoint in which it was written (0: not yet).
type held[T any] struct {
	row              T
	owner, flushedIn int
}

// Batch runs fn with one transaction that every b.Update joins as a
// savepoint, so many small changes share one commit: what lets tickets be
// created at the rate of the database's commits rather than one commit
// each. The inbox rows of claim are claimed first, in one statement; a
// claim no change used (its message failed) is given back before the
// commit. If the commit fails, all of fn's changes are gone and fn's
// callers must retry. b.Update calls must not run concurrently: they share
// one connection and its savepoints. Nothing in fn may wait on the network:
// the transaction holds its row locks until the commit.
func (s *Store) Batch(ctx context.Context, claim []string, fn func(b *Batch) error) error {
	if s.driver == "sqlite" {
		return fn(&Batch{s: s, ctx: ctx})
	}
	return s.db.WithContext(ctx).Transaction(func(g *gorm.DB) error {
		b := &Batch{s: s, ctx: ctx, db: g}
		if err := b.claim(s.now().UTC(), claim); err != nil {
			return err
		}
		if err := fn(b); err != nil {
			return err
		}
		if err := b.flush(0); err != nil {
			return err
		}
		return b.release()
	})
}

// Context is the context the batch was opened with.
func (b *Batch) Context() context.Context { return b.ctx }

// Update runs fn inside the batch: fn's error rolls back only its own
// work, so one failing message does not undo the others.
func (b *Batch) Update(fn func(*Tx) error) error {
	if b.db == nil {
		return b.s.Update(b.ctx, fn)
	}
	b.n++
	name := fmt.Sprintf("sp%d", b.n)
	if err := b.db.SavePoint(name).Error; err != nil {
		return wrap("savepoint", err)
	}
	if err := fn(&Tx{db: b.db, s: b.s, now: b.s.now().UTC(), b: b, sp: b.n}); err != nil {
		if rerr := b.db.RollbackTo(name).Error; rerr != nil {
			return errors.Join(err, wrap("rollback to savepoint", rerr))
		}
		b.undo(b.n)
		return err
	}
	return nil
}

// undo forgets what savepoint sp did in memory, as ROLLBACK TO did in the
// database: its held rows are dropped, its claims are free again, and rows
// of earlier savepoints that it wrote are held again.
func (b *Batch) undo(sp int) {
	b.events = undoHeld(b.events, sp)
	b.sends = undoHeld(b.sends, sp)
	for k, by := range b.claims {
		if by == sp {
			b.claims[k] = claimFree
		}
	}
}

func undoHeld[T any](rows []held[T], sp int) []held[T] {
	kept := rows[:0]
	for _, r := range rows {
		if r.owner == sp {
			continue
		}
		if r.flushedIn == sp {
			r.flushedIn = 0
		}
		kept = append(kept, r)
	}
	return kept
}

// flush writes the held rows, one statement per table; sp is the
// savepoint it runs in (0: the batch itself).
func (b *Batch) flush(sp int) error {
	if err := flushHeld(b.events, sp, func(rows []TicketEvent) error {
		return wrap("event", b.db.Create(&rows).Error)
	}); err != nil {
		return err
	}
	return flushHeld(b.sends, sp, func(rows []OutboxMessage) error {
		return wrap("send", b.db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "msg_key"}}, DoNothing: true}).Create(&rows).Error)
	})
}

func flushHeld[T any](rows []held[T], sp int, insert func([]T) error) error {
	var out []T
	var idx []int
	for i, r := range rows {
		if r.flushedIn == 0 {
			out = append(out, r.row)
			idx = append(idx, i)
		}
	}
	if len(out) == 0 {
		return nil
	}
	if err := insert(out); err != nil {
		return err
	}
	for _, i := range idx {
		rows[i].flushedIn = sp
	}
	return nil
}

// flush writes what the batch holds back before tx reads a table of
// appended rows; outside a batch there is nothing to write.
func (tx *Tx) flush() error {
	if tx.b == nil {
		return nil
	}
	return tx.b.flush(tx.sp)
}

// claim marks the inbox rows of keys processed. The rows are locked in id
// order, so two batches claiming the same messages wait for each other
// instead of deadlocking.
func (b *Batch) claim(now time.Time, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	fitted := make([]string, len(keys))
	b.claims = make(map[string]int, len(keys))
	for i, k := range keys {
		fitted[i] = fitKey(k)
		b.claims[fitted[i]] = claimedElsewhere
	}
	var got []string
	// The rows are found and locked through the unique key alone, in a
	// materialised step, and "not yet processed" is checked on what that
	// step returns. Written as a plain UPDATE with "processed_at IS NULL",
	// Postgres may read the rows through the partial index of unprocessed
	// rows, full of dead entries after a burst (6–9 ms a claim instead of
	// 0.3; seen with auto_explain after 20,000 and 60,000 reports).
	err := b.db.Raw(`WITH k AS MATERIALIZED (SELECT id, processed_at FROM inbox WHERE msg_key IN ? ORDER BY id FOR UPDATE)
UPDATE inbox SET processed_at = ? FROM k WHERE inbox.id = k.id AND k.processed_at IS NULL RETURNING inbox.msg_key`, fitted, now).Scan(&got).Error
	if err != nil {
		return wrap("claim inbox", err)
	}
	for _, k := range got {
		b.claims[k] = claimFree
	}
	return nil
}

// release gives back the claims no change used.
func (b *Batch) release() error {
	var free []string
	for k, by := range b.claims {
		if by == claimFree {
			free = append(free, k)
		}
	}
	if len(free) == 0 {
		return nil
	}
	return wrap("release inbox", b.db.Exec(`UPDATE inbox SET processed_at = NULL WHERE msg_key IN ?`, free).Error)
}

// startupLock serialises the syncs every replica runs at start (catalog,
// roster) on PostgreSQL, under the migrations' advisory lock: replicas
// starting together would otherwise both find a row missing and both
// insert it, and one would exit on the unique key.
func (tx *Tx) startupLock() error {
	if tx.s.driver != "postgres" {
		return nil
	}
	return wrap("startup lock", tx.db.Exec(`SELECT pg_advisory_xact_lock(7202611)`).Error)
}

// InOneProcess keeps the rest of the transaction's queries in its own
// Postgres process, without parallel workers, for work that runs beside
// other work of its own: the reports compute their figures while their
// ticket sheet streams, and workers there only took the cores from the
// sheet (a year's report: 10.5 s on average with them, 9.1 s without,
// six runs each). SQLite has no workers.
func (tx *Tx) InOneProcess() error {
	if tx.s.driver != "postgres" {
		return nil
	}
	return wrap("one process", tx.db.Exec(`SET LOCAL max_parallel_workers_per_gather = 0`).Error)
}

// forUpdate locks selected rows on Postgres; SQLite ignores it (its
// immediate transactions already hold the write lock).
func (tx *Tx) forUpdate() *gorm.DB {
	return tx.db.Clauses(clause.Locking{Strength: "UPDATE"})
}

// wrap adds context to an internal error, leaving user-facing ones alone.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// maxKey is the width of the idempotency key columns.
const maxKey = 200

// fitKey keeps an idempotency key within its column: a longer key (an
// event key can be long) is replaced by its prefix and a hash of the whole.
func fitKey(k string) string {
	if len(k) <= maxKey {
		return k
	}
	sum := sha256.Sum256([]byte(k))
	return k[:maxKey-65] + "#" + hex.EncodeToString(sum[:])
}
