package bucket

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"opsbot/configs"
)

// fakeS3 answers path-style object PUT, GET and DELETE, like MinIO.
type fakeS3 struct {
	mu      sync.Mutex
	objects map[string][]byte
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=ak/") {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	switch r.Method {
	case http.MethodPut:
		b, _ := io.ReadAll(r.Body)
		if strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") {
			b = unchunk(b)
		}
		f.objects[r.URL.Path] = b
		w.Header().Set("ETag", `"0123456789abcdef0123456789abcdef"`)
	case http.MethodGet:
		b, ok := f.objects[r.URL.Path]
		if !ok {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>no</Message></Error>`)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Header().Set("ETag", `"0123456789abcdef0123456789abcdef"`)
		w.Header().Set("Last-Modified", "Mon, 30 Nov 2026 01:00:00 GMT")
		w.Write(b)
	case http.MethodDelete:
		delete(f.objects, r.URL.Path)
		w.WriteHeader(http.StatusNoContent)
	}
}

// unchunk decodes an aws-chunked body: "<hex size>;chunk-signature=…\r\n<data>\r\n" up to a zero-size chunk.
func unchunk(b []byte) []byte {
	var out []byte
	for {
		line, rest, ok := strings.Cut(string(b), "\r\n")
		if !ok {
			return out
		}
		sizeHex, _, _ := strings.Cut(line, ";")
		n, err := strconv.ParseInt(sizeHex, 16, 64)
		if err != nil || n == 0 || int64(len(rest)) < n {
			return out
		}
		out = append(out, rest[:n]...)
		b = []byte(strings.TrimPrefix(rest[n:], "\r\n"))
	}
}

func TestPutGetDelete(t *testing.T) {
	fake := &fakeS3{objects: map[string][]byte{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	b, err := New(configs.S3{Endpoint: strings.TrimPrefix(srv.URL, "http://"), Bucket: "opsbot", AccessKey: "ak", SecretKey: "sk", Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := b.Put(ctx, "attachments/2026/11/30/abc.jpg", []byte("\xff\xd8jpeg"), "image/jpeg"); err != nil {
		t.Fatal(err)
	}
	if _, ok := fake.objects["/opsbot/attachments/2026/11/30/abc.jpg"]; !ok {
		t.Fatalf("object not stored path-style: %v", fake.objects)
	}
	got, err := b.Get(ctx, "attachments/2026/11/30/abc.jpg", 1024)
	if err != nil || string(got) != "\xff\xd8jpeg" {
		t.Fatalf("get %q %v", got, err)
	}
	if _, err := b.Get(ctx, "attachments/2026/11/30/abc.jpg", 2); err == nil {
		t.Fatal("an object over the limit was read")
	}
	if err := b.Delete(ctx, "attachments/2026/11/30/abc.jpg"); err != nil {
		t.Fatal(err)
	}
	if len(fake.objects) != 0 {
		t.Fatal("object not deleted")
	}
}

func TestNewNeedsABucket(t *testing.T) {
	if _, err := New(configs.S3{Endpoint: "minio:9000"}); err == nil {
		t.Fatal("a bucket without a name was accepted")
	}
}
