package proxy_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/weftmesh/weft/internal/proxy"
)

// requirePrivileged fails a test that needs root (network namespaces, iptables)
// unless the caller skips privileged tests explicitly.
func requirePrivileged(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		for _, tool := range []string{"ip", "iptables"} {
			if _, err := exec.LookPath(tool); err != nil {
				t.Fatalf("%s is needed for this test: %v (CI installs iproute2 and iptables)", tool, err)
			}
		}
		return
	}
	if os.Getenv("WEFT_SKIP_PRIVILEGED") == "1" {
		t.Skip("privileged test skipped: WEFT_SKIP_PRIVILEGED=1")
	}
	t.Fatal("this test needs root for network namespaces and iptables; run as root (CI does) or set WEFT_SKIP_PRIVILEGED=1 to skip it explicitly")
}

func run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestOriginalDstHandoff runs, inside a fresh network namespace, Istio's outbound
// capture: iptables REDIRECTs a client's connections to 15001, whose listener reads
// SO_ORIGINAL_DST and hands each connection to the listener for its original
// destination (0.0.0.0:9080, HTTP routing) or, when there is none, passes it through
// to the original destination with an ORIGINAL_DST cluster.
func TestOriginalDstHandoff(t *testing.T) {
	t.Parallel()
	requirePrivileged(t)
	ns := fmt.Sprintf("weft-origdst-%d", os.Getpid())
	run(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	cmd := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=^TestOriginalDstNetnsChild$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "WEFT_NETNS_CHILD=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil || !strings.Contains(out.String(), "--- PASS: TestOriginalDstNetnsChild") {
		t.Fatalf("in-namespace test failed: %v\n%s", err, out.String())
	}
}

// TestOriginalDstNetnsChild is the part of TestOriginalDstHandoff that runs inside the
// namespace; run on its own it does nothing.
func TestOriginalDstNetnsChild(t *testing.T) {
	if os.Getenv("WEFT_NETNS_CHILD") != "1" {
		return
	}
	run(t, "ip", "link", "set", "lo", "up")
	run(t, "ip", "addr", "add", "10.99.0.1/32", "dev", "lo")
	run(t, "ip", "addr", "add", "10.99.0.2/32", "dev", "lo")
	// The "app" is whatever connects from 10.99.0.2; the proxy's own connections come
	// from other addresses and are not captured (Istio excludes uid 1337 instead).
	run(t, "iptables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-s", "10.99.0.2", "-j", "REDIRECT", "--to-ports", "15001")

	up := echoServer(t)
	passLn, err := net.Listen("tcp", "10.99.0.1:7000")
	if err != nil {
		t.Fatal(err)
	}
	defer passLn.Close()
	go func() {
		for {
			c, err := passLn.Accept()
			if err != nil {
				return
			}
			go func() { io.WriteString(c, "passthrough:"); io.Copy(c, c); c.Close() }()
		}
	}()

	y := `
static_resources:
  listeners:
  - name: virtualOutbound
    address: {socket_address: {address: 0.0.0.0, port_value: 15001}}
    use_original_dst: true
    listener_filters:
    - name: envoy.filters.listener.original_dst
      typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst}
    filter_chains:
    - name: virtualOutbound-catchall-tcp
      filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: PassthroughCluster
          cluster: PassthroughCluster
  - name: 0.0.0.0_9080
    address: {socket_address: {address: 0.0.0.0, port_value: 9080}}
    bind_to_port: false
    listener_filters:
    - name: envoy.filters.listener.http_inspector
      typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector}
    filter_chains:
    - filter_chain_match: {application_protocols: [http/1.1, h2c]}
      filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: outbound_0.0.0.0_9080
          http_filters:
          - name: envoy.filters.http.router
            typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
          route_config:
            name: "9080"
            virtual_hosts:
            - name: reviews
              domains: ["*"]
              routes: [{match: {prefix: "/"}, route: {cluster: "outbound|9080||reviews.default.svc.cluster.local"}}]
  clusters:
  - name: PassthroughCluster
    type: ORIGINAL_DST
    lb_policy: CLUSTER_PROVIDED
    connect_timeout: 1s
` + staticCluster("outbound|9080||reviews.default.svc.cluster.local", "", up.Listener.Addr().String()) + "\n"
	b := bootstrapYAML(t, y)
	p := startProxy(t, b, proxy.Options{})

	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("10.99.0.2")}, Timeout: 2 * time.Second}
	client := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	req, _ := http.NewRequest("GET", "http://10.99.0.1:9080/reviews/1", nil)
	req.Host = "reviews:9080"
	resp, e := getEcho(t, client, req)
	if resp.StatusCode != 200 || e.URI != "/reviews/1" || e.Headers["X-Request-Id"] == "" {
		t.Errorf("HTTP through the 9080 listener: %d %+v", resp.StatusCode, e)
	}

	c, err := d.Dial("tcp", "10.99.0.1:7000")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "hi")
	c.(*net.TCPConn).CloseWrite()
	got, _ := io.ReadAll(c)
	if string(got) != "passthrough:hi" {
		t.Errorf("passthrough got %q", got)
	}
	eventually(t, counter(p, "listener.0.0.0.0_9080.downstream_cx_total", 1))
	eventually(t, counter(p, "tcp.PassthroughCluster.downstream_cx_total", 1))
	eventually(t, counter(p, "cluster.PassthroughCluster.upstream_cx_total", 1))
}
