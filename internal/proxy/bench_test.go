package proxy_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/weftmesh/weft/internal/proxy"
)

// rawUpstream answers every request on a keep-alive connection with a fixed 1 KiB
// response, allocating nothing per request, so that benchmark allocations are the proxy's.
func rawUpstream(tb testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	body := bytes.Repeat([]byte("x"), 1024)
	resp := append([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1024\r\n\r\n"), body...)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveRaw(c, resp)
		}
	}()
	return ln.Addr().String()
}

func serveRaw(c net.Conn, resp []byte) {
	defer c.Close()
	br := bufio.NewReaderSize(c, 8192)
	for {
		length := 0
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				return
			}
			if len(line) <= 2 {
				break
			}
			if len(line) > 15 && strings.EqualFold(string(line[:15]), "content-length:") {
				length, _ = strconv.Atoi(string(bytes.TrimSpace(line[15:])))
			}
		}
		if length > 0 {
			if _, err := br.Discard(length); err != nil {
				return
			}
		}
		if _, err := c.Write(resp); err != nil {
			return
		}
	}
}

// rawClient sends GETs on one keep-alive connection and reads fixed-size responses.
type rawClient struct {
	c   net.Conn
	br  *bufio.Reader
	req []byte
	buf []byte
}

func newRawClient(tb testing.TB, addr, host string) *rawClient {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return &rawClient{c: c, br: bufio.NewReaderSize(c, 16<<10), buf: make([]byte, 4096),
		req: []byte("GET /productpage HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: bench\r\n\r\n")}
}

func (r *rawClient) do() error {
	if _, err := r.c.Write(r.req); err != nil {
		return err
	}
	length := -1
	for {
		line, err := r.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if len(line) > 16 && (line[0] == 'c' || line[0] == 'C') && strings.EqualFold(string(line[:15]), "content-length:") {
			length, _ = strconv.Atoi(string(bytes.TrimSpace(line[15:])))
		}
	}
	_, err := io.CopyN(io.Discard, r.br, int64(length))
	return err
}

// doStatus sends one request and checks the response status.
func (r *rawClient) doStatus(want int) error {
	if _, err := r.c.Write(r.req); err != nil {
		return err
	}
	line, err := r.br.ReadSlice('\n')
	if err != nil {
		return err
	}
	if got := string(line); !strings.HasPrefix(got, "HTTP/1.1 "+strconv.Itoa(want)+" ") {
		r.br.ReadSlice('\n')
		return fmt.Errorf("status line %q", strings.TrimSpace(got))
	}
	length := -1
	for {
		line, err := r.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if strings.HasPrefix(strings.ToLower(string(line)), "content-length:") {
			length, _ = strconv.Atoi(strings.TrimSpace(string(line[15:])))
		}
	}
	_, err = io.CopyN(io.Discard, r.br, int64(length))
	return err
}

func benchProxy(b *testing.B) string { return benchProxyRoute(b, "") }

// benchProxyRoute runs a proxy whose one route has the extra route-action YAML.
func benchProxyRoute(b *testing.B, extra string) string {
	up := rawUpstream(b)
	routes := `
- match: {prefix: "/"}
  route:
    cluster: up
` + indent(extra, 4)
	bs := bootstrapOf(b, hcmListener("l", routes, ""), staticCluster("up", "", up))
	p := startProxy(b, bs, proxy.Options{Concurrency: 2})
	return strings.TrimPrefix(listenerURL(b, p, "l"), "http://")
}

// BenchmarkHTTP1 measures sequential keep-alive requests with 1 KiB responses through
// one weft hop, against the same requests sent directly to the upstream.
func BenchmarkHTTP1(b *testing.B) {
	b.Run("direct", func(b *testing.B) {
		c := newRawClient(b, rawUpstream(b), "up")
		benchLoop(b, c)
	})
	b.Run("weft", func(b *testing.B) {
		c := newRawClient(b, benchProxy(b), "up")
		benchLoop(b, c)
	})
}

// BenchmarkResilienceCost measures what retries and circuit breakers cost when they do
// not fire: a retry policy on the route, and a POST whose body is kept for a replay.
func BenchmarkResilienceCost(b *testing.B) {
	policy := "retry_policy: {retry_on: \"5xx,reset,connect-failure\", num_retries: 2, retry_host_predicate: [{name: envoy.retry_host_predicates.previous_hosts}]}"
	for _, tc := range []struct{ name, route, body string }{
		{"get", "", ""},
		{"get-retry-policy", policy, ""},
		{"post-1KiB", "", strings.Repeat("b", 1024)},
		{"post-1KiB-retry-policy", policy, strings.Repeat("b", 1024)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c := newRawClient(b, benchProxyRoute(b, tc.route), "up")
			if tc.body != "" {
				c.req = []byte("POST /productpage HTTP/1.1\r\nHost: up\r\nContent-Length: 1024\r\n\r\n" + tc.body)
			}
			benchLoop(b, c)
		})
	}
}

// BenchmarkHTTP1Parallel is BenchmarkHTTP1 with one connection per parallel goroutine.
func BenchmarkHTTP1Parallel(b *testing.B) {
	for _, name := range []string{"direct", "weft"} {
		b.Run(name, func(b *testing.B) {
			addr := rawUpstream(b)
			if name == "weft" {
				addr = benchProxy(b)
			}
			b.ReportAllocs()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				c := newRawClient(b, addr, "up")
				for pb.Next() {
					if err := c.do(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func benchLoop(b *testing.B, c *rawClient) {
	if err := c.do(); err != nil { // warm the connections
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.do(); err != nil {
			b.Fatal(err)
		}
	}
}
