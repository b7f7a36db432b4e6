package control_test

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/weftmesh/weft/internal/control/leader"
	"github.com/weftmesh/weft/internal/inject"
	"github.com/weftmesh/weft/internal/inject/webhook"
	"github.com/weftmesh/weft/internal/kubetest"
	"github.com/weftmesh/weft/internal/testbin"
)

// The pieces of the Kubernetes end-to-end test (kube_e2e_test.go): weft control on
// the API server with its injection webhook registered, pod addresses on a dummy
// interface with an HTTP backend on each, and weft proxy run as an injected pod's
// istio-proxy container would run.

// requirePrivileged fails t when it cannot add interfaces and addresses, unless
// WEFT_SKIP_PRIVILEGED=1 asks to skip it.
func requirePrivileged(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("WEFT_SKIP_PRIVILEGED") == "1" {
		t.Skip("privileged test skipped: WEFT_SKIP_PRIVILEGED=1")
	}
	t.Fatal("this test needs root to give pods addresses on an interface of their own; run as root (CI does) or set WEFT_SKIP_PRIVILEGED=1 to skip it explicitly")
}

// podNet hands out pod addresses: /32s of 10.251.R.0/24 (R random, so that runs
// side by side keep apart) on an interface of the root namespace, deleted with it
// when the test ends. The interface is a bridge without ports (a dummy interface
// needs a kernel module that containers often lack). The addresses are local: the
// test's servers listen on them and the proxy connects to them as it would to pods.
type podNet struct {
	t    *testing.T
	link string
	base [4]byte
	next byte
}

func newPodNet(t *testing.T) *podNet {
	t.Helper()
	r := make([]byte, 3)
	rand.Read(r)
	n := &podNet{t: t, link: "wk8s" + hex.EncodeToString(r), base: [4]byte{10, 251, r[0], 0}}
	ipCmd(t, "link", "add", n.link, "type", "bridge")
	t.Cleanup(func() { exec.Command("ip", "link", "del", n.link).Run() })
	ipCmd(t, "link", "set", n.link, "up")
	return n
}

// add puts the next address on the interface.
func (n *podNet) add() netip.Addr {
	n.t.Helper()
	n.next++
	a := n.base
	a[3] = n.next
	ip := netip.AddrFrom4(a)
	ipCmd(n.t, "addr", "add", ip.String()+"/32", "dev", n.link)
	return ip
}

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// podBackend is a pod's application: an HTTP server on the pod's address and port
// answering with the pod's name.
func podBackend(t *testing.T, ip netip.Addr, port int, pod string) {
	t.Helper()
	ln, err := net.Listen("tcp", netip.AddrPortFrom(ip, uint16(port)).String())
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, pod)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

// kubeControl is a weft control process serving the API server's mesh, with its
// injection webhook.
type kubeControl struct {
	*e2eProcess
	xds, secureXDS, mon, webhook string
	caBundle                     []byte
	cluster                      *kubetest.Cluster
}

var (
	startedLine   = regexp.MustCompile(`msg="weft control started" xds=(\S+) monitoring=(\S+)`)
	webhookLine   = regexp.MustCompile(`msg="sidecar injection[^"]*" address=(\S+)`)
	secureXDSLine = regexp.MustCompile(`msg="secure xDS" address=(\S+)`)
)

// startKubeControl runs weft control --kubeconfig on c, every listener on a free
// loopback port, the certificate of the webhook and of secure xDS for 127.0.0.1 from
// a CA made in a directory of the test's, and waits until it serves.
func startKubeControl(t *testing.T, weft string, c *kubetest.Cluster) *kubeControl {
	t.Helper()
	caDir := t.TempDir()
	p := e2eStart(t, weft, "control", "--kubeconfig", c.Kubeconfig, "--xds-address", "127.0.0.1:0",
		"--secure-xds-address", "127.0.0.1:0", "--monitoring-address", "127.0.0.1:0", "--webhook-address", "127.0.0.1:0",
		"--tls-hosts", "127.0.0.1", "--ca-dir", caDir)
	kc := &kubeControl{e2eProcess: p, cluster: c}
	kubetest.Eventually(t, 60*time.Second, func() error {
		select {
		case <-p.Done:
			t.Fatalf("weft control exited:\n%s", p.Out.String())
		default:
		}
		out := p.Out.String()
		s, w, x := startedLine.FindStringSubmatch(out), webhookLine.FindStringSubmatch(out), secureXDSLine.FindStringSubmatch(out)
		if s == nil || w == nil || x == nil {
			return fmt.Errorf("weft control not started yet")
		}
		kc.xds, kc.mon, kc.webhook, kc.secureXDS = s[1], s[2], w[1], x[1]
		return nil
	})
	var err error
	if kc.caBundle, err = os.ReadFile(filepath.Join(caDir, "root-cert.pem")); err != nil {
		t.Fatalf("the CA's root in --ca-dir: %v", err)
	}
	return kc
}

