package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"opsbot/bot"
	"opsbot/bot/wecomtest"
	"opsbot/configs"
	"opsbot/internal/drill"

	"github.com/jackc/pgx/v5"
)

// config is what a run is told by its flags.
type config struct {
	reports     int
	users       int
	concurrency int
	rate        float64
	maxCopies   int
	seed        uint64
	timeout     time.Duration

	// target is the URL of an opsbot already running; empty means build
	// and start one.
	target    string
	token     string
	aesKey    string
	corpID    string
	agentID   int
	fakeAddr  string
	opsbotBin string
	opsbotSrc string
	opsbotEnv []string
	staffFile string
	logFile   string

	pg    string // any database on the server, for CREATE DATABASE
	db    string // the load database
	redis string

	pgbenchTime       time.Duration
	pgbenchAutocommit bool

	// quietWait is how long to wait for an idle machine before sending.
	quietWait time.Duration

	pprofURL     string
	pprofSeconds int
	pprofOut     string

	out io.Writer
}

// outcome is everything a run measured.
type outcome struct {
	cfg       config
	when      time.Time
	loadAvg   string
	idleBusy  float64 // how busy the machine was just before sending, %
	idleWait  time.Duration
	spawned   bool
	buildTime time.Duration
	targetURL string
	logPath   string
	bin       string

	reports  []report
	dels     []*delivery
	sealTime time.Duration

	sendStart, sendEnd time.Time
	statuses           map[int]int
	errors             map[string]int
	sent, accepted     int
	distinctAccepted   int
	lastFirstAccept    time.Time
	lat, firstLat      []time.Duration
	maxLag             time.Duration

	tickets        []ticketRow
	ticketCount    int
	perReport      []int // tickets per report index
	duplicates     int   // reports with more than one ticket
	dupTexts       int
	mismatched     int // tickets whose text is not their report's
	lastTicket     time.Time
	waitedOut      bool
	replies        replyCounts
	repliesMatched int // confirmations naming a ticket of this run
	lastReply      time.Time
	done           time.Time

	inboxStored, inboxUnprocessed, inboxRetried int
	outbox                                      outboxCounts
	queueFull                                   int
	before, after                               metrics

	cpuSend, cpuAll cpuShare
	pgbench         *pgbenchResult
	pgbenchErr      error
	profilePath     string
	profileTop      string
}

