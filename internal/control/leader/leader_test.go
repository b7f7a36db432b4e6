package leader

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/weftmesh/weft/internal/inject/webhook"
	"github.com/weftmesh/weft/internal/kubetest"
)

func TestMain(m *testing.M) { kubetest.Main(m) }

// noLeaks checks, once t's other cleanups have run, that no goroutine of the package
// or of client-go's leader election is left.
func noLeaks(t *testing.T) {
	t.Cleanup(func() {
		kubetest.Eventually(t, 5*time.Second, func() error {
			buf := make([]byte, 1<<20)
			stacks := string(buf[:runtime.Stack(buf, true)])
			for _, g := range strings.Split(stacks, "\n\n")[1:] { // the first is this one
				if strings.Contains(g, "leader.(*") || strings.Contains(g, "tools/leaderelection") ||
					strings.Contains(g, "leader.TestCABundle") || strings.Contains(g, "leader.TestRootCert") {
					return fmt.Errorf("goroutine left:\n%s", g)
				}
			}
			return nil
		})
	})
}

// replica is an Elector whose job records that it runs.
type replica struct {
	e       *Elector
	running atomic.Bool
	terms   atomic.Int32
	cancel  context.CancelFunc
	done    chan struct{}
}

func startReplica(t *testing.T, c *kubetest.Cluster, ns, id string) *replica {
	t.Helper()
	r := &replica{done: make(chan struct{})}
	job := func(ctx context.Context) error {
		r.terms.Add(1)
		r.running.Store(true)
		defer r.running.Store(false)
		<-ctx.Done()
		return nil
	}
	var err error
	r.e, err = New(Options{Client: c.Client, Namespace: ns, Name: "istio-leader", Identity: id,
		LeaseDuration: 2 * time.Second, RenewDeadline: 1500 * time.Millisecond, RetryPeriod: 200 * time.Millisecond}, job)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.e.Run(ctx); close(r.done) }()
	t.Cleanup(r.stop)
	return r
}

func (r *replica) stop() { r.cancel(); <-r.done }

func holder(t *testing.T, c *kubetest.Cluster, ns string) string {
	l, err := c.Client.CoordinationV1().Leases(ns).Get(t.Context(), "istio-leader", metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// TestElector: of two replicas one leads and runs the job; when it stops (giving the
// Lease up) the other takes over; the job never runs on both at once.
func TestElector(t *testing.T) {
	noLeaks(t)
	c := kubetest.Shared(t)
	ns := c.Namespace(t)
	a := startReplica(t, c, ns, "a")
	kubetest.Eventually(t, 10*time.Second, func() error {
		if !a.running.Load() || !a.e.Leading() || holder(t, c, ns) != "a" {
			return fmt.Errorf("a is not leading (holder %q)", holder(t, c, ns))
		}
		return nil
	})
	b := startReplica(t, c, ns, "b")

	var both atomic.Bool
	stopWatch := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stopWatch:
				return
			case <-time.After(5 * time.Millisecond):
				if a.running.Load() && b.running.Load() {
					both.Store(true)
				}
			}
		}
	})
	time.Sleep(3 * time.Second) // longer than the lease: b must not take over a lease a renews
	if b.running.Load() || b.e.Leading() || holder(t, c, ns) != "a" {
		t.Fatalf("b leads beside a (holder %q)", holder(t, c, ns))
	}
	start := time.Now()
	a.stop()
	if a.running.Load() || a.e.Leading() {
		t.Error("a's job runs after a stopped")
	}
	kubetest.Eventually(t, 10*time.Second, func() error {
		if !b.running.Load() || holder(t, c, ns) != "b" {
			return fmt.Errorf("b is not leading (holder %q)", holder(t, c, ns))
		}
		return nil
	})
	// a gave the Lease up on the way out: b did not wait for it to expire.
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("b took over after %v; a released the lease, so within a retry period or two", d)
	}
	close(stopWatch)
	wg.Wait()
	if both.Load() {
		t.Error("the job ran on both replicas at once")
	}
	if n := b.terms.Load(); n != 1 {
		t.Errorf("b's job started %d times, want 1", n)
	}
}

func TestNewRequires(t *testing.T) {
	if _, err := New(Options{Namespace: "ns", Name: "l", Identity: "a"}); err == nil {
		t.Error("no client accepted")
	}
}

// TestCABundle: the job writes the root into every webhook of both configurations,
// writes it again when someone clears it, and into a configuration created later.
func TestCABundle(t *testing.T) {
	noLeaks(t)
	c := kubetest.Shared(t)
	api := c.Client.AdmissionregistrationV1()
	ctx := t.Context()
	name := "cabundle-" + fmt.Sprint(time.Now().UnixNano())
	mutating, err := webhook.Configuration(name, "default", webhook.Target{URL: "https://127.0.0.1:1/inject"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Nothing is sent to these webhooks: they select namespaces no test has.
	for i := range mutating.Webhooks {
		mutating.Webhooks[i].NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"cabundle-test": name}}
	}
	if _, err := api.MutatingWebhookConfigurations().Create(ctx, mutating, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = api.MutatingWebhookConfigurations().Delete(context.Background(), name, metav1.DeleteOptions{})
		_ = api.ValidatingWebhookConfigurations().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	root := []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
	job := &CABundle{Client: c.Client, Mutating: []string{name}, Validating: []string{name}, Bundle: root}
	jctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- job.Run(jctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	mutatingHas := func() error {
		m, err := api.MutatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, h := range m.Webhooks {
			if !bytes.Equal(h.ClientConfig.CABundle, root) {
				return fmt.Errorf("webhook %s caBundle %q", h.Name, h.ClientConfig.CABundle)
			}
		}
		return nil
	}
	kubetest.Eventually(t, 5*time.Second, mutatingHas)

	m, err := api.MutatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m.Webhooks[2].ClientConfig.CABundle = nil
	if _, err := api.MutatingWebhookConfigurations().Update(ctx, m, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	kubetest.Eventually(t, 5*time.Second, mutatingHas)

	fail, none := admissionregistrationv1.Fail, admissionregistrationv1.SideEffectClassNone
	url := "https://127.0.0.1:1/validate"
	v := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: "rev.validation.istio.io",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url}, FailurePolicy: &fail, SideEffects: &none,
			AdmissionReviewVersions: []string{"v1"},
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"cabundle-test": name}}}}}
	if _, err := api.ValidatingWebhookConfigurations().Create(ctx, v, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kubetest.Eventually(t, 5*time.Second, func() error {
		v, err := api.ValidatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !bytes.Equal(v.Webhooks[0].ClientConfig.CABundle, root) {
			return fmt.Errorf("validating caBundle %q", v.Webhooks[0].ClientConfig.CABundle)
		}
		return nil
	})
}
