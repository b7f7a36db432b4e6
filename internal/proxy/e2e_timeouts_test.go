package proxy_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/weftmesh/weft/internal/proxy"
)

// TestDownstreamTimeouts checks the connection manager's limits: a stalled request
// body ends with 408 (stream idle timeout, SI; or the request timeout), and
// max_connection_duration closes a keep-alive connection.
func TestDownstreamTimeouts(t *testing.T) {
	t.Parallel()
	up := echoServer(t)
	routes := `
- match: {prefix: "/"}
  route: {cluster: echo}`
	cases := []struct{ name, extra, want string }{
		{"stream idle", "stream_idle_timeout: 0.2s", "HTTP/1.1 408 "},
		{"request timeout", "request_timeout: 0.2s", "HTTP/1.1 408 "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := bootstrapOf(t, hcmListener("l", routes, tc.extra), staticCluster("echo", "", up.Listener.Addr().String()))
			p := startProxy(t, b, proxy.Options{})
			c, err := net.Dial("tcp", strings.TrimPrefix(listenerURL(t, p, "l"), "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			out, _ := io.ReadAll(c)
			if !strings.HasPrefix(string(out), tc.want) {
				t.Errorf("stalled body: got %.60q, want %q", out, tc.want)
			}
		})
	}
	t.Run("max connection duration", func(t *testing.T) {
		extra := "common_http_protocol_options: {max_connection_duration: 0.2s}"
		b := bootstrapOf(t, hcmListener("l", routes, extra), staticCluster("echo", "", up.Listener.Addr().String()))
		p := startProxy(t, b, proxy.Options{})
		c, err := net.Dial("tcp", strings.TrimPrefix(listenerURL(t, p, "l"), "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		start := time.Now()
		out, _ := io.ReadAll(c) // the proxy closes the idle connection at 0.2 s
		if !strings.HasPrefix(string(out), "HTTP/1.1 200 ") || time.Since(start) > 2*time.Second {
			t.Errorf("got %.40q after %v, want a 200 then a close near 0.2 s", out, time.Since(start))
		}
	})
}

// TestStreamTimeoutsBothProtocols: the connection manager's stream limits apply the same
// way over HTTP/1.1 and HTTP/2. A stalled request body ends with 408 (stream idle
// timeout, request timeout, max stream duration); a slow upstream is cut by
// max_stream_duration with 504 and the DT flag, counted in
// downstream_rq_max_duration_reached.
func TestStreamTimeoutsBothProtocols(t *testing.T) {
	t.Parallel()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
		w.Write([]byte("late"))
	}))
	t.Cleanup(slow.Close)
	routes := `
- match: {prefix: "/"}
  route: {cluster: slow}`
	routeIdle := `
- match: {prefix: "/"}
  route: {cluster: slow, idle_timeout: 0.3s}`
	logFormat := `"%PROTOCOL% %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS%\n"`
	cases := []struct {
		name, extra string
		stall       bool // send part of a body, then nothing
		status      int
		log         string
	}{
		{"stream idle", "stream_idle_timeout: 0.3s", true, 408, "408 SI stream_idle_timeout"},
		{"route idle timeout overrides the stream idle timeout", "stream_idle_timeout: 10s", true, 408, "408 SI stream_idle_timeout"},
		{"request timeout", "request_timeout: 0.3s", true, 408, "408 - request_overall_timeout"},
		{"max stream duration, request incomplete", "common_http_protocol_options: {max_stream_duration: 0.3s}", true, 408, "408 DT max_duration_timeout"},
		{"max stream duration, upstream slow", "common_http_protocol_options: {max_stream_duration: 0.3s}", false, 504, "504 DT max_duration_timeout"},
	}
	for _, tc := range cases {
		for _, h2 := range []bool{false, true} {
			proto := map[bool]string{false: "HTTP/1.1", true: "HTTP/2"}[h2]
			t.Run(tc.name+"/"+proto, func(t *testing.T) {
				t.Parallel()
				logPath := filepath.Join(t.TempDir(), "a.log")
				extra := tc.extra + `
access_log:
- name: envoy.access_loggers.file
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
    path: ` + logPath + `
    log_format: {text_format_source: {inline_string: ` + logFormat + `}}`
				rs := routes
				if strings.HasPrefix(tc.name, "route idle") {
					rs = routeIdle
				}
				b := bootstrapOf(t, hcmListener("l", rs, extra), staticCluster("slow", "", slow.Listener.Addr().String()))
				p := startProxy(t, b, proxy.Options{})
				var body io.Reader
				if tc.stall {
					pr, pw := io.Pipe()
					defer pw.Close()
					go pw.Write([]byte("abc"))
					body = pr
				}
				req, _ := http.NewRequest("POST", listenerURL(t, p, "l")+"/", body)
				if tc.stall {
					req.ContentLength = 10
				}
				client := &http.Client{Timeout: 4 * time.Second}
				if h2 {
					client = h2cClient()
					client.Timeout = 4 * time.Second
				}
				start := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tc.status || time.Since(start) > 3*time.Second {
					t.Errorf("status %d after %v, want %d near 0.3 s", resp.StatusCode, time.Since(start), tc.status)
				}
				logHas(t, logPath, proto+" "+tc.log)
				if tc.log[4:6] == "DT" {
					eventually(t, counter(p, "http.l.downstream_rq_max_duration_reached", 1))
				}
			})
		}
	}
}