// run performs one load run and reports what it measured; an error means
// the run itself could not be done (setup, a dead opsbot), not that a
// target was missed.
func run(ctx context.Context, cfg config) (*outcome, error) {
	o := &outcome{cfg: cfg, when: time.Now(), loadAvg: loadAvg(), statuses: map[int]int{}, errors: map[string]int{}}
	say := func(format string, args ...any) { fmt.Fprintf(cfg.out, "· "+format+"\n", args...) }
	crypto, err := bot.NewCrypto(cfg.token, cfg.aesKey, cfg.corpID)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "opsbot-load-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	// MsgIds start at a value no earlier run used (milliseconds since the
	// epoch, times 10^5), so runs against one database never collide.
	msgBase := time.Now().UnixMilli() * 100_000
	keys := newRunKeys(msgBase, cfg.reports)
	var people []reporter
	o.reports, people = planReports(cfg.reports, cfg.users, cfg.maxCopies, cfg.seed, msgBase)

	fake := wecomtest.New()
	defer fake.Close()
	var staff []string
	if cfg.staffFile != "" {
		roster, err := configs.LoadStaff(cfg.staffFile)
		if err != nil {
			return nil, err
		}
		for _, s := range roster.Staff {
			staff = append(staff, s.UserID)
		}
	}
	registerPeople(fake, people, staff)
	tracker := newReplyTracker(fake, people)
	fakeURL, stopFake, err := serveFake(tracker, cfg.fakeAddr)
	if err != nil {
		return nil, fmt.Errorf("fake WeCom API: %w", err)
	}
	defer stopFake()

	dsn, err := dbURL(cfg.pg, cfg.db)
	if err != nil {
		return nil, err
	}
	var proc *drill.Replica
	if cfg.target == "" {
		o.spawned = true
		bin := cfg.opsbotBin
		if bin == "" {
			t := time.Now()
			if bin, err = drill.Build(ctx, cfg.opsbotSrc, dir); err != nil {
				return nil, err
			}
			o.buildTime = time.Since(t)
		}
		if err := recreateDB(ctx, cfg.pg, cfg.db); err != nil {
			return nil, err
		}
		if err := flushRedis(ctx, cfg.redis); err != nil {
			return nil, err
		}
		o.logPath = cfg.logFile
		if o.logPath == "" {
			o.logPath = filepath.Join(os.TempDir(), "opsbot-load.log")
		}
		// The load is thousands of reports about a few systems within
		// seconds: opsbot would fold them into outage incidents, and the
		// load test counts one ticket per report, so the threshold is
		// raised out of reach.
		cfgPath := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(cfgPath, []byte("monitoring:\n  aggregation: {reports: 1000000, window: 10m}\n"), 0o600); err != nil {
			return nil, err
		}
		env := map[string]string{
			"OPSBOT_CONFIG":         cfgPath,
			"OPSBOT_DB":             dsn,
			"OPSBOT_REDIS":          cfg.redis,
			"OPSBOT_WECOM_CORP_ID":  cfg.corpID,
			"OPSBOT_WECOM_AGENT_ID": fmt.Sprint(cfg.agentID),
			"OPSBOT_WECOM_SECRET":   wecomtest.Secret,
			"OPSBOT_WECOM_TOKEN":    cfg.token,
			"OPSBOT_WECOM_AES_KEY":  cfg.aesKey,
			"OPSBOT_WECOM_API_BASE": fakeURL,
			"OPSBOT_STAFF_FILE":     cfg.staffFile,
			"OPSBOT_LOG_LEVEL":      "warn",
		}
		for _, kv := range cfg.opsbotEnv {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		if proc, err = drill.StartLogged(bin, dir, o.logPath, "opsbot", env); err != nil {
			return nil, err
		}
		defer proc.Stop(20 * time.Second)
		o.targetURL = proc.Public
		if err := proc.WaitReady(ctx, time.Minute); err != nil {
			return nil, err
		}
		o.bin = bin
		say("opsbot %s started at %s (log %s)", bin, o.targetURL, o.logPath)
	} else {
		o.targetURL = strings.TrimRight(cfg.target, "/")
		if err := drill.WaitOK(ctx, o.targetURL+"/healthz", 10*time.Second, nil); err != nil {
			return nil, err
		}
		say("attached to opsbot at %s; its WeCom API base should be %s to count replies", o.targetURL, fakeURL)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("load database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	if cfg.quietWait > 0 {
		o.idleBusy, o.idleWait = waitIdle(ctx, cfg.quietWait)
		say("machine %.0f%% busy before sending (waited %s for it to settle)", o.idleBusy, o.idleWait.Round(time.Second))
	}
	t := time.Now()
	if o.dels, err = sealAll(crypto, o.reports, cfg.agentID, t); err != nil {
		return nil, err
	}
	o.sealTime = time.Since(t)
	say("%d callbacks for %d reports sealed in %s; sending with %d clients", len(o.dels), len(o.reports), o.sealTime.Round(time.Millisecond), cfg.concurrency)

	opsbotPID := 0
	if proc != nil {
		opsbotPID = proc.PID()
	} else if u, err := url.Parse(o.targetURL); err == nil {
		port, _ := strconv.Atoi(u.Port())
		opsbotPID = pidListening(port)
	}
	o.before, _ = scrapeMetrics(ctx, o.targetURL)
	profDone := make(chan error, 1)
	if cfg.pprofURL != "" {
		o.profilePath = cfg.pprofOut
		go func() { profDone <- fetchProfile(ctx, cfg.pprofURL, cfg.pprofSeconds, o.profilePath) }()
	}
	c0 := sampleCPU()
	o.sendStart, o.sendEnd = sendAll(ctx, sendPlan{target: o.targetURL, concurrency: cfg.concurrency, rate: cfg.rate, crypto: crypto, agentID: cfg.agentID, sealed: t}, o.dels)
	c1 := sampleCPU()
	o.cpuSend = shareBetween(c0, c1, opsbotPID)
	o.tallyCallbacks()
	say("sent in %s: %d of %d answered 200; waiting for tickets and replies", o.sendEnd.Sub(o.sendStart).Round(time.Millisecond), o.accepted, o.sent)

	// Wait until every accepted report has its ticket and its reply, or
	// every reporter got some answer and nothing moves any more (a report
	// answered with a question never becomes a ticket on its own).
	deadline := time.Now().Add(cfg.timeout)
	lastCount, lastMove := -1, time.Now()
	for {
		n, err := countTickets(ctx, conn, keys)
		if err != nil {
			return nil, err
		}
		rc := tracker.counts()
		if !o.spawned && rc.tickets+rc.questions+rc.other == 0 {
			// An attached opsbot may send to the real WeCom or elsewhere:
			// count the replies it marked sent instead.
			ob, err := outboxStats(ctx, conn, keys)
			if err != nil {
				return nil, err
			}
			rc.tickets, rc.changed = ob.byStatus["sent"], ob.lastSent
		}
		if n != lastCount {
			lastCount, lastMove = n, time.Now()
		}
		if rc.changed.After(lastMove) {
			lastMove = rc.changed
		}
		answered := rc.tickets + rc.questions + rc.other
		if n >= o.distinctAccepted && rc.tickets >= n {
			break
		}
		if answered >= o.distinctAccepted && time.Since(lastMove) > 3*time.Second {
			break
		}
		if time.Now().After(deadline) {
			o.waitedOut = true
			break
		}
		if proc != nil && !proc.Alive() {
			return nil, fmt.Errorf("opsbot exited during the run:\n%s", proc.LogTail(20))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		// Counting the run's tickets costs Postgres ~25 ms at 20,000 rows;
		// polling faster would load the very server being measured. The
		// rates come from the rows' own timestamps, not from this loop.
		case <-time.After(time.Second):
		}
	}
	o.done = time.Now()
	c2 := sampleCPU()
	o.cpuAll = shareBetween(c0, c2, opsbotPID)
	o.after, _ = scrapeMetrics(ctx, o.targetURL)

	if err := o.collect(ctx, conn, keys, tracker); err != nil {
		return nil, err
	}
	if proc != nil {
		full, _ := proc.LogLines("queue full")
		o.queueFull = len(full)
	}
	if cfg.pprofURL != "" {
		if err := <-profDone; err != nil {
			o.profileTop = "profile failed: " + err.Error()
		} else {
			o.profileTop = profileTop(ctx, o.bin, o.profilePath, 25)
		}
	}
	if cfg.pgbenchTime > 0 {
		say("pgbench: %d clients, %s", cfg.concurrency, cfg.pgbenchTime)
		res, err := runPgbench(ctx, dsn, dir, cfg.concurrency, cfg.pgbenchTime, cfg.pgbenchAutocommit, opsbotPID)
		o.pgbench, o.pgbenchErr = &res, err
	}
	return o, nil
}

// tallyCallbacks counts statuses and latencies once sending is over.
func (o *outcome) tallyCallbacks() {
	acceptedAt := map[*report]time.Time{}
	for _, d := range o.dels {
		res := d.result
		if res.start.IsZero() {
			continue // never sent: the run was interrupted
		}
		o.sent++
		o.maxLag = max(o.maxLag, res.lag)
		switch {
		case res.err != "":
			o.errors[res.err]++
		case res.status == 200:
			o.accepted++
			o.lat = append(o.lat, res.latency)
			if d.first {
				o.firstLat = append(o.firstLat, res.latency)
			}
			at := res.start.Add(res.latency)
			if prev, ok := acceptedAt[d.r]; !ok || at.Before(prev) {
				acceptedAt[d.r] = at
			}
		default:
			o.statuses[res.status]++
		}
	}
	o.distinctAccepted = len(acceptedAt)
	for _, at := range acceptedAt {
		if at.After(o.lastFirstAccept) {
			o.lastFirstAccept = at
		}
	}
	slices.Sort(o.lat)
	slices.Sort(o.firstLat)
}

// collect reads the tickets, inbox and outbox of the run and matches the
// replies to the tickets.
func (o *outcome) collect(ctx context.Context, conn *pgx.Conn, keys runKeys, tracker *replyTracker) error {
	var err error
	if o.tickets, err = runTickets(ctx, conn, keys); err != nil {
		return fmt.Errorf("tickets: %w", err)
	}
	o.ticketCount = len(o.tickets)
	o.perReport = make([]int, len(o.reports))
	ids := map[int64]bool{}
	for _, t := range o.tickets {
		ids[t.id] = true
		i := keys.index(t.sourceKey)
		if i < 0 {
			o.mismatched++
			continue
		}
		o.perReport[i]++
		// The router normalises the text (full-width punctuation and
		// spaces), so the report's tag is what identifies it.
		if !strings.HasSuffix(t.description, o.reports[i].tag()) {
			o.mismatched++
		}
		if t.createdAt.After(o.lastTicket) {
			o.lastTicket = t.createdAt
		}
	}
	for _, c := range o.perReport {
		if c > 1 {
			o.duplicates++
		}
	}
	if o.dupTexts, err = duplicateTexts(ctx, conn, keys); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("duplicate texts: %w", err)
	}
	o.replies = tracker.counts()
	for id, at := range tracker.confirmed() {
		if ids[id] {
			o.repliesMatched++
			if at.After(o.lastReply) {
				o.lastReply = at
			}
		}
	}
	if o.inboxStored, o.inboxUnprocessed, o.inboxRetried, err = inboxStats(ctx, conn, keys); err != nil {
		return fmt.Errorf("inbox: %w", err)
	}
	if o.outbox, err = outboxStats(ctx, conn, keys); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if !o.spawned && o.repliesMatched == 0 {
		// Not through our fake: take the outbox's word for delivery.
		o.repliesMatched, o.lastReply = o.outbox.byStatus["sent"], o.outbox.lastSent
	}
	return nil
}
