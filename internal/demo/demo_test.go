package demo

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestForward(t *testing.T) {
	src := http.Header{}
	for _, h := range []string{"X-Request-Id", "X-B3-Traceid", "Traceparent", "End-User", "Cookie", "Sw8", "Authorization"} {
		src.Set(h, "v-"+h)
	}
	src.Add("Tracestate", "a=1")
	src.Add("Tracestate", "b=2")
	src.Set("Host", "productpage")
	src.Set("X-Forwarded-For", "1.2.3.4")
	src.Set("Content-Length", "10")
	dst := http.Header{"End-User": {"old"}}
	Forward(dst, src)
	want := http.Header{
		"X-Request-Id": {"v-X-Request-Id"}, "X-B3-Traceid": {"v-X-B3-Traceid"}, "Traceparent": {"v-Traceparent"},
		"End-User": {"v-End-User"}, "Cookie": {"v-Cookie"}, "Sw8": {"v-Sw8"}, "Authorization": {"v-Authorization"},
		"Tracestate": {"a=1", "b=2"},
	}
	if d := cmp.Diff(want, dst); d != "" {
		t.Errorf("Forward (-want +got):\n%s", d)
	}
	if len(ForwardedHeaders()) != 21 {
		t.Errorf("ForwardedHeaders has %d names", len(ForwardedHeaders()))
	}
}

func TestProxyFromEnv(t *testing.T) {
	env := map[string]string{"http_proxy": "127.0.0.1:15001", "HTTPS_PROXY": "http://egress:3128",
		"NO_PROXY": "skip.example, .internal,10.0.0.0/8,kube:6443"}
	proxy := ProxyFromEnv(func(k string) string { return env[k] })
	tests := []struct{ url, want string }{
		{"http://reviews:9080/reviews/0", "http://127.0.0.1:15001"},
		{"http://localhost:9080/", "http://127.0.0.1:15001"},
		{"http://127.0.0.1:9080/", "http://127.0.0.1:15001"},
		{"https://www.googleapis.com/books", "http://egress:3128"},
		{"http://skip.example/", ""},
		{"http://a.skip.example/", ""},
		{"http://db.internal/", ""},
		{"http://10.1.2.3/", ""},
		{"http://kube/", ""},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", tt.url, nil)
		u, err := proxy(req)
		got := ""
		if u != nil {
			got = u.String()
		}
		if err != nil || got != tt.want {
			t.Errorf("proxy for %s = %q, %v; want %q", tt.url, got, err, tt.want)
		}
	}
	if ProxyFromEnv(func(string) string { return "" }) != nil {
		t.Error("ProxyFromEnv without proxy variables is not nil")
	}
}

// TestClientUsesProxy: a client built from HTTP_PROXY sends a request for a plain service
// name to the proxy, in absolute form, as the sidecar expects in shared-network mode.
func TestClientUsesProxy(t *testing.T) {
	var seen string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.RequestURI
		io.WriteString(w, "ok")
	}))
	defer proxy.Close()
	c := NewClient(ProxyFromEnv(func(k string) string { return map[string]string{"HTTP_PROXY": proxy.URL}[k] }))
	resp, err := c.Get("http://ratings:9080/ratings/0")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if seen != "http://ratings:9080/ratings/0" {
		t.Errorf("proxy saw %q", seen)
	}
}

func TestServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		done <- Serve(ctx, ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			WriteJSON(w, http.StatusOK, map[string]string{"html": "<b>"})
		}))
	}()
	resp, err := http.Get("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "{\"html\":\"<b>\"}\n" {
		t.Errorf("body %q", b)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
}
