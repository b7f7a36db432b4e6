package kube

import (
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	listerscorev1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// Labels the registry reads.
const (
	labelRegion        = "topology.kubernetes.io/region"
	labelZone          = "topology.kubernetes.io/zone"
	labelSubZone       = "topology.istio.io/subzone"
	labelNetwork       = "topology.istio.io/network"
	labelLocality      = "istio-locality" // a pod's locality as "region.zone.subzone"
	labelTLSMode       = "security.istio.io/tlsMode"
	annotationExportTo = "networking.istio.io/exportTo"
)

// sliceServiceIndex indexes EndpointSlices by "namespace/service".
const sliceServiceIndex = "service"

// informerSet is the registry's view of the cluster: one informer per kind it reads.
type informerSet struct {
	services   listerscorev1.ServiceLister
	slices     cache.Indexer
	pods       listerscorev1.PodLister
	nodes      listerscorev1.NodeLister
	namespaces listerscorev1.NamespaceLister
	hasSynced  []cache.InformerSynced
}

// newInformerSet makes the informers, slims what they keep, and points their events
// at the queue. The factory must not have started.
func newInformerSet(f informers.SharedInformerFactory, q *queue) (*informerSet, error) {
	svcs, eps := f.Core().V1().Services(), f.Discovery().V1().EndpointSlices()
	pods, nodes, nss := f.Core().V1().Pods(), f.Core().V1().Nodes(), f.Core().V1().Namespaces()
	in := &informerSet{services: svcs.Lister(), slices: eps.Informer().GetIndexer(), pods: pods.Lister(),
		nodes: nodes.Lister(), namespaces: nss.Lister()}
	if err := eps.Informer().AddIndexers(cache.Indexers{sliceServiceIndex: sliceServiceKeys}); err != nil {
		return nil, fmt.Errorf("endpoint slice index: %w", err)
	}
	setups := []struct {
		informer  cache.SharedIndexInformer
		transform cache.TransformFunc
		handler   cache.ResourceEventHandler
	}{
		{svcs.Informer(), stripManagedFields, serviceHandler(q)},
		{eps.Informer(), stripManagedFields, sliceHandler(q)},
		{pods.Informer(), slimPod, podHandler(q)},
		{nodes.Informer(), slimNode, labelHandler(q.node, labelRegion, labelZone, labelSubZone)},
		{nss.Informer(), slimNamespace, labelHandler(q.namespace, labelNetwork)},
	}
	for _, s := range setups {
		if err := s.informer.SetTransform(s.transform); err != nil {
			return nil, err
		}
		if _, err := s.informer.AddEventHandler(s.handler); err != nil {
			return nil, err
		}
		in.hasSynced = append(in.hasSynced, s.informer.HasSynced)
	}
	return in, nil
}

// slicesOf returns the EndpointSlices of a service.
func (in *informerSet) slicesOf(svcKey string) []*discoveryv1.EndpointSlice {
	objs, _ := in.slices.ByIndex(sliceServiceIndex, svcKey)
	out := make([]*discoveryv1.EndpointSlice, 0, len(objs))
	for _, o := range objs {
		if s, ok := o.(*discoveryv1.EndpointSlice); ok {
			out = append(out, s)
		}
	}
	return out
}

// sliceServiceKeys indexes a slice under its service (label kubernetes.io/service-name).
func sliceServiceKeys(obj any) ([]string, error) {
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok || s.Labels[discoveryv1.LabelServiceName] == "" {
		return nil, nil
	}
	return []string{s.Namespace + "/" + s.Labels[discoveryv1.LabelServiceName]}, nil
}

// serviceHandler queues a service on every change.
func serviceHandler(q *queue) cache.ResourceEventHandler {
	enqueue := func(obj any) {
		if m, ok := metaOf(obj); ok {
			q.service(m.GetNamespace() + "/" + m.GetName())
		}
	}
	return cache.ResourceEventHandlerFuncs{AddFunc: enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) }, DeleteFunc: enqueue}
}

