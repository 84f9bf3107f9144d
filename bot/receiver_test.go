package bot

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/silenceper/wechat/v2/util"

	"opsbot/bot/wecomtest"
	"opsbot/kv"
)

// testNow is the receiver's clock in these tests.
var testNow = time.Date(2025, 3, 3, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))

// memInbox is an Inbox with the database's unique key on Key.
type memInbox struct {
	mu       sync.Mutex
	stored   map[string]Incoming
	accepts  int // calls
	newOnes  int // calls that returned dup == false
	failNext int // calls left that fail
}

func newMemInbox() *memInbox { return &memInbox{stored: map[string]Incoming{}} }

func (b *memInbox) Accept(_ context.Context, msg Incoming) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.accepts++
	if b.failNext > 0 {
		b.failNext--
		return false, errors.New("database is down")
	}
	if _, ok := b.stored[msg.Key]; ok {
		return true, nil
	}
	b.stored[msg.Key] = msg
	b.newOnes++
	return false, nil
}

func (b *memInbox) counts() (accepts, newOnes, stored int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.accepts, b.newOnes, len(b.stored)
}

// failingStore is a kv.Store whose dedupe operations fail, as Redis does
// during an outage.
type failingStore struct{ kv.Store }

func (failingStore) Get(context.Context, string) (string, bool, error) {
	return "", false, fmt.Errorf("%w: connection refused", kv.ErrUnavailable)
}
func (failingStore) Set(context.Context, string, string, time.Duration) error {
	return fmt.Errorf("%w: connection refused", kv.ErrUnavailable)
}
func (failingStore) Claim(context.Context, string, string, time.Duration) (string, error) {
	return "", fmt.Errorf("%w: connection refused", kv.ErrUnavailable)
}
func (failingStore) Del(context.Context, ...string) error {
	return fmt.Errorf("%w: connection refused", kv.ErrUnavailable)
}

type receiverFixture struct {
	crypto   *Crypto
	inbox    *memInbox
	store    kv.Store
	metrics  *Metrics
	handler  http.Handler
	accepted atomic.Int64
	logs     *bytes.Buffer
}

func newReceiverFixture(t testing.TB, store kv.Store) *receiverFixture {
	t.Helper()
	c, err := NewCrypto(vecToken, vecAESKey, vecCorpID)
	if err != nil {
		t.Fatal(err)
	}
	f := &receiverFixture{crypto: c, inbox: newMemInbox(), store: store, metrics: NewMetrics(prometheus.NewRegistry()), logs: &bytes.Buffer{}}
	f.handler = NewReceiver(ReceiverConfig{
		Crypto:     c,
		Inbox:      f.inbox,
		Dedupe:     store,
		Now:        func() time.Time { return testNow },
		Metrics:    f.metrics,
		Log:        newTestLogger(f.logs),
		OnAccepted: func(Incoming) { f.accepted.Add(1) },
	})
	return f
}

// request builds a signed callback POST of plain, sent at ts.
func (f *receiverFixture) request(t testing.TB, plain []byte, ts time.Time) *http.Request {
	t.Helper()
	stamp := strconv.FormatInt(ts.Unix(), 10)
	body, sig, err := f.crypto.Seal(plain, stamp, "nonce42")
	if err != nil {
		t.Fatal(err)
	}
	return signedRequest(body, sig, stamp)
}

func signedRequest(body []byte, sig, stamp string) *http.Request {
	q := url.Values{"msg_signature": {sig}, "timestamp": {stamp}, "nonce": {"nonce42"}}
	return httptest.NewRequest(http.MethodPost, "/wecom/callback?"+q.Encode(), bytes.NewReader(body))
}

func (f *receiverFixture) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, r)
	return w
}

func counterValue(t testing.TB, c prometheus.Metric) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return float64(m.Histogram.GetSampleCount())
}

func (f *receiverFixture) refusals(t testing.TB, reason string) float64 {
	return counterValue(t, f.metrics.refusals.WithLabelValues(reason))
}

func (f *receiverFixture) results(t testing.TB, result string) float64 {
	return counterValue(t, f.metrics.callbacks.WithLabelValues(result))
}

func textXML(msgID int64, text string) []byte {
	return wecomtest.TextXML("nurse01", 1000002, msgID, text, testNow)
}

