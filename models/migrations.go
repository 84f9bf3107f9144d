package models

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// migration is one versioned schema step. SQL is shared by both databases,
// with {{id}}, {{ts}} and {{bool}} standing for the dialect's types;
// Postgres/SQLite hold what cannot be shared (triggers).
type migration struct {
	Version  int
	Name     string
	SQL      string
	Postgres string
	SQLite   string
}

// migrations never change once released: add a new one instead.
var migrations = []migration{
	{Version: 1, Name: "tickets, events, staff, catalog, inbox, outbox", SQL: `
CREATE TABLE tickets (
  id {{id}},
  kind VARCHAR(16) NOT NULL,
  system_code VARCHAR(32) NOT NULL DEFAULT '',
  priority VARCHAR(8) NOT NULL,
  status VARCHAR(16) NOT NULL,
  title VARCHAR(200) NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  reporter_id VARCHAR(64) NOT NULL,
  reporter_name VARCHAR(64) NOT NULL DEFAULT '',
  department VARCHAR(64) NOT NULL DEFAULT '',
  location VARCHAR(128) NOT NULL DEFAULT '',
  phone VARCHAR(32) NOT NULL DEFAULT '',
  assignee_id VARCHAR(64) NOT NULL DEFAULT '',
  source VARCHAR(16) NOT NULL,
  source_key VARCHAR(200) UNIQUE,
  created_at {{ts}} NOT NULL,
  updated_at {{ts}} NOT NULL,
  claimed_at {{ts}},
  onsite_at {{ts}},
  resolved_at {{ts}},
  closed_at {{ts}},
  due_response {{ts}} NOT NULL,
  due_onsite {{ts}},
  due_resolution {{ts}} NOT NULL,
  paused_business BIGINT NOT NULL DEFAULT 0,
  paused_at {{ts}},
  major {{bool}} NOT NULL DEFAULT FALSE,
  parent_id BIGINT REFERENCES tickets(id),
  resolution TEXT NOT NULL DEFAULT '',
  pause_reason VARCHAR(200) NOT NULL DEFAULT '',
  breach_reason TEXT NOT NULL DEFAULT '',
  confirmed {{bool}} NOT NULL DEFAULT FALSE
);
CREATE INDEX tickets_status ON tickets(status);
CREATE INDEX tickets_reporter ON tickets(reporter_id, status);
CREATE INDEX tickets_assignee ON tickets(assignee_id, status);
CREATE INDEX tickets_created ON tickets(created_at);
CREATE INDEX tickets_parent ON tickets(parent_id);

CREATE TABLE ticket_events (
  id {{id}},
  ticket_id BIGINT NOT NULL REFERENCES tickets(id),
  at {{ts}} NOT NULL,
  actor VARCHAR(64) NOT NULL,
  action VARCHAR(24) NOT NULL,
  from_status VARCHAR(16) NOT NULL DEFAULT '',
  to_status VARCHAR(16) NOT NULL DEFAULT '',
  note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ticket_events_ticket ON ticket_events(ticket_id, id);

CREATE TABLE staff (
  user_id VARCHAR(64) PRIMARY KEY,
  name VARCHAR(64) NOT NULL,
  role VARCHAR(24) NOT NULL,
  level INTEGER NOT NULL,
  phone VARCHAR(32) NOT NULL DEFAULT '',
  systems TEXT NOT NULL DEFAULT '[]',
  active {{bool}} NOT NULL DEFAULT TRUE,
  away_from {{ts}},
  away_until {{ts}},
  updated_at {{ts}} NOT NULL
);

CREATE TABLE systems (
  code VARCHAR(32) PRIMARY KEY,
  name VARCHAR(64) NOT NULL,
  category VARCHAR(16) NOT NULL DEFAULT '',
  aliases TEXT NOT NULL DEFAULT '[]',
  active {{bool}} NOT NULL DEFAULT TRUE
);

CREATE TABLE departments (
  id {{id}},
  name VARCHAR(64) NOT NULL UNIQUE,
  aliases TEXT NOT NULL DEFAULT '[]',
  location VARCHAR(128) NOT NULL DEFAULT ''
);

CREATE TABLE inbox (
  id {{id}},
  msg_key VARCHAR(200) NOT NULL UNIQUE,
  wecom_user VARCHAR(64) NOT NULL,
  msg_type VARCHAR(32) NOT NULL,
  payload TEXT NOT NULL,
  received_at {{ts}} NOT NULL,
  processed_at {{ts}},
  lease_until {{ts}},
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX inbox_pending ON inbox(id) WHERE processed_at IS NULL;

CREATE TABLE outbox (
  id {{id}},
  msg_key VARCHAR(200) NOT NULL UNIQUE,
  recipient VARCHAR(128) NOT NULL,
  msg_type VARCHAR(24) NOT NULL,
  content TEXT NOT NULL DEFAULT '',
  card TEXT,
  ticket_id BIGINT,
  status VARCHAR(16) NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at {{ts}} NOT NULL,
  last_error TEXT NOT NULL DEFAULT '',
  response_code TEXT NOT NULL DEFAULT '',
  created_at {{ts}} NOT NULL,
  sent_at {{ts}}
);
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_recipient ON outbox(recipient, sent_at);
`,
		Postgres: `
CREATE FUNCTION opsbot_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ticket_events are append-only';
END $$;
CREATE TRIGGER ticket_events_append_only BEFORE UPDATE OR DELETE ON ticket_events
  FOR EACH ROW EXECUTE FUNCTION opsbot_append_only();
`,
		SQLite: `
CREATE TRIGGER ticket_events_no_update BEFORE UPDATE ON ticket_events
BEGIN SELECT RAISE(ABORT, 'ticket_events are append-only'); END;
CREATE TRIGGER ticket_events_no_delete BEFORE DELETE ON ticket_events
BEGIN SELECT RAISE(ABORT, 'ticket_events are append-only'); END;
`},
}

