package proxy_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/weftmesh/weft/internal/proxy"
)

// h2cClient speaks HTTP/2 with prior knowledge over cleartext.
func h2cClient() *http.Client {
	return &http.Client{Transport: &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}}
}

func TestHTTP2Downstream(t *testing.T) {
	t.Parallel()
	up := echoServer(t)
	routes := `
- match: {prefix: "/"}
  route: {cluster: echo}`
	b := bootstrapOf(t, hcmListener("l", routes, ""), staticCluster("echo", "", up.Listener.Addr().String()))
	p := startProxy(t, b, proxy.Options{})
	url := listenerURL(t, p, "l")

	req, _ := http.NewRequest("POST", url+"/h2?q=1", strings.NewReader("payload"))
	resp, e := getEcho(t, h2cClient(), req)
	if resp.ProtoMajor != 2 {
		t.Errorf("downstream protocol %s, want HTTP/2", resp.Proto)
	}
	if e.URI != "/h2?q=1" || e.Body != "payload" || e.Method != "POST" {
		t.Errorf("upstream saw %+v", e)
	}
	eventually(t, counter(p, "http.l.downstream_rq_http2_total", 1))
	eventually(t, counter(p, "http.l.downstream_cx_http2_total", 1))
}

// TestGRPC proxies gRPC from an h2c client to an h2c upstream: unary calls, server
// streaming and error statuses carried in trailers.
func TestGRPC(t *testing.T) {
	t.Parallel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("reviews", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(gs, hs)
	go gs.Serve(lis)
	t.Cleanup(gs.Stop)

	routes := `
- match: {prefix: "/", grpc: {}}
  route: {cluster: grpc, timeout: 0s}`
	h2 := `typed_extension_protocol_options:
  envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
    "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
    explicit_http_config: {http2_protocol_options: {}}`
	b := bootstrapOf(t, hcmListener("l", routes, ""), staticCluster("grpc", h2, lis.Addr().String()))
	p := startProxy(t, b, proxy.Options{})
	addr := strings.TrimPrefix(listenerURL(t, p, "l"), "http://")

	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	client := healthpb.NewHealthClient(cc)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	var trailer metadata.MD
	r, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: "reviews"}, grpc.Trailer(&trailer))
	if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Check = %v, %v", r, err)
	}
	_, err = client.Check(ctx, &healthpb.HealthCheckRequest{Service: "unknown"})
	if status.Code(err) != codes.NotFound {
		t.Errorf("Check(unknown) error %v, want NotFound from the grpc-status trailer", err)
	}

	stream, err := client.Watch(ctx, &healthpb.HealthCheckRequest{Service: "reviews"})
	if err != nil {
		t.Fatal(err)
	}
	first, err := stream.Recv()
	if err != nil || first.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("first watch message %v, %v", first, err)
	}
	hs.SetServingStatus("reviews", healthpb.HealthCheckResponse_NOT_SERVING)
	second, err := stream.Recv()
	if err != nil || second.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("streamed update %v, %v (a streamed message must not wait for the stream to end)", second, err)
	}
	eventually(t, counter(p, "cluster.grpc.upstream_cx_http2_total", 1))
}

// TestTLSDownstreamALPN terminates TLS at the listener and negotiates h2 and
// http/1.1 by ALPN.
func TestTLSDownstreamALPN(t *testing.T) {
	t.Parallel()
	pki := newPKI(t)
	up := echoServer(t)
	routes := `
- match: {prefix: "/"}
  route: {cluster: echo}`
	l := hcmListener("tls", routes, "") + `
      transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
          common_tls_context:
            alpn_protocols: [h2, http/1.1]
            tls_certificates:
            - certificate_chain: {filename: ` + pki.serverCert + `}
              private_key: {filename: ` + pki.serverKey + `}`
	b := bootstrapOf(t, l, staticCluster("echo", "", up.Listener.Addr().String()))
	p := startProxy(t, b, proxy.Options{})
	addr := strings.TrimPrefix(listenerURL(t, p, "tls"), "http://")
	for _, proto := range []string{"h2", "http/1.1"} {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.pool, ServerName: "echo.default.svc", NextProtos: []string{proto}}, ForceAttemptHTTP2: proto == "h2"}
		req, _ := http.NewRequest("GET", "https://"+addr+"/secure", nil)
		resp, e := getEcho(t, &http.Client{Transport: tr}, req)
		if (proto == "h2") != (resp.ProtoMajor == 2) {
			t.Errorf("ALPN %s gave %s", proto, resp.Proto)
		}
		if e.Headers["X-Forwarded-Proto"] != "https" {
			t.Errorf("x-forwarded-proto %q, want https", e.Headers["X-Forwarded-Proto"])
		}
		io.Copy(io.Discard, resp.Body)
	}
	eventually(t, counter(p, "listener.127.0.0.1_0.ssl.handshake", 2))
}