// registerInjector creates the MutatingWebhookConfiguration that sends pod creations
// to the control plane's webhook, and waits until a pod created in ns (a dry run)
// comes back injected.
func registerInjector(t *testing.T, c *kubetest.Cluster, kc *kubeControl, ns string) {
	t.Helper()
	ctx := t.Context()
	wh, err := webhook.Configuration("istio-sidecar-injector", "default", webhook.Target{URL: "https://" + kc.webhook + webhook.Path}, kc.caBundle)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, wh, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	probe := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "webhook-probe", Labels: map[string]string{"app": "probe"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "probe:1"}}}}
	// A new webhook configuration takes about a second to be used.
	kubetest.Eventually(t, 30*time.Second, func() error {
		p, err := c.Client.CoreV1().Pods(ns).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			return err
		}
		if p.Annotations[inject.AnnotationStatus] == "" {
			return fmt.Errorf("a pod in %s is not injected yet", ns)
		}
		return nil
	})
}

// checkSidecar fails t unless the pod came back from the API server injected: the
// istio-init capture step running weft iptables, and istio-proxy as a native sidecar.
func checkSidecar(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	var names []string
	for _, c := range pod.Spec.InitContainers {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{inject.InitContainerName, inject.ProxyContainerName}) {
		t.Fatalf("pod %s: init containers %v, want istio-init and istio-proxy", pod.Name, names)
	}
	capture, proxy := pod.Spec.InitContainers[0], pod.Spec.InitContainers[1]
	if len(capture.Args) == 0 || capture.Args[0] != "iptables" || !slices.Contains(capture.Args, "15001") {
		t.Errorf("pod %s: istio-init runs %v %v, want weft iptables redirecting to 15001", pod.Name, capture.Command, capture.Args)
	}
	if proxy.RestartPolicy == nil || *proxy.RestartPolicy != corev1.ContainerRestartPolicyAlways {
		t.Errorf("pod %s: istio-proxy is not a native sidecar (restartPolicy %v)", pod.Name, proxy.RestartPolicy)
	}
	if len(proxy.Args) < 3 || proxy.Args[0] != "proxy" || proxy.Args[1] != "--xds" || proxy.Args[2] != "istiod.istio-system.svc:15012" {
		t.Errorf("pod %s: istio-proxy runs %v, want weft proxy --xds istiod.istio-system.svc:15012", pod.Name, proxy.Args)
	}
	// Secure xDS: the CA root the leader publishes in the namespace, mounted where
	// weft proxy looks for it.
	var root *corev1.Volume
	for i, v := range pod.Spec.Volumes {
		if v.Name == inject.CACertVolume {
			root = &pod.Spec.Volumes[i]
		}
	}
	mounted := slices.ContainsFunc(proxy.VolumeMounts, func(m corev1.VolumeMount) bool {
		return m.Name == inject.CACertVolume && m.MountPath == "/var/run/secrets/istio"
	})
	if root == nil || root.ConfigMap == nil || root.ConfigMap.Name != leader.RootCertConfigMap || !mounted {
		t.Errorf("pod %s: the CA root is not mounted at /var/run/secrets/istio: volume %+v, mounts %+v", pod.Name, root, proxy.VolumeMounts)
	}
}

// podProxy is weft proxy run as the pod's istio-proxy container would run it: the
// container's arguments and environment, the downward API resolved from the pod as
// the kubelet would, the labels file as the istio-podinfo volume holds it, the CA
// root as the istiod-ca-cert volume holds it (the istio-ca-root-cert ConfigMap the
// leader published in the pod's namespace). What differs: the control plane's
// address (its secure xDS port, on loopback: --xds-root-cert names the root file,
// which also says TLS where port 15012 did), the health and status ports and the admin
// API on the pod's address rather than every address, and no capture
// (INTERCEPTION_MODE NONE: the test's client uses the proxy as an explicit HTTP proxy
// on the pod's address, port 15001, since the pod shares the root namespace).
type podProxy struct {
	*e2eProcess
	ip     netip.Addr
	nodeID string
	client *http.Client
}

