package upstream

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
)

// httpUpstream is a real HTTP server whose answers a test controls: /healthz and
// every other path answer with status (200 unless set).
type httpUpstream struct {
	srv    *httptest.Server
	status atomic.Int32
	served sync.Map // status code -> *atomic.Int64

	mu   sync.Mutex
	last *http.Request // the last health check request
}

func (u *httpUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	code := int(u.status.Load())
	if r.URL.Path == "/healthz" {
		u.mu.Lock()
		u.last = r
		u.mu.Unlock()
	}
	n, _ := u.served.LoadOrStore(code, new(atomic.Int64))
	n.(*atomic.Int64).Add(1)
	w.WriteHeader(code)
	fmt.Fprintf(w, "status %d\n", code)
}

func (u *httpUpstream) count(code int) int64 {
	n, ok := u.served.Load(code)
	if !ok {
		return 0
	}
	return n.(*atomic.Int64).Load()
}

func (u *httpUpstream) lastRequest() *http.Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.last
}

func (u *httpUpstream) addr() string { return u.srv.Listener.Addr().String() }

// startHTTPUpstreams starts n servers, closed when the test ends.
func startHTTPUpstreams(t *testing.T, n int) []*httpUpstream {
	t.Helper()
	var ups []*httpUpstream
	for range n {
		u := &httpUpstream{}
		u.status.Store(200)
		u.srv = httptest.NewServer(u)
		t.Cleanup(u.srv.Close)
		ups = append(ups, u)
	}
	return ups
}

// upstreamCluster returns the YAML of a STATIC cluster over the given addresses.
func upstreamCluster[U interface{ addr() string }](name string, ups []U, extra string) string {
	var eps []string
	for _, u := range ups {
		host, port, _ := net.SplitHostPort(u.addr())
		eps = append(eps, fmt.Sprintf("{endpoint: {address: {socket_address: {address: %s, port_value: %s}}}}", host, port))
	}
	return fmt.Sprintf("name: %s\ntype: STATIC\nload_assignment: {cluster_name: %s, endpoints: [{lb_endpoints: [%s]}]}\n%s",
		name, name, strings.Join(eps, ", "), extra)
}

func flagsOf(hosts []*Host) []string {
	var out []string
	for _, h := range hosts {
		out = append(out, h.Health().Flags())
	}
	return out
}

func waitFlags(t *testing.T, h *Host, want string) {
	t.Helper()
	waitFor(t, h.Address().String()+" "+want, func() bool { return h.Health().Flags() == want })
}

// fastHC is a health check schedule for tests: every 10 ms, even without traffic.
const fastHC = "timeout: 1s, interval: 0.01s, no_traffic_interval: 0.01s, "

func TestHealthCheckHTTP(t *testing.T) {
	ups := startHTTPUpstreams(t, 2)
	m, c := addCluster(t, upstreamCluster("web", ups, `health_checks: [{`+fastHC+`
  unhealthy_threshold: 2, healthy_threshold: 2,
  http_health_check: {path: /healthz, host: hc.example, request_headers_to_add: [{header: {key: x-hc, value: "1"}}],
    retriable_statuses: [{start: 429, end: 430}]}}]`))
	a, b := c.Hosts()[0], c.Hosts()[1]
	waitFlags(t, a, "healthy")
	waitFlags(t, b, "healthy")
	r := ups[0].lastRequest()
	if r.Host != "hc.example" || r.Header.Get("User-Agent") != "Envoy/HC" || r.Header.Get("X-Hc") != "1" || r.Method != "GET" {
		t.Errorf("health check request: host %q, headers %v", r.Host, r.Header)
	}
	if got := m.store.Gauge("cluster.web.health_check.healthy").Value(); got != 2 {
		t.Errorf("health_check.healthy = %d", got)
	}

	// A status outside expected_statuses fails the host at once.
	ups[0].status.Store(503)
	waitFlags(t, a, "/failed_active_hc")
	if n := pickCounts(c, 200)[a.Address().String()]; n != 0 || c.info.MembershipHealthy.Value() != 1 {
		t.Errorf("unhealthy host picked %d times", n)
	}
	// It comes back after healthy_threshold passes.
	ups[0].status.Store(200)
	waitFlags(t, a, "healthy")

	// A retriable status counts towards unhealthy_threshold (2).
	ups[1].status.Store(429)
	waitFlags(t, b, "/failed_active_hc")
	if n := ups[1].count(429); n < 2 {
		t.Errorf("unhealthy after %d retriable answers, want at least 2", n)
	}
	for _, name := range []string{"attempt", "success", "failure"} {
		if m.store.Counter("cluster.web.health_check."+name).Value() == 0 {
			t.Errorf("health_check.%s is 0", name)
		}
	}
	if m.store.Counter("cluster.web.health_check.network_failure").Value() != 0 {
		t.Error("network failures counted against answering hosts")
	}
}

