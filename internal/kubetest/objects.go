package kubetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// Namespace creates a namespace for t, named after it, and deletes it with its pods
// when t ends. It returns once the namespace's default ServiceAccount exists, so that
// pods can be created in it.
func (c *Cluster) Namespace(t testing.TB) string {
	t.Helper()
	ctx := t.Context()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespaceName(t.Name())}}
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("namespace %s: %v", ns.Name, err)
	}
	t.Cleanup(func() {
		// Pods on a node without a kubelet never finish a graceful delete, and they
		// would hold the namespace in Terminating.
		ctx := context.Background()
		c.Client.CoreV1().Pods(ns.Name).DeleteCollection(ctx, *metav1.NewDeleteOptions(0), metav1.ListOptions{})
		c.Client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{})
	})
	Eventually(t, 30*time.Second, func() error {
		_, err := c.Client.CoreV1().ServiceAccounts(ns.Name).Get(ctx, "default", metav1.GetOptions{})
		return err
	})
	return ns.Name
}

var notNameChars = regexp.MustCompile(`[^a-z0-9]+`)

// namespaceName turns a test name into a DNS label that no other test run uses.
func namespaceName(test string) string {
	name := strings.Trim(notNameChars.ReplaceAllString(strings.ToLower(test), "-"), "-")
	if len(name) > 50 {
		name = strings.TrimRight(name[:50], "-")
	}
	suffix := make([]byte, 3)
	rand.Read(suffix)
	return name + "-" + hex.EncodeToString(suffix)
}

// CreateNode creates a Ready Node named name, with 4 CPUs, and with labels (for
// example topology.kubernetes.io/zone) besides the kubernetes.io/hostname a kubelet sets.
func (c *Cluster) CreateNode(t testing.TB, name string, labels map[string]string) *corev1.Node {
	t.Helper()
	n, err := c.createNode(t.Context(), name, labels)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (c *Cluster) createNode(ctx context.Context, name string, labels map[string]string) (*corev1.Node, error) {
	l := map[string]string{corev1.LabelHostname: name, corev1.LabelOSStable: "linux"}
	for k, v := range labels {
		l[k] = v
	}
	n, err := c.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", name, err)
	}
	// Allocatable CPU and a zone let the EndpointSlice controller compute topology hints.
	n.Status.Capacity = corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("4"),
		corev1.ResourceMemory: resource.MustParse("16Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	n.Status.Allocatable = n.Status.Capacity
	now := metav1.Now()
	n.Status.Conditions = []corev1.NodeCondition{{
		Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
		LastHeartbeatTime: now, LastTransitionTime: now,
	}}
	if n, err = c.Client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		return nil, fmt.Errorf("node %s: %w", name, err)
	}
	return n, nil
}

// RunPod creates pod, on c.Node unless its spec names a node, and marks it running and
// ready at ip as MarkPodRunning does.
func (c *Cluster) RunPod(t testing.TB, pod *corev1.Pod, ip netip.Addr) *corev1.Pod {
	t.Helper()
	pod = pod.DeepCopy()
	if pod.Spec.NodeName == "" {
		pod.Spec.NodeName = c.Node
	}
	created, err := c.Client.CoreV1().Pods(pod.Namespace).Create(t.Context(), pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("pod %s/%s: %v", pod.Namespace, pod.Name, err)
	}
	return c.MarkPodRunning(t, created.Namespace, created.Name, ip, true)
}

// MarkPodRunning does what a kubelet would for a pod: it binds the pod to c.Node if no
// node has it yet (a pod a ReplicaSet made, say), then writes its status: phase Running,
// IP ip, and the Ready and ContainersReady conditions true or false as ready says.
// The EndpointSlice controller then publishes ip, ready or not, for the pod's Services.
// ip must not be loopback: the API server refuses loopback endpoint addresses.
func (c *Cluster) MarkPodRunning(t testing.TB, ns, name string, ip netip.Addr, ready bool) *corev1.Pod {
	t.Helper()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsUnspecified() {
		t.Fatalf("pod %s/%s: IP %v cannot be an endpoint address; use a range the test owns, such as 10.250.0.0/16", ns, name, ip)
	}
	pod, err := c.markPodRunning(t.Context(), ns, name, ip, ready)
	if err != nil {
		t.Fatalf("pod %s/%s: %v", ns, name, err)
	}
	return pod
}

func (c *Cluster) markPodRunning(ctx context.Context, ns, name string, ip netip.Addr, ready bool) (*corev1.Pod, error) {
	pods := c.Client.CoreV1().Pods(ns)
	pod, err := pods.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	if pod.Spec.NodeName == "" {
		binding := &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Target:     corev1.ObjectReference{Kind: "Node", Name: c.Node},
		}
		if err := pods.Bind(ctx, binding, metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("bind to node %s: %w", c.Node, err)
		}
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if pod, err = pods.Get(ctx, name, metav1.GetOptions{}); err != nil {
			return err
		}
		setRunning(pod, ip, ready)
		pod, err = pods.UpdateStatus(ctx, pod, metav1.UpdateOptions{})
		return err
	})
	return pod, err
}

// setRunning writes into pod the status a kubelet reports for a running pod.
func setRunning(pod *corev1.Pod, ip netip.Addr, ready bool) {
	now := metav1.Now()
	s := &pod.Status
	s.Phase = corev1.PodRunning
	s.PodIP = ip.String()
	s.PodIPs = []corev1.PodIP{{IP: ip.String()}}
	if s.StartTime == nil {
		s.StartTime = &now
	}
	readiness := corev1.ConditionFalse
	if ready {
		readiness = corev1.ConditionTrue
	}
	want := []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue},
		{Type: corev1.ContainersReady, Status: readiness},
		{Type: corev1.PodReady, Status: readiness},
	}
	for i := range want {
		want[i].LastTransitionTime = now
		for _, old := range s.Conditions {
			if old.Type == want[i].Type && old.Status == want[i].Status {
				want[i].LastTransitionTime = old.LastTransitionTime
			}
		}
	}
	s.Conditions = want
}

// DeletePod deletes a pod at once: with no kubelet, a graceful delete never finishes.
func (c *Cluster) DeletePod(t testing.TB, ns, name string) {
	t.Helper()
	if err := c.Client.CoreV1().Pods(ns).Delete(t.Context(), name, *metav1.NewDeleteOptions(0)); err != nil {
		t.Fatalf("pod %s/%s: %v", ns, name, err)
	}
}

// Eventually calls cond every 50 ms until it returns nil, and fails t with cond's last
// error if that takes longer than timeout.
func Eventually(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
