package outbox_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// httptestGateway is a fake SMS/phone provider that checks the token and
// answers with the status status(body) returns.
func httptestGateway(t *testing.T, status func(body string) int) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer t0k" || r.Header.Get("Content-Type") != "application/json; charset=utf-8" {
			w.WriteHeader(401)
			return
		}
		b, _ := io.ReadAll(r.Body)
		w.WriteHeader(status(string(b)))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