func startPodProxy(t *testing.T, weft string, kc *kubeControl, pod *corev1.Pod) *podProxy {
	t.Helper()
	ip := netip.MustParseAddr(pod.Status.PodIP)
	var container *corev1.Container
	for i, c := range pod.Spec.InitContainers {
		if c.Name == inject.ProxyContainerName {
			container = &pod.Spec.InitContainers[i]
		}
	}
	if container == nil {
		t.Fatalf("pod %s has no istio-proxy container", pod.Name)
	}
	args := map[string]string{"--xds": kc.secureXDS, "--health-address": ip.String() + ":15021", "--status-address": ip.String() + ":15020"}
	argv := slices.Clone(container.Args)
	for i := 1; i < len(argv); i++ {
		if v, ok := args[argv[i-1]]; ok {
			argv[i] = v
		}
	}
	labels := filepath.Join(t.TempDir(), "labels")
	writeFile(t, labels, downwardLabels(pod.Labels))
	root := filepath.Join(t.TempDir(), "root-cert.pem")
	writeFile(t, root, []byte(publishedRoot(t, kc, pod.Namespace)))
	argv = append(argv, "--admin-address", ip.String()+":15000", "--labels-file", labels, "--metadata", "INTERCEPTION_MODE=NONE",
		"--xds-root-cert", root)
	p := e2eStartEnv(t, weft, append(os.Environ(), containerEnv(t, pod, container)...), argv...)
	proxyURL, _ := url.Parse("http://" + ip.String() + ":15001")
	pp := &podProxy{e2eProcess: p, ip: ip, nodeID: fmt.Sprintf("sidecar~%s~%s.%s~%s.svc.cluster.local", ip, pod.Name, pod.Namespace, pod.Namespace),
		client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL), MaxIdleConnsPerHost: 8}}}
	// The injected startup probe: GET :15021/healthz/ready answers 200 once the proxy
	// has its config from the control plane.
	kubetest.Eventually(t, 30*time.Second, func() error {
		resp, err := http.Get("http://" + ip.String() + ":15021/healthz/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("the proxy's /healthz/ready: %s", resp.Status)
		}
		return nil
	})
	return pp
}

// publishedRoot waits for the leader to publish the CA root in ns, and returns it.
func publishedRoot(t *testing.T, kc *kubeControl, ns string) string {
	t.Helper()
	var root string
	kubetest.Eventually(t, 10*time.Second, func() error {
		cm, err := kc.cluster.Client.CoreV1().ConfigMaps(ns).Get(t.Context(), leader.RootCertConfigMap, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if root = cm.Data[leader.RootCertKey]; root != string(kc.caBundle) {
			return fmt.Errorf("%s/%s holds %.40q, not the root of --ca-dir", ns, leader.RootCertConfigMap, root)
		}
		return nil
	})
	return root
}

// containerEnv resolves the container's environment as the kubelet would from the pod.
func containerEnv(t *testing.T, pod *corev1.Pod, c *corev1.Container) []string {
	t.Helper()
	var env []string
	for _, e := range c.Env {
		v := e.Value
		switch from := e.ValueFrom; {
		case from == nil:
		case from.FieldRef != nil:
			fields := map[string]string{"metadata.name": pod.Name, "metadata.namespace": pod.Namespace,
				"status.podIP": pod.Status.PodIP, "status.hostIP": pod.Status.HostIP,
				"spec.serviceAccountName": pod.Spec.ServiceAccountName, "spec.nodeName": pod.Spec.NodeName}
			var ok bool
			if v, ok = fields[from.FieldRef.FieldPath]; !ok {
				t.Fatalf("env %s: field %s not resolved by the test", e.Name, from.FieldRef.FieldPath)
			}
		case from.ResourceFieldRef != nil && from.ResourceFieldRef.Resource == "limits.memory":
			v = strconv.FormatInt(c.Resources.Limits.Memory().Value(), 10)
		default:
			t.Fatalf("env %s: source %v not resolved by the test", e.Name, from)
		}
		env = append(env, e.Name+"="+v)
	}
	return env
}

// downwardLabels writes labels as the downward API's metadata.labels file does.
func downwardLabels(labels map[string]string) []byte {
	var b strings.Builder
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, strconv.Quote(labels[k]))
	}
	return []byte(b.String())
}

// get sends one request through the proxy and returns the answering pod's name.
func (p *podProxy) get(target string) (string, error) {
	resp, err := p.client.Get(target)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("%s: status %d, headers %v: %s", target, resp.StatusCode, resp.Header, body)
	}
	return string(body), nil
}

// counts sends n requests and counts the pods that answered.
func (p *podProxy) counts(target string, n int) (map[string]int, error) {
	out := map[string]int{}
	for range n {
		pod, err := p.get(target)
		if err != nil {
			return out, err
		}
		out[pod]++
	}
	return out, nil
}

// hosts reads the proxy's /clusters and returns the endpoints of cluster.
func (p *podProxy) hosts(cluster string) (map[string]bool, error) {
	resp, err := http.Get("http://" + p.ip.String() + ":15000/clusters")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "::")
		if len(f) == 4 && f[0] == cluster && f[2] == "health_flags" {
			out[f[1]] = true
		}
	}
	return out, sc.Err()
}

// e2eStartEnv is e2eStart with the process's environment.
func e2eStartEnv(t *testing.T, weft string, env []string, args ...string) *e2eProcess {
	t.Helper()
	return testbin.Start(t, weft, env, args...)
}
