package wecomtest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func post(t *testing.T, s *Server, path, body string) map[string]any {
	t.Helper()
	resp, err := http.Post(s.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans map[string]any
	json.NewDecoder(resp.Body).Decode(&ans)
	return ans
}

func token(t *testing.T, s *Server) string {
	t.Helper()
	resp, err := http.Get(s.URL + "/cgi-bin/gettoken?corpid=" + CorpID + "&corpsecret=" + Secret)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&ans)
	return ans.AccessToken
}

func TestFailCountsDown(t *testing.T) {
	s := New()
	defer s.Close()
	tok := token(t, s)
	s.Fail("message/send", 45009, 2)
	body := `{"touser":"a","msgtype":"text","agentid":1,"text":{"content":"hi"}}`
	var codes []float64
	for range 3 {
		codes = append(codes, post(t, s, "/cgi-bin/message/send?access_token="+tok, body)["errcode"].(float64))
	}
	if codes[0] != 45009 || codes[1] != 45009 || codes[2] != 0 {
		t.Errorf("errcodes %v", codes)
	}
	if len(s.Messages()) != 1 || len(s.CallsTo("message/send")) != 3 {
		t.Errorf("%d messages, %d calls", len(s.Messages()), len(s.CallsTo("message/send")))
	}
	if ans := post(t, s, "/cgi-bin/message/send?access_token="+tok, `{"touser":"a","msgtype":"text","agentid":"1"}`); ans["errcode"].(float64) != codeBadAgentID {
		t.Errorf("string agentid accepted: %v", ans)
	}
}

func TestTokensExpire(t *testing.T) {
	s := New()
	defer s.Close()
	first := token(t, s)
	if again := token(t, s); again != first {
		t.Errorf("a valid token was replaced: %s → %s", first, again)
	}
	s.ExpireTokens()
	body := `{"touser":"a","msgtype":"text","agentid":1,"text":{"content":"hi"}}`
	if code := post(t, s, "/cgi-bin/message/send?access_token="+first, body)["errcode"].(float64); code != codeExpiredToken {
		t.Errorf("expired token: errcode %v", code)
	}
	if code := post(t, s, "/cgi-bin/message/send?access_token=made-up", body)["errcode"].(float64); code != codeInvalidToken {
		t.Errorf("unknown token: errcode %v", code)
	}
	if second := token(t, s); second == first || s.TokenFetches() != 3 {
		t.Errorf("new token %s, fetches %d", second, s.TokenFetches())
	}
}

func TestWaitMessages(t *testing.T) {
	s := New()
	defer s.Close()
	go func() {
		time.Sleep(20 * time.Millisecond)
		for range 3 {
			post(t, s, "/cgi-bin/webhook/send?key=k", `{"msgtype":"text","text":{"content":"告警"}}`)
		}
	}()
	msgs := s.WaitMessages(t, 3, 5*time.Second)
	if len(msgs) < 3 || msgs[0].RobotKey != "k" || msgs[0].Text != "告警" {
		t.Errorf("messages %+v", msgs)
	}
}
