package kube_test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"

	"github.com/weftmesh/weft/internal/control/mesh"
	"github.com/weftmesh/weft/internal/control/registry"
	"github.com/weftmesh/weft/internal/control/registry/kube"
	"github.com/weftmesh/weft/internal/kubetest"
)

// These tests run the registry against a real kube-apiserver, with the
// kube-controller-manager's EndpointSlice, Deployment and ReplicaSet controllers
// publishing endpoints as a cluster does; kubetest plays the kubelet.

// recorder keeps a registry's events with the time they arrived.
type recorder struct {
	ch chan stamped
}

type stamped struct {
	at time.Time
	ev registry.Event
}

func record(r *kube.Registry) *recorder {
	rec := &recorder{ch: make(chan stamped, 1000)}
	r.Subscribe(func(e registry.Event) { rec.ch <- stamped{time.Now(), e} })
	return rec
}

// wait returns the first event for host after which cond holds, failing the test
// after timeout. Events for other hosts are skipped.
func (rec *recorder) wait(t *testing.T, host string, timeout time.Duration, cond func() error) stamped {
	t.Helper()
	deadline := time.After(timeout)
	err := fmt.Errorf("no event")
	for {
		select {
		case s := <-rec.ch:
			if !contains(s.ev.Hosts, host) {
				continue
			}
			if err = cond(); err == nil {
				return s
			}
		case <-deadline:
			t.Fatalf("%s: %v", host, err)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// runRegistry runs a registry over the cluster until the test ends.
func runRegistry(t *testing.T, c *kubetest.Cluster) (*kube.Registry, *recorder) {
	t.Helper()
	r := kube.New(c.Client, kube.WithTrustDomain("cluster.local"))
	rec := record(r)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	kubetest.Eventually(t, 10*time.Second, func() error {
		if !r.HasSynced() {
			return fmt.Errorf("registry not synced")
		}
		return nil
	})
	return r, rec
}

func TestAgainstAPIServer(t *testing.T) {
	c := kubetest.Start(t)
	c.CreateNode(t, "node-eu-a", map[string]string{corev1.LabelTopologyRegion: "eu-west", corev1.LabelTopologyZone: "eu-west-a"})
	c.CreateNode(t, "node-eu-b", map[string]string{corev1.LabelTopologyRegion: "eu-west", corev1.LabelTopologyZone: "eu-west-b"})
	r, rec := runRegistry(t, c)
	t.Run("ServicesAndEndpoints", func(t *testing.T) { testServicesAndEndpoints(t, c, r, rec) })
	t.Run("EndpointChanges", func(t *testing.T) { testEndpointChanges(t, c, r, rec) })
}

func testPod(ns, name, node, sa string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: corev1.PodSpec{NodeName: node, ServiceAccountName: sa, Containers: []corev1.Container{{
			Name: "app", Image: "example.invalid/app", Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: 8080}},
		}}}}
}

// testServicesAndEndpoints: a Service and its pods become a mesh service with its
// protocols, cluster IP and target ports, and endpoints with identity and locality.
func testServicesAndEndpoints(t *testing.T, c *kubetest.Cluster, r *kube.Registry, rec *recorder) {
	ctx := t.Context()
	ns := c.Namespace(t)
	if _, err := c.Client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "bookinfo-reviews"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	grpc := "grpc"
	svc, err := c.Client.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "reviews", Labels: map[string]string{"app": "reviews"}},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "reviews"}, Ports: []corev1.ServicePort{
			{Name: "http", Port: 9080, TargetPort: intstr.FromString("web")},
			{Name: "stats", Port: 9090, AppProtocol: &grpc, TargetPort: intstr.FromInt32(9091)},
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v1 := c.RunPod(t, testPod(ns, "reviews-v1", "node-eu-a", "bookinfo-reviews", map[string]string{"app": "reviews", "version": "v1"}), netip.MustParseAddr("10.250.1.1"))
	v2 := c.RunPod(t, testPod(ns, "reviews-v2", "node-eu-b", "", map[string]string{"app": "reviews", "version": "v2"}), netip.MustParseAddr("10.250.1.2"))
	host := "reviews." + ns + ".svc.cluster.local"
	rec.wait(t, host, 10*time.Second, func() error {
		if n := len(r.Endpoints(host, 9080)); n != 2 {
			return fmt.Errorf("%d endpoints on 9080, want 2", n)
		}
		return nil
	})

	wantSvc := &mesh.Service{Hostname: host, Namespace: ns, Addresses: []string{svc.Spec.ClusterIP},
		Ports:      []mesh.Port{{Name: "http", Number: 9080, Protocol: mesh.HTTP}, {Name: "stats", Number: 9090, Protocol: mesh.GRPC, TargetPort: 9091}},
		Resolution: mesh.ClientSideLB, Labels: svc.Labels, Selector: svc.Spec.Selector, CreationTime: svc.CreationTimestamp.UTC(),
		Source: "Service " + ns + "/reviews"}
	var got *mesh.Service
	for _, s := range r.Services() {
		if s.Hostname == host {
			got = s
		}
	}
	if diff := cmp.Diff(wantSvc, got); diff != "" {
		t.Errorf("service (-want +got):\n%s", diff)
	}
	endpoint := func(p *corev1.Pod, port, svcPort uint32, sa, zone string) *mesh.Endpoint {
		return &mesh.Endpoint{Address: p.Status.PodIP, Port: port, ServicePort: svcPort, Labels: p.Labels,
			ServiceAccount: "spiffe://cluster.local/ns/" + ns + "/sa/" + sa, Locality: mesh.Locality{Region: "eu-west", Zone: zone},
			Weight: 1, Healthy: true, Namespace: ns, Workload: p.Name, TLSMode: mesh.TLSModeDisabled}
	}
	want := map[uint32][]*mesh.Endpoint{
		9080: {endpoint(v1, 8080, 9080, "bookinfo-reviews", "eu-west-a"), endpoint(v2, 8080, 9080, "default", "eu-west-b")},
		9090: {endpoint(v1, 9091, 9090, "bookinfo-reviews", "eu-west-a"), endpoint(v2, 9091, 9090, "default", "eu-west-b")},
	}
	for port, eps := range want {
		if diff := cmp.Diff(eps, r.Endpoints(host, port)); diff != "" {
			t.Errorf("endpoints of port %d (-want +got):\n%s", port, diff)
		}
	}
}

