package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"opsbot/bot/wecomtest"
)

// replyTracker sits in front of the fake WeCom API and notes, as they
// arrive, the messages opsbot sends to the reporters of this run: which
// ticket a confirmation names, and when it came. The fake itself records
// calls but not their time.
type replyTracker struct {
	fake  *wecomtest.Server
	inner http.Handler
	users map[string]bool

	mu        sync.Mutex
	tickets   map[int64]time.Time // ticket id → when its confirmation arrived
	questions int                 // replies asking the reporter something
	other     int                 // any other message to a reporter
	toStaff   int                 // messages to anyone else (ops alerts)
	first     time.Time
	last      time.Time
	changed   time.Time
}

var ticketReply = regexp.MustCompile(`已登记工单 #(\d+)`)

func newReplyTracker(fake *wecomtest.Server, people []reporter) *replyTracker {
	users := make(map[string]bool, len(people))
	for _, p := range people {
		users[p.id] = true
	}
	return &replyTracker{fake: fake, inner: fake.Config.Handler, users: users, tickets: map[int64]time.Time{}}
}

func (t *replyTracker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/cgi-bin/message/send" {
		t.inner.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &statusRecorder{ResponseWriter: w}
	t.inner.ServeHTTP(rec, r)
	var m struct {
		ToUser string `json:"touser"`
		Text   struct {
			Content string `json:"content"`
		} `json:"text"`
		Markdown struct {
			Content string `json:"content"`
		} `json:"markdown"`
	}
	if json.Unmarshal(body, &m) != nil || !bytes.Contains(rec.body.Bytes(), []byte(`"errcode":0`)) {
		return
	}
	text := m.Text.Content + m.Markdown.Content
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.changed = now
	if !t.users[m.ToUser] {
		t.toStaff++
		return
	}
	if t.first.IsZero() {
		t.first = now
	}
	t.last = now
	// opsbot sends texts queued together for one person as one message, so
	// one message may confirm several tickets.
	switch subs := ticketReply.FindAllStringSubmatch(text, -1); {
	case subs != nil:
		for _, sub := range subs {
			id, _ := strconv.ParseInt(sub[1], 10, 64)
			if _, seen := t.tickets[id]; !seen {
				t.tickets[id] = now
			}
		}
	case strings.ContainsAny(text, "？?"):
		t.questions++
	default:
		t.other++
	}
}

// replyCounts is a snapshot of what the reporters received.
type replyCounts struct {
	tickets, questions, other, toStaff int
	first, last, changed               time.Time
}

func (t *replyTracker) counts() replyCounts {
	t.mu.Lock()
	defer t.mu.Unlock()
	return replyCounts{tickets: len(t.tickets), questions: t.questions, other: t.other, toStaff: t.toStaff, first: t.first, last: t.last, changed: t.changed}
}

// confirmed returns when each confirmed ticket's reply arrived.
func (t *replyTracker) confirmed() map[int64]time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[int64]time.Time, len(t.tickets))
	for k, v := range t.tickets {
		out[k] = v
	}
	return out
}

// statusRecorder keeps the answer so the tracker only counts sends the
// fake accepted.
type statusRecorder struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.body.Write(b)
	return s.ResponseWriter.Write(b)
}

// serveFake starts the tracker in front of the fake on addr (":0" style
// addresses pick a port) and returns its base URL.
func serveFake(t *replyTracker, addr string) (string, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: t}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// registerPeople puts the reporters, their departments and the staff in the
// fake's address list, so opsbot's user look-ups find names and
// departments as they would in a hospital.
func registerPeople(fake *wecomtest.Server, people []reporter, staff []string) {
	for i, d := range departments {
		fake.AddDepartment(2+i, d)
	}
	for _, p := range people {
		fake.AddUser(p.id, p.name, p.dept)
	}
	for _, s := range staff {
		fake.AddUser(s, s, 1)
	}
}