func TestHealthCheckHTTP2AndDegraded(t *testing.T) {
	var proto, degraded atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proto.Store(int32(r.ProtoMajor))
		if degraded.Load() == 1 {
			w.Header().Set("x-envoy-degraded", "")
		}
	}))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	ups := []*httpUpstream{{srv: srv}}
	_, c := addCluster(t, upstreamCluster("h2", ups, `health_checks: [{`+fastHC+`unhealthy_threshold: 1, healthy_threshold: 1,
  http_health_check: {path: /healthz, codec_client_type: HTTP2}}]`))
	h := c.Hosts()[0]
	waitFlags(t, h, "healthy")
	if proto.Load() != 2 {
		t.Errorf("health check over HTTP/%d, want HTTP/2", proto.Load())
	}
	degraded.Store(1)
	waitFlags(t, h, "/degraded_active_hc")
	degraded.Store(0)
	waitFlags(t, h, "healthy")
}

// tcpUpstream answers "pong" to "ping" while healthy and "nope" otherwise, and keeps
// the connection open for more.
type tcpUpstream struct {
	ln      net.Listener
	healthy atomic.Bool
	conns   atomic.Int64
	wg      sync.WaitGroup
}

func startTCPUpstream(t *testing.T) *tcpUpstream {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &tcpUpstream{ln: ln}
	u.healthy.Store(true)
	var open sync.Map
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.conns.Add(1)
			open.Store(c, true)
			u.wg.Add(1)
			go func() {
				defer u.wg.Done()
				defer c.Close()
				u.serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		open.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
		u.wg.Wait()
	})
	return u
}

func (u *tcpUpstream) serve(c net.Conn) {
	buf := make([]byte, 64)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		if bytes.Contains(buf[:n], []byte("ping")) {
			answer := "nope"
			if u.healthy.Load() {
				answer = "po" + "ng"
			}
			c.Write([]byte(answer))
		}
	}
}

func (u *tcpUpstream) addr() string { return u.ln.Addr().String() }

func TestHealthCheckTCP(t *testing.T) {
	u := startTCPUpstream(t)
	// "ping" is 70696e67, and the answer must hold "po" then "ng".
	m, c := addCluster(t, upstreamCluster("tcp", []*tcpUpstream{u}, `health_checks: [{timeout: 0.1s, interval: 0.01s,
  no_traffic_interval: 0.01s, unhealthy_threshold: 2, healthy_threshold: 2,
  tcp_health_check: {send: {text: "70696e67"}, receive: [{text: "706f"}, {binary: bmc=}]}}]`))
	h := c.Hosts()[0]
	waitFlags(t, h, "healthy")
	u.healthy.Store(false)
	waitFlags(t, h, "/failed_active_hc")
	if m.store.Counter("cluster.tcp.health_check.network_failure").Value() < 2 {
		t.Error("no-match timeouts were not network failures")
	}
	u.healthy.Store(true)
	waitFlags(t, h, "healthy")
	// With reuse_connection (the default) passing checks share one connection;
	// each failure closed the connection it was on.
	if n := u.conns.Load(); n > 4 {
		t.Errorf("%d connections for the checks, want the passing ones to reuse", n)
	}
}

func TestHealthCheckTCPConnectOnly(t *testing.T) {
	u := startTCPUpstream(t)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := &tcpUpstream{ln: closed}
	closed.Close()
	m, c := addCluster(t, upstreamCluster("tcp", []*tcpUpstream{u, refused}, `health_checks: [{`+fastHC+`
  unhealthy_threshold: 1, healthy_threshold: 1, tcp_health_check: {}}]`))
	waitFlags(t, c.Hosts()[0], "healthy")
	waitFor(t, "network failures", func() bool {
		return m.store.Counter("cluster.tcp.health_check.network_failure").Value() >= 2
	})
	if f := c.Hosts()[1].Health().Flags(); f != "/failed_active_hc" {
		t.Errorf("refusing host is %s", f)
	}
}

// grpcUpstream is a gRPC server with the standard health service.
type grpcUpstream struct {
	ln     net.Listener
	health *health.Server
	mu     sync.Mutex
	md     metadata.MD
}

