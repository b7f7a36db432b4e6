package xdsclient

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"

	"github.com/weftmesh/weft/internal/proxy/hcm"
	"github.com/weftmesh/weft/internal/proxy/route"
)

// apply installs the resources of one update. full means the update is the whole set
// (state of the world for LDS and CDS): resources it lacks are removed. removed lists
// resources a delta update removed.
func (c *Client) apply(ctx context.Context, url string, res []decoded, full bool, removed []string) error {
	switch url {
	case ClusterType:
		return c.applyClusters(ctx, res, full, removed)
	case EndpointType:
		return c.applyEndpoints(ctx, res)
	case ListenerType:
		return c.applyListeners(res, full, removed)
	case RouteType:
		return c.applyRoutes(res)
	case SecretType:
		return c.applySecrets(res, removed)
	}
	return fmt.Errorf("%w: %s", errUnknownType, url)
}

func (c *Client) applyClusters(ctx context.Context, res []decoded, full bool, removed []string) error {
	var errs []error
	names := map[string]bool{}
	for _, r := range res {
		cl := r.msg.(*clusterv3.Cluster)
		names[cl.GetName()] = true
		if cl.GetType() == clusterv3.Cluster_EDS && c.opts.Clusters.Cluster(cl.GetName()) == nil && !c.opts.Clusters.HasEndpoints(EDSName(cl)) {
			c.pending.addCluster(cl) // warms until its endpoints arrive
			continue
		}
		c.pending.dropCluster(cl.GetName())
		if _, err := c.opts.Clusters.AddOrUpdate(ctx, cl, true); err != nil {
			errs = append(errs, err)
		}
	}
	for _, cl := range c.opts.Clusters.Clusters() {
		if cl.AddedViaAPI() && (full && !names[cl.Name()] || contains(removed, cl.Name())) {
			c.opts.Clusters.Remove(cl.Name())
		}
	}
	c.pending.dropClustersExcept(names, full, removed)
	return errors.Join(errs...)
}

