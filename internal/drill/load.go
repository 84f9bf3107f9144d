package drill

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"opsbot/bot"
	"opsbot/bot/wecomtest"
)

// Report is one fault report and how WeCom delivers it.
type Report struct {
	N     int
	User  string
	MsgID int64
	Text  string
	// Concurrent copies go out together with the first (WeCom retrying
	// while the first is still unanswered); through the proxy they land on
	// other replicas.
	Concurrent int
	// Later copies go out these delays after the first was answered.
	Later []time.Duration
}

// Copies is how often WeCom delivers the report.
func (r Report) Copies() int { return 1 + r.Concurrent + len(r.Later) }

// Key is the inbox key, and so the ticket's source key, of the report.
func (r Report) Key() string { return "msg:" + strconv.FormatInt(r.MsgID, 10) }

// reportTexts are one-line reports that name a system, a fault and a
// place, of medium priority: each makes a ticket at once, without a
// question back and without waking the on-call engineer.
var reportTexts = []string{
	"收费系统打印不了发票，门诊一楼3号窗口",
	"门诊挂号系统登录不上，一楼5号窗口",
	"检验系统结果传不过来，检验科",
	"门诊药房发药扫码没反应，一楼药房窗口",
	"护士工作站体温单打不出来，5病区",
	"体检系统导检单打印不了，体检中心",
	"住院收费押金条打印失败，住院处2号窗口",
	"病案系统首页上传失败，病案室",
}

// Users names the n reporters of a drill: drill0000 … .
func Users(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("drill%04d", i)
	}
	return out
}

// Plan builds n reports from users reporters, every one delivered two or
// three times: each extra copy either together with the first or up to
// half a second after its answer. msgBase keeps the MsgIds of one run
// apart from any other's.
func Plan(n, users int, seed uint64, msgBase int64) []Report {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	people := Users(users)
	out := make([]Report, n)
	for i := range out {
		r := &out[i]
		r.N = i
		r.User = people[i%users]
		r.MsgID = msgBase + int64(i)
		r.Text = fmt.Sprintf("报修 %s #%d", reportTexts[rng.IntN(len(reportTexts))], i)
		for range 1 + rng.IntN(2) {
			if rng.IntN(2) == 0 {
				r.Concurrent++
			} else {
				r.Later = append(r.Later, time.Duration(5+rng.IntN(500))*time.Millisecond)
			}
		}
	}
	return out
}

// Load is how reports are sent.
type Load struct {
	URL     string // where callbacks go (the proxy)
	Crypto  *bot.Crypto
	AgentID int
	// Rate offers this many new reports a second (open loop); zero sends
	// as fast as Workers clients go (closed loop).
	Rate    float64
	Workers int
	// OnSent is called after each report's first copy was answered, with
	// how many reports have been answered so far (the drill's kill switch).
	OnSent func(done int)
}

// Copy is what one callback got.
type Copy struct {
	Report  int
	First   bool   // the report's first copy, not a retry
	Status  int    // 0 when the request failed
	Err     string // transport error
	Start   time.Time
	Latency time.Duration // to the whole answer
}

// Result is everything sent.
type Result struct {
	Start, End time.Time
	Copies     []Copy
	// FirstAccepted is, per report, when its first 200 came (zero if none).
	FirstAccepted []time.Time
}

