package drill

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"opsbot/bot/wecomtest"
)

func TestProxyTakesTurnsAndSkipsADeadReplica(t *testing.T) {
	var got []string
	backend := func(name string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			got = append(got, name+":"+string(body))
			w.Header().Set("X-Replica", name)
			fmt.Fprint(w, "ok")
		}))
	}
	a, b := backend("a"), backend("b")
	defer a.Close()
	defer b.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close() // its port refuses connections now

	p := NewProxy([]string{a.URL, deadURL, b.URL})
	front := httptest.NewServer(p)
	defer front.Close()
	post := func(body string) string {
		resp, err := http.Post(front.URL+"/wecom/callback?x=1", "text/xml", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		return resp.Header.Get("X-Replica")
	}
	var order []string
	for i := range 6 {
		order = append(order, post(fmt.Sprint(i)))
	}
	// The dead replica's turn goes to the next one, with the whole body;
	// then it is left out and its turns go to the next live one.
	if want := "a b b a b b"; strings.Join(order, " ") != want {
		t.Fatalf("answered by %v, want %s", order, want)
	}
	if got[1] != "b:1" {
		t.Fatalf("the failed-over request arrived as %q", got[1])
	}
	if p.Failovers() != 1 || p.Counts()[deadURL] != 0 {
		t.Fatalf("failovers %d, counts %v", p.Failovers(), p.Counts())
	}

	// A restarted replica takes the dead one's place.
	c := backend("c")
	defer c.Close()
	p.Replace(1, c.URL)
	seen := map[string]bool{}
	for i := range 3 {
		seen[post(fmt.Sprint(10+i))] = true
	}
	if !seen["c"] {
		t.Fatalf("the replacement got no turn: %v", seen)
	}
}

func TestProxyAnswers502WhenAllAreDead(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	front := httptest.NewServer(NewProxy([]string{dead.URL}))
	defer front.Close()
	resp, err := http.Post(front.URL, "text/xml", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestConfirmationsAndReminders(t *testing.T) {
	msgs := []wecomtest.SentMessage{
		{To: []string{"drill0001"}, Text: "已登记工单 #12（门诊收费，优先级中）。工程师接单后会通知您。\n\n已登记工单 #13（门诊收费，优先级中）。"},
		{To: []string{"drill0001"}, Text: "已登记工单 #12（门诊收费，优先级中）。"},
		{To: []string{"zhangsan"}, Text: "【提醒汇总】2 项需要关注：\n· 【未接单提醒】#12 门诊收费｜打印不了发票 已等待 6秒 无人接单（响应时限 12-02 07:00）。请尽快“接单 12”。\n· 【未接单提醒】#13 门诊收费｜打印不了发票 已等待 5秒 无人接单（响应时限 12-02 07:00）。请尽快“接单 13”。"},
		{To: []string{"zhaoliu"}, Text: "【未接单升级】#12 门诊收费｜打印不了发票 已等待 11秒 无人接单（响应时限 12-02 07:00）。请尽快“接单 12”。"},
	}
	conf := Confirmations(msgs)
	if len(conf[12]) != 2 || len(conf[13]) != 1 || conf[12][1].Message != 1 || conf[12][0].To != "drill0001" {
		t.Fatalf("confirmations %v", conf)
	}
	rem := MessageReminders(msgs)
	want := map[ReminderItem]int{
		{12, "未接单提醒", "zhangsan"}: 1,
		{13, "未接单提醒", "zhangsan"}: 1,
		{12, "未接单升级", "zhaoliu"}:  1,
	}
	if len(rem) != len(want) {
		t.Fatalf("reminders %v", rem)
	}
	for k, n := range want {
		if rem[k] != n {
			t.Fatalf("reminders %v, want %v", rem, want)
		}
	}
}

func TestPlanDeliversEveryReportTwoOrThreeTimes(t *testing.T) {
	plan := Plan(200, 20, 1, 1000)
	together, after := 0, 0
	for i, r := range plan {
		if r.N != i || r.MsgID != 1000+int64(i) || r.User != fmt.Sprintf("drill%04d", i%20) || !strings.HasSuffix(r.Text, fmt.Sprintf(" #%d", i)) {
			t.Fatalf("report %d: %+v", i, r)
		}
		if c := r.Copies(); c < 2 || c > 3 {
			t.Fatalf("report %d has %d copies", i, c)
		}
		together += r.Concurrent
		after += len(r.Later)
	}
	// Both kinds of WeCom retry are well represented.
	if together < 60 || after < 60 {
		t.Fatalf("%d concurrent and %d later copies", together, after)
	}
}