func TestReceiverAcceptsText(t *testing.T) {
	f := newReceiverFixture(t, kv.NewMemory(nil))
	w := f.serve(f.request(t, textXML(1001, "报修 HIS 登录不了 患者张三"), testNow))
	if w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Fatalf("status %d body %q, want 200 and empty", w.Code, w.Body.String())
	}
	if _, newOnes, _ := f.inbox.counts(); newOnes != 1 || f.accepted.Load() != 1 {
		t.Fatalf("new %d, OnAccepted %d; want 1, 1", newOnes, f.accepted.Load())
	}
	msg := f.inbox.stored["msg:1001"]
	if msg.User != "nurse01" || msg.Text != "报修 HIS 登录不了 患者张三" || msg.AgentID != 1000002 {
		t.Errorf("stored %+v", msg)
	}
	if got := f.results(t, resultAccepted); got != 1 {
		t.Errorf("accepted counter %v", got)
	}
	if got := counterValue(t, f.metrics.ackSeconds.WithLabelValues(resultAccepted).(prometheus.Metric)); got != 1 {
		t.Errorf("ack histogram has %v samples, want 1", got)
	}
	// The same message again, once marked done: 200 from the dedupe
	// store, without the inbox.
	if v := markedValue(f.store, dedupePrefix+"msg:1001"); v != dedupeDone {
		t.Fatalf("dedupe key %q after the answer, want done", v)
	}
	if w := f.serve(f.request(t, textXML(1001, "报修 HIS 登录不了 患者张三"), testNow)); w.Code != http.StatusOK {
		t.Fatalf("duplicate: status %d", w.Code)
	}
	if accepts, _, _ := f.inbox.counts(); accepts != 1 || f.accepted.Load() != 1 || f.results(t, resultDuplicate) != 1 {
		t.Errorf("duplicate reached the inbox (%d accepts, %d OnAccepted)", accepts, f.accepted.Load())
	}
	if strings.Contains(f.logs.String(), "张三") {
		t.Errorf("log holds the message body:\n%s", f.logs)
	}
}

func TestReceiverAcceptsUnknownTypes(t *testing.T) {
	f := newReceiverFixture(t, kv.NewMemory(nil))
	img := fmt.Sprintf(`<xml><ToUserName><![CDATA[ww]]></ToUserName><FromUserName><![CDATA[nurse01]]></FromUserName><CreateTime>%d</CreateTime>`+
		`<MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[http://p]]></PicUrl><MediaId><![CDATA[m]]></MediaId><MsgId>77</MsgId><AgentID>1000002</AgentID></xml>`, testNow.Unix())
	if w := f.serve(f.request(t, []byte(img), testNow)); w.Code != http.StatusOK {
		t.Fatalf("image: status %d", w.Code)
	}
	if f.inbox.stored["msg:77"].Type != "image" || f.accepted.Load() != 1 {
		t.Errorf("image not stored and handed on: %+v", f.inbox.stored)
	}
}

