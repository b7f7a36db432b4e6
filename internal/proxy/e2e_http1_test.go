package proxy_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftmesh/weft/internal/proxy"
)

// rawExchange writes raw bytes to addr and reads until the connection closes or
// idle for 300 ms.
func rawExchange(t *testing.T, addr, in string) string {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(addr, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, in); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	buf := make([]byte, 4096)
	for {
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		n, err := c.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			return out.String()
		}
	}
}

func TestHTTP1Features(t *testing.T) {
	t.Parallel()
	up := echoServer(t)
	routes := `
- match: {prefix: "/"}
  route: {cluster: echo}`
	b := bootstrapOf(t, hcmListener("l", routes, ""), staticCluster("echo", "", up.Listener.Addr().String()))
	p := startProxy(t, b, proxy.Options{})
	url := listenerURL(t, p, "l")

	t.Run("pipelined keep-alive", func(t *testing.T) {
		in := "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
		out := rawExchange(t, url, in)
		for _, want := range []string{`"uri":"/1"`, `"uri":"/2"`, `"uri":"/3"`} {
			if !strings.Contains(out, want) {
				t.Errorf("response lacks %s:\n%s", want, out)
			}
		}
		if n := strings.Count(out, "HTTP/1.1 200 OK"); n != 3 {
			t.Errorf("%d responses, want 3", n)
		}
		if !strings.Contains(out, "connection: close") {
			t.Error("last response does not close")
		}
	})

	t.Run("chunked request body", func(t *testing.T) {
		in := "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
		out := rawExchange(t, url, in)
		if !strings.Contains(out, `"body":"hello world"`) {
			t.Errorf("upstream did not get the body:\n%s", out)
		}
	})

	t.Run("100-continue", func(t *testing.T) {
		c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "PUT /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
		br := bufio.NewReader(c)
		line, _ := br.ReadString('\n')
		if line != "HTTP/1.1 100 Continue\r\n" {
			t.Fatalf("first line %q, want 100 Continue", line)
		}
		br.ReadString('\n')
		io.WriteString(c, "data")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(body), `"body":"data"`) || strings.Contains(string(body), `"Expect"`) {
			t.Errorf("upstream saw %s", body)
		}
	})

	t.Run("headers too large", func(t *testing.T) {
		in := "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("x", 61<<10) + "\r\n\r\n"
		out := rawExchange(t, url, in)
		if !strings.HasPrefix(out, "HTTP/1.1 431 ") {
			t.Errorf("got %.80q, want 431", out)
		}
	})

	t.Run("smuggling attempt rejected", func(t *testing.T) {
		in := "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
		out := rawExchange(t, url, in)
		if !strings.HasPrefix(out, "HTTP/1.1 400 ") {
			t.Errorf("got %.80q, want 400", out)
		}
	})

	t.Run("http/1.0 refused by default", func(t *testing.T) {
		out := rawExchange(t, url, "GET / HTTP/1.0\r\n\r\n")
		if !strings.HasPrefix(out, "HTTP/1.0 426 ") {
			t.Errorf("got %.80q, want 426", out)
		}
	})

	t.Run("x-forwarded-proto and request id kept", func(t *testing.T) {
		req, _ := http.NewRequest("GET", url+"/x", nil)
		req.Header.Set("X-Request-Id", "abc")
		_, e := getEcho(t, nil, req)
		if e.Headers["X-Request-Id"] != "abc" || e.Headers["X-Forwarded-Proto"] != "http" {
			t.Errorf("upstream headers %v", e.Headers)
		}
	})
}