// sliceHandler queues the service of a changed EndpointSlice (both, if the slice
// moved from one service to another).
func sliceHandler(q *queue) cache.ResourceEventHandler {
	enqueue := func(obj any) {
		if keys, _ := sliceServiceKeys(unwrap(obj)); len(keys) == 1 {
			q.service(keys[0])
		}
	}
	return cache.ResourceEventHandlerFuncs{AddFunc: enqueue,
		UpdateFunc: func(old, obj any) { enqueue(old); enqueue(obj) }, DeleteFunc: enqueue}
}

// podHandler queues a pod when something an endpoint takes from it changes: labels,
// service account, node, addresses, readiness; or when it comes or goes.
func podHandler(q *queue) cache.ResourceEventHandler {
	enqueue := func(obj any) {
		if m, ok := metaOf(obj); ok {
			q.pod(m.GetNamespace() + "/" + m.GetName())
		}
	}
	return cache.ResourceEventHandlerFuncs{AddFunc: enqueue,
		UpdateFunc: func(old, obj any) {
			o, ok1 := old.(*corev1.Pod)
			n, ok2 := obj.(*corev1.Pod)
			if !ok1 || !ok2 || podChanged(o, n) {
				enqueue(obj)
			}
		}, DeleteFunc: enqueue}
}

// podChanged reports whether two versions of a pod differ in what endpoints use.
func podChanged(a, b *corev1.Pod) bool {
	return !maps.Equal(a.Labels, b.Labels) || a.Spec.ServiceAccountName != b.Spec.ServiceAccountName ||
		a.Spec.NodeName != b.Spec.NodeName || a.Status.PodIP != b.Status.PodIP ||
		podReady(a) != podReady(b) || (a.DeletionTimestamp == nil) != (b.DeletionTimestamp == nil)
}

// podReady reports the pod's Ready condition.
func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// labelHandler queues an object by name when it comes, goes, or one of the labels
// changes.
func labelHandler(enqueue func(string), labels ...string) cache.ResourceEventHandler {
	byName := func(obj any) {
		if m, ok := metaOf(obj); ok {
			enqueue(m.GetName())
		}
	}
	return cache.ResourceEventHandlerFuncs{AddFunc: byName,
		UpdateFunc: func(old, obj any) {
			o, ok1 := metaOf(old)
			n, ok2 := metaOf(obj)
			if !ok1 || !ok2 {
				return
			}
			for _, l := range labels {
				if o.GetLabels()[l] != n.GetLabels()[l] {
					byName(obj)
					return
				}
			}
		}, DeleteFunc: byName}
}

// unwrap returns the object inside a deletion tombstone.
func unwrap(obj any) any {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return t.Obj
	}
	return obj
}

func metaOf(obj any) (metav1.Object, bool) {
	m, ok := unwrap(obj).(metav1.Object)
	return m, ok
}

// stripManagedFields drops managedFields, which the registry never reads.
func stripManagedFields(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

// slimPod keeps what endpoints take from a pod: its name, labels, service account,
// node, addresses and conditions.
func slimPod(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, UID: p.UID, Labels: p.Labels,
			ResourceVersion: p.ResourceVersion, DeletionTimestamp: p.DeletionTimestamp, OwnerReferences: p.OwnerReferences},
		Spec: corev1.PodSpec{ServiceAccountName: p.Spec.ServiceAccountName, NodeName: p.Spec.NodeName,
			Hostname: p.Spec.Hostname, Subdomain: p.Spec.Subdomain},
		Status: corev1.PodStatus{Phase: p.Status.Phase, PodIP: p.Status.PodIP, PodIPs: p.Status.PodIPs,
			Conditions: p.Status.Conditions},
	}, nil
}

// slimNode keeps a node's name and labels.
func slimNode(obj any) (any, error) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil
	}
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.Name, UID: n.UID, Labels: n.Labels,
		ResourceVersion: n.ResourceVersion}}, nil
}

// slimNamespace keeps a namespace's name and labels.
func slimNamespace(obj any) (any, error) {
	n, ok := obj.(*corev1.Namespace)
	if !ok {
		return obj, nil
	}
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n.Name, UID: n.UID, Labels: n.Labels,
		ResourceVersion: n.ResourceVersion}}, nil
}