func (c *Client) applyEndpoints(ctx context.Context, res []decoded) error {
	var errs []error
	for _, r := range res {
		cla := r.msg.(*endpointv3.ClusterLoadAssignment)
		if err := c.opts.Clusters.SetEndpoints(cla); err != nil {
			errs = append(errs, err)
			continue
		}
		for _, cl := range c.pending.clustersFor(cla.GetClusterName()) {
			if _, err := c.opts.Clusters.AddOrUpdate(ctx, cl, true); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func (c *Client) applyListeners(res []decoded, full bool, removed []string) error {
	var errs []error
	names := map[string]bool{}
	for _, r := range res {
		l := r.msg.(*listenerv3.Listener)
		names[l.GetName()] = true
		if rds := c.missingRoutes(l); len(rds) > 0 {
			c.pending.addListener(l, rds) // warms until its routes arrive
			continue
		}
		c.pending.dropListener(l.GetName())
		if _, err := c.opts.Listeners.AddOrUpdate(l, true); err != nil {
			errs = append(errs, err)
		}
	}
	for _, l := range c.opts.Listeners.Listeners() {
		if l.AddedViaAPI() && (full && !names[l.Name()] || contains(removed, l.Name())) {
			c.opts.Listeners.Remove(l.Name())
		}
	}
	c.pending.dropListenersExcept(names, full, removed)
	return errors.Join(errs...)
}

func (c *Client) applyRoutes(res []decoded) error {
	var errs []error
	for _, r := range res {
		rc := r.msg.(*routev3.RouteConfiguration)
		t, err := route.New(rc, hcm.RouteOptions(c.opts.Runtime))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.opts.Routes.Get(rc.GetName()).Set(t)
	}
	c.activateWarmListeners(false)
	return errors.Join(errs...)
}

func (c *Client) applySecrets(res []decoded, removed []string) error {
	var errs []error
	for _, r := range res {
		if err := c.opts.Secrets.Set(r.msg.(*tlsv3.Secret)); err != nil {
			errs = append(errs, err)
		}
	}
	for _, n := range removed {
		c.opts.Secrets.Remove(n)
	}
	return errors.Join(errs...)
}

// activateWarmListeners adds the pending listeners whose routes have all arrived, or
// every pending listener when force is set (initial fetch timeout).
func (c *Client) activateWarmListeners(force bool) {
	for _, l := range c.pending.warmListeners(force, c.opts.Routes) {
		if _, err := c.opts.Listeners.AddOrUpdate(l, true); err != nil {
			c.log.Error("activating warmed listener failed", "listener", l.GetName(), "error", err)
		}
	}
}

// missingRoutes lists the RDS route configurations a listener needs that have not
// arrived yet.
func (c *Client) missingRoutes(l *listenerv3.Listener) []string {
	var out []string
	for _, n := range RDSNames(l) {
		if c.opts.Routes.Get(n).Table() == nil {
			out = append(out, n)
		}
	}
	return out
}

// RDSNames returns the route configuration names a listener's connection managers
// read from RDS.
func RDSNames(l *listenerv3.Listener) []string {
	var out []string
	chains := append([]*listenerv3.FilterChain{}, l.GetFilterChains()...)
	if l.GetDefaultFilterChain() != nil {
		chains = append(chains, l.GetDefaultFilterChain())
	}
	for _, fc := range chains {
		for _, f := range fc.GetFilters() {
			if f.GetTypedConfig().GetTypeUrl() != hcm.TypeURL {
				continue
			}
			var m hcmv3.HttpConnectionManager
			if f.GetTypedConfig().UnmarshalTo(&m) == nil && m.GetRds() != nil {
				out = append(out, m.GetRds().GetRouteConfigName())
			}
		}
	}
	return out
}

// EDSName is the name a cluster's endpoints are published under.
func EDSName(cl *clusterv3.Cluster) string {
	if n := cl.GetEdsClusterConfig().GetServiceName(); n != "" {
		return n
	}
	return cl.GetName()
}

// subscriptions returns the names the client must subscribe to for EDS and RDS: those
// of every dynamic cluster and listener, active or warming.
func (c *Client) subscriptions() (eds, rds []string) {
	seen := map[string]bool{}
	for _, cl := range c.opts.Clusters.Clusters() {
		if cl.AddedViaAPI() && cl.Config().GetType() == clusterv3.Cluster_EDS {
			eds = appendNew(eds, seen, EDSName(cl.Config()))
		}
	}
	for _, cl := range c.pending.allClusters() {
		eds = appendNew(eds, seen, EDSName(cl))
	}
	seen = map[string]bool{}
	for _, l := range c.opts.Listeners.Listeners() {
		if l.AddedViaAPI() {
			for _, n := range RDSNames(l.Config()) {
				rds = appendNew(rds, seen, n)
			}
		}
	}
	for _, l := range c.pending.allListeners() {
		for _, n := range RDSNames(l) {
			rds = appendNew(rds, seen, n)
		}
	}
	sort.Strings(eds)
	sort.Strings(rds)
	return eds, rds
}

func appendNew(list []string, seen map[string]bool, n string) []string {
	if seen[n] {
		return list
	}
	seen[n] = true
	return append(list, n)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// warmTimeouts activates what has warmed longer than the initial fetch timeout.
func (c *Client) warmTimeouts(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.mu.Lock()
			c.expireWarming(ctx)
			c.mu.Unlock()
		}
	}
}

func (c *Client) expireWarming(ctx context.Context) {
	for _, cl := range c.pending.expiredClusters(c.opts.InitialFetchTimeout) {
		c.log.Warn("cluster activated without endpoints after the initial fetch timeout", "cluster", cl.GetName())
		c.opts.Clusters.AddOrUpdate(ctx, cl, true)
	}
	if c.pending.listenersExpired(c.opts.InitialFetchTimeout) {
		c.log.Warn("listeners activated without routes after the initial fetch timeout")
		c.activateWarmListeners(true)
	}
	if c.pending.startedAt.IsZero() || time.Since(c.pending.startedAt) > c.opts.InitialFetchTimeout {
		c.markReady()
	}
}