// Send delivers every copy of reports, sealed like WeCom seals them;
// reports[i].N must be i.
func (l Load) Send(ctx context.Context, reports []Report) Result {
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: 30 * time.Second},
		// WeCom gives up on an answer after 5 s.
		Timeout: 5 * time.Second,
	}
	workers := max(l.Workers, 1)
	res := Result{FirstAccepted: make([]time.Time, len(reports))}
	var mu sync.Mutex
	done := 0
	record := func(c Copy) {
		mu.Lock()
		defer mu.Unlock()
		res.Copies = append(res.Copies, c)
		if c.Status == http.StatusOK {
			at := c.Start.Add(c.Latency)
			if f := res.FirstAccepted[c.Report]; f.IsZero() || at.Before(f) {
				res.FirstAccepted[c.Report] = at
			}
		}
	}
	// Every copy is sealed before the clock starts, so that the AES work
	// of the sender does not compete with the replicas being measured.
	type sealed struct{ query, body []byte }
	copies := make([][]sealed, len(reports))
	now := time.Now()
	ts := strconv.FormatInt(now.Unix(), 10)
	for i, r := range reports {
		for n := range r.Copies() {
			nonce := strconv.FormatInt(r.MsgID, 36) + "n" + strconv.Itoa(n)
			body, sig, err := l.Crypto.Seal(wecomtest.TextXML(r.User, l.AgentID, r.MsgID, r.Text, now), ts, nonce)
			if err != nil {
				panic(fmt.Sprintf("drill: seal: %v", err)) // a bad key is the caller's bug
			}
			q := url.Values{"msg_signature": {sig}, "timestamp": {ts}, "nonce": {nonce}}.Encode()
			copies[i] = append(copies[i], sealed{[]byte(q), body})
		}
	}
	var later sync.WaitGroup
	post := func(r Report, copyN int, first bool) Copy {
		c := Copy{Report: r.N, First: first, Start: time.Now()}
		s := copies[r.N][copyN]
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, l.URL+"/wecom/callback?"+string(s.query), bytes.NewReader(s.body))
		req.Header.Set("Content-Type", "text/xml")
		resp, err := client.Do(req)
		if err != nil {
			c.Err = err.Error()
			c.Latency = time.Since(c.Start)
			return c
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		c.Status, c.Latency = resp.StatusCode, time.Since(c.Start)
		return c
	}
	deliver := func(r Report) {
		var wg sync.WaitGroup
		for i := range r.Concurrent {
			wg.Go(func() { record(post(r, 1+i, false)) })
		}
		record(post(r, 0, true))
		wg.Wait()
		mu.Lock()
		done++
		n := done
		mu.Unlock()
		if l.OnSent != nil {
			l.OnSent(n)
		}
		for i, d := range r.Later {
			later.Go(func() {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					return
				}
				record(post(r, 1+r.Concurrent+i, false))
			})
		}
	}

	jobs := make(chan Report)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for r := range jobs {
				deliver(r)
			}
		})
	}
	res.Start = time.Now()
	for i, r := range reports {
		if l.Rate > 0 {
			due := res.Start.Add(time.Duration(float64(i) / l.Rate * float64(time.Second)))
			select {
			case <-time.After(time.Until(due)):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		jobs <- r
	}
	close(jobs)
	wg.Wait()
	later.Wait()
	res.End = time.Now()
	return res
}

// Stats are the figures of a Result.
type Stats struct {
	Sent, Accepted, Failed int
	// Distinct reports with at least one copy answered 200.
	Distinct int
	// PerSecond is distinct reports accepted per second, from the first
	// send to the last report's first 200.
	PerSecond float64
	// Latency percentiles of every copy answered 200 (time to 200).
	P50, P90, P99, Max time.Duration
	Errors             map[string]int
	Statuses           map[int]int
}

// Stats computes the figures.
func (r Result) Stats() Stats {
	s := Stats{Errors: map[string]int{}, Statuses: map[int]int{}}
	var lat []time.Duration
	for _, c := range r.Copies {
		s.Sent++
		switch {
		case c.Err != "":
			s.Failed++
			s.Errors[c.Err]++
		case c.Status == http.StatusOK:
			s.Accepted++
			lat = append(lat, c.Latency)
		default:
			s.Failed++
			s.Statuses[c.Status]++
		}
	}
	var last time.Time
	for _, at := range r.FirstAccepted {
		if !at.IsZero() {
			s.Distinct++
			if at.After(last) {
				last = at
			}
		}
	}
	if d := last.Sub(r.Start); d > 0 {
		s.PerSecond = float64(s.Distinct) / d.Seconds()
	}
	slices.Sort(lat)
	s.P50, s.P90, s.P99 = quantile(lat, 0.50), quantile(lat, 0.90), quantile(lat, 0.99)
	if len(lat) > 0 {
		s.Max = lat[len(lat)-1]
	}
	return s
}

// quantile of sorted durations, nearest rank.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
