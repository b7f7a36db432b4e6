package control_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/protobuf/types/known/structpb"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/config/file"
	"github.com/weftmesh/weft/internal/control/mesh"
	"github.com/weftmesh/weft/internal/kubetest"
)

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// docs reads the Istio objects of a YAML file.
func docs(t *testing.T, path string) []file.Document {
	t.Helper()
	var out []file.Document
	for _, d := range file.ParseFile(path, readFile(t, path), "default") {
		if d.Err != nil {
			t.Fatalf("%s: %v", path, d.Err)
		}
		if d.Config != nil {
			out = append(out, d)
		}
	}
	return out
}

func joinDocs(ds []file.Document) []byte {
	var b bytes.Buffer
	for _, d := range ds {
		b.WriteString("---\n")
		b.Write(d.Raw)
		b.WriteString("\n")
	}
	return b.Bytes()
}

// without returns the documents of ds whose object other does not define.
func without(ds, other []file.Document) []file.Document {
	var out []file.Document
	for _, d := range ds {
		if !defines(other, d.Config.Key()) {
			out = append(out, d)
		}
	}
	return out
}

// overridden returns the documents of ds whose object other defines too.
func overridden(ds, other []file.Document) []file.Document {
	var out []file.Document
	for _, d := range ds {
		if defines(other, d.Config.Key()) {
			out = append(out, d)
		}
	}
	return out
}

func defines(ds []file.Document, key string) bool {
	for _, d := range ds {
		if d.Config.Key() == key {
			return true
		}
	}
	return false
}

// deleteObjects deletes the documents' objects from the cluster.
func deleteObjects(t *testing.T, c *kubetest.Cluster, ds []file.Document) {
	t.Helper()
	plural := map[config.Kind]string{config.VirtualService: "virtualservices", config.DestinationRule: "destinationrules",
		config.Gateway: "gateways", config.ServiceEntry: "serviceentries"}
	for _, d := range ds {
		gvr := schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: plural[d.Config.Kind]}
		if err := c.Dynamic.Resource(gvr).Namespace(d.Config.Namespace).Delete(t.Context(), d.Config.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatalf("delete %s: %v", d.Config.Key(), err)
		}
	}
}

// runBookinfoPods waits for the pods of bookinfo's Deployments and marks them running
// and ready at 10.250.0.1 up, in name order.
func runBookinfoPods(t *testing.T, c *kubetest.Cluster) []*corev1.Pod {
	t.Helper()
	var names []string
	kubetest.Eventually(t, 30*time.Second, func() error {
		list, err := c.Client.CoreV1().Pods("default").List(t.Context(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		names = names[:0]
		for _, p := range list.Items {
			names = append(names, p.Name)
		}
		if len(names) != 6 {
			return fmt.Errorf("%d bookinfo pods, want 6", len(names))
		}
		return nil
	})
	sort.Strings(names)
	ip := netip.MustParseAddr("10.250.0.1")
	var pods []*corev1.Pod
	for _, n := range names {
		pods = append(pods, c.MarkPodRunning(t, "default", n, ip, true))
		ip = ip.Next()
	}
	return pods
}

// standIn labels the ServiceEntries and WorkloadEntries that stand in, on the file
// side, for the cluster's Services and pods.
const standIn = "weft-test/stands-in-for"

// serviceEntriesFor writes what Istio makes of the cluster's Services in default, as
// ServiceEntries (hostname, cluster IP, ports with the protocol of their name, target
// ports, the selector as workloadSelector) and the pods as WorkloadEntries.
func serviceEntriesFor(t *testing.T, c *kubetest.Cluster, pods []*corev1.Pod) []byte {
	t.Helper()
	svcs, err := c.Client.CoreV1().Services("default").List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var objs []any
	for _, s := range svcs.Items {
		objs = append(objs, serviceEntry(s))
	}
	for _, p := range pods {
		objs = append(objs, map[string]any{"apiVersion": "networking.istio.io/v1", "kind": "WorkloadEntry",
			"metadata": map[string]any{"name": p.Name, "namespace": p.Namespace, "labels": map[string]string{standIn: "pod"}},
			"spec":     map[string]any{"address": p.Status.PodIP, "labels": p.Labels, "serviceAccount": p.Spec.ServiceAccountName}})
	}
	var b bytes.Buffer
	for _, o := range objs {
		y, err := yaml.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	return b.Bytes()
}

func serviceEntry(s corev1.Service) map[string]any {
	var ports []any
	for _, p := range s.Spec.Ports {
		proto, _, _ := strings.Cut(p.Name, "-")
		ports = append(ports, map[string]any{"number": p.Port, "name": p.Name, "protocol": strings.ToUpper(proto),
			"targetPort": p.TargetPort.IntValue()})
	}
	spec := map[string]any{"hosts": []string{s.Name + "." + s.Namespace + ".svc.cluster.local"}, "addresses": s.Spec.ClusterIPs,
		"ports": ports, "location": "MESH_INTERNAL", "resolution": "STATIC"}
	if len(s.Spec.Selector) > 0 {
		spec["workloadSelector"] = map[string]any{"labels": s.Spec.Selector}
	}
	labels := map[string]string{standIn: "service"}
	for k, v := range s.Labels {
		labels[k] = v
	}
	return map[string]any{"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry",
		"metadata": map[string]any{"name": s.Name, "namespace": s.Namespace, "labels": labels}, "spec": spec}
}

// goldenNodes returns the nodes whose xDS is compared: the sidecars of productpage and
// reviews-v2, and an ingress gateway.
func goldenNodes(t *testing.T, pods []*corev1.Pod) []*mesh.Node {
	t.Helper()
	var nodes []*mesh.Node
	for _, p := range pods {
		if p.Labels["app"] == "productpage" || (p.Labels["app"] == "reviews" && p.Labels["version"] == "v2") {
			nodes = append(nodes, node(t, "sidecar~"+p.Status.PodIP+"~"+p.Name+".default~default.svc.cluster.local", p.Labels))
		}
	}
	nodes = append(nodes, node(t, "router~10.250.9.1~istio-ingressgateway-1.istio-system~istio-system.svc.cluster.local",
		map[string]string{"istio": "ingressgateway"}))
	if len(nodes) != 3 {
		t.Fatalf("%d nodes, want productpage, reviews-v2 and the gateway", len(nodes))
	}
	return nodes
}

func node(t *testing.T, id string, labels map[string]string) *mesh.Node {
	t.Helper()
	l := map[string]any{}
	for k, v := range labels {
		l[k] = v
	}
	md, err := structpb.NewStruct(map[string]any{"LABELS": l})
	if err != nil {
		t.Fatal(err)
	}
	n, err := mesh.ParseNode(&corev3.Node{Id: id, Metadata: md})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
