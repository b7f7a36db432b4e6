package kubetest

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestMain(m *testing.M) { Main(m) }

// TestVersions: the versions kubetest looks for are the ones hack/kube builds.
func TestVersions(t *testing.T) {
	b, err := os.ReadFile("../../hack/kube/go.mod")
	if err != nil {
		t.Fatal(err)
	}
	required := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 {
			required[f[0]] = f[1]
		}
	}
	for mod, version := range map[string]string{"k8s.io/kubernetes": KubeVersion, "go.etcd.io/etcd/server/v3": EtcdVersion} {
		if required[mod] != version {
			t.Errorf("hack/kube/go.mod requires %s %s, kubetest looks for %s", mod, required[mod], version)
		}
	}
}

func TestNamespaceName(t *testing.T) {
	for test, prefix := range map[string]string{
		"TestCluster":                       "testcluster-",
		"TestX/sub_case#01":                 "testx-sub-case-01-",
		"Test" + strings.Repeat("Long", 20): strings.ToLower("Test" + strings.Repeat("Long", 20))[:50] + "-",
	} {
		got := namespaceName(test)
		if !strings.HasPrefix(got, prefix) || len(got) != len(prefix)+6 {
			t.Errorf("namespaceName(%q) = %q, want %q and 6 hex digits", test, got, prefix)
		}
	}
}

func TestDecode(t *testing.T) {
	objs, err := decode([]byte("# a comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\n{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\": \"b\"}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.GetKind()+"/"+o.GetName())
	}
	if diff := cmp.Diff([]string{"ConfigMap/a", "Secret/b"}, got); diff != "" {
		t.Errorf("decode (-want +got):\n%s", diff)
	}
}

// TestCluster runs a control plane of its own and checks that Services, Pods marked
// running, Deployments and Istio resources behave as on a real cluster, and that
// nothing of it runs after the test.
func TestCluster(t *testing.T) {
	var procs []*process
	t.Run("run", func(t *testing.T) {
		begin := time.Now()
		c := Start(t)
		t.Logf("control plane ready in %v", time.Since(begin).Round(time.Millisecond))
		procs = c.procs
		t.Run("EndpointSlices", func(t *testing.T) { testEndpointSlices(t, c) })
		t.Run("Deployment", func(t *testing.T) { testDeployment(t, c) })
		t.Run("IstioCRDs", func(t *testing.T) { testIstioCRDs(t, c) })
	})
	for _, p := range procs {
		if err := syscall.Kill(p.cmd.Process.Pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s (pid %d) still runs after the test: %v", p.name, p.cmd.Process.Pid, err)
		}
	}
}

func testEndpointSlices(t *testing.T, c *Cluster) {
	ns := c.Namespace(t)
	ctx := t.Context()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	if _, err := c.Client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.CreateNode(t, "node-a", map[string]string{corev1.LabelTopologyZone: "zone-a"})
	ip := netip.MustParseAddr("10.250.0.10")
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: ns, Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{
			NodeName:   "node-a",
			Containers: []corev1.Container{{Name: "web", Image: "web", Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}},
		},
	}
	begin := time.Now()
	c.RunPod(t, pod, ip)
	want := endpoint{Address: "10.250.0.10", Ready: true, Node: "node-a", Zone: "zone-a", Port: 8080}
	Eventually(t, 10*time.Second, func() error { return endpointsAre(c, t, ns, "web", want) })
	t.Logf("ready endpoint published in %v", time.Since(begin).Round(time.Millisecond))

	begin = time.Now()
	c.MarkPodRunning(t, ns, "web-0", ip, false)
	want.Ready = false
	Eventually(t, 10*time.Second, func() error { return endpointsAre(c, t, ns, "web", want) })
	t.Logf("unready endpoint published in %v", time.Since(begin).Round(time.Millisecond))

	c.DeletePod(t, ns, "web-0")
	Eventually(t, 10*time.Second, func() error { return endpointsAre(c, t, ns, "web") })
}

// endpoint is what a test checks of an EndpointSlice endpoint.
type endpoint struct {
	Address, Node, Zone string
	Ready               bool
	Port                int32
}

