package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Targets from the issue, for a 2-core machine.
const (
	targetReportsPerSec = 1000.0
	targetP99           = 50 * time.Millisecond
	targetPgbenchRatio  = 0.5
)

// pct is the q-quantile of sorted durations (nearest rank).
func pct(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

// since formats the seconds from the first send to t.
func (o *outcome) since(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return fmt.Sprintf("%.2f s", t.Sub(o.sendStart).Seconds())
}

func perSec(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// acceptRate is the callback throughput: distinct reports accepted per
// second, from the first send to the last report's first 200.
func (o *outcome) acceptRate() float64 {
	return perSec(o.distinctAccepted, o.lastFirstAccept.Sub(o.sendStart))
}

// ticketRate is tickets per second from the first send to the last ticket's
// created_at (opsbot stamps it when the ticket's transaction starts).
func (o *outcome) ticketRate() float64 { return perSec(o.ticketCount, o.lastTicket.Sub(o.sendStart)) }

func (o *outcome) replyRate() float64 { return perSec(o.repliesMatched, o.lastReply.Sub(o.sendStart)) }

// exactlyOne reports whether every accepted report has exactly one ticket
// and no ticket is stray.
func (o *outcome) exactlyOne() bool {
	return o.ticketCount == o.distinctAccepted && o.duplicates == 0 && o.dupTexts == 0 && o.mismatched == 0 && o.distinctAccepted == len(o.reports)
}

// copiesPlanned is how many callbacks the run meant to send.
func (o *outcome) copiesPlanned() int { return len(o.dels) }

func (o *outcome) non200() int {
	n := 0
	for _, c := range o.statuses {
		n += c
	}
	for _, c := range o.errors {
		n += c
	}
	return n
}

// print writes the run's figures and the verdict on each target.
func (o *outcome) print(w io.Writer, command string) {
	cfg := o.cfg
	host, _ := os.Hostname()
	line := func(label, format string, args ...any) {
		fmt.Fprintf(w, "  %-30s %s\n", label, fmt.Sprintf(format, args...))
	}
	fmt.Fprintf(w, "\nopsbot load run, %s\n", o.when.Format("2006-01-02 15:04:05 MST"))
	line("command", "%s", command)
	line("machine", "%s, %d CPUs, %s, load average before %s", host, runtime.NumCPU(), runtime.Version(), o.loadAvg)
	if cfg.quietWait > 0 {
		line("before sending", "%.0f%% busy after waiting %s (--quiet-wait %s)", o.idleBusy, o.idleWait.Round(time.Second), cfg.quietWait)
	}
	if o.spawned {
		build := "prebuilt"
		if o.buildTime > 0 {
			build = "built in " + o.buildTime.Round(100*time.Millisecond).String()
		}
		line("target", "opsbot spawned (%s) at %s, database %s, %s", build, o.targetURL, cfg.db, cfg.redis)
	} else {
		line("target", "opsbot attached at %s, database %s", o.targetURL, cfg.db)
	}
	rate := "closed loop (as fast as the clients go)"
	if cfg.rate > 0 {
		rate = fmt.Sprintf("paced at %.0f reports/s (max client lag %s)", cfg.rate, ms(o.maxLag))
	}
	line("plan", "%d reports from %d users, 1–%d copies each (seed %d), %d clients, %s", len(o.reports), cfg.users, cfg.maxCopies, cfg.seed, cfg.concurrency, rate)

	fmt.Fprintln(w, "\ncallbacks")
	sendDur := o.sendEnd.Sub(o.sendStart)
	line("messages sent (incl. retries)", "%d in %.2f s (%.0f/s); sealed beforehand in %s", o.sent, sendDur.Seconds(), perSec(o.sent, sendDur), o.sealTime.Round(time.Millisecond))
	line("accepted (200)", "%d", o.accepted)
	if n := o.non200(); n == 0 {
		line("non-200", "none")
	} else {
		var parts []string
		for _, s := range slices.Sorted(maps.Keys(o.statuses)) {
			parts = append(parts, fmt.Sprintf("%d×%d", o.statuses[s], s))
		}
		for _, e := range slices.Sorted(maps.Keys(o.errors)) {
			parts = append(parts, fmt.Sprintf("%d×%s", o.errors[e], e))
		}
		line("non-200", "%d: %s", n, strings.Join(parts, ", "))
	}
	line("distinct reports", "%d sent, %d accepted", len(o.reports), o.distinctAccepted)
	line("callback throughput", "%.0f distinct reports/s accepted (last first-200 at %s)", o.acceptRate(), o.since(o.lastFirstAccept))
	line("time to 200, all", "p50 %s  p90 %s  p99 %s  max %s", ms(pct(o.lat, .5)), ms(pct(o.lat, .9)), ms(pct(o.lat, .99)), ms(pct(o.lat, 1)))
	line("time to 200, first copies", "p50 %s  p90 %s  p99 %s  max %s", ms(pct(o.firstLat, .5)), ms(pct(o.firstLat, .9)), ms(pct(o.firstLat, .99)), ms(pct(o.firstLat, 1)))
	if acc, dup := o.metricDelta(`opsbot_wecom_callbacks_total{result="accepted"}`), o.metricDelta(`opsbot_wecom_callbacks_total{result="duplicate"}`); acc+dup > 0 {
		line("opsbot counted", "%.0f accepted, %.0f duplicate, %.0f failed", acc, dup, o.metricDelta(`opsbot_wecom_callbacks_total{result="failed"}`))
	}

	fmt.Fprintln(w, "\ntickets")
	line("tickets created", "%d", o.ticketCount)
	line("duplicate tickets", "%d (reports with more than one ticket; %d texts with more than one)", o.duplicates, o.dupTexts)
	missing := 0
	for i, c := range o.perReport {
		if c == 0 && i < len(o.reports) {
			missing++
		}
	}
	line("reports without a ticket", "%d", missing)
	if o.mismatched > 0 {
		line("tickets with a wrong text", "%d", o.mismatched)
	}
	line("ticket creation rate", "%.0f tickets/s (first send → last created_at, %s)", o.ticketRate(), o.since(o.lastTicket))
	line("inbox", "%d rows, %d unprocessed, %d retried after a failure", o.inboxStored, o.inboxUnprocessed, o.inboxRetried)
	if o.spawned {
		line("queue full → left to recovery", "%d messages", o.queueFull)
	}

	fmt.Fprintln(w, "\nreplies")
	line("replies delivered", "%d ticket confirmations (%d name a ticket of this run); %d questions, %d other; %d messages to staff", o.replies.tickets, o.repliesMatched, o.replies.questions, o.replies.other, o.replies.toStaff)
	line("reply delivery rate", "%.0f replies/s (first send → last confirmation, %s)", o.replyRate(), o.since(o.lastReply))
	var ob []string
	for _, s := range slices.Sorted(maps.Keys(o.outbox.byStatus)) {
		ob = append(ob, fmt.Sprintf("%s %d", s, o.outbox.byStatus[s]))
	}
	line("outbox (replies of this run)", "%s", strings.Join(ob, ", "))
	if o.waitedOut {
		line("WAIT TIMED OUT", "after %s; the figures above are what was done by then", cfg.timeout)
	}
	if o.replies.questions > 0 && o.ticketCount < o.distinctAccepted {
		fmt.Fprintf(w, "  ! opsbot answered %d reports with a question instead of a ticket: its catalog did not\n"+
			"    recognise the system or place (a stub catalog recognises nothing).\n", o.replies.questions)
	}

	fmt.Fprintln(w, "\ncpu (100% = one core)")
	line("send phase", "%s", o.cpuSend)
	line("send + processing", "%s", o.cpuAll)
	if o.distinctAccepted > 0 {
		per := func(sec float64) string {
			return fmt.Sprintf("%.0f µs", 1e6*sec/float64(o.distinctAccepted))
		}
		line("cpu per report", "opsbot %s, postgres %s, redis %s, loadgen+fake %s", per(o.cpuAll.opsbotSec), per(o.cpuAll.postgresSec), per(o.cpuAll.redisSec), per(o.cpuAll.loadgenSec))
	}
	if d := o.metricDelta("process_cpu_seconds_total"); d > 0 && !o.spawned {
		line("opsbot cpu (its /metrics)", "%.2f s", d)
	}

	if o.pgbench != nil || o.pgbenchErr != nil {
		fmt.Fprintln(w, "\npgbench")
		if o.pgbenchErr != nil {
			line("failed", "%v", o.pgbenchErr)
		} else {
			line("script", "%s", o.pgbench.script)
			line("tps", "%.0f (-c %d -j 2 -T %.0f)", o.pgbench.tps, cfg.concurrency, cfg.pgbenchTime.Seconds())
			line("cpu", "%s", o.pgbench.cpu)
			line("ticket rate / pgbench tps", "%.2f", o.ticketRate()/o.pgbench.tps)
		}
	}
	if o.profileTop != "" {
		fmt.Fprintf(w, "\nopsbot cpu profile (%s, %d s from the start of sending)\n", o.profilePath, cfg.pprofSeconds)
		for _, l := range strings.Split(strings.TrimSpace(o.profileTop), "\n") {
			fmt.Fprintln(w, "  "+l)
		}
	}

	fmt.Fprintln(w, "\ntargets")
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT MET"
	}
	line("≥ 1000 reports/s accepted", "%-8s %.0f/s", verdict(o.acceptRate() >= targetReportsPerSec), o.acceptRate())
	line("p99 time to 200 ≤ 50 ms", "%-8s %s", verdict(pct(o.lat, .99) <= targetP99 && len(o.lat) > 0), ms(pct(o.lat, .99)))
	line("one ticket per report", "%-8s %d tickets for %d reports, %d duplicates", verdict(o.exactlyOne()), o.ticketCount, len(o.reports), o.duplicates)
	if o.pgbench != nil && o.pgbench.tps > 0 {
		r := o.ticketRate() / o.pgbench.tps
		line("ticket rate ≥ ½ pgbench tps", "%-8s %.0f/s vs %.0f tps = %.2f", verdict(r >= targetPgbenchRatio), o.ticketRate(), o.pgbench.tps, r)
	} else {
		line("ticket rate ≥ ½ pgbench tps", "not measured (--pgbench-time 0)")
	}
}

// metricDelta is how much a counter of opsbot's grew during the run.
func (o *outcome) metricDelta(name string) float64 {
	return o.after[name] - o.before[name]
}