func init() {
	migrations = append(migrations, migration{Version: 2, Name: "reminder levels and the sweep index", SQL: `
ALTER TABLE tickets ADD COLUMN remind_response INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN remind_onsite INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN remind_resolution INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN next_check_at {{ts}};
CREATE INDEX tickets_next_check ON tickets(next_check_at) WHERE next_check_at IS NOT NULL;

CREATE TABLE reminders (
  id {{id}},
  ticket_id BIGINT NOT NULL REFERENCES tickets(id),
  clock VARCHAR(16) NOT NULL,
  level INTEGER NOT NULL,
  name VARCHAR(64) NOT NULL,
  recipients TEXT NOT NULL,
  due_at {{ts}} NOT NULL,
  sent_at {{ts}} NOT NULL,
  UNIQUE (ticket_id, clock, level)
);
`})
	// The sender asks for the oldest due messages by (next_attempt_at, id);
	// with only next_attempt_at indexed Postgres sorted every pending row
	// on each call, which under load meant thousands of rows per call.
	// outbox_recipient served nothing (the rate windows live in Redis) and
	// cost an index write on every status change.
	migrations = append(migrations, migration{Version: 3, Name: "outbox index in delivery order", SQL: `
DROP INDEX outbox_due;
DROP INDEX outbox_recipient;
CREATE INDEX outbox_due ON outbox(next_attempt_at, id) WHERE status = 'pending';
`})
	// Ratings after closure, the yearly survey, the hospital's confirmation
	// of delivered reports, and conversation state (a multi-step report, a
	// comment being asked for) kept in the database so that it commits or
	// rolls back with the message that changed it.
	migrations = append(migrations, migration{Version: 4, Name: "ratings, survey, report confirmations, conversations", SQL: `
CREATE TABLE ratings (
  ticket_id BIGINT PRIMARY KEY REFERENCES tickets(id),
  reporter_id VARCHAR(64) NOT NULL,
  asked_at {{ts}} NOT NULL,
  status VARCHAR(16) NOT NULL,
  score INTEGER,
  comment TEXT NOT NULL DEFAULT '',
  rated_at {{ts}},
  reminded_at {{ts}},
  next_check_at {{ts}},
  followup TEXT NOT NULL DEFAULT '',
  followup_by VARCHAR(64) NOT NULL DEFAULT '',
  followup_at {{ts}}
);
CREATE INDEX ratings_next_check ON ratings(next_check_at) WHERE next_check_at IS NOT NULL;
CREATE INDEX ratings_reporter ON ratings(reporter_id, status);

CREATE TABLE survey_runs (
  year INTEGER PRIMARY KEY,
  started_at {{ts}} NOT NULL,
  started_by VARCHAR(64) NOT NULL,
  remind_at {{ts}}
);
CREATE TABLE survey_recipients (
  year INTEGER NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  asked_at {{ts}} NOT NULL,
  answered_at {{ts}},
  comment TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (year, user_id)
);
CREATE TABLE survey_answers (
  year INTEGER NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  question INTEGER NOT NULL,
  score INTEGER NOT NULL,
  PRIMARY KEY (year, user_id, question)
);

CREATE TABLE report_confirmations (
  kind VARCHAR(16) NOT NULL,
  period VARCHAR(16) NOT NULL,
  approver_id VARCHAR(64) NOT NULL,
  sent_at {{ts}} NOT NULL,
  answer VARCHAR(16) NOT NULL DEFAULT '',
  comment TEXT NOT NULL DEFAULT '',
  answered_at {{ts}},
  PRIMARY KEY (kind, period, approver_id)
);

CREATE TABLE conversations (
  user_id VARCHAR(64) PRIMARY KEY,
  kind VARCHAR(24) NOT NULL,
  state TEXT NOT NULL,
  expires_at {{ts}} NOT NULL
);
`})
	// Files: screenshots and documents users send, and the reports and
	// records opsbot sends (XLSX, DOCX). Kept in the database by default so
	// that every replica reads them; StoreKey names an object in an
	// S3-compatible bucket instead when one is configured.
	migrations = append(migrations, migration{Version: 5, Name: "files and file messages", SQL: `
CREATE TABLE files (
  id {{id}},
  name VARCHAR(200) NOT NULL,
  mime VARCHAR(100) NOT NULL DEFAULT '',
  size BIGINT NOT NULL,
  sha256 VARCHAR(64) NOT NULL,
  data {{blob}},
  store_key VARCHAR(300) NOT NULL DEFAULT '',
  kind VARCHAR(24) NOT NULL,
  ticket_id BIGINT REFERENCES tickets(id),
  uploaded_by VARCHAR(64) NOT NULL DEFAULT '',
  created_at {{ts}} NOT NULL
);
CREATE INDEX files_ticket ON files(ticket_id) WHERE ticket_id IS NOT NULL;
ALTER TABLE outbox ADD COLUMN file_id BIGINT;
`})
	// Learned aliases (issue 11): phrases engineers corrected with 改系统,
	// shared by every replica. A phrase corrected to two systems is kept
	// as conflicting, so it is never learned.
	migrations = append(migrations, migration{Version: 10, Name: "learned aliases", SQL: `
CREATE TABLE learned_aliases (
  phrase VARCHAR(64) PRIMARY KEY,
  code VARCHAR(32) NOT NULL,
  conflict {{bool}} NOT NULL DEFAULT FALSE,
  created_by VARCHAR(64) NOT NULL DEFAULT '',
  created_at {{ts}} NOT NULL
);
CREATE INDEX files_attachment_age ON files(kind, created_at);
`})
	// Reports asked for in chat are built by a job, outside the message's
	// transaction; the yearly survey keeps its questions and when its
	// invitations went out.
	migrations = append(migrations, migration{Version: 11, Name: "report requests, survey questions", SQL: `
CREATE TABLE report_requests (
  id {{id}},
  kind VARCHAR(16) NOT NULL,
  period VARCHAR(16) NOT NULL,
  requested_by VARCHAR(64) NOT NULL,
  requested_at {{ts}} NOT NULL,
  deliver VARCHAR(16) NOT NULL DEFAULT 'requester',
  done_at {{ts}},
  error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX report_requests_pending ON report_requests(id) WHERE done_at IS NULL;
ALTER TABLE survey_runs ADD COLUMN questions TEXT NOT NULL DEFAULT '[]';
ALTER TABLE survey_runs ADD COLUMN invited_at {{ts}};
`})
	// Alerts (every notification, and one state row per fingerprint),
	// storm digests, maintenance windows, report bursts (outages) and
	// routine inspections (docs/alerts.md).
	migrations = append(migrations, migration{Version: 6, Name: "alerts, maintenance, outages, inspections", SQL: `
CREATE TABLE alerts (
  id {{id}},
  source VARCHAR(16) NOT NULL,
  alert_key VARCHAR(200) NOT NULL,
  status VARCHAR(16) NOT NULL,
  system_code VARCHAR(32) NOT NULL DEFAULT '',
  severity VARCHAR(16) NOT NULL DEFAULT '',
  summary TEXT NOT NULL DEFAULT '',
  labels TEXT NOT NULL DEFAULT '{}',
  starts_at {{ts}},
  ends_at {{ts}},
  received_at {{ts}} NOT NULL,
  ticket_id BIGINT,
  repeat_count INTEGER NOT NULL DEFAULT 0,
  muted {{bool}} NOT NULL DEFAULT FALSE
);
CREATE INDEX alerts_key ON alerts(source, alert_key, id);
CREATE INDEX alerts_received ON alerts(received_at);

CREATE TABLE alert_states (
  source VARCHAR(16) NOT NULL,
  alert_key VARCHAR(200) NOT NULL,
  status VARCHAR(16) NOT NULL,
  ticket_id BIGINT,
  episodes INTEGER NOT NULL DEFAULT 0,
  repeat_count INTEGER NOT NULL DEFAULT 0,
  updated_at {{ts}} NOT NULL,
  PRIMARY KEY (source, alert_key)
);
CREATE INDEX alert_states_ticket ON alert_states(ticket_id);

CREATE TABLE alert_digests (
  system_code VARCHAR(32) NOT NULL,
  window_start {{ts}} NOT NULL,
  first_ticket_id BIGINT,
  opened INTEGER NOT NULL DEFAULT 0,
  repeats INTEGER NOT NULL DEFAULT 0,
  resolved INTEGER NOT NULL DEFAULT 0,
  changed_at {{ts}} NOT NULL,
  notified_at {{ts}},
  summaries INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (system_code, window_start)
);
CREATE INDEX alert_digests_changed ON alert_digests(changed_at);

CREATE TABLE maintenance_windows (
  id {{id}},
  system_code VARCHAR(32) NOT NULL,
  starts_at {{ts}} NOT NULL,
  ends_at {{ts}} NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  created_by VARCHAR(64) NOT NULL,
  cancelled_at {{ts}}
);
CREATE INDEX maintenance_windows_end ON maintenance_windows(ends_at);

CREATE TABLE outages (
  outage_key VARCHAR(32) PRIMARY KEY,
  incident_id BIGINT,
  updated_at {{ts}} NOT NULL
);
CREATE TABLE outage_reports (
  id {{id}},
  outage_key VARCHAR(32) NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  user_name VARCHAR(64) NOT NULL DEFAULT '',
  department VARCHAR(64) NOT NULL DEFAULT '',
  text TEXT NOT NULL DEFAULT '',
  at {{ts}} NOT NULL,
  incident_id BIGINT
);
CREATE INDEX outage_reports_key ON outage_reports(outage_key, at);

CREATE TABLE inspections (
  id {{id}},
  slot VARCHAR(48) NOT NULL UNIQUE,
  name VARCHAR(64) NOT NULL,
  planned_at {{ts}} NOT NULL,
  engineer_id VARCHAR(64) NOT NULL DEFAULT '',
  status VARCHAR(16) NOT NULL,
  done_at {{ts}},
  done_by VARCHAR(64) NOT NULL DEFAULT '',
  reminded INTEGER NOT NULL DEFAULT 0,
  next_check_at {{ts}}
);
CREATE INDEX inspections_planned ON inspections(planned_at);
CREATE TABLE inspection_anomalies (
  id {{id}},
  inspection_id BIGINT NOT NULL REFERENCES inspections(id),
  item VARCHAR(200) NOT NULL,
  note TEXT NOT NULL DEFAULT '',
  ticket_id BIGINT,
  at {{ts}} NOT NULL,
  by_user VARCHAR(64) NOT NULL
);
CREATE INDEX inspection_anomalies_inspection ON inspection_anomalies(inspection_id);
`})
}