// endpointsAre says how the endpoints of Service ns/name differ from want, if they do.
func endpointsAre(c *Cluster, t *testing.T, ns, name string, want ...endpoint) error {
	slices, err := c.Client.DiscoveryV1().EndpointSlices(ns).List(t.Context(), metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + name})
	if err != nil {
		return err
	}
	var got []endpoint
	for _, s := range slices.Items {
		for _, ep := range s.Endpoints {
			e := endpoint{Address: strings.Join(ep.Addresses, ","), Ready: ep.Conditions.Ready != nil && *ep.Conditions.Ready}
			if ep.NodeName != nil {
				e.Node = *ep.NodeName
			}
			if ep.Zone != nil {
				e.Zone = *ep.Zone
			}
			for _, p := range s.Ports {
				e.Port = *p.Port
			}
			got = append(got, e)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		return fmt.Errorf("endpoints of %s/%s (-want +got):\n%s", ns, name, diff)
	}
	return nil
}

const deployment = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - name: api
        image: api
`

// testDeployment: the ReplicaSet controller makes the pods, and once they are marked
// running the Deployment counts them ready.
func testDeployment(t *testing.T, c *Cluster) {
	ns := c.Namespace(t)
	ctx := t.Context()
	c.Apply(t, ns, []byte(deployment))
	var pods []corev1.Pod
	Eventually(t, 10*time.Second, func() error {
		list, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=api"})
		if err != nil {
			return err
		}
		if pods = list.Items; len(pods) != 2 {
			return fmt.Errorf("%d pods, want 2", len(pods))
		}
		return nil
	})
	for i, p := range pods {
		got := c.MarkPodRunning(t, ns, p.Name, netip.AddrFrom4([4]byte{10, 250, 1, byte(i + 1)}), true)
		if got.Spec.NodeName != c.Node {
			t.Errorf("pod %s is on node %q, want %q", p.Name, got.Spec.NodeName, c.Node)
		}
	}
	Eventually(t, 10*time.Second, func() error {
		d, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "api", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if d.Status.ReadyReplicas != 2 || !available(d) {
			return fmt.Errorf("deployment %s/api: %d ready replicas, want 2; conditions %v", ns, d.Status.ReadyReplicas, d.Status.Conditions)
		}
		return nil
	})
}

func available(d *appsv1.Deployment) bool {
	for _, cond := range d.Status.Conditions {
		if cond.Type == appsv1.DeploymentAvailable {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

const virtualService = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
      weight: 90
    - destination: {host: reviews, subset: v2}
      weight: 10
`

// testIstioCRDs: Istio's resources can be created once ApplyIstioCRDs returns, and
// their schemas are enforced.
func testIstioCRDs(t *testing.T, c *Cluster) {
	ns := c.Namespace(t)
	begin := time.Now()
	c.ApplyIstioCRDs(t)
	t.Logf("Istio CRDs established in %v", time.Since(begin).Round(time.Millisecond))
	c.ApplyIstioCRDs(t) // a second time does nothing

	c.Apply(t, ns, []byte(virtualService))
	vs := schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "virtualservices"}
	got, err := c.Dynamic.Resource(vs).Namespace(ns).Get(t.Context(), "reviews", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	routes, _, _ := unstructured.NestedSlice(got.Object, "spec", "http")
	if hosts, _, _ := unstructured.NestedStringSlice(got.Object, "spec", "hosts"); len(routes) != 1 || !cmp.Equal(hosts, []string{"reviews"}) {
		t.Errorf("stored VirtualService: %v", got.Object["spec"])
	}

	bad, err := decode([]byte(strings.Replace(virtualService, "hosts: [reviews]", "hosts: reviews", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.apply(t.Context(), ns, bad); err == nil || !strings.Contains(err.Error(), "spec.hosts") {
		t.Errorf("a VirtualService whose hosts is not a list: error %v, want one about spec.hosts", err)
	}
}

// TestShared: the tests of a package share one cluster, each in its own namespace,
// and the kubeconfig works for kubectl.
func TestShared(t *testing.T) {
	c := Shared(t)
	if Shared(t) != c {
		t.Fatal("Shared started a second cluster")
	}
	ns := c.Namespace(t)
	c.Apply(t, ns, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: shared}\n"))
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Log("kubectl is not on PATH: not checking the kubeconfig with it")
		return
	}
	out, err := exec.Command(kubectl, "--kubeconfig", c.Kubeconfig, "-n", ns, "get", "configmap", "settings", "-o", "jsonpath={.data.mode}").CombinedOutput()
	if err != nil || string(out) != "shared" {
		t.Errorf("kubectl get configmap: %v: %s", err, out)
	}
}
