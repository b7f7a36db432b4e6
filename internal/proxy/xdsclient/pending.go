package xdsclient

import (
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"

	"github.com/weftmesh/weft/internal/proxy/route"
)

// pending holds warming resources: new EDS clusters waiting for their endpoints, and
// listeners waiting for their RDS routes. The client's mutex guards it.
type pending struct {
	clusters  map[string]warmCluster
	listeners map[string]warmListener
	startedAt time.Time // when the client started (ready is bounded by it)
}

type warmCluster struct {
	c     *clusterv3.Cluster
	since time.Time
}

type warmListener struct {
	l     *listenerv3.Listener
	rds   []string
	since time.Time
}

func newPending() pending {
	return pending{clusters: map[string]warmCluster{}, listeners: map[string]warmListener{}, startedAt: time.Now()}
}

func (p *pending) addCluster(c *clusterv3.Cluster) {
	since := time.Now()
	if old, ok := p.clusters[c.GetName()]; ok {
		since = old.since
	}
	p.clusters[c.GetName()] = warmCluster{c: c, since: since}
}

func (p *pending) dropCluster(name string) { delete(p.clusters, name) }

// dropClustersExcept forgets warming clusters an update removed.
func (p *pending) dropClustersExcept(names map[string]bool, full bool, removed []string) {
	for n := range p.clusters {
		if (full && !names[n]) || contains(removed, n) {
			delete(p.clusters, n)
		}
	}
}

// clustersFor takes the warming clusters whose endpoints are published as eds.
func (p *pending) clustersFor(eds string) []*clusterv3.Cluster {
	var out []*clusterv3.Cluster
	for n, w := range p.clusters {
		if EDSName(w.c) == eds {
			out = append(out, w.c)
			delete(p.clusters, n)
		}
	}
	return out
}

func (p *pending) allClusters() []*clusterv3.Cluster {
	out := make([]*clusterv3.Cluster, 0, len(p.clusters))
	for _, w := range p.clusters {
		out = append(out, w.c)
	}
	return out
}

func (p *pending) expiredClusters(timeout time.Duration) []*clusterv3.Cluster {
	var out []*clusterv3.Cluster
	for n, w := range p.clusters {
		if time.Since(w.since) > timeout {
			out = append(out, w.c)
			delete(p.clusters, n)
		}
	}
	return out
}

func (p *pending) addListener(l *listenerv3.Listener, rds []string) {
	since := time.Now()
	if old, ok := p.listeners[l.GetName()]; ok {
		since = old.since
	}
	p.listeners[l.GetName()] = warmListener{l: l, rds: rds, since: since}
}

func (p *pending) dropListener(name string) { delete(p.listeners, name) }

func (p *pending) dropListenersExcept(names map[string]bool, full bool, removed []string) {
	for n := range p.listeners {
		if (full && !names[n]) || contains(removed, n) {
			delete(p.listeners, n)
		}
	}
}

func (p *pending) allListeners() []*listenerv3.Listener {
	out := make([]*listenerv3.Listener, 0, len(p.listeners))
	for _, w := range p.listeners {
		out = append(out, w.l)
	}
	return out
}

// warmListeners takes the listeners whose routes have all arrived (all of them when
// force is set).
func (p *pending) warmListeners(force bool, routes *route.Providers) []*listenerv3.Listener {
	var out []*listenerv3.Listener
	for n, w := range p.listeners {
		ready := true
		for _, r := range w.rds {
			if routes.Get(r).Table() == nil {
				ready = false
			}
		}
		if ready || force {
			out = append(out, w.l)
			delete(p.listeners, n)
		}
	}
	return out
}

func (p *pending) listenersExpired(timeout time.Duration) bool {
	for _, w := range p.listeners {
		if time.Since(w.since) > timeout {
			return true
		}
	}
	return false
}
