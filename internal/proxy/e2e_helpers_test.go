package proxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"

	"github.com/weftmesh/weft/internal/proxy"
	"github.com/weftmesh/weft/internal/proxy/config"
)

// staticResolver resolves every name in its map to one address.
type staticResolver map[string]string

func (r staticResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	a, ok := r[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return []netip.Addr{netip.MustParseAddr(a)}, nil
}

// startProxy runs a proxy for the bootstrap until the test ends.
func startProxy(t testing.TB, b *bootstrapv3.Bootstrap, opts proxy.Options) *proxy.Proxy {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if opts.DrainTime == 0 {
		opts.DrainTime = time.Second
	}
	p, err := proxy.New(ctx, b, opts)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return p
}

// listenerURL returns http://addr of the named listener.
func listenerURL(t testing.TB, p *proxy.Proxy, name string) string {
	t.Helper()
	for _, l := range p.Listeners.Listeners() {
		if l.Name() == name {
			a := l.BoundAddress()
			return fmt.Sprintf("http://127.0.0.1:%d", a.Port())
		}
	}
	t.Fatalf("no listener %q", name)
	return ""
}

// loadYAML parses a bootstrap file from testdata.
func loadYAML(t *testing.T, path string, edit func(string) string) *bootstrapv3.Bootstrap {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	if edit != nil {
		s = edit(s)
	}
	b, err := config.ParseBootstrap([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// echoServer is an upstream that answers with the request it saw, like httpbin's
// /anything.
func echoServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		hdr := map[string]string{"Host": r.Host}
		for k, v := range r.Header {
			hdr[k] = strings.Join(v, ",")
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Server", "echo")
		json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "uri": r.RequestURI, "headers": hdr, "body": string(body)})
	}))
	t.Cleanup(srv.Close)
	return srv
}

type echoed struct {
	Method  string            `json:"method"`
	URI     string            `json:"uri"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

func getEcho(t *testing.T, c *http.Client, req *http.Request) (*http.Response, echoed) {
	t.Helper()
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e echoed
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatalf("status %d, body %q: %v", resp.StatusCode, data, err)
	}
	return resp, e
}

func portOf(t *testing.T, rawURL string) string {
	t.Helper()
	i := strings.LastIndexByte(rawURL, ':')
	return rawURL[i+1:]
}

// eventually retries check until it returns "" or three seconds pass; stats are recorded
// just after the response is sent, so a client can see the response first.
func eventually(t *testing.T, check func() string) {
	t.Helper()
	eventuallyWithin(t, 3*time.Second, check)
}

// eventuallyWithin is eventually with a chosen time limit.
func eventuallyWithin(t *testing.T, limit time.Duration, check func() string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Error(msg)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// counter returns a check that the named counter has the value want.
func counter(p *proxy.Proxy, name string, want uint64) func() string {
	return func() string {
		if got := p.Stats.Counter(name).Value(); got != want {
			return fmt.Sprintf("%s = %d, want %d", name, got, want)
		}
		return ""
	}
}
