// Package wecomtest is an in-process fake of the WeCom API for tests and load
// runs: it issues tokens, accepts sends, records every call, and fails on
// demand.
package wecomtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Defaults a test may use for its client; the fake accepts any corp id and
// secret that are not empty.
const (
	CorpID  = "wwfakecorp0000001"
	Secret  = "fake-secret"
	AgentID = 1000002
)

// WeCom errcodes the fake answers with.
const (
	codeMissingToken  = 41001
	codeInvalidToken  = 40014
	codeExpiredToken  = 42001
	codeMissingCorpID = 41002
	codeMissingSecret = 41004
	codeBadAgentID    = 40056
	codeBadParameter  = 40058
	codeAllInvalid    = 81013
	codeUserNotFound  = 60111
	codeBadDepartment = 60123
	codeBadWebhookKey = 93000
)

// Call is one request the fake received, failed or not.
type Call struct {
	API        string         // path after /cgi-bin/, e.g. "message/send"
	Method     string         // GET or POST
	Token      string         // access_token used; "" for gettoken and webhooks
	Query      url.Values     // the query, access_token and corpsecret removed
	Body       map[string]any // decoded JSON body; nil for GET
	ErrCode    int            // errcode the fake answered
	HTTPStatus int            // status the fake answered
}

// SentMessage is a message the fake accepted through message/send,
// appchat/send or webhook/send.
type SentMessage struct {
	API      string
	To       []string // touser split on '|'
	ChatID   string
	RobotKey string
	MsgType  string
	// Text is the content of text and markdown, title + "\n" + description
	// of a textcard, and main_title.title of a template card.
	Text         string
	TaskID       string // template cards
	ResponseCode string // template cards sent to people
	MediaID      string // file messages
	Body         map[string]any
}

type failure struct {
	errcode int
	status  int
	left    int
}

// Server is the fake; its URL is the APIBase for bot.ClientConfig.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	token    string // the valid token; "" until fetched
	tokenSeq int
	expired  map[string]bool
	fetches  int
	calls    []Call
	messages []SentMessage
	changed  chan struct{} // closed and replaced whenever messages grow
	fails    map[string][]*failure
	delays   map[string]time.Duration
	users    map[string]fakeUser
	depts    map[int]string
	media    map[string]Media
	seq      int
}

type fakeUser struct {
	name  string
	depts []int
}

// New starts a fake; t.Cleanup or defer s.Close() stops it.
func New() *Server {
	s := &Server{
		expired: map[string]bool{},
		changed: make(chan struct{}),
		fails:   map[string][]*failure{},
		delays:  map[string]time.Duration{},
		users:   map[string]fakeUser{},
		depts:   map[int]string{},
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Fail makes the next times calls to api (e.g. "message/send", "gettoken")
// answer errcode with HTTP 200.
func (s *Server) Fail(api string, errcode int, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fails[api] = append(s.fails[api], &failure{errcode: errcode, left: times})
}

// FailHTTP makes the next times calls to api answer the HTTP status with an
// empty body.
func (s *Server) FailHTTP(api string, status int, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fails[api] = append(s.fails[api], &failure{status: status, left: times})
}

// Delay holds every answer of api ("" for all APIs) for d; zero removes it.
func (s *Server) Delay(api string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delays[api] = d
}

// ExpireTokens makes the current token answer 42001 from now on; the next
// gettoken issues a new one.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" {
		s.expired[s.token] = true
		s.token = ""
	}
}

// AddUser registers a member for user/get. Once any user is registered,
// message/send reports unregistered recipients in invaliduser.
func (s *Server) AddUser(userID, name string, depts ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[userID] = fakeUser{name: name, depts: depts}
}

// AddDepartment registers a department for department/get.
func (s *Server) AddDepartment(id int, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.depts[id] = name
}

// TokenFetches counts gettoken calls.
func (s *Server) TokenFetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches
}

// Calls returns every request so far, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// CallsTo returns the requests to one api, oldest first.
func (s *Server) CallsTo(api string) []Call {
	var out []Call
	for _, c := range s.Calls() {
		if c.API == api {
			out = append(out, c)
		}
	}
	return out
}

// Messages returns the accepted messages, oldest first.
func (s *Server) Messages() []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.messages)
}

