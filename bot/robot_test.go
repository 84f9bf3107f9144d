package bot

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"opsbot/bot/aibot"
	"opsbot/kv"
)

func robotMsg(t *testing.T, reqID, body string) aibot.Message {
	t.Helper()
	var m aibot.Message
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	m.ReqID = reqID
	return m
}

func TestRobotMessage(t *testing.T) {
	cases := []struct {
		name, body string
		want       Incoming
		ok         bool
	}{
		{"group text loses the mention", `{"msgid":"m1","aibotid":"b","chattype":"group","chatid":"wr1","from":{"userid":"nurse01"},"msgtype":"text","text":{"content":"@运维助手 收费系统又卡了"}}`,
			Incoming{Key: "aibot:m1", MsgID: "m1", User: "nurse01", Type: "text", Text: "收费系统又卡了", Channel: "robot", ChatID: "wr1", ReqID: "r1"}, true},
		{"one-to-one text keeps a leading @", `{"msgid":"m2","chattype":"single","from":{"userid":"nurse01"},"msgtype":"text","text":{"content":" @张三 的电脑坏了 "}}`,
			Incoming{Key: "aibot:m2", MsgID: "m2", User: "nurse01", Type: "text", Text: "@张三 的电脑坏了", Channel: "robot", ReqID: "r1"}, true},
		{"voice arrives transcribed", `{"msgid":"m3","chattype":"single","from":{"userid":"nurse01"},"msgtype":"voice","voice":{"content":"打印机卡纸了"}}`,
			Incoming{Key: "aibot:m3", MsgID: "m3", User: "nurse01", Type: "text", Text: "打印机卡纸了", Channel: "robot", ReqID: "r1"}, true},
		{"image keeps its download", `{"msgid":"m4","chattype":"single","from":{"userid":"nurse01"},"msgtype":"image","image":{"url":"https://x/1","aeskey":"k1"}}`,
			Incoming{Key: "aibot:m4", MsgID: "m4", User: "nurse01", Type: "image", Channel: "robot", ReqID: "r1", MediaURL: "https://x/1", MediaAESKey: "k1", MediaID: "aibot-media:k1 https://x/1"}, true},
		{"file", `{"msgid":"m5","chattype":"single","from":{"userid":"nurse01"},"msgtype":"file","file":{"url":"https://x/2","aeskey":"k2"}}`,
			Incoming{Key: "aibot:m5", MsgID: "m5", User: "nurse01", Type: "file", Channel: "robot", ReqID: "r1", MediaURL: "https://x/2", MediaAESKey: "k2", MediaID: "aibot-media:k2 https://x/2"}, true},
		{"mixed is text with its first image", `{"msgid":"m6","chattype":"group","chatid":"wr1","from":{"userid":"nurse01"},"msgtype":"mixed","mixed":{"msg_item":[{"msgtype":"text","text":{"content":"@运维助手 屏幕这样了"}},{"msgtype":"image","image":{"url":"https://x/3","aeskey":"k3"}}]}}`,
			Incoming{Key: "aibot:m6", MsgID: "m6", User: "nurse01", Type: "text", Text: "屏幕这样了", Channel: "robot", ChatID: "wr1", ReqID: "r1", MediaURL: "https://x/3", MediaAESKey: "k3", MediaID: "aibot-media:k3 https://x/3"}, true},
		{"unknown type", `{"msgid":"m7","chattype":"single","from":{"userid":"nurse01"},"msgtype":"location"}`, Incoming{}, false},
		{"no sender", `{"msgid":"m8","chattype":"single","from":{"userid":""},"msgtype":"text","text":{"content":"hi"}}`, Incoming{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := RobotMessage(robotMsg(t, "r1", c.body), testNow)
			if ok != c.ok {
				t.Fatalf("ok = %v", ok)
			}
			if !ok {
				return
			}
			c.want.CreateTime = testNow
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestRobotRef(t *testing.T) {
	at := time.UnixMilli(1764633600123)
	for _, r := range []RobotRef{{ReqID: "cb_1", At: at}, {ReqID: "ev_2", At: at, TaskID: "confirm-12-7"}} {
		got, ok := ParseRobotRef(r.String())
		if !ok || got.ReqID != r.ReqID || !got.At.Equal(r.At) || got.TaskID != r.TaskID {
			t.Fatalf("%q → %+v %v", r.String(), got, ok)
		}
	}
	for _, s := range []string{"", "RESPONSE_CODE_abc", "aibot:", "aibot:x:req", "aibot:12:"} {
		if _, ok := ParseRobotRef(s); ok {
			t.Fatalf("%q parsed as a robot reference", s)
		}
	}
}

func TestRobotReceiver(t *testing.T) {
	ctx := context.Background()
	inbox := newMemInbox()
	var got []Incoming
	var welcomed []string
	r := NewRobotReceiver(RobotReceiverConfig{
		Inbox: inbox, Dedupe: kv.NewMemory(func() time.Time { return testNow }), Now: func() time.Time { return testNow },
		OnAccepted: func(m Incoming) { got = append(got, m) },
		Welcome:    func(_ context.Context, reqID string) error { welcomed = append(welcomed, reqID); return nil },
	})
	msg := robotMsg(t, "r1", `{"msgid":"m1","chattype":"single","from":{"userid":"nurse01"},"msgtype":"text","text":{"content":"报修 打印机"}}`)

	defer func(d []time.Duration) { robotStoreRetries = d }(robotStoreRetries)
	robotStoreRetries = []time.Duration{time.Millisecond, time.Millisecond}

	// The inbox is down for longer than the retries: nothing reaches the
	// queue, and the dedupe key is released so the same message can still
	// be stored.
	inbox.failNext = 3
	if err := r.HandleMessage(ctx, msg); err == nil {
		t.Fatal("an inbox failure was not reported")
	}
	if len(got) != 0 {
		t.Fatal("a message not stored was queued")
	}
	// A short failure is ridden out: WeCom will not send the callback again.
	inbox.failNext = 2
	if err := r.HandleMessage(ctx, robotMsg(t, "r9", `{"msgid":"m9","chattype":"single","from":{"userid":"nurse02"},"msgtype":"text","text":{"content":"报修 电脑"}}`)); err != nil || len(got) != 1 {
		t.Fatalf("after a short inbox failure: %v, %d queued", err, len(got))
	}
	got = nil
	for range 3 {
		if err := r.HandleMessage(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	if _, newOnes, stored := inbox.counts(); len(got) != 1 || newOnes != 2 || stored != 2 {
		t.Fatalf("queued %d, stored %d new %d; want one message", len(got), stored, newOnes)
	}

	// A card click goes in with what the card update needs.
	var ev aibot.Event
	json.Unmarshal([]byte(`{"msgid":"e1","from":{"userid":"nurse01"},"event":{"eventtype":"template_card_event","template_card_event":{"card_type":"button_interaction","event_key":"confirm:12:yes","task_id":"confirm-12-7"}}}`), &ev)
	ev.ReqID = "ev1"
	if err := r.HandleEvent(ctx, ev); err != nil {
		t.Fatal(err)
	}
	click := got[len(got)-1]
	ref, ok := ParseRobotRef(click.ResponseCode)
	if click.Type != TypeEvent || click.Event != EventTemplateCard || click.EventKey != "confirm:12:yes" || click.Key != "aibot:e1" ||
		!ok || ref.ReqID != "ev1" || ref.TaskID != "confirm-12-7" || !ref.At.Equal(testNow) {
		t.Fatalf("click %+v ref %+v", click, ref)
	}

	// enter_chat is welcomed at once and stored nowhere.
	var enter aibot.Event
	json.Unmarshal([]byte(`{"msgid":"e2","from":{"userid":"nurse01"},"event":{"eventtype":"enter_chat"}}`), &enter)
	enter.ReqID = "ev2"
	before := len(got)
	if err := r.HandleEvent(ctx, enter); err != nil {
		t.Fatal(err)
	}
	if len(welcomed) != 1 || welcomed[0] != "ev2" || len(got) != before {
		t.Fatalf("welcomed %v, queued %d", welcomed, len(got)-before)
	}
}

// encryptMedia is WeCom's side of DecryptMedia: AES-256-CBC, the key's
// first 16 bytes as IV, PKCS#7 to 32 bytes.
func encryptMedia(t *testing.T, plain []byte, key []byte) []byte {
	t.Helper()
	pad := 32 - len(plain)%32
	data := append(append([]byte(nil), plain...), bytes.Repeat([]byte{byte(pad)}, pad)...)
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(data, data)
	return data
}

// A robot message's image reaches the attachment store like an app
// one: downloaded from its URL and decrypted; app media ids go to the app.
func TestRobotMedia(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	aesKey := base64.StdEncoding.EncodeToString(key)
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{1}, 100)...)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Disposition", `attachment; filename="screen.png"`)
		w.Write(encryptMedia(t, png, key))
	}))
	defer srv.Close()
	var m aibot.Message
	json.Unmarshal([]byte(`{"msgid":"m1","chattype":"single","from":{"userid":"nurse01"},"msgtype":"image","image":{"url":"`+srv.URL+`/img","aeskey":"`+aesKey+`"}}`), &m)
	in, _ := RobotMessage(m, testNow)

	var asked []string
	rm := RobotMedia{App: mediaFunc(func(id string) { asked = append(asked, id) })}
	got, err := rm.GetMedia(context.Background(), in.MediaID, 1<<20)
	if err != nil || !bytes.Equal(got.Data, png) || got.Name != "screen.png" || got.ContentType != "image/png" {
		t.Fatalf("robot media: %v %q %q %d bytes", err, got.Name, got.ContentType, len(got.Data))
	}
	if _, err := rm.GetMedia(context.Background(), in.MediaID, 50); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the limit: %v", err)
	}
	if _, err := rm.GetMedia(context.Background(), "MEDIA_ID_1", 1<<20); err != nil || len(asked) != 1 || asked[0] != "MEDIA_ID_1" {
		t.Fatalf("app media: %v %v", err, asked)
	}
	if _, err := (RobotMedia{}).GetMedia(context.Background(), "MEDIA_ID_1", 1<<20); err == nil {
		t.Fatal("app media without the app")
	}
}

type mediaFunc func(id string)

func (f mediaFunc) GetMedia(_ context.Context, id string, _ int64) (Media, error) {
	f(id)
	return Media{Data: []byte("x")}, nil
}
