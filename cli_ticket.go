package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"opsbot/models"
)

// ticketJSON is the JSON shape of a ticket other tooling reads.
type ticketJSON struct {
	Number        int64      `json:"number"`
	Kind          string     `json:"kind"`
	Status        string     `json:"status"`
	Priority      string     `json:"priority"`
	System        string     `json:"system"`
	Title         string     `json:"title"`
	Reporter      string     `json:"reporter"`
	Assignee      string     `json:"assignee"`
	CreatedAt     time.Time  `json:"created_at"`
	DueResponse   time.Time  `json:"due_response"`
	DueOnsite     *time.Time `json:"due_onsite"`
	DueResolution time.Time  `json:"due_resolution"`
	// Rating is 20-100, null when not rated (unanswered is never counted
	// as satisfied); RatingComment is the reporter's comment.
	Rating        *int        `json:"rating"`
	RatingComment string      `json:"rating_comment"`
	Events        []eventJSON `json:"events,omitempty"`
}

type eventJSON struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Note   string    `json:"note"`
}

func toJSON(t models.Ticket, events []models.TicketEvent, r *models.Rating, loc *time.Location) ticketJSON {
	j := ticketJSON{
		Number: t.ID, Kind: string(t.Kind), Status: string(t.Status), Priority: string(t.Priority),
		System: t.System, Title: t.Title, Reporter: t.ReporterID, Assignee: t.AssigneeID,
		CreatedAt: t.CreatedAt.In(loc), DueResponse: t.DueResponse.In(loc), DueResolution: t.DueResolution.In(loc),
	}
	if t.DueOnsite != nil {
		o := t.DueOnsite.In(loc)
		j.DueOnsite = &o
	}
	if r != nil {
		j.Rating, j.RatingComment = r.Score, r.Comment
	}
	for _, e := range events {
		j.Events = append(j.Events, eventJSON{At: e.At.In(loc), Actor: e.Actor, Action: string(e.Action), From: string(e.From), To: string(e.To), Note: e.Note})
	}
	return j
}

// openReadStore opens the database for the read-only commands.
func openReadStore(ctx context.Context, e env) (*models.Store, *time.Location, error) {
	cfg, err := loadConfig(e)
	if err != nil {
		return nil, nil, err
	}
	sla, err := models.LoadSLA(cfg.SLA, cfg.Location())
	if err != nil {
		return nil, nil, err
	}
	s, err := openStore(ctx, cfg, newLogger(e.stderr, "warn"), sla)
	return s, cfg.Location(), err
}

// cmdTicket prints one ticket with its events.
func cmdTicket(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("ticket", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	// Accept the number before or after the flags.
	var num string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		num, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return usageError{"用法：opsbot ticket 12 [--json]"}
	}
	if num == "" && fs.NArg() > 0 {
		num = fs.Arg(0)
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(num, "#"), 10, 64)
	if err != nil || id <= 0 {
		return usageError{"请给出单号，例如：opsbot ticket 12 --json"}
	}
	s, loc, err := openReadStore(ctx, e)
	if err != nil {
		return err
	}
	defer s.Close()
	var t *models.Ticket
	var events []models.TicketEvent
	var rating *models.Rating
	err = s.View(ctx, func(tx *models.Tx) error {
		var err error
		if t, err = tx.Ticket(id); err != nil {
			return err
		}
		if rating, err = tx.RatingOf(id); err != nil {
			return err
		}
		events, err = tx.Events(id)
		return err
	})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(toJSON(*t, events, rating, loc))
	}
	fmt.Fprintf(e.stdout, "#%d %s [%s] %s/%s 系统:%s 报修:%s 负责:%s\n", t.ID, t.Title, t.Status, t.Kind, t.Priority, t.System, t.ReporterID, t.AssigneeID)
	fmt.Fprintf(e.stdout, "创建 %s  响应时限 %s  解决时限 %s\n", t.CreatedAt.In(loc).Format(time.DateTime), t.DueResponse.In(loc).Format(time.DateTime), t.DueResolution.In(loc).Format(time.DateTime))
	for _, ev := range events {
		fmt.Fprintf(e.stdout, "  %s %-10s %-12s %s→%s %s\n", ev.At.In(loc).Format(time.DateTime), ev.Actor, ev.Action, ev.From, ev.To, ev.Note)
	}
	return nil
}

// cmdTickets lists tickets.
func cmdTickets(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("tickets", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	status := fs.String("status", "", "new, claimed, onsite, paused, resolved, closed, cancelled, or open")
	asJSON := fs.Bool("json", false, "print JSON")
	limit := fs.Int("limit", 200, "at most this many, newest first")
	if err := fs.Parse(args); err != nil {
		return usageError{"用法：opsbot tickets [--status open] [--json]"}
	}
	var f models.TicketFilter
	switch st := models.Status(*status); {
	case *status == "":
	case *status == "open":
		f.Statuses = models.OpenStatuses
	case validStatus(st):
		f.Statuses = []models.Status{st}
	default:
		return usageError{fmt.Sprintf("未知状态 %q，可选：new claimed onsite paused resolved closed cancelled open", *status)}
	}
	f.Limit = *limit
	s, loc, err := openReadStore(ctx, e)
	if err != nil {
		return err
	}
	defer s.Close()
	var ts []models.Ticket
	if err := s.View(ctx, func(tx *models.Tx) error {
		var err error
		ts, err = tx.Tickets(f)
		return err
	}); err != nil {
		return err
	}
	if *asJSON {
		out := make([]ticketJSON, 0, len(ts))
		for _, t := range ts {
			out = append(out, toJSON(t, nil, nil, loc))
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(out)
	}
	w := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "单号\t状态\t优先级\t系统\t报修人\t负责人\t解决时限\t问题")
	for _, t := range ts {
		fmt.Fprintf(w, "#%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Status, t.Priority, t.System, t.ReporterID, t.AssigneeID, t.DueResolution.In(loc).Format("01-02 15:04"), t.Title)
	}
	return w.Flush()
}

func validStatus(s models.Status) bool { return slices.Contains(models.AllStatuses, s) }

// cmdMigrate brings the schema up to date.
func cmdMigrate(ctx context.Context, e env, _ []string) error {
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	driver, dsn := cfg.Database()
	s, err := models.Open(ctx, driver, dsn, models.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	n, err := s.Migrate(ctx)
	if err != nil {
		return err
	}
	v, _ := s.SchemaVersion(ctx)
	fmt.Fprintf(e.stdout, "数据库 %s 已是最新结构（版本 %d，本次升级 %d 步）\n", driver, v, n)
	return nil
}

// cmdSLA prints deadlines and working days.
func cmdSLA(_ context.Context, e env, args []string) error {
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	policy, err := models.LoadSLA(cfg.SLA, cfg.Location())
	if err != nil {
		return err
	}
	if err := runSLA(args, e.stdout, policy, cfg.Location()); err != nil {
		return usageError{err.Error()}
	}
	return nil
}