// WaitMessages waits until at least n messages were accepted and returns
// them; it fails the test after timeout.
func (s *Server) WaitMessages(t testing.TB, n int, timeout time.Duration) []SentMessage {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		if len(s.messages) >= n {
			out := slices.Clone(s.messages)
			s.mu.Unlock()
			return out
		}
		changed, got := s.changed, len(s.messages)
		s.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("wecomtest: %d of %d messages after %s", got, n, timeout)
			return nil
		}
	}
}

type answer map[string]any

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	api, ok := strings.CutPrefix(r.URL.Path, "/cgi-bin/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	call := Call{API: api, Method: r.Method, Query: r.URL.Query()}
	call.Token = call.Query.Get("access_token")
	call.Query.Del("access_token")
	call.Query.Del("corpsecret")
	if s.serveMedia(w, r, api, &call) {
		return
	}
	if r.Method == http.MethodPost {
		if err := json.NewDecoder(r.Body).Decode(&call.Body); err != nil {
			s.finish(w, &call, answer{"errcode": codeBadParameter, "errmsg": "invalid json"}, nil)
			return
		}
	}

	s.mu.Lock()
	delay := s.delays[api] + s.delays[""]
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}

	s.mu.Lock()
	if api == "gettoken" {
		s.fetches++
	} else if code := s.checkToken(api, call.Token); code != 0 {
		s.mu.Unlock()
		s.finish(w, &call, answer{"errcode": code, "errmsg": "access_token invalid or expired"}, nil)
		return
	}
	if f := s.takeFailure(api); f != nil {
		s.mu.Unlock()
		if f.status != 0 {
			call.HTTPStatus = f.status
			s.record(call, nil)
			w.WriteHeader(f.status)
			return
		}
		s.finish(w, &call, answer{"errcode": f.errcode, "errmsg": "injected by wecomtest"}, nil)
		return
	}
	ans, msg := s.handle(api, r.URL.Query(), &call)
	s.mu.Unlock()
	s.finish(w, &call, ans, msg)
}

// checkToken runs with mu held.
func (s *Server) checkToken(api, token string) int {
	switch {
	case api == "webhook/send":
		return 0
	case token == "":
		return codeMissingToken
	case s.expired[token]:
		return codeExpiredToken
	case token != s.token:
		return codeInvalidToken
	}
	return 0
}

// takeFailure runs with mu held.
func (s *Server) takeFailure(api string) *failure {
	q := s.fails[api]
	for len(q) > 0 && q[0].left <= 0 {
		q = q[1:]
	}
	s.fails[api] = q
	if len(q) == 0 {
		return nil
	}
	q[0].left--
	return q[0]
}

