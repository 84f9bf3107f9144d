package bot

import (
	"encoding/xml"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/silenceper/wechat/v2/util"
)

// Tencent's published vectors (WECOM.md).
const (
	vecToken  = "QDG6eK"
	vecCorpID = "wx5823bf96d3bd56c7"
	vecAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
)

func TestVerifyURLVector(t *testing.T) {
	c, err := NewCrypto(vecToken, vecAESKey, vecCorpID)
	if err != nil {
		t.Fatal(err)
	}
	const echostr = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
	for name, in := range map[string]string{
		"decoded":       echostr,
		"url-encoded":   url.QueryEscape(echostr),
		"plus-as-space": strings.ReplaceAll(echostr, "+", " "),
	} {
		got, err := c.VerifyURL("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780", in)
		if err != nil || got != "1616140317555161061" {
			t.Errorf("%s: VerifyURL = %q, %v; want 1616140317555161061", name, got, err)
		}
	}
	if _, err := c.VerifyURL("0000ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780", echostr); !errors.Is(err, ErrSignature) {
		t.Errorf("wrong signature: err = %v, want ErrSignature", err)
	}
	other, _ := NewCrypto(vecToken, vecAESKey, "wwsomeoneelse")
	if _, err := other.VerifyURL("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780", echostr); !errors.Is(err, ErrReceiveID) {
		t.Errorf("foreign corp: err = %v, want ErrReceiveID", err)
	}
}

func TestSealDeterministicVector(t *testing.T) {
	c, err := NewCrypto("anytoken", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wxb11529c136998cb6")
	if err != nil {
		t.Fatal(err)
	}
	c.randomSrc = strings.NewReader("aaaabbbbccccdddd")
	body, sig, err := c.Seal([]byte("我是中文abcd123"), "1409659589", "263014780")
	if err != nil {
		t.Fatal(err)
	}
	var env envelopeIn
	if err := xml.Unmarshal(body, &env); err != nil {
		t.Fatalf("envelope %s: %v", body, err)
	}
	const want = "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
	if env.Encrypt != want {
		t.Fatalf("Encrypt = %s\nwant      %s", env.Encrypt, want)
	}
	if sig != util.Signature("anytoken", "1409659589", "263014780", want) {
		t.Errorf("signature %s does not sign the envelope", sig)
	}
	plain, err := c.Open(sig, "1409659589", "263014780", body)
	if err != nil || string(plain) != "我是中文abcd123" {
		t.Errorf("Open = %q, %v", plain, err)
	}
}

func TestNewCryptoValidates(t *testing.T) {
	for _, tc := range []struct{ token, key, corp string }{
		{"", vecAESKey, vecCorpID},
		{vecToken, vecAESKey, ""},
		{vecToken, vecAESKey[:42], vecCorpID},
		{vecToken, vecAESKey + "x", vecCorpID},
		{vecToken, strings.Repeat("!", 43), vecCorpID},
	} {
		if _, err := NewCrypto(tc.token, tc.key, tc.corp); err == nil {
			t.Errorf("NewCrypto(%q, %q, %q) accepted", tc.token, tc.key, tc.corp)
		}
	}
}

func TestOpenRefusals(t *testing.T) {
	c, _ := NewCrypto(vecToken, vecAESKey, vecCorpID)
	foreign, _ := NewCrypto(vecToken, vecAESKey, "wwsomeoneelse")
	const ts, nonce = "1409659589", "263014780"
	sealed, sig, _ := c.Seal([]byte("<xml/>"), ts, nonce)
	foreignBody, foreignSig, _ := foreign.Seal([]byte("<xml/>"), ts, nonce)

	signed := func(encrypt string) ([]byte, string) {
		body, _ := xml.Marshal(envelope{ToUserName: vecCorpID, Encrypt: cdata(encrypt)})
		return body, util.Signature(vecToken, ts, nonce, encrypt)
	}
	badB64, badB64Sig := signed("not base64 !!")
	short, shortSig := signed("YWJj")                                                                                       // 3 bytes
	badPad, badPadSig := signed("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=") // 64 zero bytes

	for _, tc := range []struct {
		name string
		sig  string
		body []byte
		want error
	}{
		{"wrong signature", strings.Repeat("0", 40), sealed, ErrSignature},
		{"empty signature", "", sealed, ErrSignature},
		{"foreign corp", foreignSig, foreignBody, ErrReceiveID},
		{"not xml", sig, []byte("hello"), ErrMalformed},
		{"no Encrypt", sig, []byte("<xml><ToUserName>x</ToUserName></xml>"), ErrMalformed},
		{"bad base64", badB64Sig, badB64, ErrMalformed},
		{"short ciphertext", shortSig, short, ErrMalformed},
		{"bad padding", badPadSig, badPad, ErrMalformed},
	} {
		if _, err := c.Open(tc.sig, ts, nonce, tc.body); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	if plain, err := c.Open(strings.ToUpper(sig), ts, nonce, sealed); err != nil || string(plain) != "<xml/>" {
		t.Errorf("upper-case signature: %q, %v", plain, err)
	}
}
