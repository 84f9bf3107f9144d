package drill

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"time"

	"opsbot/bot/wecomtest"
)

// Fake is the fake WeCom API shared by the replicas. A message is recorded
// as soon as it arrives and answered AnswerDelay later, like a real API
// whose answer is on its way back: a replica killed in that window has
// delivered a message it never marks sent, which is the repeat a crash
// can cause (docs/wecom.md).
type Fake struct {
	*wecomtest.Server
	// URL is the API base the replicas use (OPSBOT_WECOM_API_BASE).
	URL string
	srv *httptest.Server
}

// NewFake starts the fake; Close stops it.
func NewFake(answerDelay time.Duration) *Fake {
	f := &Fake{Server: wecomtest.New()}
	inner := f.Server.Config.Handler
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.ServeHTTP(w, r) // the answer is buffered until we return
		if answerDelay > 0 && r.URL.Path == "/cgi-bin/message/send" {
			time.Sleep(answerDelay)
		}
	}))
	f.URL = f.srv.URL
	return f
}

// Close stops both servers.
func (f *Fake) Close() {
	f.srv.Close()
	f.Server.Close()
}

var (
	confirmation = regexp.MustCompile(`已登记工单 #(\d+)`)
	// A reminder line: 【level】… “接单 id”. The response clock's texts end
	// with the command that claims the ticket.
	reminderLine = regexp.MustCompile(`【([^】]+)】[^\n]*?“接单 (\d+)”`)
)

// Occurrence is one sighting of an item in a message.
type Occurrence struct {
	To      string
	Message int // index in the message list
}

// Confirmations finds every 已登记工单 #id in msgs: ticket id → where each
// sighting was. Texts queued together for one person go out as one
// message, so a message may confirm several tickets.
func Confirmations(msgs []wecomtest.SentMessage) map[int64][]Occurrence {
	out := map[int64][]Occurrence{}
	for i, m := range msgs {
		for _, sub := range confirmation.FindAllStringSubmatch(m.Text, -1) {
			id, _ := strconv.ParseInt(sub[1], 10, 64)
			for _, to := range m.To {
				out[id] = append(out[id], Occurrence{To: to, Message: i})
			}
		}
	}
	return out
}

// ReminderItem is one reminder level of one ticket for one person.
type ReminderItem struct {
	Ticket int64
	Level  string
	To     string
}

// Reminders finds the reminder items in texts sent to people; a digest
// (【提醒汇总】) holds several. to says who each text went to.
func Reminders(texts []string, to [][]string) map[ReminderItem]int {
	out := map[ReminderItem]int{}
	for i, t := range texts {
		for _, sub := range reminderLine.FindAllStringSubmatch(t, -1) {
			if sub[1] == "提醒汇总" {
				continue
			}
			id, _ := strconv.ParseInt(sub[2], 10, 64)
			for _, p := range to[i] {
				out[ReminderItem{Ticket: id, Level: sub[1], To: p}]++
			}
		}
	}
	return out
}

// MessageReminders is Reminders over what the fake accepted.
func MessageReminders(msgs []wecomtest.SentMessage) map[ReminderItem]int {
	texts := make([]string, len(msgs))
	to := make([][]string, len(msgs))
	for i, m := range msgs {
		texts[i], to[i] = m.Text, m.To
	}
	return Reminders(texts, to)
}

// Matching returns the messages whose text contains substr.
func Matching(msgs []wecomtest.SentMessage, substr string) []wecomtest.SentMessage {
	var out []wecomtest.SentMessage
	for _, m := range msgs {
		if strings.Contains(m.Text, substr) {
			out = append(out, m)
		}
	}
	return out
}