func TestReceiverRefusals(t *testing.T) {
	f := newReceiverFixture(t, kv.NewMemory(nil))
	plain := textXML(2001, "secret body 患者李四")
	stamp := strconv.FormatInt(testNow.Unix(), 10)
	good, goodSig, _ := f.crypto.Seal(plain, stamp, "nonce42")

	foreign, _ := NewCrypto(vecToken, vecAESKey, "wwsomeoneelse")
	foreignBody, foreignSig, _ := foreign.Seal(plain, stamp, "nonce42")

	signedEnvelope := func(encrypt string) *http.Request {
		body := []byte("<xml><ToUserName><![CDATA[x]]></ToUserName><Encrypt><![CDATA[" + encrypt + "]]></Encrypt></xml>")
		return signedRequest(body, util.Signature(vecToken, stamp, "nonce42", encrypt), stamp)
	}
	notXML, notXMLSig, _ := f.crypto.Seal([]byte("plain text, not xml"), stamp, "nonce42")

	huge := httptest.NewRequest(http.MethodPost, "/wecom/callback", bytes.NewReader(make([]byte, DefaultMaxBody+1)))
	chunked := httptest.NewRequest(http.MethodPost, "/wecom/callback", io.MultiReader(bytes.NewReader(make([]byte, DefaultMaxBody)), strings.NewReader("x")))
	chunked.ContentLength = -1

	for _, tc := range []struct {
		name   string
		req    *http.Request
		status int
		reason string
	}{
		{"wrong signature", signedRequest(good, strings.Repeat("a", 40), stamp), 403, reasonSignature},
		{"missing signature", signedRequest(good, "", stamp), 403, reasonSignature},
		{"signature of another timestamp", signedRequest(good, goodSig, strconv.FormatInt(testNow.Unix()+1, 10)), 403, reasonSignature},
		{"foreign corp", signedRequest(foreignBody, foreignSig, stamp), 403, reasonReceiveID},
		{"stale timestamp", f.request(t, plain, testNow.Add(-DefaultMaxSkew-time.Second)), 403, reasonStale},
		{"future timestamp", f.request(t, plain, testNow.Add(DefaultMaxSkew+time.Second)), 403, reasonStale},
		{"timestamp not a number", signedRequest(good, goodSig, "yesterday"), 400, reasonMalformed},
		{"envelope not xml", signedRequest([]byte("hello"), goodSig, stamp), 400, reasonMalformed},
		{"bad base64", signedEnvelope("%%%not-base64%%%"), 400, reasonMalformed},
		{"bad padding", signedEnvelope(strings.Repeat("A", 86) + "=="), 400, reasonMalformed},
		{"plaintext not xml", signedRequest(notXML, notXMLSig, stamp), 400, reasonMalformed},
		{"too large", huge, 413, reasonTooLarge},
		{"too large, no length", chunked, 413, reasonTooLarge},
		{"PUT", httptest.NewRequest(http.MethodPut, "/wecom/callback", nil), 405, reasonMethod},
		{"GET without echostr", httptest.NewRequest(http.MethodGet, "/wecom/callback?msg_signature=a&timestamp=1&nonce=2", nil), 400, reasonMalformed},
	} {
		before := f.refusals(t, tc.reason)
		w := f.serve(tc.req)
		if w.Code != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, w.Code, tc.status)
		}
		if got := f.refusals(t, tc.reason); got != before+1 {
			t.Errorf("%s: refusals{reason=%s} went %v → %v", tc.name, tc.reason, before, got)
		}
	}
	if accepts, _, _ := f.inbox.counts(); accepts != 0 || f.accepted.Load() != 0 {
		t.Errorf("a refused callback reached the inbox")
	}
	for _, secret := range []string{"李四", vecAESKey, goodSig} {
		if strings.Contains(f.logs.String(), secret) {
			t.Errorf("log holds %q:\n%s", secret, f.logs)
		}
	}
}

func TestReceiverVerifiesURL(t *testing.T) {
	f := newReceiverFixture(t, kv.NewMemory(nil))
	const echostr = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
	q := url.Values{"msg_signature": {"5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"}, "timestamp": {"1409659589"}, "nonce": {"263014780"}, "echostr": {echostr}}
	w := f.serve(httptest.NewRequest(http.MethodGet, "/wecom/callback?"+q.Encode(), nil))
	if w.Code != 200 || w.Body.String() != "1616140317555161061" {
		t.Fatalf("verify: %d %q", w.Code, w.Body.String())
	}
	q.Set("msg_signature", strings.Repeat("0", 40))
	if w := f.serve(httptest.NewRequest(http.MethodGet, "/wecom/callback?"+q.Encode(), nil)); w.Code != 403 {
		t.Errorf("bad signature: %d, want 403", w.Code)
	}
}

// concurrentDuplicates posts one message from 20 goroutines at once.
func concurrentDuplicates(t *testing.T, f *receiverFixture, msgID int64) {
	t.Helper()
	stamp := strconv.FormatInt(testNow.Unix(), 10)
	body, sig, err := f.crypto.Seal(textXML(msgID, "打印机卡纸"), stamp, "nonce42")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	codes := make([]int, 20)
	start := make(chan struct{})
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			codes[i] = f.serve(signedRequest(body, sig, stamp)).Code
		}()
	}
	close(start)
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Errorf("request %d: status %d", i, c)
		}
	}
	if _, newOnes, stored := f.inbox.counts(); newOnes != 1 || stored != 1 {
		t.Errorf("inbox: %d new, %d stored; want 1, 1", newOnes, stored)
	}
	if n := f.accepted.Load(); n != 1 {
		t.Errorf("OnAccepted called %d times, want 1", n)
	}
	if got := f.results(t, resultAccepted) + f.results(t, resultDuplicate); got != 20 {
		t.Errorf("accepted+duplicate = %v, want 20", got)
	}
}