// Version 8: the web console. Sessions and one-time login links live in
// the database so that every replica knows them; only hashes of their
// tokens are stored. console_audit records every console action with its
// address. On-call overrides and maintenance windows edited in the console
// are rows, not file edits: files differ per replica and a write to one is
// lost on the next deploy. The partial index serves the console's queue
// (open tickets by deadline, or of one system) without reading closed ones.
func init() {
	migrations = append(migrations, migration{Version: 8, Name: "console sessions, login links, audit, on-call overrides", SQL: `
CREATE TABLE console_sessions (
  token_hash VARCHAR(64) PRIMARY KEY,
  user_id VARCHAR(64) NOT NULL,
  csrf VARCHAR(64) NOT NULL,
  via VARCHAR(16) NOT NULL,
  addr VARCHAR(64) NOT NULL DEFAULT '',
  created_at {{ts}} NOT NULL,
  seen_at {{ts}} NOT NULL
);
CREATE INDEX console_sessions_seen ON console_sessions(seen_at);
CREATE TABLE console_login_links (
  token_hash VARCHAR(64) PRIMARY KEY,
  user_id VARCHAR(64) NOT NULL,
  created_at {{ts}} NOT NULL,
  expires_at {{ts}} NOT NULL,
  used_at {{ts}}
);
CREATE TABLE console_audit (
  id {{id}},
  at {{ts}} NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  action VARCHAR(32) NOT NULL,
  ticket_id BIGINT,
  detail TEXT NOT NULL DEFAULT '',
  addr VARCHAR(64) NOT NULL DEFAULT ''
);
CREATE INDEX console_audit_at ON console_audit(at);
CREATE TABLE oncall_overrides (
  id {{id}},
  from_at {{ts}} NOT NULL,
  to_at {{ts}} NOT NULL,
  users TEXT NOT NULL,
  note TEXT NOT NULL DEFAULT '',
  created_by VARCHAR(64) NOT NULL,
  created_at {{ts}} NOT NULL,
  deleted_at {{ts}}
);
CREATE INDEX tickets_open_due ON tickets(due_resolution, id) WHERE status IN ('new','claimed','onsite','paused');
CREATE INDEX tickets_open_system ON tickets(system_code, due_resolution, id) WHERE status IN ('new','claimed','onsite','paused');
`})
}

