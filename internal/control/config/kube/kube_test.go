package kube_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	metav1alpha1 "istio.io/api/meta/v1alpha1"
	networkingapi "istio.io/api/networking/v1alpha3"
	securityapi "istio.io/api/security/v1beta1"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	"istio.io/client-go/pkg/clientset/versioned"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/config/kube"
	"github.com/weftmesh/weft/internal/kubetest"
)

// These tests run the store and the status writer against a real kube-apiserver with
// Istio's CRDs.

func TestAgainstAPIServer(t *testing.T) {
	c := kubetest.Start(t)
	c.ApplyIstioCRDs(t)
	ic, err := versioned.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	s := kube.New(ic)
	events := make(chan config.Event, 100)
	s.Subscribe(func(e config.Event) { events <- e })
	w := kube.NewStatusWriter(s, ic)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- s.Run(ctx) }()
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	})
	kubetest.Eventually(t, 10*time.Second, func() error {
		if !s.HasSynced() {
			return fmt.Errorf("store not synced")
		}
		return nil
	})
	t.Run("Events", func(t *testing.T) { testEvents(t, c, ic, s, events) })
	t.Run("InvalidObject", func(t *testing.T) { testInvalid(t, c, ic, s, events) })
}

func vs(name string, weight int32, timeout string) *networkingv1.VirtualService {
	v := &networkingv1.VirtualService{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: networkingapi.VirtualService{Hosts: []string{"reviews"}, Http: []*networkingapi.HTTPRoute{{
			Route: []*networkingapi.HTTPRouteDestination{{Destination: &networkingapi.Destination{Host: "reviews", Subset: "v1"}, Weight: weight}},
		}}}}
	if timeout != "" {
		d, _ := time.ParseDuration(timeout)
		v.Spec.Http[0].Timeout = durationpb.New(d)
	}
	return v
}

