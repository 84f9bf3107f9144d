package aibot

import (
	"net/http"
	"testing"
)

// The dial honours HTTPS_PROXY, for intranets that reach the internet only
// through a proxy. net/http reads the variables once per process, so this
// test must be the first to dial in its binary (internal tests run first).
func TestDialTakesTheProxyFromTheEnvironment(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "http://proxy.hospital.invalid:3128")
	t.Setenv("NO_PROXY", "")
	c, err := New(Config{BotID: "b", Secret: "s"}, HandlerFuncs{})
	if err != nil {
		t.Fatal(err)
	}
	tr, ok := c.cfg.HTTPClient.Transport.(*http.Transport)
	if !ok || tr.Proxy == nil {
		t.Fatal("the default dialer has no proxy function")
	}
	// coder/websocket sends the handshake for wss:// as an https request.
	req, _ := http.NewRequest(http.MethodGet, "https://openws.work.weixin.qq.com", nil)
	u, err := tr.Proxy(req)
	if err != nil || u == nil || u.Host != "proxy.hospital.invalid:3128" {
		t.Fatalf("proxy for the WeCom endpoint = %v, %v", u, err)
	}
}