// TestResponseFlags checks that each failure gets its status, body and response flag,
// and that the flag shows in the access log.
func TestResponseFlags(t *testing.T) {
	t.Parallel()
	up := echoServer(t)
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { time.Sleep(400 * time.Millisecond) })
	slowSrv := newServer(t, slow)
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	dead.Close()
	logPath := filepath.Join(t.TempDir(), "access.log")
	routes := `
- match: {prefix: "/ok"}
  route: {cluster: echo}
- match: {prefix: "/nocluster"}
  route: {cluster: missing}
- match: {prefix: "/dead"}
  route: {cluster: dead}
- match: {prefix: "/slow"}
  route: {cluster: slow, timeout: 0.1s}
- match: {prefix: "/overflow"}
  route: {cluster: tiny, timeout: 2s}
- match: {prefix: "/direct"}
  direct_response: {status: 418, body: {inline_string: "teapot"}}
- match: {prefix: "/old"}
  redirect: {path_redirect: "/new"}
- match: {prefix: "/nohost"}
  route: {cluster: nohost}
- match: {prefix: "/hangup"}
  route: {cluster: hangup}
- match: {prefix: "/garbage"}
  route: {cluster: garbage}`
	extra := fmt.Sprintf(`access_log:
- name: envoy.access_loggers.file
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
    path: %s
    log_format: {text_format_source: {inline_string: "%%REQ(:PATH)%% %%RESPONSE_CODE%% %%RESPONSE_FLAGS%%\n"}}`, logPath)
	tiny := `circuit_breakers: {thresholds: [{max_connections: 1, max_pending_requests: 1, max_requests: 100}]}`
	hangup := rawServer(t, "")
	garbage := rawServer(t, "SPDY/3 200 OK\r\n\r\n")
	clusters := staticCluster("echo", "", up.Listener.Addr().String()) +
		staticCluster("hangup", "", hangup) + staticCluster("garbage", "", garbage) +
		"\n  - {name: nohost, type: STRICT_DNS, connect_timeout: 1s, load_assignment: {cluster_name: nohost, endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: no-such-host.invalid, port_value: 80}}}}]}]}}" +
		staticCluster("dead", "", deadAddr) +
		staticCluster("slow", "", slowSrv.Listener.Addr().String()) +
		staticCluster("tiny", tiny, slowSrv.Listener.Addr().String())
	b := bootstrapOf(t, hcmListener("l", routes, extra), clusters)
	p := startProxy(t, b, proxy.Options{})
	url := listenerURL(t, p, "l")

	tests := []struct {
		path, body string
		code       int
		flag       string
	}{
		{"/ok", "", 200, "-"},
		{"/none", "", 404, "NR"},
		{"/nocluster", "", 503, "NC"},
		{"/dead", "upstream connect error or disconnect/reset before headers. reset reason: connection failure", 503, "UF"},
		{"/slow", "upstream request timeout", 504, "UT"},
		{"/direct", "teapot", 418, "-"},
		{"/old", "", 301, "-"},
		{"/nohost", "no healthy upstream", 503, "UH"},
		{"/hangup", "upstream connect error or disconnect/reset before headers. reset reason: connection termination", 503, "UC"},
		{"/garbage", "upstream connect error or disconnect/reset before headers. reset reason: protocol error", 502, "UPE"},
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range tests {
		resp, err := noRedirect.Get(url + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.code || !strings.HasPrefix(string(body), tt.body) {
			t.Errorf("%s: %d %q, want %d %q", tt.path, resp.StatusCode, body, tt.code, tt.body)
		}
		if tt.path == "/old" && resp.Header.Get("Location") != "http://"+strings.TrimPrefix(url, "http://")+"/new" {
			t.Errorf("redirect location %q", resp.Header.Get("Location"))
		}
	}
	// Three concurrent requests to a cluster with one connection and one pending slot:
	// one is served, one waits, one overflows with 503 UO.
	codes := make(chan int, 3)
	for i := 0; i < 3; i++ {
		go func() {
			resp, err := http.Get(url + "/overflow")
			if err != nil {
				codes <- 0
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	got := map[int]int{}
	for i := 0; i < 3; i++ {
		got[<-codes]++
	}
	if got[503] != 1 || got[200] != 2 {
		t.Errorf("overflow codes %v, want two 200 and one 503", got)
	}
	eventually(t, counter(p, "cluster.tiny.upstream_rq_pending_overflow", 1))
	if out := rawExchange(t, url, "GET /bad\x01path HTTP/1.1\r\nHost: a\r\n\r\n"); !strings.HasPrefix(out, "HTTP/1.1 400 ") {
		t.Errorf("malformed request: %.40q", out)
	}
	want := []string{"/ok 200 -", "/none 404 NR", "/nocluster 503 NC", "/dead 503 UF", "/slow 504 UT", "/direct 418 -",
		"/old 301 -", "/overflow 503 UO", "/nohost 503 UH", "/hangup 503 UC", "/garbage 502 UPE", "- 400 DPE"}
	eventually(t, func() string {
		data, _ := os.ReadFile(logPath)
		for _, w := range want {
			if !strings.Contains(string(data), w+"\n") {
				return fmt.Sprintf("access log lacks %q:\n%s", w, data)
			}
		}
		return ""
	})
}

// rawServer reads a request and answers with reply (or nothing) and closes.
func rawServer(t *testing.T, reply string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				bufio.NewReader(c).ReadString('\n')
				io.WriteString(c, reply)
				c.Close()
			}()
		}
	}()
	return ln.Addr().String()
}

func newServer(t *testing.T, h http.Handler) *httptestServer {
	t.Helper()
	s := newHTTPTestServer(h)
	t.Cleanup(s.Close)
	return s
}

// TestForwardedFor checks Envoy's x-forwarded-for handling: with use_remote_address the
// proxy appends the peer and overwrites x-forwarded-proto; without it, the client
// address comes from x-forwarded-for (xff_num_trusted_hops from the right) and
// %DOWNSTREAM_REMOTE_ADDRESS% shows it.
func TestForwardedFor(t *testing.T) {
	t.Parallel()
	up := echoServer(t)
	routes := `
- match: {prefix: "/"}
  route: {cluster: echo}`
	logPath := filepath.Join(t.TempDir(), "a.log")
	logCfg := func() string {
		return `access_log:
- name: envoy.access_loggers.file
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
    path: ` + logPath + `
    log_format: {text_format_source: {inline_string: "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%\n"}}`
	}
	b := bootstrapOf(t,
		hcmListener("remote", routes, "use_remote_address: true")+hcmListener("trusted", routes, "xff_num_trusted_hops: 1\n"+logCfg()),
		staticCluster("echo", "", up.Listener.Addr().String()))
	p := startProxy(t, b, proxy.Options{})

	req, _ := http.NewRequest("GET", listenerURL(t, p, "remote")+"/", nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	req.Header.Set("X-Forwarded-Proto", "https")
	_, e := getEcho(t, nil, req)
	if e.Headers["X-Forwarded-For"] != "203.0.113.7,127.0.0.1" || e.Headers["X-Forwarded-Proto"] != "http" {
		t.Errorf("use_remote_address: xff %q proto %q", e.Headers["X-Forwarded-For"], e.Headers["X-Forwarded-Proto"])
	}

	req, _ = http.NewRequest("GET", listenerURL(t, p, "trusted")+"/", nil)
	req.Header.Set("X-Forwarded-For", "198.51.100.1, 203.0.113.7, 10.0.0.1")
	_, e = getEcho(t, nil, req)
	if e.Headers["X-Forwarded-For"] != "198.51.100.1, 203.0.113.7, 10.0.0.1" {
		t.Errorf("without use_remote_address xff changed to %q", e.Headers["X-Forwarded-For"])
	}
	eventually(t, func() string {
		data, _ := os.ReadFile(logPath)
		if string(data) != "203.0.113.7\n" {
			return fmt.Sprintf("client address from xff with one trusted hop: %q, want 203.0.113.7", data)
		}
		return ""
	})
}

// TestClientGoneCancelsUpstream: an HTTP/1 client that hangs up while its request waits
// on a slow upstream gets the upstream request cancelled (its connection closed) and
// DC in the access log, instead of the proxy waiting for the upstream to answer.
func TestClientGoneCancelsUpstream(t *testing.T) {
	t.Parallel()
	cancelled := make(chan time.Duration, 1)
	up := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		select {
		case <-r.Context().Done():
			cancelled <- time.Since(start)
		case <-time.After(5 * time.Second):
			cancelled <- -1
		}
	}))
	logPath := filepath.Join(t.TempDir(), "a.log")
	routes := `
- match: {prefix: "/"}
  route: {cluster: slow, timeout: 10s}`
	b := bootstrapOf(t, hcmListener("l", routes, accessLogYAML(logPath, "%RESPONSE_CODE% %RESPONSE_FLAGS%")), staticCluster("slow", "", up.Listener.Addr().String()))
	p := startProxy(t, b, proxy.Options{})
	c, err := net.Dial("tcp", strings.TrimPrefix(listenerURL(t, p, "l"), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	time.Sleep(300 * time.Millisecond)
	c.Close()
	if d := <-cancelled; d < 0 || d > 2*time.Second {
		t.Fatalf("upstream request not cancelled after the client left (%v)", d)
	}
	eventually(t, logContains(logPath, "DC"))
}

// TestClientGoneAfterResponseIsNotDC: a client that hangs up as soon as it has the whole
// response of a slow request (long enough for the proxy to watch for hang-ups) cut
// nothing short: the access log shows no DC. Many clients at once, so that some close
// before the proxy has finished the stream.
func TestClientGoneAfterResponseIsNotDC(t *testing.T) {
	t.Parallel()
	up := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(150 * time.Millisecond)
		w.Header().Set("Content-Length", "2")
		io.WriteString(w, "ok")
	}))
	logPath := filepath.Join(t.TempDir(), "a.log")
	b := bootstrapOf(t, hcmListener("l", echoRoute, accessLogYAML(logPath, "%RESPONSE_CODE% %RESPONSE_FLAGS%")), staticCluster("echo", "", up.Listener.Addr().String()))
	p := startProxy(t, b, proxy.Options{})
	addr := strings.TrimPrefix(listenerURL(t, p, "l"), "http://")
	const clients = 30
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Error(err)
				return
			}
			io.ReadAll(resp.Body)
		})
	}
	wg.Wait()
	eventually(t, func() string {
		data, _ := os.ReadFile(logPath)
		if n := strings.Count(string(data), "\n"); n < clients {
			return fmt.Sprintf("%d access log lines, want %d", n, clients)
		}
		if strings.Contains(string(data), "DC") {
			return fmt.Sprintf("access log %q: DC for a response that went out whole", data)
		}
		return ""
	})
}