// next returns the next event, failing after a few seconds.
func next(t *testing.T, events chan config.Event) config.Event {
	t.Helper()
	select {
	case ev := <-events:
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
	return config.Event{}
}

// expect reads events until one for kind/ns/name, and checks its type.
func expect(t *testing.T, events chan config.Event, typ config.EventType, kind config.Kind, ns, name string) config.Event {
	t.Helper()
	for {
		ev := next(t, events)
		if ev.Config.Kind == kind && ev.Config.Namespace == ns && ev.Config.Name == name {
			if ev.Type != typ {
				t.Fatalf("%s %s/%s: event type %v, want %v", kind, ns, name, ev.Type, typ)
			}
			return ev
		}
	}
}

// testEvents: objects created, updated and deleted with client-go are store events,
// with the spec as the API server holds it; a status-only write is not.
func testEvents(t *testing.T, c *kubetest.Cluster, ic versioned.Interface, s *kube.Store, events chan config.Event) {
	ctx := t.Context()
	ns := c.Namespace(t)
	vss := ic.NetworkingV1().VirtualServices(ns)
	created, err := vss.Create(ctx, vs("reviews", 100, ""), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ev := expect(t, events, config.Added, config.VirtualService, ns, "reviews")
	if got := ev.Config.Spec.(*networkingapi.VirtualService).GetHttp()[0].GetRoute()[0].GetDestination().GetSubset(); got != "v1" || ev.Config.Source != "kube" {
		t.Errorf("added config: subset %q, source %q", got, ev.Config.Source)
	}
	created.Spec.Http[0].Timeout = durationpb.New(3 * time.Second)
	updated, err := vss.Update(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ev = expect(t, events, config.Updated, config.VirtualService, ns, "reviews")
	if got := ev.Config.Spec.(*networkingapi.VirtualService).GetHttp()[0].GetTimeout().AsDuration(); got != 3*time.Second {
		t.Errorf("updated timeout %v", got)
	}
	updated.Status.ObservedGeneration = updated.Generation
	if _, err := vss.UpdateStatus(ctx, updated, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	dr := &networkingv1.DestinationRule{ObjectMeta: metav1.ObjectMeta{Name: "reviews"},
		Spec: networkingapi.DestinationRule{Host: "reviews", Subsets: []*networkingapi.Subset{{Name: "v1", Labels: map[string]string{"version": "v1"}}}}}
	if _, err := ic.NetworkingV1().DestinationRules(ns).Create(ctx, dr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The status write came first: had it been an event, expect would see it here.
	if ev := next(t, events); ev.Config.Kind != config.DestinationRule || ev.Type != config.Added {
		t.Fatalf("event %v %s, want the DestinationRule added (and nothing for the status write)", ev.Type, ev.Config.Key())
	}
	ap := &securityv1.AuthorizationPolicy{ObjectMeta: metav1.ObjectMeta{Name: "deny-all"}, Spec: securityapi.AuthorizationPolicy{}}
	if _, err := ic.SecurityV1().AuthorizationPolicies(ns).Create(ctx, ap, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	expect(t, events, config.Added, config.AuthorizationPolicy, ns, "deny-all")
	if err := vss.Delete(ctx, "reviews", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	expect(t, events, config.Deleted, config.VirtualService, ns, "reviews")
	if got := len(s.List(config.DestinationRule)); got != 1 {
		t.Errorf("%d DestinationRules listed, want 1", got)
	}
}

// testInvalid: an invalid VirtualService is left out of the store, its error names
// the field, and the status writer records it on the object; fixed, it joins the store
// and its status says so.
func testInvalid(t *testing.T, c *kubetest.Cluster, ic versioned.Interface, s *kube.Store, events chan config.Event) {
	ctx := t.Context()
	ns := c.Namespace(t)
	vss := ic.NetworkingV1().VirtualServices(ns)
	if _, err := vss.Create(ctx, vs("bad", -5, ""), metav1.CreateOptions{}); err != nil {
		t.Fatalf("the API server refused the object, so it cannot test the store: %v", err)
	}
	wantErr := "VirtualService " + ns + "/bad: spec.http[0].route[0].weight: weight -5 must not be negative"
	var cond string
	kubetest.Eventually(t, 10*time.Second, func() error {
		got, err := vss.Get(ctx, "bad", metav1.GetOptions{})
		if err != nil {
			return err
		}
		cond = conditionString(got.Status.GetConditions(), kube.ConditionAccepted)
		if cond != "False/"+kube.ReasonInvalid+": "+wantErr {
			return fmt.Errorf("condition %q", cond)
		}
		if !hasMessage(got, kube.ValidationCode) {
			return fmt.Errorf("no %s validation message in %v", kube.ValidationCode, got.Status.GetValidationMessages())
		}
		return nil
	})
	t.Logf("status condition: %s", cond)
	errs := s.Errors()
	if len(errs) != 1 || errs[0].Error() != wantErr {
		t.Errorf("store errors %v, want [%s]", errs, wantErr)
	}
	for _, c := range s.List(config.VirtualService) {
		if c.Namespace == ns {
			t.Errorf("invalid object served: %s", c.Key())
		}
	}

	fixed, err := vss.Get(ctx, "bad", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fixed.Spec.Http[0].Route[0].Weight = 100
	if _, err := vss.Update(ctx, fixed, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	expect(t, events, config.Added, config.VirtualService, ns, "bad")
	kubetest.Eventually(t, 10*time.Second, func() error {
		got, err := vss.Get(ctx, "bad", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cond := conditionString(got.Status.GetConditions(), kube.ConditionAccepted); cond != "True/"+kube.ReasonAccepted+": " {
			return fmt.Errorf("condition %q", cond)
		}
		if hasMessage(got, kube.ValidationCode) {
			return fmt.Errorf("validation message %s still there", kube.ValidationCode)
		}
		return nil
	})
	if len(s.Errors()) != 0 {
		t.Errorf("store errors after the fix: %v", s.Errors())
	}
}

func conditionString(conds []*metav1alpha1.IstioCondition, typ string) string {
	for _, c := range conds {
		if c.GetType() == typ {
			return c.GetStatus() + "/" + c.GetReason() + ": " + c.GetMessage()
		}
	}
	return ""
}

func hasMessage(v *networkingv1.VirtualService, code string) bool {
	for _, m := range v.Status.GetValidationMessages() {
		if strings.EqualFold(m.GetType().GetCode(), code) {
			return true
		}
	}
	return false
}
