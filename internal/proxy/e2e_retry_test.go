package proxy_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftmesh/weft/internal/proxy"
)

// flakyServer fails the first n requests with status, then echoes; it records bodies.
type flakyServer struct {
	fail   int32
	status int
	calls  atomic.Int32
	mu     sync.Mutex
	bodies []string
	delay  time.Duration
}

func (f *flakyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.calls.Add(1)
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.bodies = append(f.bodies, string(b))
	f.mu.Unlock()
	if n <= f.fail {
		if f.delay > 0 {
			time.Sleep(f.delay)
		}
		w.WriteHeader(f.status)
		return
	}
	w.Header().Set("X-Attempt", r.Header.Get("X-Envoy-Attempt-Count"))
	io.WriteString(w, "ok:"+string(b))
}

func TestRetries(t *testing.T) {
	t.Parallel()
	route := func(prefix, cluster, policy string) string {
		return "\n- match: {prefix: \"" + prefix + "\"}\n  route:\n    cluster: " + cluster + "\n" + indent(policy, 4)
	}
	cases := []struct {
		name, policy, header string
		srv                  *flakyServer
		wantCode             int
		wantCalls            int32
	}{
		{"5xx retried", "retry_policy: {retry_on: 5xx, num_retries: 2, retry_back_off: {base_interval: 0.001s}}", "",
			&flakyServer{fail: 2, status: 503}, 200, 3},
		{"exhausted passes the last response", "retry_policy: {retry_on: 5xx, num_retries: 1, retry_back_off: {base_interval: 0.001s}}", "",
			&flakyServer{fail: 5, status: 500}, 500, 2},
		{"gateway-error ignores 500", "retry_policy: {retry_on: gateway-error, num_retries: 3}", "",
			&flakyServer{fail: 5, status: 500}, 500, 1},
		{"retriable status codes", "retry_policy: {retry_on: retriable-status-codes, retriable_status_codes: [418], num_retries: 1, retry_back_off: {base_interval: 0.001s}}", "",
			&flakyServer{fail: 1, status: 418}, 200, 2},
		{"x-envoy-retry-on header", "", "5xx",
			&flakyServer{fail: 1, status: 502}, 200, 2},
		{"per-try timeout", "retry_policy: {retry_on: reset, num_retries: 1, per_try_timeout: 0.1s, retry_back_off: {base_interval: 0.001s}}", "",
			&flakyServer{fail: 1, status: 200, delay: 400 * time.Millisecond}, 200, 2},
		{"per-try idle timeout", "retry_policy: {retry_on: reset, num_retries: 1, per_try_idle_timeout: 0.1s, retry_back_off: {base_interval: 0.001s}}", "",
			&flakyServer{fail: 1, status: 200, delay: 400 * time.Millisecond}, 200, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up := newServer(t, tc.srv)
			routes := route("/", "up", tc.policy)
			vh := "include_request_attempt_count: true"
			l := strings.Replace(hcmListener("l", routes, ""), "              domains: [\"*\"]", "              domains: [\"*\"]\n              "+vh, 1)
			b := bootstrapOf(t, l, staticCluster("up", "", up.Listener.Addr().String()))
			p := startProxy(t, b, proxy.Options{})
			req, _ := http.NewRequest("POST", listenerURL(t, p, "l")+"/", strings.NewReader("payload"))
			if tc.header != "" {
				req.Header.Set("X-Envoy-Retry-On", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(resp)
			if resp.StatusCode != tc.wantCode || tc.srv.calls.Load() != tc.wantCalls {
				t.Errorf("status %d after %d calls (%q), want %d after %d", resp.StatusCode, tc.srv.calls.Load(), body, tc.wantCode, tc.wantCalls)
			}
			if tc.wantCode == 200 && (body != "ok:payload" || resp.Header.Get("X-Attempt") != itoa(int(tc.wantCalls))) {
				t.Errorf("final attempt got body %q attempt %q", body, resp.Header.Get("X-Attempt"))
			}
			tc.srv.mu.Lock()
			for i, b := range tc.srv.bodies {
				if b != "payload" {
					t.Errorf("attempt %d carried body %q, want the replayed payload", i+1, b)
				}
			}
			tc.srv.mu.Unlock()
			eventually(t, counter(p, "cluster.up.upstream_rq_retry", uint64(tc.wantCalls-1)))
			// A per-try timeout counts when it fires, retried or not.
			if strings.Contains(tc.policy, "per_try_idle_timeout") {
				eventually(t, counter(p, "cluster.up.upstream_rq_per_try_idle_timeout", 1))
			}
			if strings.Contains(tc.policy, "per_try_timeout") {
				eventually(t, counter(p, "cluster.up.upstream_rq_per_try_timeout", 1))
			}
		})
	}
}

func itoa(n int) string { return string(rune('0' + n)) }

// TestMirror shadows requests to a second cluster with "-shadow" appended to the
// authority; the primary response is unaffected by a slow or failing mirror.
func TestMirror(t *testing.T) {
	t.Parallel()
	primary := echoServer(t)
	got := make(chan string, 4)
	shadow := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r.Host + " " + r.Method + " " + string(b)
		w.WriteHeader(500)
	}))
	routes := `
- match: {prefix: "/"}
  route:
    cluster: primary
    request_mirror_policies: [{cluster: shadow}]`
	b := bootstrapOf(t, hcmListener("l", routes, ""),
		staticCluster("primary", "", primary.Listener.Addr().String())+staticCluster("shadow", "", shadow.Listener.Addr().String()))
	p := startProxy(t, b, proxy.Options{})
	req, _ := http.NewRequest("PUT", listenerURL(t, p, "l")+"/m", strings.NewReader("body"))
	req.Host = "reviews:9080"
	resp, e := getEcho(t, nil, req)
	if resp.StatusCode != 200 || e.Body != "body" {
		t.Errorf("primary: %d %+v", resp.StatusCode, e)
	}
	select {
	case s := <-got:
		if s != "reviews-shadow:9080 PUT body" {
			t.Errorf("shadow got %q", s)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no shadow request")
	}
	eventually(t, counter(p, "cluster.shadow.upstream_rq_500", 1))
}
