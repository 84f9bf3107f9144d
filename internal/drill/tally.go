package drill

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// DB reads what the replicas wrote, straight from PostgreSQL: the drill
// checks opsbot's rows, so it does not go through opsbot's own store.
type DB struct {
	conn *pgx.Conn
}

// OpenDB connects to dsn (the replicas' schema).
func OpenDB(ctx context.Context, dsn string) (*DB, error) {
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("drill: postgres: %w", err)
	}
	return &DB{conn: c}, nil
}

// Close ends the connection.
func (d *DB) Close() { d.conn.Close(context.Background()) }

// Ticket is a ticket row as the drill sees it.
type Ticket struct {
	ID        int64
	SourceKey string
	Reporter  string
	CreatedAt time.Time
}

// Tickets returns every ticket.
func (d *DB) Tickets(ctx context.Context) ([]Ticket, error) {
	rows, err := d.conn.Query(ctx, `SELECT id, source_key, reporter_id, created_at FROM tickets ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("drill: tickets: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Ticket, error) {
		var t Ticket
		err := r.Scan(&t.ID, &t.SourceKey, &t.Reporter, &t.CreatedAt)
		return t, err
	})
}

// CountTickets counts tickets; the cheap query polled while waiting.
func (d *DB) CountTickets(ctx context.Context) (int, error) {
	var n int
	err := d.conn.QueryRow(ctx, `SELECT count(*) FROM tickets`).Scan(&n)
	return n, err
}

// ReminderRows counts the recorded reminder levels by name, and the
// (ticket, clock, level) triples recorded more than once (the unique key
// forbids them; counted anyway, so the test does not trust it blindly).
func (d *DB) ReminderRows(ctx context.Context) (byName map[string]int, doubled int, err error) {
	byName = map[string]int{}
	rows, err := d.conn.Query(ctx, `SELECT name, count(*) FROM reminders GROUP BY name`)
	if err != nil {
		return nil, 0, fmt.Errorf("drill: reminders: %w", err)
	}
	for rows.Next() {
		var name string
		var n int
		if err := rows.Scan(&name, &n); err != nil {
			return nil, 0, err
		}
		byName[name] = n
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	err = d.conn.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM reminders GROUP BY ticket_id, clock, level HAVING count(*) > 1) d`).Scan(&doubled)
	return byName, doubled, err
}

// OutboxStatus counts outbox rows by status.
func (d *DB) OutboxStatus(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	rows, err := d.conn.Query(ctx, `SELECT status, count(*) FROM outbox GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("drill: outbox: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}

// SentReminders parses the reminder items out of the sent outbox rows:
// the whole text opsbot meant each person to get (WeCom cuts an app text
// at 2048 bytes; the row keeps all of it).
func (d *DB) SentReminders(ctx context.Context) (map[ReminderItem]int, error) {
	rows, err := d.conn.Query(ctx, `SELECT recipient, content FROM outbox WHERE status = 'sent' AND msg_key LIKE 'rem:%'`)
	if err != nil {
		return nil, fmt.Errorf("drill: outbox reminders: %w", err)
	}
	var texts []string
	var to [][]string
	for rows.Next() {
		var r, c string
		if err := rows.Scan(&r, &c); err != nil {
			return nil, err
		}
		texts, to = append(texts, c), append(to, []string{r})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return Reminders(texts, to), nil
}

// SendDelays measures how long the sent rows whose key starts with prefix
// waited in the outbox: how many waited longer than slow, and the longest.
func (d *DB) SendDelays(ctx context.Context, prefix string, slow time.Duration) (n int, longest time.Duration, err error) {
	var secs *float64
	err = d.conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE sent_at - created_at > make_interval(secs => $2)),
		EXTRACT(EPOCH FROM max(sent_at - created_at))::float8
		FROM outbox WHERE status = 'sent' AND msg_key LIKE $1`, prefix+"%", slow.Seconds()).Scan(&n, &secs)
	if err != nil {
		return 0, 0, fmt.Errorf("drill: send delays: %w", err)
	}
	if secs != nil {
		longest = time.Duration(*secs * float64(time.Second))
	}
	return n, longest, nil
}

// PendingBy counts pending outbox rows by recipient and key prefix, to
// say what a drill that never went quiet was still waiting on.
func (d *DB) PendingBy(ctx context.Context) (map[string]int, error) {
	rows, err := d.conn.Query(ctx, `SELECT recipient || ' ' || split_part(msg_key, ':', 1), COUNT(*) FROM outbox WHERE status = 'pending' GROUP BY 1`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, rows.Err()
}
