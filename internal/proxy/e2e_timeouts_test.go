package proxy_test

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

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