// TestUpstreamH2MaxConcurrentStreams: with max_concurrent_streams 1, concurrent
// requests to an HTTP/2 upstream each get a connection of their own.
func TestUpstreamH2MaxConcurrentStreams(t *testing.T) {
	t.Parallel()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(200 * time.Millisecond)
		io.WriteString(w, r.Proto)
	})
	up := newServer(t, h2c.NewHandler(h, &http2.Server{}))
	routes := `
- match: {prefix: "/"}
  route: {cluster: h2}`
	b := bootstrapOf(t, hcmListener("l", routes, ""), staticCluster("h2", "http2_protocol_options: {max_concurrent_streams: 1}", up.Listener.Addr().String()))
	p := startProxy(t, b, proxy.Options{})
	url := listenerURL(t, p, "l")
	done := make(chan string, 3)
	for i := 0; i < 3; i++ {
		go func() {
			resp, err := http.Get(url + "/")
			if err != nil {
				done <- err.Error()
				return
			}
			done <- readAll(resp)
		}()
	}
	for i := 0; i < 3; i++ {
		if got := <-done; got != "HTTP/2.0" {
			t.Errorf("response %q", got)
		}
	}
	eventually(t, counter(p, "cluster.h2.upstream_cx_http2_total", 3))
}

// TestGRPCLocalReply: a failure the proxy answers itself reaches a gRPC client as a
// gRPC status (503 UH → UNAVAILABLE), as Envoy converts local replies.
func TestGRPCLocalReply(t *testing.T) {
	t.Parallel()
	routes := `
- match: {prefix: "/"}
  route: {cluster: empty}`
	b := bootstrapOf(t, hcmListener("l", routes, ""), "\n  - {name: empty, type: STATIC, connect_timeout: 1s, load_assignment: {cluster_name: empty}}")
	p := startProxy(t, b, proxy.Options{})
	cc, err := grpc.NewClient(strings.TrimPrefix(listenerURL(t, p, "l"), "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
	if status.Code(err) != codes.Unavailable || !strings.Contains(status.Convert(err).Message(), "no healthy upstream") {
		t.Errorf("err = %v, want Unavailable: no healthy upstream", err)
	}
}

// TestHTTP2AccessLog: an HTTP/2 stream is logged with its protocol, body sizes both
// ways and request headers, and an oversized header list is answered 431.
func TestHTTP2AccessLog(t *testing.T) {
	t.Parallel()
	up := echoServer(t)
	logPath := filepath.Join(t.TempDir(), "a.log")
	logCfg := `access_log:
- name: envoy.access_loggers.file
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
    path: ` + logPath + `
    log_format: {text_format_source: {inline_string: "%PROTOCOL% %REQ(:METHOD)% %REQ(:AUTHORITY)% %REQ(:PATH)% %RESPONSE_CODE% %BYTES_RECEIVED% %REQ(X-A)%\n"}}`
	b := bootstrapOf(t, hcmListener("l", echoRoute, logCfg), staticCluster("echo", "", up.Listener.Addr().String()))
	p := startProxy(t, b, proxy.Options{})
	url := listenerURL(t, p, "l")
	req, _ := http.NewRequest("POST", url+"/log", strings.NewReader("12345"))
	req.Header.Set("X-A", "b")
	getEcho(t, h2cClient(), req)
	host := strings.TrimPrefix(url, "http://")
	logHas(t, logPath, "HTTP/2 POST "+host+" /log 200 5 b")

	req, _ = http.NewRequest("GET", url+"/many", nil)
	for i := 0; i < 101; i++ {
		req.Header.Add(fmt.Sprintf("X-%d", i), "v")
	}
	resp, err := h2cClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 431 {
		t.Errorf("101 header fields: status %d, want 431", resp.StatusCode)
	}
}

// TestHTTP2ClientReset: a client that resets its stream cancels the upstream request.
func TestHTTP2ClientReset(t *testing.T) {
	t.Parallel()
	started, gone := make(chan struct{}, 1), make(chan struct{}, 1)
	up := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-r.Context().Done()
		gone <- struct{}{}
	}))
	b := bootstrapOf(t, hcmListener("l", echoRoute, ""), staticCluster("echo", "", up.Listener.Addr().String()))
	p := startProxy(t, b, proxy.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", listenerURL(t, p, "l")+"/", nil)
	go func() {
		<-started
		cancel()
	}()
	if _, err := h2cClient().Do(req); err == nil {
		t.Fatal("a cancelled request succeeded")
	}
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream request outlived the client's RST_STREAM")
	}
	eventually(t, counter(p, "http.l.downstream_rq_rx_reset", 1))
}