var dialectTypes = map[string]*strings.Replacer{
	"postgres": strings.NewReplacer("{{id}}", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "{{ts}}", "TIMESTAMPTZ", "{{bool}}", "BOOLEAN", "{{blob}}", "BYTEA"),
	"sqlite":   strings.NewReplacer("{{id}}", "INTEGER PRIMARY KEY AUTOINCREMENT", "{{ts}}", "TIMESTAMP", "{{bool}}", "BOOLEAN", "{{blob}}", "BLOB"),
}

// schemaMigration records an applied step.
type schemaMigration struct {
	Version   int `gorm:"primaryKey"`
	Name      string
	AppliedAt time.Time
}

func (schemaMigration) TableName() string { return "schema_migrations" }

// Migrate applies the steps not yet applied, each in its own transaction,
// and returns how many it applied; a second run applies none. On Postgres an
// advisory lock keeps two replicas starting together from racing.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	db := s.db.WithContext(ctx)
	// Under the same lock as the steps: replicas starting together on an
	// empty database otherwise race on CREATE TABLE IF NOT EXISTS, which
	// Postgres does not make atomic (duplicate key in pg_type).
	err := db.Transaction(func(tx *gorm.DB) error {
		if s.driver == "postgres" {
			if err := tx.Exec(`SELECT pg_advisory_xact_lock(7202611)`).Error; err != nil {
				return err
			}
		}
		return tx.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at ` +
			dialectTypes[s.driver].Replace("{{ts}}") + ` NOT NULL)`).Error
	})
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	applied := 0
	for _, m := range migrations {
		done := false
		err := db.Transaction(func(tx *gorm.DB) error {
			if s.driver == "postgres" {
				if err := tx.Exec(`SELECT pg_advisory_xact_lock(7202611)`).Error; err != nil {
					return err
				}
			}
			var n int64
			if err := tx.Model(&schemaMigration{}).Where("version = ?", m.Version).Count(&n).Error; err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			script := dialectTypes[s.driver].Replace(m.SQL)
			if s.driver == "postgres" {
				script += m.Postgres
			} else {
				script += m.SQLite
			}
			for _, stmt := range splitStatements(script) {
				if err := tx.Exec(stmt).Error; err != nil {
					return fmt.Errorf("%s: %w", firstLine(stmt), err)
				}
			}
			done = true
			return tx.Create(&schemaMigration{Version: m.Version, Name: m.Name, AppliedAt: s.now().UTC()}).Error
		})
		if err != nil {
			return applied, fmt.Errorf("migrate to version %d (%s): %w", m.Version, m.Name, err)
		}
		if done {
			applied++
		}
	}
	return applied, nil
}

// SchemaVersion returns the highest applied migration.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v *int
	err := s.db.WithContext(ctx).Model(&schemaMigration{}).Select("MAX(version)").Scan(&v).Error
	if err != nil || v == nil {
		return 0, err
	}
	return *v, nil
}

// splitStatements cuts a script at semicolons that end a line, keeping
// trigger and function bodies (whose inner semicolons end with "END;" or sit
// inside $$ quotes) whole.
func splitStatements(script string) []string {
	var out []string
	var cur strings.Builder
	inDollar, inBegin := false, false
	for _, line := range strings.Split(script, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" && cur.Len() == 0 {
			continue
		}
		cur.WriteString(line)
		cur.WriteString("\n")
		if strings.Count(line, "$$")%2 == 1 {
			inDollar = !inDollar
		}
		upper := strings.ToUpper(trimmed)
		if strings.HasPrefix(upper, "BEGIN") && !inDollar {
			inBegin = true
		}
		end := strings.HasSuffix(trimmed, ";") && !inDollar
		if inBegin {
			end = strings.HasSuffix(upper, "END;")
		}
		if end {
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
			inBegin = false
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func init() {
	// Service records (issue 13): the analysis of a major incident and its
	// approval, change requests with their approval steps, events and the
	// tickets reported in their window, problem records and their tickets,
	// and the tickets a problem was already suggested for (suggested once).
	// Past fixes and similar recent tickets read one system's newest
	// tickets, hence the index on (system_code, id).
	migrations = append(migrations, migration{Version: 7, Name: "incident reports, changes, problems", SQL: `
CREATE TABLE incident_reports (
  ticket_id BIGINT PRIMARY KEY REFERENCES tickets(id),
  impact TEXT NOT NULL DEFAULT '',
  root_cause TEXT NOT NULL DEFAULT '',
  corrective TEXT NOT NULL DEFAULT '',
  status VARCHAR(16) NOT NULL DEFAULT 'draft',
  approvers TEXT NOT NULL DEFAULT '[]',
  submitted_by VARCHAR(64) NOT NULL DEFAULT '',
  submitted_at {{ts}},
  decided_by VARCHAR(64) NOT NULL DEFAULT '',
  decided_at {{ts}},
  comment TEXT NOT NULL DEFAULT '',
  reminded_at {{ts}},
  updated_at {{ts}} NOT NULL
);

CREATE TABLE changes (
  id {{id}},
  system_code VARCHAR(32) NOT NULL,
  what TEXT NOT NULL,
  why TEXT NOT NULL DEFAULT '',
  risk VARCHAR(8) NOT NULL,
  rollback TEXT NOT NULL DEFAULT '',
  window_from {{ts}} NOT NULL,
  window_to {{ts}} NOT NULL,
  departments TEXT NOT NULL DEFAULT '[]',
  requester_id VARCHAR(64) NOT NULL,
  requester_name VARCHAR(64) NOT NULL DEFAULT '',
  status VARCHAR(16) NOT NULL,
  step INTEGER NOT NULL DEFAULT 1,
  steps INTEGER NOT NULL,
  noticed_at {{ts}},
  created_at {{ts}} NOT NULL,
  updated_at {{ts}} NOT NULL
);
CREATE INDEX changes_window ON changes(system_code, window_from);
CREATE INDEX changes_status ON changes(status);

CREATE TABLE change_approvals (
  change_id BIGINT NOT NULL REFERENCES changes(id),
  step INTEGER NOT NULL,
  label VARCHAR(32) NOT NULL,
  approvers TEXT NOT NULL DEFAULT '[]',
  answer VARCHAR(16) NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '',
  decided_by VARCHAR(64) NOT NULL DEFAULT '',
  decided_at {{ts}},
  PRIMARY KEY (change_id, step)
);

CREATE TABLE change_events (
  id {{id}},
  change_id BIGINT NOT NULL REFERENCES changes(id),
  at {{ts}} NOT NULL,
  actor VARCHAR(64) NOT NULL,
  action VARCHAR(24) NOT NULL,
  note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX change_events_change ON change_events(change_id, id);

CREATE TABLE change_tickets (
  change_id BIGINT NOT NULL REFERENCES changes(id),
  ticket_id BIGINT NOT NULL REFERENCES tickets(id),
  linked_at {{ts}} NOT NULL,
  PRIMARY KEY (change_id, ticket_id)
);

CREATE TABLE problems (
  id {{id}},
  title VARCHAR(200) NOT NULL,
  system_code VARCHAR(32) NOT NULL DEFAULT '',
  status VARCHAR(16) NOT NULL,
  root_cause TEXT NOT NULL DEFAULT '',
  fix TEXT NOT NULL DEFAULT '',
  created_by VARCHAR(64) NOT NULL,
  created_at {{ts}} NOT NULL,
  updated_at {{ts}} NOT NULL,
  resolved_at {{ts}}
);

CREATE TABLE problem_tickets (
  problem_id BIGINT NOT NULL REFERENCES problems(id),
  ticket_id BIGINT NOT NULL REFERENCES tickets(id),
  linked_by VARCHAR(64) NOT NULL,
  linked_at {{ts}} NOT NULL,
  PRIMARY KEY (problem_id, ticket_id)
);
CREATE INDEX problem_tickets_ticket ON problem_tickets(ticket_id);

CREATE TABLE problem_suggestions (
  ticket_id BIGINT PRIMARY KEY REFERENCES tickets(id),
  suggested_at {{ts}} NOT NULL
);
CREATE INDEX tickets_system ON tickets(system_code, id);
`})
}
