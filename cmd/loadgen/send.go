package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"opsbot/bot"
	"opsbot/bot/wecomtest"
)

// delivery is one HTTP callback: a copy of a report, sealed like WeCom
// seals it (each copy with its own timestamp and nonce, as a retry has).
type delivery struct {
	r     *report
	first bool
	// delay is how long after the first copy's answer a later retry goes
	// out; zero for the first copy and the concurrent retries.
	delay  time.Duration
	nonce  string
	query  string
	body   []byte
	result *result
}

// result is what one callback got.
type result struct {
	status  int    // 0 when the request failed
	err     string // transport error
	start   time.Time
	latency time.Duration // to the 200 (or other answer), body read
	// lag is how long the copy waited for a free client after it was due
	// (paced runs only); a large lag means the clients, not opsbot, were
	// the limit.
	lag time.Duration
}

// sealAll prepares every copy before the clock starts, so that the AES and
// XML work of the load generator does not compete with opsbot while it is
// measured.
func sealAll(crypto *bot.Crypto, reports []report, agentID int, now time.Time) ([]*delivery, error) {
	var out []*delivery
	for i := range reports {
		r := &reports[i]
		for c := range r.copies() {
			d := &delivery{r: r, first: c == 0, nonce: strconv.FormatInt(r.msgID, 36) + "n" + strconv.Itoa(c), result: &result{}}
			if err := d.seal(crypto, agentID, now); err != nil {
				return nil, err
			}
			if c > r.concurrent {
				d.delay = r.later[c-1-r.concurrent]
			}
			out = append(out, d)
		}
	}
	return out, nil
}

// seal encrypts and signs the copy as WeCom would at time at.
func (d *delivery) seal(crypto *bot.Crypto, agentID int, at time.Time) error {
	ts := strconv.FormatInt(at.Unix(), 10)
	plain := wecomtest.TextXML(d.r.user, agentID, d.r.msgID, d.r.text, at)
	body, sig, err := crypto.Seal(plain, ts, d.nonce)
	if err != nil {
		return err
	}
	d.body, d.query = body, url.Values{"msg_signature": {sig}, "timestamp": {ts}, "nonce": {d.nonce}}.Encode()
	return nil
}

// maxStampAge is how old a sealed copy may get before it is sealed again:
// the receiver refuses timestamps more than 5 minutes off.
const maxStampAge = 4 * time.Minute

// sendPlan is how the copies go out.
type sendPlan struct {
	target      string // base URL of opsbot
	concurrency int
	rate        float64 // distinct reports per second; 0 = as fast as the clients go
	// crypto, agentID and sealed let a long run seal copies again.
	crypto  *bot.Crypto
	agentID int
	sealed  time.Time
}

// sendAll sends every copy with plan.concurrency clients. The first copy of
// each report and its concurrent retries go out back to back, so idle
// clients pick them up together; later retries go out their delay after
// the first copy was answered, ahead of new reports.
func sendAll(ctx context.Context, plan sendPlan, dels []*delivery) (start, end time.Time) {
	type job struct {
		d   *delivery
		due time.Time
	}
	// Per report: the first copy with its concurrent retries, which go out
	// back to back; the later retries wait for the first copy's answer.
	var stream [][]*delivery
	laterOf := map[*delivery][]*delivery{}
	pendingLater := 0
	for _, d := range dels {
		switch {
		case d.first:
			stream = append(stream, []*delivery{d})
		case d.delay == 0:
			stream[len(stream)-1] = append(stream[len(stream)-1], d)
		default:
			first := stream[len(stream)-1][0]
			laterOf[first] = append(laterOf[first], d)
			pendingLater++
		}
	}

	transport := &http.Transport{
		MaxIdleConns:        plan.concurrency * 2,
		MaxIdleConnsPerHost: plan.concurrency * 2,
		IdleConnTimeout:     time.Minute,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}
	defer transport.CloseIdleConnections()
	// WeCom gives up after 5 s.
	client := &http.Client{Transport: transport, Timeout: 5 * time.Second}
	endpoint := plan.target + "/wecom/callback?"

	jobs := make(chan job)
	later := make(chan *delivery, pendingLater)
	var wg sync.WaitGroup
	for range plan.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				post(ctx, client, endpoint, plan, j.d, j.due)
				for _, l := range laterOf[j.d] {
					time.AfterFunc(l.delay, func() { later <- l })
				}
			}
		}()
	}

	start = time.Now()
	var ready []job
	next := 0
	for next < len(stream) || pendingLater > 0 || len(ready) > 0 {
		if ctx.Err() != nil {
			break
		}
		if len(ready) == 0 && next < len(stream) {
			due := time.Time{}
			if plan.rate > 0 {
				due = start.Add(time.Duration(float64(next) / plan.rate * float64(time.Second)))
				if wait := time.Until(due); wait > 0 {
					// Wait for the report's time, but let a later retry
					// that falls due meanwhile go first.
					select {
					case d := <-later:
						pendingLater--
						ready = append(ready, job{d: d})
						continue
					case <-time.After(wait):
					}
				}
			}
			for _, d := range stream[next] {
				ready = append(ready, job{d: d, due: due})
			}
			next++
		}
		var out chan job
		var head job
		if len(ready) > 0 {
			out, head = jobs, ready[0]
		}
		if out == nil && pendingLater > 0 {
			d := <-later
			pendingLater--
			ready = append(ready, job{d: d})
			continue
		}
		select {
		case out <- head:
			ready = ready[1:]
		case d := <-later:
			pendingLater--
			ready = append(ready, job{d: d})
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	end = time.Now()
	return start, end
}

// post delivers one copy and records what it got.
func post(ctx context.Context, client *http.Client, endpoint string, plan sendPlan, d *delivery, due time.Time) {
	res := d.result
	res.start = time.Now()
	if !due.IsZero() {
		res.lag = res.start.Sub(due)
	}
	if res.start.Sub(plan.sealed) > maxStampAge {
		// A long run: WeCom would stamp this delivery now.
		if err := d.seal(plan.crypto, plan.agentID, res.start); err != nil {
			res.err = err.Error()
			return
		}
		res.start = time.Now()
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+d.query, bytes.NewReader(d.body))
	req.Header.Set("Content-Type", "text/xml")
	resp, err := client.Do(req)
	if err != nil {
		res.err = shortErr(err)
	} else {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		res.status = resp.StatusCode
	}
	res.latency = time.Since(res.start)
}

// shortErr names a transport failure without the URL (which carries the
// signature and would make every error line unique).
func shortErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return fmt.Sprint(err)
}