// TestHTTP2MaxConnectionDuration: an HTTP/2 connection older than
// max_connection_duration is told to go away (GOAWAY), as Envoy does, and its client
// goes on over a new connection.
func TestHTTP2MaxConnectionDuration(t *testing.T) {
	t.Parallel()
	up := echoServer(t)
	extra := "common_http_protocol_options: {max_connection_duration: 0.2s}"
	b := bootstrapOf(t, hcmListener("l", echoRoute, extra), staticCluster("echo", "", up.Listener.Addr().String()))
	p := startProxy(t, b, proxy.Options{})
	c, err := net.Dial("tcp", strings.TrimPrefix(listenerURL(t, p, "l"), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, http2.ClientPreface)
	fr := http2.NewFramer(c, c)
	fr.WriteSettings()
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	start := time.Now()
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("no GOAWAY: %v", err)
		}
		if g, ok := f.(*http2.GoAwayFrame); ok {
			if g.ErrCode != http2.ErrCodeNo || time.Since(start) > 2*time.Second {
				t.Errorf("GOAWAY %v after %v, want NO_ERROR near 0.2 s", g.ErrCode, time.Since(start))
			}
			break
		}
	}
	eventually(t, counter(p, "http.l.downstream_cx_max_duration_reached", 1))
	client := h2cClient()
	for i := 0; i < 2; i++ {
		req, _ := http.NewRequest("GET", listenerURL(t, p, "l")+"/", nil)
		if resp, _ := getEcho(t, client, req); resp.StatusCode != 200 {
			t.Errorf("request %d: status %d", i, resp.StatusCode)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestHTTP2MaxRequestsPerConnection: after max_requests_per_connection streams an
// HTTP/2 connection is told to go away; its last stream is still answered and the
// client's next request opens a new connection.
func TestHTTP2MaxRequestsPerConnection(t *testing.T) {
	t.Parallel()
	up := echoServer(t)
	extra := "common_http_protocol_options: {max_requests_per_connection: 2}"
	b := bootstrapOf(t, hcmListener("l", echoRoute, extra), staticCluster("echo", "", up.Listener.Addr().String()))
	p := startProxy(t, b, proxy.Options{})
	client := h2cClient()
	for i := 0; i < 5; i++ {
		req, _ := http.NewRequest("GET", listenerURL(t, p, "l")+"/", nil)
		if resp, _ := getEcho(t, client, req); resp.StatusCode != 200 {
			t.Errorf("request %d: status %d", i, resp.StatusCode)
		}
	}
	eventually(t, counter(p, "http.l.downstream_cx_http2_total", 3))
	eventually(t, counter(p, "http.l.downstream_cx_max_requests_reached", 2))
}

// TestRequestHeadersTimeout: request_headers_timeout runs from a request's first byte:
// a head that stops halfway is answered 408 and counted; a connection that sends
// nothing is not cut by it (the idle timeout is what bounds that).
func TestRequestHeadersTimeout(t *testing.T) {
	t.Parallel()
	up := echoServer(t)
	b := bootstrapOf(t, hcmListener("l", echoRoute, "request_headers_timeout: 0.3s"), staticCluster("echo", "", up.Listener.Addr().String()))
	p := startProxy(t, b, proxy.Options{})
	addr := strings.TrimPrefix(listenerURL(t, p, "l"), "http://")

	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\nX-Half: ")
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	out, _ := io.ReadAll(c)
	if !strings.HasPrefix(string(out), "HTTP/1.1 408 ") {
		t.Errorf("half a head: got %.60q, want a 408", out)
	}
	eventually(t, counter(p, "http.l.downstream_rq_header_timeout", 1))

	// The silent connection outlived the timeout and still serves a request.
	io.WriteString(silent, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	silent.SetReadDeadline(time.Now().Add(3 * time.Second))
	if out, _ := io.ReadAll(silent); !strings.HasPrefix(string(out), "HTTP/1.1 200 ") {
		t.Errorf("silent connection: got %.60q, want a 200", out)
	}
}