// handle answers a request that passed the token check; it runs with mu held.
func (s *Server) handle(api string, q url.Values, call *Call) (answer, *SentMessage) {
	body := call.Body
	switch api {
	case "gettoken":
		if q.Get("corpid") == "" {
			return answer{"errcode": codeMissingCorpID, "errmsg": "missing corpid"}, nil
		}
		if q.Get("corpsecret") == "" {
			return answer{"errcode": codeMissingSecret, "errmsg": "missing secret"}, nil
		}
		// WeCom hands out the same token while it is valid.
		if s.token == "" {
			s.tokenSeq++
			s.token = "fake-token-" + strconv.Itoa(s.tokenSeq)
		}
		return answer{"errcode": 0, "errmsg": "ok", "access_token": s.token, "expires_in": 7200}, nil

	case "message/send":
		if _, ok := body["agentid"].(float64); !ok {
			return answer{"errcode": codeBadAgentID, "errmsg": "invalid agentid: want a number"}, nil
		}
		m := sentMessage(api, body)
		m.To = splitBar(str(body["touser"]))
		var valid, invalid []string
		for _, u := range m.To {
			if _, known := s.users[u]; len(s.users) == 0 || known || u == "@all" {
				valid = append(valid, u)
			} else {
				invalid = append(invalid, u)
			}
		}
		if len(valid) == 0 {
			return answer{"errcode": codeAllInvalid, "errmsg": "user & party & tag all invalid", "invaliduser": strings.Join(invalid, "|")}, nil
		}
		s.seq++
		ans := answer{"errcode": 0, "errmsg": "ok", "invaliduser": strings.Join(invalid, "|"), "msgid": "fake-msg-" + strconv.Itoa(s.seq)}
		if m.MsgType == "template_card" {
			m.ResponseCode = "fake-response-code-" + strconv.Itoa(s.seq)
			ans["response_code"] = m.ResponseCode
		}
		return ans, &m

	case "appchat/send":
		m := sentMessage(api, body)
		m.ChatID = str(body["chatid"])
		if m.ChatID == "" {
			return answer{"errcode": codeBadParameter, "errmsg": "missing chatid"}, nil
		}
		return answer{"errcode": 0, "errmsg": "ok"}, &m

	case "webhook/send":
		m := sentMessage(api, body)
		m.RobotKey = q.Get("key")
		if m.RobotKey == "" {
			return answer{"errcode": codeBadWebhookKey, "errmsg": "invalid webhook url"}, nil
		}
		return answer{"errcode": 0, "errmsg": "ok"}, &m

	case "message/update_template_card":
		if _, ok := body["agentid"].(float64); !ok {
			return answer{"errcode": codeBadAgentID, "errmsg": "invalid agentid: want a number"}, nil
		}
		if str(body["response_code"]) == "" {
			return answer{"errcode": codeBadParameter, "errmsg": "missing response_code"}, nil
		}
		return answer{"errcode": 0, "errmsg": "ok", "invaliduser": []string{}}, nil

	case "appchat/create":
		members, _ := body["userlist"].([]any)
		if str(body["name"]) == "" || len(members) < 2 {
			return answer{"errcode": codeBadParameter, "errmsg": "name and two members required"}, nil
		}
		chatID := str(body["chatid"])
		if chatID == "" {
			s.seq++
			chatID = "fake-chat-" + strconv.Itoa(s.seq)
		}
		return answer{"errcode": 0, "errmsg": "ok", "chatid": chatID}, nil

	case "user/get":
		id := q.Get("userid")
		u, ok := s.users[id]
		if !ok {
			return answer{"errcode": codeUserNotFound, "errmsg": "userid not found"}, nil
		}
		depts := u.depts
		if depts == nil {
			depts = []int{1}
		}
		return answer{"errcode": 0, "errmsg": "ok", "userid": id, "name": u.name, "department": depts}, nil

	case "department/get":
		id, _ := strconv.Atoi(q.Get("id"))
		name, ok := s.depts[id]
		if !ok {
			return answer{"errcode": codeBadDepartment, "errmsg": "invalid party id"}, nil
		}
		return answer{"errcode": 0, "errmsg": "ok", "department": answer{"id": id, "name": name, "parentid": 1}}, nil
	}
	if ans, ok := s.directory(api, q); ok {
		return ans, nil
	}
	return answer{"errcode": codeBadParameter, "errmsg": "wecomtest does not fake " + api}, nil
}

// finish writes ans, records the call and, when msg is set, the message.
func (s *Server) finish(w http.ResponseWriter, call *Call, ans answer, msg *SentMessage) {
	code, _ := ans["errcode"].(int)
	call.ErrCode, call.HTTPStatus = code, http.StatusOK
	if code != 0 {
		msg = nil
	}
	s.record(*call, msg)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(ans)
}

func (s *Server) record(call Call, msg *SentMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, call)
	if msg != nil {
		s.messages = append(s.messages, *msg)
		close(s.changed)
		s.changed = make(chan struct{})
	}
}

func sentMessage(api string, body map[string]any) SentMessage {
	m := SentMessage{API: api, MsgType: str(body["msgtype"]), Body: body}
	part, _ := body[m.MsgType].(map[string]any)
	switch m.MsgType {
	case "text", "markdown":
		m.Text = str(part["content"])
	case "textcard":
		m.Text = str(part["title"]) + "\n" + str(part["description"])
	case "file":
		m.MediaID = str(part["media_id"])
	case "template_card":
		title, _ := part["main_title"].(map[string]any)
		m.Text = str(title["title"])
		m.TaskID = str(part["task_id"])
	}
	return m
}

func str(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func splitBar(s string) []string {
	var out []string
	for _, p := range strings.Split(s, "|") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