func TestReceiverConcurrentDuplicates(t *testing.T) {
	concurrentDuplicates(t, newReceiverFixture(t, kv.NewMemory(nil)), 3001)
}

func TestReceiverConcurrentDuplicatesRedis(t *testing.T) {
	ctx := context.Background()
	var b [6]byte
	rand.Read(b[:])
	store, err := kv.OpenRedis(ctx, "redis://127.0.0.1:6379/0", "test:"+hex.EncodeToString(b[:])+":")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis required in CI: %v", err)
		}
		t.Skipf("redis unreachable: %v", err)
	}
	t.Cleanup(func() {
		store.Del(ctx, dedupePrefix+"msg:3002")
		store.Close()
	})
	f := newReceiverFixture(t, store)
	concurrentDuplicates(t, f, 3002)
	if v := markedValue(store, dedupePrefix+"msg:3002"); v != dedupeDone {
		t.Errorf("dedupe key = %q; want done", v)
	}
}

func TestReceiverDedupeStoreDown(t *testing.T) {
	f := newReceiverFixture(t, failingStore{kv.NewMemory(nil)})
	concurrentDuplicates(t, f, 4001)
	// Copies that arrive one after another are not joined in the
	// process: without Redis each reaches the inbox, whose key decides.
	before, _, _ := f.inbox.counts()
	for i := range 3 {
		if w := f.serve(f.request(t, textXML(4001, "打印机卡纸"), testNow.Add(time.Duration(i+1)*time.Second))); w.Code != http.StatusOK {
			t.Fatalf("late copy %d: status %d", i, w.Code)
		}
	}
	if accepts, newOnes, stored := f.inbox.counts(); accepts != before+3 || newOnes != 1 || stored != 1 {
		t.Errorf("inbox: %d accepts after %d, %d new, %d stored; want every late copy to reach it and one message", accepts, before, newOnes, stored)
	}
	if got := counterValue(t, f.metrics.dedupeFails); got == 0 {
		t.Errorf("dedupe store errors not counted")
	}
}

func TestReceiverAcceptFailureReleasesKey(t *testing.T) {
	store := kv.NewMemory(nil)
	f := newReceiverFixture(t, store)
	f.inbox.failNext = 1
	plain := textXML(5001, "监护仪报警")
	if w := f.serve(f.request(t, plain, testNow)); w.Code != http.StatusInternalServerError {
		t.Fatalf("accept failure: status %d, want 500", w.Code)
	}
	if _, ok, _ := store.Get(context.Background(), dedupePrefix+"msg:5001"); ok {
		t.Fatal("dedupe key kept after the inbox failed; the retry would be dropped")
	}
	if f.accepted.Load() != 0 || f.results(t, resultFailed) != 1 {
		t.Fatalf("OnAccepted %d, failed counter %v", f.accepted.Load(), f.results(t, resultFailed))
	}
	// WeCom's retry.
	if w := f.serve(f.request(t, plain, testNow.Add(5*time.Second))); w.Code != http.StatusOK {
		t.Fatalf("retry: status %d", w.Code)
	}
	if _, newOnes, _ := f.inbox.counts(); newOnes != 1 || f.accepted.Load() != 1 {
		t.Errorf("retry not accepted: new %d, OnAccepted %d", newOnes, f.accepted.Load())
	}
}

// A retry that arrives while the first delivery is still being stored goes
// to the inbox instead of being answered as a duplicate: the first may fail.
func TestReceiverPendingDuplicateReachesInbox(t *testing.T) {
	store := kv.NewMemory(nil)
	f := newReceiverFixture(t, store)
	ctx := context.Background()
	store.Set(ctx, dedupePrefix+"msg:6001", dedupePending, time.Hour) // first delivery in flight
	if w := f.serve(f.request(t, textXML(6001, "网络断了"), testNow)); w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if _, newOnes, _ := f.inbox.counts(); newOnes != 1 || f.accepted.Load() != 1 {
		t.Errorf("pending duplicate not stored: new %d", newOnes)
	}
	if v := markedValue(store, dedupePrefix+"msg:6001"); v != dedupeDone {
		t.Errorf("key %q, want done", v)
	}
}

