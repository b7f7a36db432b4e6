package httpbin

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func call(t *testing.T, srv *httptest.Server, method, path, ctype, body string, hdr map[string]string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return resp, out
}

func TestEcho(t *testing.T) {
	srv := httptest.NewServer(New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	hdr := map[string]string{"X-B3-Traceid": "abc", "X-Request-Id": "r1", "User-Agent": "curl/8"}

	_, got := call(t, srv, "GET", "/get?a=1&b=2&b=3", "", "", hdr)
	want := map[string]any{
		"args":    map[string]any{"a": "1", "b": []any{"2", "3"}},
		"headers": map[string]any{"Host": host, "X-B3-Traceid": "abc", "User-Agent": "curl/8", "Accept-Encoding": "gzip"},
		"origin":  "127.0.0.1",
		"url":     srv.URL + "/get?a=1&b=2&b=3",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("/get (-want +got):\n%s", d)
	}

	_, got = call(t, srv, "GET", "/headers?show_env=1", "", "", hdr)
	if h := got["headers"].(map[string]any); h["X-Request-Id"] != "r1" {
		t.Errorf("/headers?show_env: %v", h)
	}
	_, got = call(t, srv, "GET", "/ip", "", "", map[string]string{"X-Forwarded-For": "10.1.2.3"})
	if got["origin"] != "10.1.2.3" {
		t.Errorf("/ip = %v", got)
	}

	_, got = call(t, srv, "POST", "/anything/x?q=1", "application/json", `{"k":[1,2]}`, nil)
	if got["method"] != "POST" || got["data"] != `{"k":[1,2]}` || !cmp.Equal(got["json"], map[string]any{"k": []any{1.0, 2.0}}) ||
		got["url"] != srv.URL+"/anything/x?q=1" {
		t.Errorf("/anything JSON = %v", got)
	}
	_, got = call(t, srv, "PUT", "/anything", "application/x-www-form-urlencoded", "user=jason", nil)
	if !cmp.Equal(got["form"], map[string]any{"user": "jason"}) || got["method"] != "PUT" {
		t.Errorf("/anything form = %v", got)
	}
}

func TestStatus(t *testing.T) {
	srv := httptest.NewServer(New())
	defer srv.Close()
	srv.Client().CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for path, want := range map[string]int{"/status/200": 200, "/status/503": 503, "/status/418": 418,
		"/status/302": 302, "/status/abc": 400, "/status/99": 400} {
		if resp, _ := call(t, srv, "GET", path, "", "", nil); resp.StatusCode != want {
			t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, want)
		}
	}
	for _, tt := range []struct {
		spec string
		coin float64
		want int
	}{{"200,500", 0.2, 200}, {"200,500", 0.7, 500}, {"200:0.9,503:0.1", 0.89, 200}, {"200:0.9,503:0.1", 0.95, 503}} {
		if got, ok := pickStatus(tt.spec, func() float64 { return tt.coin }); !ok || got != tt.want {
			t.Errorf("pickStatus(%q) with %v = %d, want %d", tt.spec, tt.coin, got, tt.want)
		}
	}
}

func TestDelay(t *testing.T) {
	srv := httptest.NewServer(New())
	defer srv.Close()
	start := time.Now()
	resp, got := call(t, srv, "GET", "/delay/0.2", "", "", nil)
	if resp.StatusCode != 200 || time.Since(start) < 200*time.Millisecond || got["url"] != srv.URL+"/delay/0.2" {
		t.Errorf("/delay/0.2 = %d after %v: %v", resp.StatusCode, time.Since(start), got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/delay/5", nil)
	if _, err := srv.Client().Do(req); err == nil {
		t.Error("/delay/5 answered within 100ms")
	}
}
