package drill

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// ErrAllDead is the proxy's 502 answer when no replica could be reached.
var ErrAllDead = errors.New("drill: no live replica")

// Proxy is a round-robin load balancer in front of the replicas, as a
// Kubernetes Service or an ingress would be: each request goes to the next
// replica; when a replica cannot be reached (refused, reset, died while
// answering) the request is tried on the next one and the replica is left
// out for a while (a passive health check, like nginx's max_fails).
type Proxy struct {
	backends []string
	// Down is how long a failed replica is left out (1 s when zero).
	Down time.Duration

	next      atomic.Uint64
	client    *http.Client
	mu        sync.Mutex
	downUntil map[string]time.Time
	counts    map[string]int
	failovers int
}

// NewProxy balances over the base URLs of backends.
func NewProxy(backends []string) *Proxy {
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 128, IdleConnTimeout: 30 * time.Second}
	return &Proxy{
		backends:  append([]string(nil), backends...),
		client:    &http.Client{Transport: tr, Timeout: 5 * time.Second},
		downUntil: map[string]time.Time{},
		counts:    map[string]int{},
	}
}

// ServeHTTP forwards r to the next live replica.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	start := int(p.next.Add(1) - 1)
	// Live replicas first, in turn; the ones left out last, in case they
	// came back.
	now := time.Now()
	p.mu.Lock()
	n := len(p.backends)
	order := make([]string, 0, n)
	var later []string
	for i := range n {
		b := p.backends[(start+i)%n]
		if p.downUntil[b].After(now) {
			later = append(later, b)
		} else {
			order = append(order, b)
		}
	}
	p.mu.Unlock()
	order = append(order, later...)
	for i, b := range order {
		resp, err := p.forward(r.Context(), r, b, body)
		if err != nil {
			if r.Context().Err() != nil {
				return
			}
			p.markDown(b)
			continue
		}
		p.mu.Lock()
		p.counts[b]++
		if i > 0 {
			p.failovers++
		}
		p.mu.Unlock()
		for k, vs := range resp.Header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(resp.body)
		return
	}
	http.Error(w, ErrAllDead.Error(), http.StatusBadGateway)
}

type bufferedResponse struct {
	*http.Response
	body []byte
}

// forward sends one attempt and reads the whole answer, so that a replica
// dying half-way through its answer counts as a failed attempt.
func (p *Proxy) forward(ctx context.Context, r *http.Request, backend string, body []byte) (*bufferedResponse, error) {
	req, err := http.NewRequestWithContext(ctx, r.Method, backend+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = r.Header.Clone()
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &bufferedResponse{Response: resp, body: b}, nil
}

func (p *Proxy) markDown(b string) {
	d := p.Down
	if d == 0 {
		d = time.Second
	}
	p.mu.Lock()
	p.downUntil[b] = time.Now().Add(d)
	p.mu.Unlock()
}

// Replace puts backend in the place of the i-th one (a restarted replica
// on its new address).
func (p *Proxy) Replace(i int, backend string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backends[i] = backend
}

// Counts returns how many requests each replica answered.
func (p *Proxy) Counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.counts))
	for k, v := range p.counts {
		out[k] = v
	}
	return out
}

// Failovers counts requests answered by another replica than the first one
// tried.
func (p *Proxy) Failovers() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failovers
}
