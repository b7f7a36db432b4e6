package proxy_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/weftmesh/weft/internal/proxy"
)

// filtersListener is hcmListener with HTTP filters before the router: filters is the
// YAML of the http_filters list items that come first.
func filtersListener(name, filters, routes, extra string) string {
	return fmt.Sprintf(`
  - name: %s
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: %s
%s
          http_filters:
%s
          - name: envoy.filters.http.router
            typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
          route_config:
            name: local
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
%s`, name, name, indent(extra, 10), indent(filters, 10), indent(routes, 14))
}

// faultFilter is the fault filter's http_filters item with config cfg (YAML flow).
func faultFilter(cfg string) string {
	return `- name: envoy.filters.http.fault
  typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault` + cfg + `}`
}

// flagLog is an access_log printing path, status and response flags, and the file.
func flagLog(t *testing.T) (cfg, path string) {
	path = filepath.Join(t.TempDir(), "access.log")
	return `access_log:
- name: envoy.access_loggers.file
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
    path: ` + path + `
    log_format: {text_format_source: {inline_string: "%REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_FLAGS%\n"}}`, path
}

// logHas waits until the access log holds line.
func logHas(t *testing.T, path, line string) {
	t.Helper()
	eventually(t, func() string {
		data, _ := os.ReadFile(path)
		if !strings.Contains(string(data), line+"\n") {
			return fmt.Sprintf("access log %q lacks %q", data, line)
		}
		return ""
	})
}

// fetch does a GET with headers kv and returns status, body and how long it took.
func fetch(t *testing.T, c *http.Client, url string, kv ...string) (int, string, time.Duration) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	if c == nil {
		c = http.DefaultClient
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(body), time.Since(start)
}

const echoRoute = `
- match: {prefix: "/"}
  route: {cluster: echo}`

// TestFaultDelayAndAbort: a fixed delay holds the response at least that long (DI),
// an abort answers 503 without reaching the upstream (FI), both counted.
func TestFaultDelayAndAbort(t *testing.T) {
	t.Parallel()
	up := echoServer(t)
	logCfg, logPath := flagLog(t)
	routes := `
- match: {prefix: "/slow"}
  route: {cluster: echo}
  typed_per_filter_config:
    envoy.filters.http.fault:
      "@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
      delay: {fixed_delay: 0.3s, percentage: {numerator: 100}}
- match: {prefix: "/broken"}
  route: {cluster: echo}
  typed_per_filter_config:
    envoy.filters.http.fault:
      "@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
      abort: {http_status: 503, percentage: {numerator: 100}}` + echoRoute
	b := bootstrapOf(t, filtersListener("l", faultFilter(""), routes, logCfg), staticCluster("echo", "", up.Listener.Addr().String()))
	p := startProxy(t, b, proxy.Options{})
	url := listenerURL(t, p, "l")

	code, _, took := fetch(t, nil, url+"/slow")
	if code != 200 || took < 300*time.Millisecond {
		t.Errorf("/slow: %d after %v, want 200 after at least 300ms", code, took)
	}
	code, body, _ := fetch(t, nil, url+"/broken")
	if code != 503 || body != "fault filter abort" {
		t.Errorf("/broken: %d %q, want 503 fault filter abort", code, body)
	}
	if code, _, _ := fetch(t, nil, url+"/fine"); code != 200 {
		t.Errorf("/fine: %d, want 200", code)
	}
	logHas(t, logPath, "/slow 200 DI")
	logHas(t, logPath, "/broken 503 FI")
	logHas(t, logPath, "/fine 200 -")
	eventually(t, counter(p, "http.l.fault.delays_injected", 1))
	eventually(t, counter(p, "http.l.fault.aborts_injected", 1))
	eventually(t, counter(p, "cluster.echo.upstream_rq_total", 2))
}

// TestFaultIstioVirtualService: the shape Istio generates for a VirtualService fault:
// an empty HTTPFault in the chain, the delay and abort (percentages as MILLION
// fractions) in the route's typed_per_filter_config.
func TestFaultIstioVirtualService(t *testing.T) {
	t.Parallel()
	up := echoServer(t)
	routes := `
- name: ratings.default.svc.cluster.local:9080
  match: {prefix: "/", headers: [{name: end-user, string_match: {exact: jason}}]}
  route: {cluster: echo, timeout: 0s}
  typed_per_filter_config:
    envoy.filters.http.fault:
      "@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
      delay: {fixed_delay: 0.2s, percentage: {numerator: 1000000, denominator: MILLION}}
      abort: {http_status: 500, percentage: {numerator: 1000000, denominator: MILLION}}` + echoRoute
	b := bootstrapOf(t, filtersListener("l", faultFilter(""), routes, ""), staticCluster("echo", "", up.Listener.Addr().String()))
	p := startProxy(t, b, proxy.Options{})
	url := listenerURL(t, p, "l")
	code, body, took := fetch(t, nil, url+"/ratings/0", "end-user", "jason")
	if code != 500 || body != "fault filter abort" || took < 200*time.Millisecond {
		t.Errorf("jason: %d %q after %v, want the 200ms delay then 500", code, body, took)
	}
	if code, _, _ := fetch(t, nil, url+"/ratings/0", "end-user", "bob"); code != 200 {
		t.Errorf("bob: %d, want 200", code)
	}
}

