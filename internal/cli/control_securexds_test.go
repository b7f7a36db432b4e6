package cli

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftmesh/weft/internal/control/ca"
	"github.com/weftmesh/weft/internal/kubetest"
	"github.com/weftmesh/weft/internal/testbin"
)

// TestSecureXDS runs weft control with --secure-xds-address and a config dir, and
// weft proxies taking their config from it over TLS, as processes. A proxy verifying
// the control plane with the root of --ca-dir gets its config and routes traffic; one
// with another root, or dialling a name the certificate does not carry, is refused
// with an error saying why, is not served, and never becomes ready.
func TestSecureXDS(t *testing.T) {
	weft := testbin.Weft(t)
	backend := leaderBackend(t)
	dir, caDir := t.TempDir(), t.TempDir()
	writeTestFile(t, filepath.Join(dir, "echo.yaml"), fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo.default.svc.cluster.local]
  location: MESH_INTERNAL
  ports: [{number: 8080, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {http: %d}}]
`, backend))
	xds, secure, mon := leaderFreeAddr(t), leaderFreeAddr(t), leaderFreeAddr(t)
	control := leaderStart(t, weft, "control", "--config-dir", dir, "--xds-address", xds, "--secure-xds-address", secure,
		"--monitoring-address", mon, "--tls-hosts", "istiod.istio-system.svc,127.0.0.1", "--ca-dir", caDir)
	kubetest.Eventually(t, 20*time.Second, (&replica{mon: mon}).ready)
	if !strings.Contains(control.Out.String(), `msg="secure xDS" address=`+secure) {
		t.Errorf("weft control does not say it serves secure xDS on %s:\n%s", secure, control.Out.String())
	}
	_, securePort, _ := strings.Cut(secure, ":")

	// The right root: config over TLS, traffic flows.
	good := startTLSProxy(t, weft, "127.0.0.58", "client-0", secure, "--xds-root-cert", filepath.Join(caDir, "root-cert.pem"))
	kubetest.Eventually(t, 20*time.Second, good.get)
	kubetest.Eventually(t, 5*time.Second, func() error { return (&replica{id: "control", mon: mon}).hasNode("client-0") })
	if err := good.ready(); err != nil {
		t.Errorf("the proxy with the right root: %v", err)
	}

	// Another root, and a name the certificate lacks.
	other, err := ca.New(ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	otherRoot := filepath.Join(t.TempDir(), "root-cert.pem")
	writeTestFile(t, otherRoot, string(other.RootPEM()))
	wrong := startTLSProxy(t, weft, "127.0.0.59", "client-1", secure, "--xds-tls", "--xds-root-cert", otherRoot)
	misnamed := startTLSProxy(t, weft, "127.0.0.60", "client-2", "localhost:"+securePort,
		"--xds-root-cert", filepath.Join(caDir, "root-cert.pem"))
	for _, c := range []struct {
		p    *tlsProxy
		want string
	}{
		{wrong, "authentication handshake failed: peer certificate chain not trusted: x509: certificate signed by unknown authority"},
		{misnamed, "authentication handshake failed: peer certificate subject alt names match no matcher: DNS:istiod.istio-system.svc, IP_ADDRESS:127.0.0.1"},
	} {
		kubetest.Eventually(t, 10*time.Second, func() error {
			if out := c.p.p.Out.String(); !strings.Contains(out, "xds stream ended") || !strings.Contains(out, c.want) {
				return fmt.Errorf("%s: no stream error saying %q yet:\n%s", c.p.name, c.want, out)
			}
			return nil
		})
		if err := (&replica{id: "control", mon: mon}).hasNode(c.p.name); err == nil {
			t.Errorf("%s is served", c.p.name)
		}
		if err := c.p.ready(); err == nil {
			t.Errorf("%s is ready without a control plane it trusts", c.p.name)
		}
		if err := c.p.get(); err == nil {
			t.Errorf("%s routes traffic without config", c.p.name)
		}
	}
}

// tlsProxy is a weft proxy driven over secure xDS, with its HTTP proxy on ip:15001.
type tlsProxy struct {
	name, ip string
	p        *leaderProcess
	client   *http.Client
}

func startTLSProxy(t *testing.T, weft, ip, name, xds string, args ...string) *tlsProxy {
	t.Helper()
	argv := append([]string{"proxy", "--xds", xds, "--node-id", "sidecar~" + ip + "~" + name + ".default~default.svc.cluster.local",
		"--metadata", "INTERCEPTION_MODE=NONE", "--metadata", "NAMESPACE=default", "--admin-address", ip + ":15000",
		"--health-address", ip + ":15021", "--drain-time-s", "1"}, args...)
	proxyURL, _ := url.Parse("http://" + ip + ":15001")
	return &tlsProxy{name: name, ip: ip, p: leaderStart(t, weft, argv...),
		client: &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}}}
}

func (p *tlsProxy) get() error {
	resp, err := p.client.Get("http://echo.default.svc.cluster.local:8080/")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "echo" {
		return fmt.Errorf("status %d: %s", resp.StatusCode, body)
	}
	return nil
}

func (p *tlsProxy) ready() error {
	resp, err := http.Get("http://" + p.ip + ":15021/healthz/ready")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("/healthz/ready: %s", resp.Status)
	}
	return nil
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
