package bot_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"opsbot/bot"
	"opsbot/bot/wecomtest"
)

func TestEchoRequestPassesVerifyURL(t *testing.T) {
	c, err := bot.NewCrypto("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")
	if err != nil {
		t.Fatal(err)
	}
	q, err := c.EchoRequest("1616140317555161061", "1409659589", "263014780")
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.VerifyURL(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), q.Get("echostr"))
	if err != nil || got != "1616140317555161061" {
		t.Fatalf("VerifyURL = %q, %v", got, err)
	}
	other, _ := bot.NewCrypto("another", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")
	if _, err := other.VerifyURL(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), q.Get("echostr")); !errors.Is(err, bot.ErrSignature) {
		t.Errorf("another token: %v, want ErrSignature", err)
	}
}

func TestProbe(t *testing.T) {
	fake := wecomtest.New()
	defer fake.Close()
	p := bot.Probe{Base: fake.URL}
	tok, err := p.GetToken(context.Background(), wecomtest.CorpID, wecomtest.Secret)
	if err != nil || tok.Value == "" || tok.ExpiresIn != 7200 {
		t.Fatalf("GetToken = %+v, %v", tok, err)
	}
	if d := time.Since(tok.ServerDate); d < -2*time.Second || d > 2*time.Second {
		t.Errorf("ServerDate %v not from the Date header", tok.ServerDate)
	}
	fake.Fail("gettoken", 40091, 1)
	_, err = p.GetToken(context.Background(), wecomtest.CorpID, "wrong")
	var ae *bot.APIError
	if !errors.As(err, &ae) || ae.Code != 40091 || ae.Retryable() {
		t.Errorf("refused GetToken: %v", err)
	}
	fake.AddDepartment(5, "信息科")
	fake.AddUser("wangwu", "王五", 5)
	if _, err := p.GetUser(context.Background(), tok.Value, "nobody"); !errors.As(err, &ae) || ae.Code != 60111 {
		t.Errorf("unknown user: %v", err)
	}
	ms, detailed, err := p.DepartmentMembers(context.Background(), tok.Value, 5, false)
	if err != nil || !detailed || len(ms) != 1 || ms[0].Name != "王五" {
		t.Errorf("members: %+v %v %v", ms, detailed, err)
	}
}