// deployment is a Deployment whose pods kubetest runs at addresses from 10.250.2.1 up.
type deployment struct {
	t    *testing.T
	c    *kubetest.Cluster
	ns   string
	name string

	ips  map[string]netip.Addr // by pod name
	next netip.Addr
}

func newDeployment(t *testing.T, c *kubetest.Cluster, ns, name string, replicas int32) *deployment {
	labels := map[string]string{"app": name}
	_, err := c.Client.AppsV1().Deployments(ns).Create(t.Context(), &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: testPod(ns, "", "", "", nil).Spec}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return &deployment{t: t, c: c, ns: ns, name: name, ips: map[string]netip.Addr{}, next: netip.MustParseAddr("10.250.2.1")}
}

// scale sets the replicas.
func (d *deployment) scale(n int32) {
	deps := d.c.Client.AppsV1().Deployments(d.ns)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s, err := deps.GetScale(d.t.Context(), d.name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		s.Spec.Replicas = n
		_, err = deps.UpdateScale(d.t.Context(), d.name, s, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		d.t.Fatal(err)
	}
}

// runNew waits until the Deployment has n live pods, marks the new ones running and
// ready, and returns the time just before the last was marked.
func (d *deployment) runNew(n int) time.Time {
	var fresh []string
	kubetest.Eventually(d.t, 10*time.Second, func() error {
		pods, err := d.c.Client.CoreV1().Pods(d.ns).List(d.t.Context(), metav1.ListOptions{LabelSelector: "app=" + d.name})
		if err != nil {
			return err
		}
		live := 0
		fresh = fresh[:0]
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil {
				continue
			}
			live++
			if _, ok := d.ips[p.Name]; !ok {
				fresh = append(fresh, p.Name)
			}
		}
		if live != n {
			return fmt.Errorf("%d live pods, want %d", live, n)
		}
		return nil
	})
	var at time.Time
	for _, name := range fresh {
		d.ips[name] = d.next
		d.next = d.next.Next()
		at = time.Now()
		d.c.MarkPodRunning(d.t, d.ns, name, d.ips[name], true)
	}
	return at
}

// healthy counts the healthy endpoints of a port.
func healthy(r *kube.Registry, host string, port uint32) int {
	n := 0
	for _, ep := range r.Endpoints(host, port) {
		if ep.Healthy {
			n++
		}
	}
	return n
}

// testEndpointChanges scales a Deployment up and down and turns a pod unready: each
// reaches the registry as an EndpointsChanged event within a second of the change.
func testEndpointChanges(t *testing.T, c *kubetest.Cluster, r *kube.Registry, rec *recorder) {
	ns := c.Namespace(t)
	if _, err := c.Client.CoreV1().Services(ns).Create(t.Context(), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "details"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "details"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 9080, TargetPort: intstr.FromString("web")}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	host := "details." + ns + ".svc.cluster.local"
	d := newDeployment(t, c, ns, "details", 2)
	d.runNew(2)
	rec.wait(t, host, 10*time.Second, wantHealthy(r, host, 2))

	step := func(name string, cond func() error, change func() time.Time) {
		t.Helper()
		at := change()
		s := rec.wait(t, host, 5*time.Second, cond)
		latency := s.at.Sub(at)
		t.Logf("%s: EndpointsChanged %v after the change", name, latency.Round(time.Millisecond))
		if s.ev.Kind != registry.EndpointsChanged {
			t.Errorf("%s: event %+v, want EndpointsChanged", name, s.ev)
		}
		if latency > time.Second {
			t.Errorf("%s: the registry took %v, want at most a second", name, latency)
		}
	}
	step("scale up to 3", wantHealthy(r, host, 3), func() time.Time {
		d.scale(3)
		return d.runNew(3)
	})
	step("a pod turns unready", wantHealthy(r, host, 2), func() time.Time {
		at := time.Now()
		for name, ip := range d.ips {
			d.c.MarkPodRunning(t, ns, name, ip, false)
			break
		}
		return at
	})
	step("scale down to 1", wantHealthy(r, host, 1), func() time.Time {
		at := time.Now()
		d.scale(1)
		return at
	})
	// Without a kubelet the pods scaled away stay terminating: their endpoints are
	// kept, unhealthy, until the pods are gone.
	before := len(r.Endpoints(host, 9080))
	for _, ep := range r.Endpoints(host, 9080) {
		if !ep.Healthy {
			step("a terminating pod goes", func() error {
				if n := len(r.Endpoints(host, 9080)); n != before-1 {
					return fmt.Errorf("%d endpoints, want %d", n, before-1)
				}
				return nil
			}, func() time.Time {
				at := time.Now()
				c.DeletePod(t, ns, ep.Workload)
				return at
			})
			break
		}
	}
}

func wantHealthy(r *kube.Registry, host string, n int) func() error {
	return func() error {
		if got := healthy(r, host, 9080); got != n {
			return fmt.Errorf("%d healthy endpoints, want %d", got, n)
		}
		return nil
	}
}
