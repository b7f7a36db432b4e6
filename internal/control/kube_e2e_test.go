package control_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/weftmesh/weft/internal/inject"
	"github.com/weftmesh/weft/internal/kubetest"
	"github.com/weftmesh/weft/internal/testbin"
)

// TestKubeEndToEnd runs the mesh on a real API server the way a user runs it on a
// cluster: weft control --kubeconfig with its injection webhook registered by a
// MutatingWebhookConfiguration, a namespace labelled istio-injection=enabled, and
// bookinfo's Services, Deployments and DestinationRules applied with client-go. The
// Deployment controller's pods come back injected; the test does the kubelet's part
// (addresses on an interface of the test's, an HTTP server per pod answering with
// its name, the pod marked running) and runs weft proxy as productpage's injected
// istio-proxy container would run, from its arguments and downward-API environment,
// over secure xDS with the CA root the leader published in the pod's namespace
// (ConfigMap istio-ca-root-cert, the pod's istiod-ca-cert volume). Requests
// through that proxy reach the reviews pods and follow a VirtualService; then scale
// up, a pod turning unready and ready again, scale down and a deleted pod must reach
// the proxy's /clusters within a second of the API write, and traffic follows.
func TestKubeEndToEnd(t *testing.T) {
	requirePrivileged(t)
	c := kubetest.Start(t)
	weft := testbin.Weft(t)
	c.ApplyIstioCRDs(t)
	// The control plane's own namespace, where its replicas elect their leader.
	if _, err := c.Client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "istio-system"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w := &kubeWorld{t: t, c: c, ns: c.Namespace(t), net: newPodNet(t), seen: map[string]bool{}, ips: map[string]netip.Addr{}}
	kc := startKubeControl(t, weft, c)
	w.label(map[string]string{inject.LabelInjection: "enabled"})
	registerInjector(t, c, kc, w.ns)

	c.Apply(t, w.ns, readFile(t, "../../examples/bookinfo/bookinfo.yaml"))
	c.Apply(t, w.ns, readFile(t, "../../examples/bookinfo/destination-rule-all.yaml"))
	var productpage *corev1.Pod
	for _, d := range []string{"details-v1", "ratings-v1", "reviews-v1", "reviews-v2", "reviews-v3", "productpage-v1"} {
		// productpage's address is the proxy's: its listeners take the app's port.
		pod := w.run(w.newPods(d, 1)[0].Name, d != "productpage-v1")
		if d == "productpage-v1" {
			productpage = pod
		}
	}
	w.proxy = startPodProxy(t, weft, kc, productpage)
	w.host = "http://reviews." + w.ns + ".svc.cluster.local:9080/"
	w.v3 = "outbound|9080|v3|reviews." + w.ns + ".svc.cluster.local"
	w.all = "outbound|9080||reviews." + w.ns + ".svc.cluster.local"

	t.Run("routes to the pods", func(t *testing.T) {
		w.t = t
		kubetest.Eventually(t, 10*time.Second, func() error {
			got, err := w.proxy.counts(w.host, 60)
			if err != nil {
				return err
			}
			if len(got) != 3 {
				return fmt.Errorf("reviews answered by %v, want its three pods", got)
			}
			return nil
		})
		for _, svc := range []string{"details", "ratings"} {
			pod, err := w.proxy.get("http://" + svc + "." + w.ns + ".svc.cluster.local:9080/")
			if err != nil || !strings.HasPrefix(pod, svc+"-v1-") {
				t.Errorf("%s: answered by %q (%v), want its pod", svc, pod, err)
			}
		}
		w.checkStatus(kc, weft, productpage)
	})

	t.Run("virtual service", func(t *testing.T) {
		w.t = t
		c.Apply(t, w.ns, readFile(t, "../../examples/bookinfo-networking/virtual-service-reviews-v3.yaml"))
		w.onlyV3("after virtual-service-reviews-v3")
	})

	t.Run("endpoint changes", func(t *testing.T) {
		w.t = t
		w.endpointChanges()
	})
}

