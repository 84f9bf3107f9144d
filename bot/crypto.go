package bot

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/silenceper/wechat/v2/util"
)

// Callback refusals the HTTP layer maps to statuses (403, 403, 400).
var (
	// ErrSignature means msg_signature does not match the token and the payload.
	ErrSignature = errors.New("wecom: bad signature")
	// ErrReceiveID means the payload decrypted but was meant for another corp.
	ErrReceiveID = errors.New("wecom: receiveid mismatch")
	// ErrMalformed means the body, base64, padding or XML could not be read.
	ErrMalformed = errors.New("wecom: malformed payload")
)

// Crypto signs, verifies, encrypts and decrypts WeCom callbacks of one
// self-built app. The AES work is the SDK's; this type adds typed errors and
// the envelope handling the SDK only has for official accounts.
type Crypto struct {
	token     string
	aesKey    string // the 43-character EncodingAESKey, as the SDK wants it
	keyBytes  []byte // its decoded 32 bytes
	corpID    string
	randomSrc io.Reader // nonce source for Seal; tests swap it for the vectors
}

// NewCrypto checks the app's callback settings and returns a Crypto for them.
func NewCrypto(token, encodingAESKey, corpID string) (*Crypto, error) {
	if token == "" {
		return nil, errors.New("wecom crypto: token is empty")
	}
	if corpID == "" {
		return nil, errors.New("wecom crypto: corp id is empty")
	}
	if len(encodingAESKey) != 43 {
		return nil, fmt.Errorf("wecom crypto: EncodingAESKey must be 43 characters, got %d", len(encodingAESKey))
	}
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != 32 {
		return nil, errors.New("wecom crypto: EncodingAESKey is not base64 of 32 bytes")
	}
	return &Crypto{token: token, aesKey: encodingAESKey, keyBytes: key, corpID: corpID, randomSrc: rand.Reader}, nil
}

// VerifyURL answers WeCom's URL check: it verifies the signature over echostr
// and returns echostr decrypted, which the handler echoes back.
func (c *Crypto) VerifyURL(msgSignature, timestamp, nonce, echostr string) (string, error) {
	echostr = normalizeEchoStr(echostr)
	if echostr == "" {
		return "", fmt.Errorf("%w: empty echostr", ErrMalformed)
	}
	if !c.signatureOK(msgSignature, timestamp, nonce, echostr) {
		return "", ErrSignature
	}
	plain, err := c.decrypt(echostr)
	if err != nil {
		return "", err
	}
	return string(plain), nil
}

// normalizeEchoStr accepts echostr both raw from the query string and
// already decoded by net/url: WeCom percent-encodes it, but a proxy that
// decodes once too often, or a '+' left unescaped and turned into a space by
// url.ParseQuery, must not break the check (base64 has neither '%' nor ' ').
func normalizeEchoStr(s string) string {
	if strings.Contains(s, "%") {
		if u, err := url.QueryUnescape(s); err == nil {
			s = u
		}
	}
	return strings.ReplaceAll(s, " ", "+")
}

// envelopeIn is the part of the encrypted callback body Open reads; plain
// strings take CDATA too and decode faster than cdata's UnmarshalXML.
type envelopeIn struct {
	Encrypt string `xml:"Encrypt"`
}

// flatEnvelope reads the envelope through flatFields; ok is false when
// encoding/xml must read it.
func flatEnvelope(body []byte) (env envelopeIn, ok bool) {
	fields, ok := flatFields(body)
	for _, f := range fields {
		if f.name == "Encrypt" {
			env.Encrypt = f.value
		}
	}
	return env, ok
}

// envelope is the encrypted callback body as Seal writes it.
type envelope struct {
	XMLName    xml.Name `xml:"xml"`
	ToUserName cdata    `xml:"ToUserName"`
	AgentID    cdata    `xml:"AgentID"`
	Encrypt    cdata    `xml:"Encrypt"`
}

// cdata marshals as <![CDATA[...]]> like WeCom does.
type cdata string

func (c cdata) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	return e.EncodeElement(struct {
		S string `xml:",cdata"`
	}{string(c)}, start)
}

// Open checks the signature of a POSTed callback body, decrypts it and
// checks that it was meant for this corp; it returns the plaintext XML.
func (c *Crypto) Open(msgSignature, timestamp, nonce string, body []byte) ([]byte, error) {
	env, ok := flatEnvelope(body)
	if !ok {
		if err := xml.Unmarshal(body, &env); err != nil {
			return nil, fmt.Errorf("%w: envelope: %v", ErrMalformed, err)
		}
	}
	if env.Encrypt == "" {
		return nil, fmt.Errorf("%w: envelope without Encrypt", ErrMalformed)
	}
	if !c.signatureOK(msgSignature, timestamp, nonce, env.Encrypt) {
		return nil, ErrSignature
	}
	return c.decrypt(env.Encrypt)
}

// Seal encrypts plainXML the way WeCom does and returns the full callback
// body with its msg_signature, for tests and the load generator.
func (c *Crypto) Seal(plainXML []byte, timestamp, nonce string) (body []byte, msgSignature string, err error) {
	random := make([]byte, 16)
	if _, err := io.ReadFull(c.randomSrc, random); err != nil {
		return nil, "", fmt.Errorf("wecom seal: random: %w", err)
	}
	enc, err := util.EncryptMsg(random, plainXML, c.corpID, c.aesKey)
	if err != nil {
		return nil, "", fmt.Errorf("wecom seal: %w", err)
	}
	msgSignature = util.Signature(c.token, timestamp, nonce, string(enc))
	// The real envelope names the agent; read it from the plaintext when
	// present so sealed bodies look like WeCom's.
	var meta struct {
		AgentID string `xml:"AgentID"`
	}
	_ = xml.Unmarshal(plainXML, &meta)
	body, err = xml.Marshal(envelope{ToUserName: cdata(c.corpID), AgentID: cdata(strings.TrimSpace(meta.AgentID)), Encrypt: cdata(enc)})
	if err != nil {
		return nil, "", fmt.Errorf("wecom seal: %w", err)
	}
	return body, msgSignature, nil
}

func (c *Crypto) signatureOK(msgSignature, timestamp, nonce, encrypted string) bool {
	want := util.Signature(c.token, timestamp, nonce, encrypted)
	return subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(msgSignature))) == 1
}

// decrypt uses util.AESDecryptMsg, the function util.DecryptMsg wraps,
// because DecryptMsg reports a foreign receiveid only as an untyped Chinese
// message; comparing the receiveid here keeps ErrReceiveID apart from
// ErrMalformed without matching error strings.
func (c *Crypto) decrypt(encrypted string) (plain []byte, err error) {
	raw, err := base64.StdEncoding.DecodeString(encrypted)
	if err != nil {
		return nil, fmt.Errorf("%w: base64: %v", ErrMalformed, err)
	}
	defer func() {
		// The SDK indexes into attacker-controlled bytes; a panic there is a
		// malformed message, not a crashed server.
		if r := recover(); r != nil {
			plain, err = nil, fmt.Errorf("%w: decrypt: %v", ErrMalformed, r)
		}
	}()
	_, msg, receiveID, derr := util.AESDecryptMsg(raw, c.keyBytes)
	if derr != nil {
		return nil, fmt.Errorf("%w: decrypt: %v", ErrMalformed, derr)
	}
	if subtle.ConstantTimeCompare(receiveID, []byte(c.corpID)) != 1 {
		return nil, ErrReceiveID
	}
	// The SDK decrypts into a fresh buffer; the cap keeps an append from
	// reaching into the receiveid behind the message.
	return msg[:len(msg):len(msg)], nil
}
