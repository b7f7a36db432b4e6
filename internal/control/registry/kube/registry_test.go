package kube

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/weftmesh/weft/internal/control/mesh"
	"github.com/weftmesh/weft/internal/control/registry"
)

// These tests drive the registry with client-go's fake clientset, to pin down the
// conversion and the events; the tests in kube_test run it against a real API server.

func ptr[T any](v T) *T { return &v }

func node(name, region, zone string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{labelRegion: region, labelZone: zone}}}
}

func pod(name, node, sa string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: labels},
		Spec: corev1.PodSpec{NodeName: node, ServiceAccountName: sa}}
}

func reviewsService() *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "reviews", Namespace: "shop"},
		Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10"}, Selector: map[string]string{"app": "reviews"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 9080, TargetPort: intstr.FromString("web")}}}}
}

func sliceEndpoint(ip, podName string, ready, terminating bool) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{Addresses: []string{ip},
		Conditions: discoveryv1.EndpointConditions{Ready: ptr(ready), Serving: ptr(ready || terminating), Terminating: ptr(terminating)},
		TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: "shop", Name: podName}}
}

func reviewsSlice(eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "reviews-abcde", Namespace: "shop", Labels: map[string]string{discoveryv1.LabelServiceName: "reviews"}},
		AddressType: discoveryv1.AddressTypeIPv4, Endpoints: eps,
		Ports: []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(9081)), Protocol: ptr(corev1.ProtocolTCP)}},
	}
}

// start runs a registry over a fake cluster and returns its events.
func start(t *testing.T, objs ...runtime.Object) (*Registry, *fake.Clientset, chan registry.Event) {
	t.Helper()
	cs := fake.NewClientset(objs...)
	r := New(cs, WithTrustDomain("example.org"))
	events := make(chan registry.Event, 100)
	r.Subscribe(func(e registry.Event) { events <- e })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	for deadline := time.Now().Add(5 * time.Second); !r.HasSynced(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("registry did not sync")
		}
	}
	if len(r.Services()) > 0 {
		if ev := <-events; ev.Kind != registry.ServicesChanged {
			t.Fatalf("first event %+v, want ServicesChanged for the initial services", ev)
		}
	}
	return r, cs, events
}

func TestRegistryConverts(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{labelNetwork: "net-1"}}}
	v1 := pod("reviews-v1-a", "node-a", "bookinfo-reviews", map[string]string{"app": "reviews", "version": "v1"})
	v2 := pod("reviews-v2-b", "node-b", "", map[string]string{"app": "reviews", "version": "v2", labelTLSMode: "istio"})
	slice := reviewsSlice(sliceEndpoint("10.1.0.1", "reviews-v1-a", true, false), sliceEndpoint("10.1.0.2", "reviews-v2-b", false, false),
		sliceEndpoint("10.1.0.3", "reviews-v2-c", false, true))
	slice.Endpoints[2].Zone = ptr("zone-c")
	r, _, _ := start(t, ns, node("node-a", "eu", "eu-1"), node("node-b", "eu", "eu-2"), v1, v2, reviewsService(), slice)

	svcs := r.Services()
	if len(svcs) != 1 || svcs[0].Hostname != "reviews.shop.svc.cluster.local" || svcs[0].Ports[0].Protocol != mesh.HTTP {
		t.Fatalf("services = %+v", svcs)
	}
	want := []*mesh.Endpoint{
		{Address: "10.1.0.1", Port: 9081, ServicePort: 9080, Labels: v1.Labels, ServiceAccount: "spiffe://example.org/ns/shop/sa/bookinfo-reviews",
			Locality: mesh.Locality{Region: "eu", Zone: "eu-1"}, Network: "net-1", Weight: 1, Healthy: true, Namespace: "shop",
			Workload: "reviews-v1-a", TLSMode: mesh.TLSModeDisabled},
		{Address: "10.1.0.2", Port: 9081, ServicePort: 9080, Labels: v2.Labels, ServiceAccount: "spiffe://example.org/ns/shop/sa/default",
			Locality: mesh.Locality{Region: "eu", Zone: "eu-2"}, Network: "net-1", Weight: 1, Healthy: false, Namespace: "shop",
			Workload: "reviews-v2-b", TLSMode: mesh.TLSModeIstio},
		// A terminating endpoint whose pod is already gone: what the slice says.
		{Address: "10.1.0.3", Port: 9081, ServicePort: 9080, Locality: mesh.Locality{Zone: "zone-c"}, Network: "net-1",
			Weight: 1, Healthy: false, Namespace: "shop", TLSMode: mesh.TLSModeDisabled},
	}
	if diff := cmp.Diff(want, r.Endpoints("reviews.shop.svc.cluster.local", 9080)); diff != "" {
		t.Errorf("endpoints (-want +got):\n%s", diff)
	}
}

