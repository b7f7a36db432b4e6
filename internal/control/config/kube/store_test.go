package kube

import (
	"context"
	"strings"
	"testing"
	"time"

	networkingapi "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	"istio.io/client-go/pkg/clientset/versioned/fake"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/weftmesh/weft/internal/control/config"
)

// These tests drive the store with istio.io/client-go's fake clientset; kube_test runs
// it against a real API server and CRDs.

func virtualService(name string, weight int32) *networkingv1.VirtualService {
	return &networkingv1.VirtualService{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"},
		Spec: networkingapi.VirtualService{Hosts: []string{"reviews"}, Http: []*networkingapi.HTTPRoute{{
			Route: []*networkingapi.HTTPRouteDestination{{Destination: &networkingapi.Destination{Host: "reviews"}, Weight: weight}},
		}}},
	}
}

// startStore runs a store over a fake cluster that serves networking.istio.io/v1 only.
func startStore(t *testing.T) (*Store, *fake.Clientset, chan config.Event) {
	t.Helper()
	cs := fake.NewSimpleClientset()
	var res []metav1.APIResource
	for _, ki := range kinds {
		if ki.groupVersion == "networking.istio.io/v1" {
			res = append(res, metav1.APIResource{Name: ki.resource, Namespaced: true, Kind: string(ki.kind)})
		}
	}
	cs.Resources = []*metav1.APIResourceList{{GroupVersion: "networking.istio.io/v1", APIResources: res}}
	s := New(cs)
	events := make(chan config.Event, 100)
	s.Subscribe(func(e config.Event) { events <- e })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	for deadline := time.Now().Add(5 * time.Second); !s.HasSynced(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("store did not sync")
		}
	}
	return s, cs, events
}

func TestStoreEvents(t *testing.T) {
	s, cs, events := startStore(t)
	vss := cs.NetworkingV1().VirtualServices("shop")
	ctx := context.Background()
	steps := []struct {
		name    string
		change  func() error
		want    []config.EventType
		errs    int
		listLen int
	}{
		{"a valid object", func() error {
			_, err := vss.Create(ctx, virtualService("reviews", 0), metav1.CreateOptions{})
			return err
		},
			[]config.EventType{config.Added}, 0, 1},
		{"a status-only update", func() error {
			vs := virtualService("reviews", 0)
			vs.Status.ObservedGeneration = 3
			_, err := vss.Update(ctx, vs, metav1.UpdateOptions{})
			return err
		}, nil, 0, 1},
		{"an update that breaks it", func() error {
			_, err := vss.Update(ctx, virtualService("reviews", -5), metav1.UpdateOptions{})
			return err
		},
			[]config.EventType{config.Deleted}, 1, 0},
		{"another invalid object", func() error { _, err := vss.Create(ctx, virtualService("bad", -1), metav1.CreateOptions{}); return err },
			nil, 2, 0},
		{"the fix", func() error {
			_, err := vss.Update(ctx, virtualService("reviews", 100), metav1.UpdateOptions{})
			return err
		},
			[]config.EventType{config.Added}, 1, 1},
		{"the invalid object goes", func() error { return vss.Delete(ctx, "bad", metav1.DeleteOptions{}) }, nil, 0, 1},
		{"the valid one goes", func() error { return vss.Delete(ctx, "reviews", metav1.DeleteOptions{}) },
			[]config.EventType{config.Deleted}, 0, 0},
	}
	for _, st := range steps {
		if err := st.change(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		for _, want := range st.want {
			select {
			case ev := <-events:
				if ev.Type != want || ev.Config.Kind != config.VirtualService {
					t.Errorf("%s: event %v %s, want %v", st.name, ev.Type, ev.Config.Key(), want)
				}
			case <-time.After(2 * time.Second):
				t.Fatalf("%s: no event", st.name)
			}
		}
		select {
		case ev := <-events:
			t.Errorf("%s: unexpected event %v %s", st.name, ev.Type, ev.Config.Key())
		case <-time.After(100 * time.Millisecond):
		}
		if got := len(s.Errors()); got != st.errs {
			t.Errorf("%s: %d errors, want %d: %v", st.name, got, st.errs, s.Errors())
		}
		if got := len(s.List(config.VirtualService)); got != st.listLen {
			t.Errorf("%s: %d VirtualServices listed, want %d", st.name, got, st.listLen)
		}
	}
}

func TestStoreErrorNamesTheField(t *testing.T) {
	s, cs, _ := startStore(t)
	if _, err := cs.NetworkingV1().VirtualServices("shop").Create(context.Background(), virtualService("bad", -5), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Second); len(s.Errors()) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no error")
		}
	}
	got := s.Errors()[0].Error()
	if want := "VirtualService shop/bad: spec.http[0].route[0].weight:"; !strings.HasPrefix(got, want) {
		t.Errorf("error %q, want it to start with %q", got, want)
	}
}
