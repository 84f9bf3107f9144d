package bot

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"opsbot/kv"
)

// TestUserIDFromCode exchanges a login code through the configured API
// base, renews a refused token once, and refuses a code of a non-member.
func TestUserIDFromCode(t *testing.T) {
	var tokens, refused atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/cgi-bin/gettoken":
			n := tokens.Add(1)
			w.Write([]byte(`{"errcode":0,"errmsg":"ok","access_token":"tok` + string(rune('0'+n)) + `","expires_in":7200}`))
		case "/cgi-bin/auth/getuserinfo":
			if r.URL.Query().Get("access_token") == "tok1" {
				refused.Add(1)
				w.Write([]byte(`{"errcode":42001,"errmsg":"access_token expired"}`))
				return
			}
			switch r.URL.Query().Get("code") {
			case "good":
				w.Write([]byte(`{"errcode":0,"errmsg":"ok","userid":"zhangsan","user_ticket":"x"}`))
			case "outsider":
				w.Write([]byte(`{"errcode":0,"errmsg":"ok","openid":"o-123"}`))
			default:
				w.Write([]byte(`{"errcode":40029,"errmsg":"invalid code"}`))
			}
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c, err := NewClient(ClientConfig{CorpID: "corp", AgentID: 1000002, Secret: "s", APIBase: srv.URL, Cache: kv.NewMemory(nil), Limits: Limits{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	u, err := c.UserIDFromCode(ctx, "good")
	if err != nil || u != "zhangsan" {
		t.Fatalf("good code: got %q, %v; want zhangsan", u, err)
	}
	if refused.Load() != 1 || tokens.Load() != 2 {
		t.Errorf("an expired token is renewed once: refused %d, token fetches %d", refused.Load(), tokens.Load())
	}
	if _, err := c.UserIDFromCode(ctx, "outsider"); !errors.Is(err, ErrNotMember) {
		t.Errorf("outsider: got %v, want ErrNotMember", err)
	}
	_, err = c.UserIDFromCode(ctx, "stale")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != 40029 || Retryable(err) {
		t.Errorf("invalid code: got %v, want a non-retryable APIError 40029", err)
	}
}
