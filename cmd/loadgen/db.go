package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// execSQL runs statements on a short-lived connection.
func execSQL(ctx context.Context, dsn string, stmts ...string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// runKeys bounds the inbox keys of this run: msg:<MsgId> for MsgIds
// msgBase … msgBase+n-1. MsgIds of one run have the same number of digits,
// so the text range is the numeric range.
type runKeys struct {
	lo, hi  string
	msgBase int64
	n       int
}

func newRunKeys(msgBase int64, n int) runKeys {
	return runKeys{lo: "msg:" + strconv.FormatInt(msgBase, 10), hi: "msg:" + strconv.FormatInt(msgBase+int64(n-1), 10), msgBase: msgBase, n: n}
}

// index is the report a key belongs to, or -1.
func (k runKeys) index(key string) int {
	id, err := strconv.ParseInt(strings.TrimPrefix(key, "msg:"), 10, 64)
	if err != nil || !strings.HasPrefix(key, "msg:") || id < k.msgBase || id >= k.msgBase+int64(k.n) {
		return -1
	}
	return int(id - k.msgBase)
}

// countTickets counts the tickets this run's messages created; it is the
// cheap query polled while waiting.
func countTickets(ctx context.Context, conn *pgx.Conn, k runKeys) (int, error) {
	var n int
	err := conn.QueryRow(ctx, "SELECT count(*) FROM tickets WHERE source_key BETWEEN $1 AND $2 AND length(source_key) = $3", k.lo, k.hi, len(k.lo)).Scan(&n)
	return n, err
}

// ticketRow is a ticket of the run.
type ticketRow struct {
	id          int64
	sourceKey   string
	description string
	createdAt   time.Time
}

func runTickets(ctx context.Context, conn *pgx.Conn, k runKeys) ([]ticketRow, error) {
	rows, err := conn.Query(ctx, "SELECT id, source_key, description, created_at FROM tickets WHERE source_key BETWEEN $1 AND $2 AND length(source_key) = $3", k.lo, k.hi, len(k.lo))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ticketRow
	for rows.Next() {
		var t ticketRow
		if err := rows.Scan(&t.id, &t.sourceKey, &t.description, &t.createdAt); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// inboxStats counts the run's inbox rows and those not processed yet.
func inboxStats(ctx context.Context, conn *pgx.Conn, k runKeys) (stored, unprocessed, retried int, err error) {
	err = conn.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE processed_at IS NULL), count(*) FILTER (WHERE attempts > 0)
		FROM inbox WHERE msg_key BETWEEN $1 AND $2 AND length(msg_key) = $3`, k.lo, k.hi, len(k.lo)).Scan(&stored, &unprocessed, &retried)
	return
}

// duplicateTexts counts report texts that have more than one ticket,
// whatever their keys: the check that does not trust the keys.
func duplicateTexts(ctx context.Context, conn *pgx.Conn, k runKeys) (int, error) {
	var n int
	err := conn.QueryRow(ctx, `SELECT count(*) FROM (SELECT description FROM tickets WHERE created_at >= (
		SELECT min(created_at) FROM tickets WHERE source_key BETWEEN $1 AND $2 AND length(source_key) = $3)
		GROUP BY description HAVING count(*) > 1) d`, k.lo, k.hi, len(k.lo)).Scan(&n)
	return n, err
}

// outboxCounts are the replies to this run's messages in the outbox.
type outboxCounts struct {
	byStatus map[string]int
	lastSent time.Time
}

// outboxStats counts the replies to this run's messages by status; their
// keys are r:<inbox key>:<n>.
func outboxStats(ctx context.Context, conn *pgx.Conn, k runKeys) (outboxCounts, error) {
	out := outboxCounts{byStatus: map[string]int{}}
	rows, err := conn.Query(ctx, `SELECT status, count(*), max(sent_at) FROM outbox WHERE msg_key BETWEEN $1 AND $2 GROUP BY status`, "r:"+k.lo, "r:"+k.hi+":~")
	if err != nil {
		return out, err
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		var n int
		var last *time.Time
		if err := rows.Scan(&s, &n, &last); err != nil {
			return out, err
		}
		out.byStatus[s] = n
		if last != nil && last.After(out.lastSent) {
			out.lastSent = *last
		}
	}
	return out, rows.Err()
}