// TestFaultHeaderControlled: header_abort and header_delay fault only the requests
// that ask for it.
func TestFaultHeaderControlled(t *testing.T) {
	t.Parallel()
	up := echoServer(t)
	cfg := `, abort: {header_abort: {}, percentage: {numerator: 100}}, delay: {header_delay: {}, percentage: {numerator: 100}}`
	b := bootstrapOf(t, filtersListener("l", faultFilter(cfg), echoRoute, ""), staticCluster("echo", "", up.Listener.Addr().String()))
	p := startProxy(t, b, proxy.Options{})
	url := listenerURL(t, p, "l")
	if code, _, _ := fetch(t, nil, url+"/"); code != 200 {
		t.Errorf("no fault headers: %d, want 200", code)
	}
	if code, _, _ := fetch(t, nil, url+"/", "x-envoy-fault-abort-request", "429"); code != 429 {
		t.Errorf("x-envoy-fault-abort-request 429: %d", code)
	}
	if code, _, took := fetch(t, nil, url+"/", "x-envoy-fault-delay-request", "250"); code != 200 || took < 250*time.Millisecond {
		t.Errorf("x-envoy-fault-delay-request 250: %d after %v, want 200 after at least 250ms", code, took)
	}
	if code, _, _ := fetch(t, nil, url+"/", "x-envoy-fault-abort-request", "503", "x-envoy-fault-abort-request-percentage", "0"); code != 200 {
		t.Errorf("abort header at 0%%: %d, want 200", code)
	}
}

// TestFaultMaxActiveFaults: with max_active_faults 1, a request arriving while another
// sits in its delay is not delayed: it overtakes the first.
func TestFaultMaxActiveFaults(t *testing.T) {
	t.Parallel()
	up := echoServer(t)
	cfg := `, max_active_faults: 1, delay: {fixed_delay: 2s, percentage: {numerator: 100}}`
	b := bootstrapOf(t, filtersListener("l", faultFilter(cfg), echoRoute, ""), staticCluster("echo", "", up.Listener.Addr().String()))
	p := startProxy(t, b, proxy.Options{})
	url := listenerURL(t, p, "l")

	order := make(chan string, 2)
	go func() {
		fetch(t, nil, url+"/first")
		order <- "first"
	}()
	eventually(t, func() string {
		if v := p.Stats.Gauge("http.l.fault.active_faults").Value(); v != 1 {
			return fmt.Sprintf("active_faults = %d, want the first request in its delay", v)
		}
		return ""
	})
	if code, _, _ := fetch(t, nil, url+"/second"); code != 200 {
		t.Errorf("second request: %d", code)
	}
	order <- "second"
	if got := <-order; got != "second" {
		t.Errorf("%s request finished first; the overflowing one should not be delayed", got)
	}
	eventually(t, counter(p, "http.l.fault.faults_overflow", 1))
	<-order
	eventually(t, func() string {
		if v := p.Stats.Gauge("http.l.fault.active_faults").Value(); v != 0 {
			return fmt.Sprintf("active_faults = %d after both requests", v)
		}
		return ""
	})
}

// TestFaultDelayClientGone: an HTTP/2 client that gives up ends its delay at once.
func TestFaultDelayClientGone(t *testing.T) {
	t.Parallel()
	up := echoServer(t)
	cfg := `, delay: {fixed_delay: 30s, percentage: {numerator: 100}}`
	b := bootstrapOf(t, filtersListener("l", faultFilter(cfg), echoRoute, ""), staticCluster("echo", "", up.Listener.Addr().String()))
	p := startProxy(t, b, proxy.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", listenerURL(t, p, "l")+"/", nil)
	if _, err := h2cClient().Do(req); err == nil {
		t.Fatal("request finished inside a 30s delay")
	}
	eventually(t, counter(p, "http.l.fault.delays_injected", 1))
	eventually(t, func() string {
		if v := p.Stats.Gauge("http.l.fault.active_faults").Value(); v != 0 {
			return fmt.Sprintf("active_faults = %d: the delay outlived its client", v)
		}
		return ""
	})
}

// TestFaultGRPCAbort: a gRPC abort reaches a gRPC client as the status it names, and an
// HTTP abort of a gRPC call as the status Envoy maps it to.
func TestFaultGRPCAbort(t *testing.T) {
	t.Parallel()
	lis := grpcHealthServer(t)
	logCfg, logPath := flagLog(t)
	routes := `
- match: {prefix: "/grpc.health.v1.Health/Check"}
  route: {cluster: grpc, timeout: 0s}
  typed_per_filter_config:
    envoy.filters.http.fault:
      "@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
      abort: {grpc_status: 8, percentage: {numerator: 100}}
- match: {prefix: "/"}
  route: {cluster: grpc, timeout: 0s}
  typed_per_filter_config:
    envoy.filters.http.fault:
      "@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
      abort: {http_status: 503, percentage: {numerator: 100}}`
	h2 := `typed_extension_protocol_options:
  envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
    "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
    explicit_http_config: {http2_protocol_options: {}}`
	b := bootstrapOf(t, filtersListener("l", faultFilter(""), routes, logCfg), staticCluster("grpc", h2, lis))
	p := startProxy(t, b, proxy.Options{})
	cc, err := grpc.NewClient(strings.TrimPrefix(listenerURL(t, p, "l"), "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	client := healthpb.NewHealthClient(cc)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = client.Check(ctx, &healthpb.HealthCheckRequest{})
	if st, _ := status.FromError(err); st.Code() != codes.ResourceExhausted || st.Message() != "fault filter abort" {
		t.Errorf("Check: %v, want ResourceExhausted: fault filter abort", err)
	}
	stream, err := client.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err == nil {
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.Unavailable {
		t.Errorf("Watch: %v, want Unavailable (HTTP 503 as gRPC)", err)
	}
	logHas(t, logPath, "/grpc.health.v1.Health/Check 200 FI")
}

// grpcHealthServer serves the gRPC health service on a loopback port.
func grpcHealthServer(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	healthpb.RegisterHealthServer(gs, health.NewServer())
	go gs.Serve(lis)
	t.Cleanup(gs.Stop)
	return lis.Addr().String()
}
