package models

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// importPostgres runs fn in one transaction of its own on one connection,
// writing with COPY: multi-row INSERTs of 1,000 tickets reached about
// 6,000 rows/s on the benchmark machine, COPY about twice that (see
// docs/import.md).
func (s *Store) importPostgres(ctx context.Context, fn func(w importWriter, b *Tx) error) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("import: connection: %w", err)
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("import: driver connection is %T, not pgx", dc)
		}
		return pgx.BeginFunc(ctx, sc.Conn(), func(ptx pgx.Tx) error {
			return fn(copyImport{ctx: ctx, tx: ptx}, &Tx{s: s, now: s.now().UTC()})
		})
	})
}

// copyImport writes with COPY on a pgx transaction.
type copyImport struct {
	ctx context.Context
	tx  pgx.Tx
}

func (c copyImport) existing(ids []int64) (map[int64]Source, error) {
	rows, err := c.tx.Query(c.ctx, `SELECT id, source FROM tickets WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, wrap("import: existing numbers", err)
	}
	defer rows.Close()
	out := map[int64]Source{}
	for rows.Next() {
		var id int64
		var src string
		if err := rows.Scan(&id, &src); err != nil {
			return nil, wrap("import: existing numbers", err)
		}
		out[id] = Source(src)
	}
	return out, wrap("import: existing numbers", rows.Err())
}

// ticketColumns are the columns COPY fills; the rest keep their defaults.
var ticketColumns = []string{"id", "kind", "system_code", "priority", "status", "title", "description", "reporter_id", "reporter_name",
	"department", "location", "phone", "assignee_id", "source", "created_at", "updated_at", "claimed_at", "onsite_at", "resolved_at",
	"closed_at", "due_response", "due_onsite", "due_resolution", "paused_business", "paused_at", "major", "resolution", "pause_reason",
	"breach_reason", "confirmed", "remind_response", "remind_onsite", "remind_resolution", "next_check_at"}

func (c copyImport) insert(tickets []Ticket, ratings []importedRating) error {
	_, err := c.tx.CopyFrom(c.ctx, pgx.Identifier{"tickets"}, ticketColumns, pgx.CopyFromSlice(len(tickets), func(i int) ([]any, error) {
		t := &tickets[i]
		return []any{t.ID, string(t.Kind), t.System, string(t.Priority), string(t.Status), t.Title, t.Description, t.ReporterID, t.ReporterName,
			t.Department, t.Location, t.Phone, t.AssigneeID, string(t.Source), t.CreatedAt, t.UpdatedAt, t.ClaimedAt, t.OnsiteAt, t.ResolvedAt,
			t.ClosedAt, t.DueResponse, t.DueOnsite, t.DueResolution, int64(t.PausedBusiness), t.PausedAt, t.Major, t.Resolution, t.PauseReason,
			t.BreachReason, t.Confirmed, t.RemindResponse, t.RemindOnsite, t.RemindResolution, t.NextCheckAt}, nil
	}))
	if err != nil {
		return wrap("import: copy tickets", err)
	}
	if len(ratings) == 0 {
		return nil
	}
	_, err = c.tx.CopyFrom(c.ctx, pgx.Identifier{"ratings"}, []string{"ticket_id", "reporter_id", "asked_at", "status", "score", "rated_at"},
		pgx.CopyFromSlice(len(ratings), func(i int) ([]any, error) {
			r := &ratings[i]
			return []any{r.TicketID, r.ReporterID, r.AskedAt, r.Status, r.Score, r.RatedAt}, nil
		}))
	return wrap("import: copy ratings", err)
}

// finish moves the identity sequence: explicit ids do not advance it, and
// the next ticket would otherwise be #1 again.
func (c copyImport) finish() (int64, error) {
	var maxID *int64
	if err := c.tx.QueryRow(c.ctx, `SELECT MAX(id) FROM tickets`).Scan(&maxID); err != nil || maxID == nil {
		return 0, wrap("import: highest number", err)
	}
	_, err := c.tx.Exec(c.ctx, `SELECT setval(pg_get_serial_sequence('tickets', 'id'), $1)`, *maxID)
	return *maxID, wrap("import: move the ticket sequence", err)
}
