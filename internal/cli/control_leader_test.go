package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/weftmesh/weft/internal/control/ca"
	"github.com/weftmesh/weft/internal/install"
	"github.com/weftmesh/weft/internal/kubetest"
	"github.com/weftmesh/weft/internal/testbin"
)

// leaderProxyIP is the test proxy's address: its HTTP proxy on :15001, admin on :15000.
const leaderProxyIP = "127.0.0.57"

// leaderLease are the replicas' short lease settings: a killed leader is replaced
// within about two seconds.
var leaderLease = []string{"--leader-lease-duration", "2s", "--leader-renew-deadline", "1500ms", "--leader-retry-period", "250ms"}

// TestLeaderElection runs two weft control replicas as processes against a real API
// server. The first leads (it holds the Lease), writes the caBundle of the webhook
// configurations weft install made and the status of an invalid VirtualService, and
// publishes the root as the istio-ca-root-cert ConfigMap; both serve the webhooks
// with certificates of the one root kept in the CA Secret. A weft proxy takes its
// config through a TCP proxy in front of both replicas (the Service). When the
// leader is killed (SIGKILL: no release), the other takes over within the lease
// duration, keeps the caBundle and the ConfigMap and writes status, the proxy
// reconnects to it, and requests through it never fail.
func TestLeaderElection(t *testing.T) {
	c := kubetest.Start(t) // first: it skips the test when asked to
	weft := testbin.Weft(t)
	c.ApplyIstioCRDs(t)
	const ns = "istio-system"
	backend := leaderBackend(t)
	// Config first: the validating webhook configuration refuses Istio objects until
	// a webhook answers at the istiod Service, which this test does not run.
	c.Apply(t, "default", []byte(fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata: {name: %[1]s}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: echo, namespace: %[1]s}
spec:
  hosts: [echo.%[1]s.svc.cluster.local]
  location: MESH_INTERNAL
  ports: [{number: 8080, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {http: %[2]d}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bad, namespace: %[1]s}
spec:
  hosts: [bad.example]
  http: [{route: [{destination: {host: echo.%[1]s.svc.cluster.local}, weight: -5}]}]
`, ns, backend)))
	applyWebhookConfigs(t, c, ns)

	xds1, xds2 := leaderFreeAddr(t), leaderFreeAddr(t)
	r1 := startReplica(t, weft, c, ns, "replica-1", xds1)
	waitHolder(t, c, ns, "replica-1")
	root := caSecretRoot(t, c, ns)
	waitCABundles(t, c, ns, root)
	waitRootConfigMap(t, c, ns, root)      // the leader publishes the root for secure xDS
	waitAccepted(t, c, ns, "bad", "False") // the leader runs the status writer

	front := leaderFreeAddr(t)
	leaderStart(t, weft, "proxy", "--config-yaml", frontConfig(front, xds1, xds2))
	leaderStart(t, weft, "proxy", "--xds", front, "--node-id", "sidecar~"+leaderProxyIP+"~client-0."+ns+"~"+ns+".svc.cluster.local",
		"--metadata", "INTERCEPTION_MODE=NONE", "--metadata", "NAMESPACE="+ns, "--admin-address", leaderProxyIP+":15000",
		"--drain-time-s", "1", "--concurrency", "2")
	proxyURL, _ := url.Parse("http://" + leaderProxyIP + ":15001")
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}}
	get := func() error {
		resp, err := client.Get("http://echo." + ns + ".svc.cluster.local:8080/")
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
	kubetest.Eventually(t, 20*time.Second, get)
	// The proxy's stream is on the leader: the second replica was not listening yet.
	kubetest.Eventually(t, 5*time.Second, func() error { return r1.hasNode("client-0") })

	r2 := startReplica(t, weft, c, ns, "replica-2", xds2)
	kubetest.Eventually(t, 20*time.Second, r2.ready)
	time.Sleep(2500 * time.Millisecond) // over a lease duration: replica-2 must not take over a renewed lease
	if h := holder(t, c, ns); h != "replica-1" {
		t.Fatalf("holder %q beside a live leader", h)
	}
	if strings.Contains(r2.p.Out.String(), "leading, running the singleton jobs") {
		t.Error("replica-2 ran the singleton jobs while replica-1 led")
	}
	for _, r := range []*replica{r1, r2} {
		if err := r.webhookTrusts(root); err != nil {
			t.Errorf("%s: %v", r.id, err)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				if err := get(); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				} else {
					ok.Add(1)
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	killed := time.Now()
	if err := r1.p.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-r1.p.Done
	waitHolder(t, c, ns, "replica-2")
	took := time.Since(killed)
	t.Logf("replica-2 took over %v after replica-1 was killed", took.Round(time.Millisecond))
	if took > 2*time.Second+time.Second {
		t.Errorf("replica-2 took over after %v; want within the lease duration (2 s) and a retry period or two", took)
	}
	kubetest.Eventually(t, 10*time.Second, func() error { return r2.hasNode("client-0") })
	// The new leader, the only replica left, runs the status writer: a cleared status
	// is written again.
	clearStatus(t, c, ns, "bad")
	waitAccepted(t, c, ns, "bad", "False")

	// The new leader keeps the caBundle: cleared (as by re-applying the manifests), it
	// is written again.
	api := c.Client.AdmissionregistrationV1()
	m, err := api.MutatingWebhookConfigurations().Get(t.Context(), install.InjectorWebhook, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Webhooks {
		m.Webhooks[i].ClientConfig.CABundle = nil
	}
	if _, err := api.MutatingWebhookConfigurations().Update(t.Context(), m, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitCABundles(t, c, ns, root)
	// And the istio-ca-root-cert ConfigMap: deleted, it is published again.
	if err := c.Client.CoreV1().ConfigMaps(ns).Delete(t.Context(), "istio-ca-root-cert", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRootConfigMap(t, c, ns, root)

	time.Sleep(500 * time.Millisecond)
	cancel()
	wg.Wait()
	t.Logf("%d requests succeeded, %d failed across the kill", ok.Load(), failed.Load())
	if failed.Load() != 0 || ok.Load() < 100 {
		t.Errorf("%d requests failed (first: %v), %d succeeded while the leader was killed; want none failed",
			failed.Load(), firstErr.Load(), ok.Load())
	}
}

var virtualServices = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "virtualservices"}

// accepted is the status of a VirtualService's Accepted condition, "" when it has none.
func accepted(t *testing.T, c *kubetest.Cluster, ns, name string) string {
	vs, err := c.Dynamic.Resource(virtualServices).Namespace(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	conds, _, _ := unstructured.NestedSlice(vs.Object, "status", "conditions")
	for _, cond := range conds {
		if m, _ := cond.(map[string]any); m["type"] == "Accepted" {
			s, _ := m["status"].(string)
			return s
		}
	}
	return ""
}

func waitAccepted(t *testing.T, c *kubetest.Cluster, ns, name, want string) {
	t.Helper()
	kubetest.Eventually(t, 10*time.Second, func() error {
		if got := accepted(t, c, ns, name); got != want {
			return fmt.Errorf("VirtualService %s Accepted %q, want %q", name, got, want)
		}
		return nil
	})
}

func clearStatus(t *testing.T, c *kubetest.Cluster, ns, name string) {
	ri := c.Dynamic.Resource(virtualServices).Namespace(ns)
	vs, err := ri.Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	unstructured.RemoveNestedField(vs.Object, "status")
	if _, err := ri.UpdateStatus(t.Context(), vs, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// applyWebhookConfigs applies the webhook configurations weft install makes.
func applyWebhookConfigs(t *testing.T, c *kubetest.Cluster, ns string) {
	objs, err := install.Objects(install.Options{Namespace: ns, NoGateway: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if strings.HasSuffix(o.GetKind(), "WebhookConfiguration") {
			y, err := o.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			c.Apply(t, ns, y)
		}
	}
}

type replica struct {
	id                string
	xds, mon, webhook string
	p                 *leaderProcess
}

func startReplica(t *testing.T, weft string, c *kubetest.Cluster, ns, id, xds string) *replica {
	r := &replica{id: id, xds: xds, mon: leaderFreeAddr(t), webhook: leaderFreeAddr(t)}
	args := []string{"control", "--kubeconfig", c.Kubeconfig, "--xds-address", r.xds, "--monitoring-address", r.mon,
		"--webhook-address", r.webhook, "--tls-hosts", "127.0.0.1", "--control-namespace", ns,
		"--ca-secret", install.CASecret, "--leader-identity", id}
	r.p = leaderStart(t, weft, append(args, leaderLease...)...)
	return r
}

func (r *replica) ready() error {
	resp, err := http.Get("http://" + r.mon + "/metrics")
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// hasNode says whether the replica serves an ADS stream of the node called name.
func (r *replica) hasNode(name string) error {
	resp, err := http.Get("http://" + r.mon + "/debug/adsz")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !bytes.Contains(b, []byte(name)) {
		return fmt.Errorf("%s has no stream of %s", r.id, name)
	}
	return nil
}

// webhookTrusts checks the replica's webhook certificate against root.
func (r *replica) webhookTrusts(root []byte) error {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(root)
	conn, err := tls.Dial("tcp", r.webhook, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		return err
	}
	return conn.Close()
}

func holder(t *testing.T, c *kubetest.Cluster, ns string) string {
	l, err := c.Client.CoordinationV1().Leases(ns).Get(t.Context(), leaseName, metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

func waitHolder(t *testing.T, c *kubetest.Cluster, ns, id string) {
	t.Helper()
	kubetest.Eventually(t, 20*time.Second, func() error {
		if h := holder(t, c, ns); h != id {
			return fmt.Errorf("lease holder %q, want %s", h, id)
		}
		return nil
	})
}

func caSecretRoot(t *testing.T, c *kubetest.Cluster, ns string) []byte {
	s, err := c.Client.CoreV1().Secrets(ns).Get(t.Context(), install.CASecret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s.Data[caSecretCert]
}

// waitCABundles waits until every webhook of both configurations trusts root.
func waitCABundles(t *testing.T, c *kubetest.Cluster, ns string, root []byte) {
	t.Helper()
	api := c.Client.AdmissionregistrationV1()
	kubetest.Eventually(t, 10*time.Second, func() error {
		m, err := api.MutatingWebhookConfigurations().Get(t.Context(), install.InjectorWebhook, metav1.GetOptions{})
		if err != nil {
			return err
		}
		v, err := api.ValidatingWebhookConfigurations().Get(t.Context(), install.ValidatorWebhook(ns), metav1.GetOptions{})
		if err != nil {
			return err
		}
		bundles := [][]byte{v.Webhooks[0].ClientConfig.CABundle}
		for _, h := range m.Webhooks {
			bundles = append(bundles, h.ClientConfig.CABundle)
		}
		for _, b := range bundles {
			if !bytes.Equal(b, root) {
				return fmt.Errorf("caBundle %.40q is not the CA Secret's root", b)
			}
		}
		return nil
	})
}

// waitRootConfigMap waits until the ConfigMap istio-ca-root-cert of ns holds root.
func waitRootConfigMap(t *testing.T, c *kubetest.Cluster, ns string, root []byte) {
	t.Helper()
	kubetest.Eventually(t, 10*time.Second, func() error {
		cm, err := c.Client.CoreV1().ConfigMaps(ns).Get(t.Context(), "istio-ca-root-cert", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got := cm.Data["root-cert.pem"]; got != string(root) {
			return fmt.Errorf("istio-ca-root-cert holds %.40q, not the CA Secret's root", got)
		}
		return nil
	})
}

// frontConfig is a weft proxy standing in for the istiod Service: TCP to either
// replica, trying the other when one refuses.
func frontConfig(listen, a, b string) string {
	host, port, _ := net.SplitHostPort(listen)
	ep := func(addr string) string {
		h, p, _ := net.SplitHostPort(addr)
		return fmt.Sprintf("{endpoint: {address: {socket_address: {address: %s, port_value: %s}}}}", h, p)
	}
	return fmt.Sprintf(`static_resources:
  listeners:
  - name: front
    address: {socket_address: {address: %s, port_value: %s}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: xds
          cluster: istiod
          max_connect_attempts: 3
  clusters:
  - name: istiod
    type: STATIC
    connect_timeout: 1s
    lb_policy: ROUND_ROBIN
    load_assignment:
      cluster_name: istiod
      endpoints: [{lb_endpoints: [%s, %s]}]
`, host, port, ep(a), ep(b))
}

func leaderBackend(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "echo") })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

func leaderFreeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// leaderProcess is a weft process and its output.
type leaderProcess = testbin.Process

func leaderStart(t *testing.T, weft string, args ...string) *leaderProcess {
	t.Helper()
	return testbin.Start(t, weft, nil, args...)
}

// TestCASecretRace: a replica that loses the race to create the CA Secret uses the
// winner's root, not its own.
func TestCASecretRace(t *testing.T) {
	winner, err := ca.New(ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := winner.KeyPEM()
	client := fake.NewClientset()
	client.PrependReactor("create", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		// Another replica creates it first.
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "istio-ca-secret", Namespace: "istio-system"},
			Data: map[string][]byte{caSecretCert: winner.RootPEM(), caSecretKey: key}}
		if err := client.Tracker().Add(s); err != nil {
			return true, nil, err
		}
		return true, nil, apierrors.NewAlreadyExists(corev1.Resource("secrets"), "istio-ca-secret")
	})
	root, err := loadOrCreateCASecret(t.Context(), client, "istio-system", "istio-ca-secret")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(root.RootPEM(), winner.RootPEM()) {
		t.Error("the loser kept its own root")
	}
	// Later starts read it.
	again, err := loadOrCreateCASecret(t.Context(), client, "istio-system", "istio-ca-secret")
	if err != nil || !bytes.Equal(again.RootPEM(), winner.RootPEM()) {
		t.Errorf("second load: %v", err)
	}
}

func TestCASecretNeedsKube(t *testing.T) {
	f := controlFlags{leader: leaderFlags{caSecret: "istio-ca-secret"}, secureXDSAddr: ":15012"}
	if _, err := f.caRoot(t.Context(), &sources{}); err == nil {
		t.Error("--ca-secret accepted without Kubernetes")
	}
}
