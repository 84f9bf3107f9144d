package doctor

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// fakeRobot is a tiny smart-robot endpoint: it reads aibot_subscribe and
// acks it, 853000 unless the secret is "good".
func fakeRobot(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		_, data, err := c.Read(r.Context())
		if err != nil {
			return
		}
		var f subscribeFrame
		json.Unmarshal(data, &f)
		ack := map[string]any{"headers": map[string]string{"req_id": f.Headers["req_id"]}, "errcode": 0, "errmsg": "ok"}
		if f.Cmd != "aibot_subscribe" || f.Body["secret"] != "good" || !strings.HasPrefix(f.Headers["req_id"], "doctor-") {
			ack["errcode"], ack["errmsg"] = 853000, "invalid bot_id or secret"
		}
		// An unrelated frame first: the check must wait for its own ack.
		c.Write(r.Context(), websocket.MessageText, []byte(`{"cmd":"ping","headers":{"req_id":"other"},"errcode":0}`))
		out, _ := json.Marshal(ack)
		c.Write(r.Context(), websocket.MessageText, out)
		c.Read(r.Context()) // until the client closes
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func TestRobotSubscribe(t *testing.T) {
	ws := fakeRobot(t)
	for secret, want := range map[string]Status{"good": OK, "bad": Fail} {
		in := newInstall(t)
		in.vars["OPSBOT_WECOM_BOT_ID"] = "aibAbc"
		in.vars["OPSBOT_WECOM_BOT_SECRET"] = secret
		in.vars["OPSBOT_WECOM_BOT_WS_URL"] = ws
		r := result(t, in.run(t, realNow(), nil), "robot")
		if want == Fail {
			wantStatus(t, r, Fail, "853000", "bot_id 或 secret")
		} else {
			wantStatus(t, r, OK, "订阅成功")
		}
	}
	in := newInstall(t)
	in.vars["OPSBOT_WECOM_BOT_ID"] = "aibAbc"
	in.vars["OPSBOT_WECOM_BOT_SECRET"] = "x"
	in.vars["OPSBOT_WECOM_BOT_WS_URL"] = "ws://127.0.0.1:1"
	wantStatus(t, result(t, in.run(t, realNow(), nil), "robot"), Fail, "连不上")
	if _, _, err := Subscribe(context.Background(), "ws://127.0.0.1:1", "a", "b"); err == nil {
		t.Error("subscribe to a closed port succeeded")
	}
}