// TestRegistryEvents walks the cluster through changes and checks that endpoint-only
// changes are EndpointsChanged events and service changes ServicesChanged ones.
func TestRegistryEvents(t *testing.T) {
	ctx := context.Background()
	r, cs, events := start(t, node("node-a", "eu", "eu-1"),
		pod("reviews-v1-a", "node-a", "", map[string]string{"app": "reviews"}), reviewsService(),
		reviewsSlice(sliceEndpoint("10.1.0.1", "reviews-v1-a", true, false)))
	host := "reviews.shop.svc.cluster.local"
	endpoints := &registry.Event{Kind: registry.EndpointsChanged, Hosts: []string{host}}
	services := &registry.Event{Kind: registry.ServicesChanged, Hosts: []string{host}}
	steps := []struct {
		name   string
		change func() error
		want   *registry.Event
	}{
		{"the endpoint turns unready", func() error {
			_, err := cs.DiscoveryV1().EndpointSlices("shop").Update(ctx, reviewsSlice(sliceEndpoint("10.1.0.1", "reviews-v1-a", false, false)), metav1.UpdateOptions{})
			return err
		}, endpoints},
		{"an unrelated pod status change", func() error {
			p := pod("reviews-v1-a", "node-a", "", map[string]string{"app": "reviews"})
			p.Status.Message = "still starting"
			_, err := cs.CoreV1().Pods("shop").Update(ctx, p, metav1.UpdateOptions{})
			return err
		}, nil},
		{"the pod's labels change", func() error {
			_, err := cs.CoreV1().Pods("shop").Update(ctx, pod("reviews-v1-a", "node-a", "", map[string]string{"app": "reviews", "version": "v1"}), metav1.UpdateOptions{})
			return err
		}, endpoints},
		{"its node moves zone", func() error {
			_, err := cs.CoreV1().Nodes().Update(ctx, node("node-a", "eu", "eu-3"), metav1.UpdateOptions{})
			return err
		}, endpoints},
		{"a node label nothing reads", func() error {
			n := node("node-a", "eu", "eu-3")
			n.Labels["team"] = "x"
			_, err := cs.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
			return err
		}, nil},
		{"the service gets a port", func() error {
			s := reviewsService()
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "grpc", Port: 9090})
			_, err := cs.CoreV1().Services("shop").Update(ctx, s, metav1.UpdateOptions{})
			return err
		}, services},
		{"the service goes", func() error { return cs.CoreV1().Services("shop").Delete(ctx, "reviews", metav1.DeleteOptions{}) }, services},
	}
	for _, s := range steps {
		if err := s.change(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		select {
		case ev := <-events:
			if s.want == nil || !cmp.Equal(ev, *s.want) {
				t.Errorf("%s: event %+v, want %+v", s.name, ev, s.want)
			}
		case <-time.After(300 * time.Millisecond):
			if s.want != nil {
				t.Errorf("%s: no event, want %+v", s.name, *s.want)
			}
		}
	}
	if len(r.Services()) != 0 {
		t.Errorf("services after delete: %+v", r.Services())
	}
}
