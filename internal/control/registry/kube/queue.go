package kube

import (
	"sync"
)

// queue collects what changed in the cluster until the registry's goroutine takes it:
// the services to rebuild, and the pods, nodes and namespaces whose changes may touch
// endpoints. Adding never blocks.
type queue struct {
	mu     sync.Mutex
	w      work
	signal chan struct{} // capacity 1: pending work
}

// work is one batch of changes, each a set of keys: "namespace/name" for services and
// pods, names for nodes and namespaces. all asks for a rebuild of everything.
type work struct {
	all        bool
	services   map[string]bool
	pods       map[string]bool
	nodes      map[string]bool
	namespaces map[string]bool
}

func newQueue() *queue {
	return &queue{signal: make(chan struct{}, 1)}
}

// markAll asks for a rebuild of every service.
func (q *queue) markAll() {
	q.mu.Lock()
	q.w.all = true
	q.mu.Unlock()
	q.notify()
}

func (q *queue) service(key string)  { q.add(&q.w.services, key) }
func (q *queue) pod(key string)      { q.add(&q.w.pods, key) }
func (q *queue) node(name string)    { q.add(&q.w.nodes, name) }
func (q *queue) namespace(ns string) { q.add(&q.w.namespaces, ns) }

func (q *queue) add(set *map[string]bool, key string) {
	q.mu.Lock()
	if *set == nil {
		*set = map[string]bool{}
	}
	(*set)[key] = true
	q.mu.Unlock()
	q.notify()
}

func (q *queue) notify() {
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// take returns the pending work and empties the queue.
func (q *queue) take() work {
	q.mu.Lock()
	defer q.mu.Unlock()
	w := q.w
	q.w = work{}
	return w
}

// refIndex remembers which pods and nodes each service's endpoints were built from,
// so that a pod's or node's change rebuilds just the services that use it.
type refIndex struct {
	byPod     map[string]map[string]bool // pod key -> service keys
	byNode    map[string]map[string]bool // node name -> service keys
	ofService map[string]refs
}

type refs struct {
	pods, nodes []string
}

func newRefIndex() *refIndex {
	return &refIndex{byPod: map[string]map[string]bool{}, byNode: map[string]map[string]bool{}, ofService: map[string]refs{}}
}

// set records the pods and nodes behind a service, replacing what it had; nil refs
// forget the service.
func (x *refIndex) set(svc string, r refs) {
	old := x.ofService[svc]
	for _, p := range old.pods {
		unlink(x.byPod, p, svc)
	}
	for _, n := range old.nodes {
		unlink(x.byNode, n, svc)
	}
	if len(r.pods) == 0 && len(r.nodes) == 0 {
		delete(x.ofService, svc)
		return
	}
	x.ofService[svc] = r
	for _, p := range r.pods {
		link(x.byPod, p, svc)
	}
	for _, n := range r.nodes {
		link(x.byNode, n, svc)
	}
}

// servicesOf adds to out the services that use the pods and nodes.
func (x *refIndex) servicesOf(out map[string]bool, pods, nodes map[string]bool) {
	for p := range pods {
		for s := range x.byPod[p] {
			out[s] = true
		}
	}
	for n := range nodes {
		for s := range x.byNode[n] {
			out[s] = true
		}
	}
}

func link(m map[string]map[string]bool, k, svc string) {
	if m[k] == nil {
		m[k] = map[string]bool{}
	}
	m[k][svc] = true
}

func unlink(m map[string]map[string]bool, k, svc string) {
	delete(m[k], svc)
	if len(m[k]) == 0 {
		delete(m, k)
	}
}
