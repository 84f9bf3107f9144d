package aibot_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"testing"

	"opsbot/bot/aibot"
)

func TestStripMention(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"@运维助手 收费系统又卡了", "收费系统又卡了"},
		{"@运维助手\u3000打印机卡纸", "打印机卡纸"},
		{"  @运维助手  @张三 帮看下 HIS ", "帮看下 HIS"},
		{"＠故障助手 在吗？", "在吗？"},
		{"@运维助手", ""},
		{"没有提及 @运维助手 在中间", "没有提及 @运维助手 在中间"},
	} {
		if got := aibot.StripMention(tc.in); got != tc.want {
			t.Errorf("StripMention(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMessageDecoding(t *testing.T) {
	const raw = `{"msgid":"m9","aibotid":"aib1","chattype":"group","chatid":"wrG","from":{"userid":"nurse01"},
	  "msgtype":"mixed","mixed":{"msg_item":[
	    {"msgtype":"text","text":{"content":"@运维助手 这台电脑蓝屏"}},
	    {"msgtype":"image","image":{"url":"https://x/img","aeskey":"k1"}},
	    {"msgtype":"text","text":{"content":"三楼护士站"}}]},
	  "quote":{"msgtype":"file","file":{"url":"https://x/f","aeskey":"k2"}}}`
	var m aibot.Message
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatal(err)
	}
	if m.CommandText() != "这台电脑蓝屏\n三楼护士站" || m.Mixed.Items[1].Image.AESKey != "k1" || m.Quote.File.URL != "https://x/f" {
		t.Fatalf("decoded %+v", m)
	}
	var voice aibot.Message
	_ = json.Unmarshal([]byte(`{"msgid":"v","chattype":"single","from":{"userid":"u"},"msgtype":"voice","voice":{"content":"收费系统登不上"}}`), &voice)
	if voice.CommandText() != "收费系统登不上" || voice.IsGroup() {
		t.Fatalf("voice = %+v", voice)
	}
	// In one-to-one chats a leading @ is the user's text, not a mention.
	var single aibot.Message
	_ = json.Unmarshal([]byte(`{"msgid":"s","chattype":"single","msgtype":"text","text":{"content":"@all 怎么用"}}`), &single)
	if single.CommandText() != "@all 怎么用" {
		t.Fatalf("single = %q", single.CommandText())
	}
}

func TestEventDecoding(t *testing.T) {
	const raw = `{"msgid":"e1","aibotid":"aib1","chattype":"group","chatid":"wrG","from":{"userid":"zs"},"msgtype":"event",
	  "event":{"eventtype":"template_card_event","template_card_event":{"card_type":"vote_interaction","event_key":"submit",
	  "task_id":"rate-T7","selected_items":{"selected_item":[{"question_key":"score","option_ids":{"option_id":["5"]}}]}}}}`
	var e aibot.Event
	if err := json.Unmarshal([]byte(raw), &e); err != nil {
		t.Fatal(err)
	}
	card := e.Card()
	if e.Type() != aibot.EventTemplateCard || card == nil || card.TaskID != "rate-T7" || card.EventKey != "submit" ||
		len(card.Selected("score")) != 1 || card.Selected("score")[0] != "5" || e.ChatID != "wrG" {
		t.Fatalf("decoded %+v", e)
	}
}

func TestBodiesMarshalAsWeComDocumentsThem(t *testing.T) {
	for _, tc := range []struct {
		body aibot.Body
		want string
	}{
		{aibot.Text("好"), `{"msgtype":"text","text":{"content":"好"}}`},
		{aibot.Markdown("**好**"), `{"msgtype":"markdown","markdown":{"content":"**好**"}}`},
		{aibot.Stream("s1", "处理中", false), `{"msgtype":"stream","stream":{"id":"s1","finish":false,"content":"处理中"}}`},
		{aibot.Card(aibot.TemplateCard{"card_type": "text_notice"}), `{"msgtype":"template_card","template_card":{"card_type":"text_notice"}}`},
	} {
		got, _ := json.Marshal(tc.body)
		if string(got) != tc.want {
			t.Errorf("got %s, want %s", got, tc.want)
		}
	}
}

// encryptMedia is WeCom's side of the media scheme, for the test.
func encryptMedia(t *testing.T, plain, key []byte) []byte {
	pad := 32 - len(plain)%32
	padded := append(append([]byte(nil), plain...), bytes.Repeat([]byte{byte(pad)}, pad)...)
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, len(padded))
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(out, padded)
	return out
}

func TestDecryptMedia(t *testing.T) {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	aesKey := base64.RawStdEncoding.EncodeToString(key) // 43 characters, as WeCom sends
	for _, size := range []int{0, 1, 16, 31, 32, 1000} {
		plain := make([]byte, size)
		_, _ = rand.Read(plain)
		data := encryptMedia(t, plain, key)
		for _, k := range []string{aesKey, aesKey + "="} {
			got, err := aibot.DecryptMedia(data, k)
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("size %d key %q: err %v, equal %v", size, k, err, bytes.Equal(got, plain))
			}
		}
	}
	other := make([]byte, 32)
	_, _ = rand.Read(other)
	data := encryptMedia(t, []byte("一张报修截图"), key)
	if _, err := aibot.DecryptMedia(data, base64.StdEncoding.EncodeToString(other)); err == nil {
		t.Error("a wrong key decrypted without error")
	}
	if _, err := aibot.DecryptMedia(data[:len(data)-1], aesKey); err == nil {
		t.Error("a truncated download decrypted without error")
	}
	if _, err := aibot.DecryptMedia(data, "c2hvcnQ"); err == nil {
		t.Error("a short key was accepted")
	}
}
