package leader

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/weftmesh/weft/internal/kubetest"
)

// TestRootCert: the job publishes the root as istio-ca-root-cert in namespaces that
// exist when it starts and in ones created later, fixes a ConfigMap that held another
// root (keeping its other keys), writes it again when it is deleted or edited, skips
// kube-system, and lets a namespace being deleted go without retrying.
func TestRootCert(t *testing.T) {
	noLeaks(t)
	c := kubetest.Shared(t)
	ctx := t.Context()
	existing, stale := c.Namespace(t), c.Namespace(t)
	staleCM := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: RootCertConfigMap, Namespace: stale},
		Data: map[string]string{RootCertKey: "an old root", "extra": "kept"}}
	if _, err := c.Client.CoreV1().ConfigMaps(stale).Create(ctx, staleCM, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	root := fmt.Sprintf("-----BEGIN CERTIFICATE-----\nroot %d\n-----END CERTIFICATE-----\n", time.Now().UnixNano())
	var logs syncBuf
	job := &RootCert{Client: c.Client, Root: []byte(root),
		Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	jctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- job.Run(jctx) }()
	t.Cleanup(func() { // before the namespaces' cleanups
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})

	has := func(ns string) func() error {
		return func() error {
			cm, err := c.Client.CoreV1().ConfigMaps(ns).Get(ctx, RootCertConfigMap, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if cm.Data[RootCertKey] != root {
				return fmt.Errorf("%s/%s %s = %q, want the root", ns, RootCertConfigMap, RootCertKey, cm.Data[RootCertKey])
			}
			return nil
		}
	}
	start := time.Now()
	for _, ns := range []string{existing, stale, "default"} {
		kubetest.Eventually(t, 10*time.Second, has(ns))
	}
	t.Logf("published in the existing namespaces %v after the job started", time.Since(start).Round(time.Millisecond))
	cm, err := c.Client.CoreV1().ConfigMaps(stale).Get(ctx, RootCertConfigMap, metav1.GetOptions{})
	if err != nil || cm.Data["extra"] != "kept" {
		t.Errorf("the stale ConfigMap's other key: %v, %v", cm.Data, err)
	}
	if cm, err := c.Client.CoreV1().ConfigMaps(existing).Get(ctx, RootCertConfigMap, metav1.GetOptions{}); err != nil ||
		cm.Labels["istio.io/config"] != "true" {
		t.Errorf("labels %v (%v), want istio.io/config: true as Istio's", cm.GetLabels(), err)
	}

	created := c.Namespace(t)
	kubetest.Eventually(t, 5*time.Second, has(created))

	start = time.Now()
	if err := c.Client.CoreV1().ConfigMaps(existing).Delete(ctx, RootCertConfigMap, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	kubetest.Eventually(t, 5*time.Second, has(existing))
	t.Logf("a deleted ConfigMap was back after %v", time.Since(start).Round(time.Millisecond))

	cm, err = c.Client.CoreV1().ConfigMaps(created).Get(ctx, RootCertConfigMap, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data[RootCertKey] = "edited"
	if _, err := c.Client.CoreV1().ConfigMaps(created).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	kubetest.Eventually(t, 5*time.Second, has(created))

	if _, err := c.Client.CoreV1().ConfigMaps("kube-system").Get(ctx, RootCertConfigMap, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("kube-system: get %s: %v, want not found", RootCertConfigMap, err)
	}

	// A namespace being deleted: its ConfigMap goes, and the job does not fight it.
	gone := c.Namespace(t)
	kubetest.Eventually(t, 5*time.Second, has(gone))
	if err := c.Client.CoreV1().Namespaces().Delete(ctx, gone, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	kubetest.Eventually(t, 30*time.Second, func() error {
		if _, err := c.Client.CoreV1().Namespaces().Get(ctx, gone, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("namespace %s not deleted yet (%v)", gone, err)
		}
		return nil
	})
	if strings.Contains(logs.String(), gone) {
		t.Errorf("the job retried in the deleted namespace:\n%s", logs.String())
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