func (u *grpcUpstream) addr() string { return u.ln.Addr().String() }

func startGRPCUpstream(t *testing.T) *grpcUpstream {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &grpcUpstream{ln: ln, health: health.NewServer()}
	s := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		u.mu.Lock()
		u.md = md
		u.mu.Unlock()
		return h(ctx, req)
	}))
	healthpb.RegisterHealthServer(s, u.health)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Serve(ln)
	}()
	t.Cleanup(func() {
		s.Stop()
		<-done
	})
	return u
}

func TestHealthCheckGRPC(t *testing.T) {
	u := startGRPCUpstream(t)
	u.health.SetServingStatus("reviews", healthpb.HealthCheckResponse_SERVING)
	m, c := addCluster(t, upstreamCluster("grpc", []*grpcUpstream{u}, `health_checks: [{`+fastHC+`
  unhealthy_threshold: 3, healthy_threshold: 2,
  grpc_health_check: {service_name: reviews, initial_metadata: [{header: {key: x-hc, value: weft}}]}}]`))
	h := c.Hosts()[0]
	waitFlags(t, h, "healthy")
	u.mu.Lock()
	md := u.md
	u.mu.Unlock()
	if md.Get(":authority")[0] != "grpc" || md.Get("x-hc")[0] != "weft" {
		t.Errorf("health check metadata %v, want :authority grpc (the cluster name) and x-hc", md)
	}
	// NOT_SERVING fails the host at once; it returns after two SERVING answers.
	u.health.SetServingStatus("reviews", healthpb.HealthCheckResponse_NOT_SERVING)
	waitFlags(t, h, "/failed_active_hc")
	if m.store.Counter("cluster.grpc.health_check.network_failure").Value() != 0 {
		t.Error("NOT_SERVING counted as a network failure")
	}
	u.health.SetServingStatus("reviews", healthpb.HealthCheckResponse_SERVING)
	waitFlags(t, h, "healthy")
	// An unknown service is an error status: unhealthy too.
	u.health.SetServingStatus("reviews", healthpb.HealthCheckResponse_SERVICE_UNKNOWN)
	waitFlags(t, h, "/failed_active_hc")
}

func TestHealthCheckNewHost(t *testing.T) {
	ups := startHTTPUpstreams(t, 1)
	// The new host's checks hang until released: it must stay out of load balancing
	// until its first check passes.
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	t.Cleanup(slow.Close)
	ups = append(ups, &httpUpstream{srv: slow})
	hc := `health_checks: [{` + fastHC + `unhealthy_threshold: 1, healthy_threshold: 1, http_health_check: {path: /healthz}}]`
	_, c := addCluster(t, upstreamCluster("web", ups[:1], hc))
	waitFlags(t, c.Hosts()[0], "healthy")
	// An endpoint update (as EDS or DNS makes) adds the second host.
	eps, err := parseEndpoints(cluster(t, upstreamCluster("web", ups, hc)).GetLoadAssignment())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.setEndpoints(eps); err != nil {
		t.Fatal(err)
	}
	added := c.Hosts()[1]
	if added.Health().Flags() != "/failed_active_hc" || pickCounts(c, 100)[added.Address().String()] != 0 {
		t.Errorf("new host %s took traffic before its first check", added.Health().Flags())
	}
	close(release)
	waitFlags(t, added, "healthy")
}

func TestHealthCheckUnejectsOutlier(t *testing.T) {
	for _, tc := range []struct {
		uneject string
		want    string
	}{
		{"", "healthy"},
		{"successful_active_health_check_uneject_host: false, ", "/failed_outlier_check"},
	} {
		ups := startHTTPUpstreams(t, 2)
		_, c := addCluster(t, upstreamCluster("web", ups, `health_checks: [{`+fastHC+`
  unhealthy_threshold: 1, healthy_threshold: 1, http_health_check: {path: /healthz}}]
outlier_detection: {`+tc.uneject+`consecutive_5xx: 2, max_ejection_percent: 50}`))
		h := c.Hosts()[0]
		waitFlags(t, h, "healthy")
		report(h, 2, 503)
		if f := h.Health().Flags(); f != "/failed_outlier_check" && f != "healthy" {
			t.Fatalf("after 2 5xx: %s", f)
		}
		time.Sleep(100 * time.Millisecond) // several passing checks
		if f := h.Health().Flags(); f != tc.want {
			t.Errorf("%q: after passing checks %s, want %s", tc.uneject, f, tc.want)
		}
	}
}