// TestDelayedClose: a connection the proxy closes after a response (Connection: close)
// is half-closed and drained first, as Envoy's delayed_close_timeout does, so bytes the
// client sent meanwhile do not turn the close into a reset that loses the response.
func TestDelayedClose(t *testing.T) {
	t.Parallel()
	slow := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(100 * time.Millisecond)
		io.WriteString(w, "answer")
	}))
	routes := `
- match: {prefix: "/"}
  route: {cluster: slow}`
	b := bootstrapOf(t, hcmListener("l", routes, ""), staticCluster("slow", "", slow.Listener.Addr().String()))
	p := startProxy(t, b, proxy.Options{})
	c, err := net.Dial("tcp", strings.TrimPrefix(listenerURL(t, p, "l"), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	time.Sleep(20 * time.Millisecond)            // the proxy is waiting for the upstream
	io.WriteString(c, strings.Repeat("x", 4096)) // unread when the proxy closes
	time.Sleep(400 * time.Millisecond)           // the response and the close have happened
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	out, err := io.ReadAll(c)
	if err != nil || !strings.HasPrefix(string(out), "HTTP/1.1 200 ") || !strings.HasSuffix(string(out), "answer") {
		t.Errorf("read %q, %v; want the whole response, then EOF", out, err)
	}
}

// TestServerHeader: server_header_transformation, as Envoy: OVERWRITE (the default)
// puts server_name over the upstream's header, PASS_THROUGH leaves the upstream's,
// APPEND_IF_ABSENT sets server_name only where the upstream sent none (here a local
// reply, which has no upstream).
func TestServerHeader(t *testing.T) {
	t.Parallel()
	up := echoServer(t) // answers with server: echo
	routes := `
- match: {prefix: "/up"}
  route: {cluster: echo}
- match: {prefix: "/local"}
  direct_response: {status: 200}`
	for _, tc := range []struct{ extra, up, local string }{
		{"server_name: weft-test", "weft-test", "weft-test"},
		{"server_name: weft-test\nserver_header_transformation: PASS_THROUGH", "echo", ""},
		{"server_name: weft-test\nserver_header_transformation: APPEND_IF_ABSENT", "echo", "weft-test"},
	} {
		b := bootstrapOf(t, hcmListener("l", routes, tc.extra), staticCluster("echo", "", up.Listener.Addr().String()))
		p := startProxy(t, b, proxy.Options{})
		for path, want := range map[string]string{"/up": tc.up, "/local": tc.local} {
			resp, err := http.Get(listenerURL(t, p, "l") + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Server"); got != want {
				t.Errorf("%q, %s: server %q, want %q", tc.extra, path, got, want)
			}
		}
	}
}
