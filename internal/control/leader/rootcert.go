package leader

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// The ConfigMap RootCert publishes in every namespace, with Istio's names: injected
// proxies mount it (volume istiod-ca-cert) at /var/run/secrets/istio and verify the
// control plane's secure xDS port against root-cert.pem.
const (
	RootCertConfigMap = "istio-ca-root-cert"
	RootCertKey       = "root-cert.pem"
)

// rootCertLabels mark the ConfigMap as Istio's namespace controller does.
var rootCertLabels = map[string]string{"istio.io/config": "true"}

// ignoredNamespaces get no ConfigMap: nothing there is injected (Istio skips the same).
var ignoredNamespaces = []string{"kube-system", "kube-public", "kube-node-lease", "local-path-storage"}

// RootCert keeps the ConfigMap istio-ca-root-cert, key root-cert.pem, equal to Root
// (the control plane's CA root, PEM) in every namespace, as istiod's namespace
// controller does. It is a leader's job: Run watches the namespaces and those
// ConfigMaps, creates the ConfigMap in a namespace that lacks it (an existing one or
// a new one), and writes the key back when it is deleted or edited. Other keys of the
// ConfigMap are left alone; terminating namespaces and kube-system, kube-public,
// kube-node-lease and local-path-storage are skipped.
type RootCert struct {
	Client kubernetes.Interface
	Root   []byte
	Log    *slog.Logger
	// Resync is how often every namespace is checked again even without events
	// (default a minute).
	Resync time.Duration
}

// Run keeps the ConfigMaps until ctx ends. Failed writes are retried with backoff.
func (r *RootCert) Run(ctx context.Context) error {
	if r.Log == nil {
		r.Log = slog.New(slog.DiscardHandler)
	}
	if r.Resync == 0 {
		r.Resync = time.Minute
	}
	q := workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{})
	var wg sync.WaitGroup
	defer wg.Wait() // after ctx has ended, which stops the informers and the queue
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() { <-ctx.Done(); q.ShutDown() })
	namespaces, configMaps := r.informers(q)
	wg.Go(func() { namespaces.RunWithContext(ctx) })
	wg.Go(func() { configMaps.RunWithContext(ctx) })
	if !cache.WaitForCacheSync(ctx.Done(), namespaces.HasSynced, configMaps.HasSynced) {
		return nil
	}
	for {
		ns, quit := q.Get()
		if quit {
			return nil
		}
		if err := r.sync(ctx, namespaces.GetStore(), configMaps.GetStore(), ns); err != nil && ctx.Err() == nil {
			r.Log.Warn("CA root ConfigMap: will retry", "namespace", ns, "error", err)
			q.AddRateLimited(ns)
		} else {
			q.Forget(ns)
		}
		q.Done(ns)
	}
}

// informers watch every namespace and the ConfigMaps called RootCertConfigMap; each
// event queues the namespace concerned.
func (r *RootCert) informers(q workqueue.TypedRateLimitingInterface[string]) (namespaces, configMaps cache.SharedIndexInformer) {
	core := r.Client.CoreV1()
	namespaces = cache.NewSharedIndexInformer(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return core.Namespaces().List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return core.Namespaces().Watch(ctx, o)
		},
	}, &corev1.Namespace{}, r.Resync, cache.Indexers{})
	byName := func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("metadata.name", RootCertConfigMap).String()
	}
	configMaps = cache.NewSharedIndexInformer(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			byName(&o)
			return core.ConfigMaps(metav1.NamespaceAll).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			byName(&o)
			return core.ConfigMaps(metav1.NamespaceAll).Watch(ctx, o)
		},
	}, &corev1.ConfigMap{}, 0, cache.Indexers{})
	_, _ = namespaces.AddEventHandler(queueBy(q, func(o metav1.Object) string { return o.GetName() }))
	_, _ = configMaps.AddEventHandler(queueBy(q, func(o metav1.Object) string { return o.GetNamespace() }))
	return namespaces, configMaps
}

// queueBy queues key(object) on every add, update and delete.
func queueBy(q workqueue.TypedRateLimitingInterface[string], key func(metav1.Object) string) cache.ResourceEventHandler {
	add := func(obj any) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		if o, ok := obj.(metav1.Object); ok {
			q.Add(key(o))
		}
	}
	return cache.ResourceEventHandlerFuncs{AddFunc: add, UpdateFunc: func(_, o any) { add(o) }, DeleteFunc: add}
}

// sync makes the namespace's ConfigMap hold Root, reading both from the informers'
// caches. A stale cache costs a conflict or AlreadyExists, retried once the
// informer has caught up.
func (r *RootCert) sync(ctx context.Context, namespaces, configMaps cache.Store, ns string) error {
	obj, ok, err := namespaces.GetByKey(ns)
	if err != nil || !ok || slices.Contains(ignoredNamespaces, ns) {
		return err
	}
	if n := obj.(*corev1.Namespace); n.DeletionTimestamp != nil || n.Status.Phase == corev1.NamespaceTerminating {
		return nil
	}
	api := r.Client.CoreV1().ConfigMaps(ns)
	obj, ok, err = configMaps.GetByKey(ns + "/" + RootCertConfigMap)
	if err != nil {
		return err
	}
	if !ok {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: RootCertConfigMap, Namespace: ns, Labels: rootCertLabels},
			Data: map[string]string{RootCertKey: string(r.Root)}}
		_, err := api.Create(ctx, cm, metav1.CreateOptions{FieldManager: "weft-control"})
		if err == nil {
			r.Log.Info("CA root ConfigMap created", "namespace", ns, "configmap", RootCertConfigMap)
		}
		return ignoreGone(err)
	}
	cm := obj.(*corev1.ConfigMap)
	if cm.Data[RootCertKey] == string(r.Root) {
		return nil
	}
	cm = cm.DeepCopy()
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	cm.Data[RootCertKey] = string(r.Root)
	if _, err := api.Update(ctx, cm, metav1.UpdateOptions{FieldManager: "weft-control"}); err != nil {
		return ignoreGone(err)
	}
	r.Log.Info("CA root ConfigMap written back", "namespace", ns, "configmap", RootCertConfigMap)
	return nil
}

// ignoreGone drops the errors of a namespace that is going away: the API server
// refuses new objects in a terminating namespace (Forbidden) and the informer has
// not seen it terminate yet.
func ignoreGone(err error) error {
	if apierrors.IsForbidden(err) && apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("configmap %s: %w", RootCertConfigMap, err)
	}
	return nil
}