// markedValue returns key's value once it is marked done, or its value
// after a few seconds: the mark is written after the answer, without
// holding it up.
func markedValue(store kv.Store, key string) string {
	deadline := time.Now().Add(3 * time.Second)
	for {
		v, _, _ := store.Get(context.Background(), key)
		if v == dedupeDone || time.Now().After(deadline) {
			return v
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// countingInbox stores nothing and never reports a duplicate, so that the
// benchmark can reuse its sealed bodies without hitting the duplicate path.
type countingInbox struct{ n atomic.Int64 }

func (c *countingInbox) Accept(context.Context, Incoming) (bool, error) {
	c.n.Add(1)
	return false, nil
}

// BenchmarkReceiver measures a new message through the whole handler:
// parse query, signature, AES, XML, dedupe claim and mark, inbox, OnAccepted.
func BenchmarkReceiver(b *testing.B) {
	c, _ := NewCrypto(vecToken, vecAESKey, vecCorpID)
	store := kv.NewMemory(nil)
	inbox := &countingInbox{}
	h := NewReceiver(ReceiverConfig{Crypto: c, Inbox: inbox, Dedupe: store, Now: func() time.Time { return testNow },
		Metrics: NewMetrics(prometheus.NewRegistry()), OnAccepted: func(Incoming) {}})
	stamp := strconv.FormatInt(testNow.Unix(), 10)
	const n = 4096 // distinct sealed messages, sealed before timing
	bodies, sigs := make([][]byte, n), make([]string, n)
	for i := range n {
		bodies[i], sigs[i], _ = c.Seal(textXML(int64(i), "HIS 挂号界面卡住了，麻烦尽快处理"), stamp, "nonce42")
	}
	ctx := context.Background()
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) % n
			// Bodies repeat every n requests; forgetting the key (an
			// in-memory map delete) keeps each one on the new-message path.
			store.Del(ctx, dedupePrefix+"msg:"+strconv.FormatInt(i, 10))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, signedRequest(bodies[i], sigs[i], stamp))
			if w.Code != http.StatusOK {
				b.Fatalf("status %d", w.Code)
			}
		}
	})
	if inbox.n.Load() < int64(b.N) {
		b.Fatalf("inbox saw %d of %d", inbox.n.Load(), b.N)
	}
}

// gatedInbox holds every Accept until the gate opens and counts the calls.
type gatedInbox struct {
	gate  chan struct{}
	calls atomic.Int64
	inner Inbox
}

func (g *gatedInbox) Accept(ctx context.Context, msg Incoming) (bool, error) {
	g.calls.Add(1)
	<-g.gate
	return g.inner.Accept(ctx, msg)
}

// Copies that arrive while this process stores the first one wait for it
// and answer 200 as duplicates: one inbox write, one OnAccepted, and a
// failure of the first is the answer of all of them (WeCom retries).
func TestReceiverJoinsCopiesInFlight(t *testing.T) {
	for _, fail := range []bool{false, true} {
		f := newReceiverFixture(t, kv.NewMemory(nil))
		gated := &gatedInbox{gate: make(chan struct{}), inner: f.inbox}
		if fail {
			f.inbox.failNext = 1
		}
		h := NewReceiver(ReceiverConfig{Crypto: f.crypto, Inbox: gated, Dedupe: f.store, Now: func() time.Time { return testNow },
			Metrics: f.metrics, OnAccepted: func(Incoming) { f.accepted.Add(1) }})
		stamp := strconv.FormatInt(testNow.Unix(), 10)
		body, sig, err := f.crypto.Seal(textXML(7001, "心电图机连不上"), stamp, "nonce42")
		if err != nil {
			t.Fatal(err)
		}
		codes := make(chan int, 5)
		for range 5 {
			go func() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, signedRequest(body, sig, stamp))
				codes <- w.Code
			}()
		}
		for gated.calls.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond) // let the other copies arrive and wait
		close(gated.gate)
		want := http.StatusOK
		if fail {
			want = http.StatusInternalServerError
		}
		for range 5 {
			if c := <-codes; c != want {
				t.Errorf("fail=%v: a copy got %d, want %d", fail, c, want)
			}
		}
		if n := gated.calls.Load(); n != 1 {
			t.Errorf("fail=%v: inbox called %d times, want once", fail, n)
		}
		if n, want := f.accepted.Load(), map[bool]int64{false: 1, true: 0}[fail]; n != want {
			t.Errorf("fail=%v: OnAccepted %d times, want %d", fail, n, want)
		}
	}
}