// TestHTTP2Drain: draining sends GOAWAY; the stream in flight finishes, and Run
// returns once the connection closed, well before the drain time.
func TestHTTP2Drain(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 1)
	up := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		time.Sleep(300 * time.Millisecond)
		io.WriteString(w, "done")
	}))
	b := bootstrapOf(t, hcmListener("l", echoRoute, ""), staticCluster("echo", "", up.Listener.Addr().String()))
	ctx, cancel := context.WithCancel(context.Background())
	p, err := proxy.New(ctx, b, proxy.Options{DrainTime: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan time.Time)
	go func() { p.Run(ctx); ran <- time.Now() }()
	done := make(chan string)
	go func() {
		resp, err := h2cClient().Get(listenerURL(t, p, "l") + "/")
		if err != nil {
			done <- err.Error()
			return
		}
		done <- readAll(resp)
	}()
	<-started
	cancel()
	stopAt := time.Now()
	if out := <-done; out != "done" {
		t.Errorf("in-flight HTTP/2 request during drain got %q", out)
	}
	select {
	case end := <-ran:
		if end.Sub(stopAt) > 3*time.Second {
			t.Errorf("Run returned %v after the stop", end.Sub(stopAt))
		}
	case <-time.After(8 * time.Second):
		t.Fatal("Run did not return")
	}
	if got := p.Stats.Counter("http.l.downstream_cx_drain_close").Value(); got != 1 {
		t.Errorf("downstream_cx_drain_close = %d, want 1", got)
	}
}

// TestHTTP2LargeBodies: bodies larger than the stream and connection windows go
// through both ways, so window updates flow in both directions.
func TestHTTP2LargeBodies(t *testing.T) {
	t.Parallel()
	up := echoServer(t)
	b := bootstrapOf(t, hcmListener("l", echoRoute, ""), staticCluster("echo", "", up.Listener.Addr().String()))
	p := startProxy(t, b, proxy.Options{})
	payload := strings.Repeat("0123456789abcdef", 6<<16) // 6 MiB: over the 4 MiB connection window
	req, _ := http.NewRequest("POST", listenerURL(t, p, "l")+"/big", strings.NewReader(payload))
	_, e := getEcho(t, h2cClient(), req)
	if len(e.Body) != len(payload) || e.Body != payload {
		t.Errorf("upstream got %d bytes, want %d", len(e.Body), len(payload))
	}
}

// TestHTTP2ConnectNeedsUpgradeConfig: CONNECT over HTTP/2 is refused (403) unless the
// connection manager has an upgrade_configs entry for it, as over HTTP/1.
func TestHTTP2ConnectNeedsUpgradeConfig(t *testing.T) {
	t.Parallel()
	up := echoServer(t)
	b := bootstrapOf(t, hcmListener("l", echoRoute, ""), staticCluster("echo", "", up.Listener.Addr().String()))
	p := startProxy(t, b, proxy.Options{})
	req, _ := http.NewRequest("CONNECT", listenerURL(t, p, "l"), nil)
	req.Host = "example.com:443"
	resp, err := h2cClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("CONNECT without upgrade_configs: status %d, want 403", resp.StatusCode)
	}
	eventually(t, counter(p, "http.l.downstream_rq_ws_on_non_ws_route", 1))
}