// kubeWorld is the cluster, the pods the test runs, and the proxy.
type kubeWorld struct {
	t     *testing.T
	c     *kubetest.Cluster
	ns    string
	net   *podNet
	seen  map[string]bool       // pods returned by newPods
	ips   map[string]netip.Addr // running pods' addresses
	proxy *podProxy
	// host is the URL of reviews; v3 and all its clusters of subset v3 and of all pods.
	host, v3, all string
	// latencies are what follow measured.
	latencies []string
}

func (w *kubeWorld) label(labels map[string]string) {
	w.t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"labels":%s}}`, jsonObject(labels))
	if _, err := w.c.Client.CoreV1().Namespaces().Patch(w.t.Context(), w.ns, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		w.t.Fatal(err)
	}
}

func jsonObject(m map[string]string) string {
	var kv []string
	for k, v := range m {
		kv = append(kv, fmt.Sprintf("%q:%q", k, v))
	}
	return "{" + strings.Join(kv, ",") + "}"
}

// newPods waits for n pods of the Deployment that the test has not seen yet, and
// checks that the webhook injected them.
func (w *kubeWorld) newPods(deployment string, n int) []*corev1.Pod {
	w.t.Helper()
	app, version, _ := strings.Cut(deployment, "-")
	var out []*corev1.Pod
	kubetest.Eventually(w.t, 30*time.Second, func() error {
		list, err := w.c.Client.CoreV1().Pods(w.ns).List(w.t.Context(), metav1.ListOptions{LabelSelector: "app=" + app + ",version=" + version})
		if err != nil {
			return err
		}
		out = out[:0]
		for i, p := range list.Items {
			if !w.seen[p.Name] && p.DeletionTimestamp == nil {
				out = append(out, &list.Items[i])
			}
		}
		if len(out) != n {
			return fmt.Errorf("%d new pods of %s, want %d", len(out), deployment, n)
		}
		return nil
	})
	for _, p := range out {
		w.seen[p.Name] = true
		checkSidecar(w.t, p)
	}
	return out
}

// run does the kubelet's part for a pod: an address, the app listening there when
// backend is set, and the pod marked running and ready.
func (w *kubeWorld) run(pod string, backend bool) *corev1.Pod {
	w.t.Helper()
	ip := w.net.add()
	if backend {
		podBackend(w.t, ip, 9080, pod)
	}
	w.ips[pod] = ip
	return w.c.MarkPodRunning(w.t, w.ns, pod, ip, true)
}

// endpoint is the pod's endpoint as the proxy's /clusters names it.
func (w *kubeWorld) endpoint(pod string) string {
	return netip.AddrPortFrom(w.ips[pod], 9080).String()
}

// follow makes an API write (change), then polls the proxy's /clusters until cond
// holds for the endpoints of reviews' v3 subset and of all its pods. It logs how long
// that took after the write began, and fails the test when it took over a second.
func (w *kubeWorld) follow(what string, change func(), cond func(v3, all map[string]bool) error) {
	w.t.Helper()
	start := time.Now()
	change()
	for {
		v3, err1 := w.proxy.hosts(w.v3)
		all, err2 := w.proxy.hosts(w.all)
		err := cmpErr(err1, err2)
		if err == nil {
			err = cond(v3, all)
		}
		if err == nil {
			break
		}
		if time.Since(start) > 10*time.Second {
			w.t.Fatalf("%s: not in the proxy's /clusters after 10s: %v", what, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	d := time.Since(start)
	w.t.Logf("%s: in the proxy's /clusters %v after the API write", what, d.Round(time.Millisecond))
	w.latencies = append(w.latencies, fmt.Sprintf("%s %v", what, d.Round(time.Millisecond)))
	if d > time.Second {
		w.t.Errorf("%s: took %v to reach the proxy, want at most 1s", what, d)
	}
}

func cmpErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// present says the pods' endpoints are in both clusters and absent ones in neither.
func (w *kubeWorld) present(present, absent []string) func(v3, all map[string]bool) error {
	return func(v3, all map[string]bool) error {
		for _, p := range present {
			if !v3[w.endpoint(p)] || !all[w.endpoint(p)] {
				return fmt.Errorf("%s (%s) missing: v3 %v, all %v", p, w.endpoint(p), v3, all)
			}
		}
		for _, p := range absent {
			if v3[w.endpoint(p)] || all[w.endpoint(p)] {
				return fmt.Errorf("%s (%s) still there: v3 %v, all %v", p, w.endpoint(p), v3, all)
			}
		}
		return nil
	}
}

// onlyV3 waits until 20 requests in a row reach reviews-v3 pods.
func (w *kubeWorld) onlyV3(what string) {
	w.t.Helper()
	kubetest.Eventually(w.t, 10*time.Second, func() error {
		got, err := w.proxy.counts(w.host, 20)
		if err != nil {
			return err
		}
		for pod, n := range got {
			if !strings.HasPrefix(pod, "reviews-v3-") {
				return fmt.Errorf("%s: %d requests reached %s", what, n, pod)
			}
		}
		return nil
	})
}

// traffic sends 60 requests to reviews and checks which pods answer: each of want,
// and no other.
func (w *kubeWorld) traffic(what string, want ...string) {
	w.t.Helper()
	got, err := w.proxy.counts(w.host, 60)
	if err != nil {
		w.t.Fatalf("%s: %v", what, err)
	}
	for _, p := range want {
		if got[p] == 0 {
			w.t.Errorf("%s: no request reached %s: %v", what, p, got)
		}
	}
	for p := range got {
		if !slices.Contains(want, p) {
			w.t.Errorf("%s: %d requests reached %s, want only %v", what, got[p], p, want)
		}
	}
}

func (w *kubeWorld) scale(deployment string, replicas int) {
	w.t.Helper()
	patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas)
	if _, err := w.c.Client.AppsV1().Deployments(w.ns).Patch(w.t.Context(), deployment, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		w.t.Fatal(err)
	}
}

// endpointChanges scales reviews-v3 up, turns the new pod unready and ready again,
// scales down, and deletes the remaining pod and runs its replacement; each change
// must reach the proxy within a second, and traffic follows it.
func (w *kubeWorld) endpointChanges() {
	t := w.t
	first := w.podOf("reviews-v3")

	w.scale("reviews-v3", 2)
	second := w.newPods("reviews-v3", 1)[0].Name
	w.follow("scale up: the new pod running", func() { w.run(second, true) },
		w.present([]string{first, second}, nil))
	w.traffic("scale up", first, second)

	w.follow("the new pod unready", func() { w.c.MarkPodRunning(t, w.ns, second, w.ips[second], false) },
		w.present([]string{first}, []string{second}))
	w.traffic("unready", first)

	w.follow("the new pod ready again", func() { w.c.MarkPodRunning(t, w.ns, second, w.ips[second], true) },
		w.present([]string{first, second}, nil))
	w.traffic("ready again", first, second)

	var gone, kept string
	w.follow("scale down", func() { w.scale("reviews-v3", 1) }, func(v3, all map[string]bool) error {
		in := func(p string) int { return btoi(v3[w.endpoint(p)]) + btoi(all[w.endpoint(p)]) }
		switch {
		case in(first) == 2 && in(second) == 0:
			kept, gone = first, second
		case in(second) == 2 && in(first) == 0:
			kept, gone = second, first
		default:
			return fmt.Errorf("v3 %v, all %v: want one of %s and %s", v3, all, first, second)
		}
		return nil
	})
	w.checkTerminating(gone)
	w.traffic("scale down", kept)

	w.follow("pod deleted", func() { w.c.DeletePod(t, w.ns, kept) }, w.present(nil, []string{kept}))
	if pod, err := w.proxy.get(w.host); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("with no reviews-v3 pod: answered by %q (%v), want 503", pod, err)
	}
	replacement := w.newPods("reviews-v3", 1)[0].Name
	w.follow("the replacement running", func() { w.run(replacement, true) }, w.present([]string{replacement}, []string{kept}))
	w.traffic("replacement", replacement)
	t.Logf("endpoint changes in the proxy's /clusters after the API write: %s", strings.Join(w.latencies, ", "))
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// podOf returns the one pod of the Deployment the test runs.
func (w *kubeWorld) podOf(deployment string) string {
	w.t.Helper()
	var names []string
	for name := range w.ips {
		if strings.HasPrefix(name, deployment+"-") {
			names = append(names, name)
		}
	}
	if len(names) != 1 {
		w.t.Fatalf("pods of %s: %v, want one", deployment, names)
	}
	return names[0]
}

// checkTerminating checks that the pod the proxy dropped on scale down is the one the
// ReplicaSet is deleting.
func (w *kubeWorld) checkTerminating(name string) {
	w.t.Helper()
	p, err := w.c.Client.CoreV1().Pods(w.ns).Get(w.t.Context(), name, metav1.GetOptions{})
	if err == nil && p.DeletionTimestamp == nil {
		w.t.Errorf("scale down: the proxy dropped %s, which is not being deleted", name)
	}
}

// checkStatus runs weft proxy-status and proxy-config against the control plane, as a
// user checks the mesh: the pod's proxy is SYNCED for every type, and its endpoints
// for reviews are the reviews pods.
func (w *kubeWorld) checkStatus(kc *kubeControl, weft string, pod *corev1.Pod) {
	w.t.Helper()
	var status string
	kubetest.Eventually(w.t, 10*time.Second, func() error {
		out, err := exec.Command(weft, "proxy-status", "--control", kc.mon).CombinedOutput()
		status = string(out)
		if err != nil {
			return fmt.Errorf("weft proxy-status: %v: %s", err, out)
		}
		for _, line := range strings.Split(status, "\n") {
			if f := strings.Fields(line); len(f) == 8 && f[0] == pod.Name+"."+pod.Namespace && f[1] == "Kubernetes" &&
				slices.Equal(f[2:6], []string{"SYNCED", "SYNCED", "SYNCED", "SYNCED"}) {
				return nil
			}
		}
		return fmt.Errorf("weft proxy-status: %s.%s not SYNCED for CDS, LDS, EDS and RDS:\n%s", pod.Name, pod.Namespace, out)
	})
	w.t.Logf("weft proxy-status:\n%s", status)
	w.checkNodeID(kc)
	out, err := exec.Command(weft, "proxy-config", "endpoints", pod.Name+"."+pod.Namespace, "--control", kc.mon).CombinedOutput()
	if err != nil {
		w.t.Fatalf("weft proxy-config endpoints: %v: %s", err, out)
	}
	w.t.Logf("weft proxy-config endpoints %s.%s:\n%s", pod.Name, pod.Namespace, out)
	for name := range w.ips {
		if strings.HasPrefix(name, "reviews-") && !strings.Contains(string(out), w.endpoint(name)) {
			w.t.Errorf("weft proxy-config endpoints lacks %s (%s):\n%s", name, w.endpoint(name), out)
		}
	}
}

// checkNodeID checks that the proxy, from the pod's environment, connected with the
// node ID Istio's agent would give it.
func (w *kubeWorld) checkNodeID(kc *kubeControl) {
	w.t.Helper()
	resp, err := http.Get("http://" + kc.mon + "/debug/syncz")
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var conns []struct {
		NodeID string `json:"node_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&conns); err != nil {
		w.t.Fatalf("/debug/syncz: %v", err)
	}
	if len(conns) != 1 || conns[0].NodeID != w.proxy.nodeID {
		w.t.Errorf("connected nodes %+v, want %s", conns, w.proxy.nodeID)
	}
}
