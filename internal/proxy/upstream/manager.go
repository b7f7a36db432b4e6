package upstream

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/proto"

	"github.com/weftmesh/weft/internal/stats"
)

// Resolver looks up host names for DNS clusters; *net.Resolver implements it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Options configure a Manager.
type Options struct {
	Stats *stats.Store
	// ClientTLS builds the TLS config of clusters with an UpstreamTlsContext.
	ClientTLS func(*tlsv3.UpstreamTlsContext) (*tls.Config, error)
	// Resolver defaults to net.DefaultResolver.
	Resolver Resolver
	Log      *slog.Logger
	// DeferStats creates a cluster's traffic stats when it first carries traffic
	// (the bootstrap's deferred_stat_options.enable_deferred_creation_stats).
	DeferStats bool
}

// Manager owns the proxy's clusters. Cluster lookups are lock-free; changes are
// serialised and swap in a new cluster map.
type Manager struct {
	opts  Options
	store *stats.Store
	log   *slog.Logger

	mu       sync.Mutex // serialises changes
	clusters atomic.Pointer[map[string]*Cluster]
	// eds holds the last assignment per EDS service, marshalled: a cluster added or
	// replaced later starts from it, and bytes are a tenth of the decoded message.
	eds map[string][]byte

	st managerStats
}

type managerStats struct {
	added, modified, removed, updated *stats.Counter
	active, warming                   *stats.Gauge
}

// NewManager returns a manager without clusters.
func NewManager(opts Options) *Manager {
	if opts.Resolver == nil {
		opts.Resolver = net.DefaultResolver
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	sc := opts.Stats.Scope("cluster_manager.")
	m := &Manager{opts: opts, store: opts.Stats, log: opts.Log, eds: map[string][]byte{}}
	m.st = managerStats{
		added: sc.Counter("cluster_added"), modified: sc.Counter("cluster_modified"),
		removed: sc.Counter("cluster_removed"), updated: sc.Counter("cluster_updated"),
		active: sc.Gauge("active_clusters"), warming: sc.Gauge("warming_clusters"),
	}
	empty := map[string]*Cluster{}
	m.clusters.Store(&empty)
	return m
}

// Cluster returns the named cluster, or nil.
func (m *Manager) Cluster(name string) *Cluster { return (*m.clusters.Load())[name] }

// Clusters returns every cluster, sorted by name.
func (m *Manager) Clusters() []*Cluster {
	cs := *m.clusters.Load()
	out := make([]*Cluster, 0, len(cs))
	for _, c := range cs {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// AddOrUpdate adds a cluster or replaces the one with the same name. A cluster whose
// config did not change is left alone. Requests in flight on a replaced cluster finish
// on it; its idle connections are closed.
func (m *Manager) AddOrUpdate(ctx context.Context, cfg *clusterv3.Cluster, viaAPI bool) (changed bool, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.Cluster(cfg.GetName())
	if old != nil && proto.Equal(old.config, cfg) {
		return false, nil
	}
	c, err := m.build(cfg, viaAPI)
	if err != nil {
		return false, fmt.Errorf("cluster %q: %w", cfg.GetName(), err)
	}
	if err := m.initHosts(ctx, c, old); err != nil {
		return false, fmt.Errorf("cluster %q: %w", cfg.GetName(), err)
	}
	m.swap(func(cs map[string]*Cluster) { cs[c.name] = c })
	c.startHealth()
	if old != nil {
		m.st.modified.Inc()
		old.close()
	} else {
		m.st.added.Inc()
	}
	return true, nil
}

// Remove removes a cluster and reports whether it existed.
func (m *Manager) Remove(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.Cluster(name)
	if old == nil {
		return false
	}
	m.swap(func(cs map[string]*Cluster) { delete(cs, name) })
	m.st.removed.Inc()
	old.close()
	return true
}

// swap installs a copy of the cluster map changed by edit. m.mu is held.
func (m *Manager) swap(edit func(map[string]*Cluster)) {
	cur := *m.clusters.Load()
	next := make(map[string]*Cluster, len(cur)+1)
	for k, v := range cur {
		next[k] = v
	}
	edit(next)
	m.clusters.Store(&next)
	m.st.active.Set(int64(len(next)))
}

// initHosts gives a new cluster its first membership. m.mu is held.
func (m *Manager) initHosts(ctx context.Context, c *Cluster, old *Cluster) error {
	cfg := c.config
	switch c.kind {
	case kindOriginalDst:
		c.origDst = newOrigDst(c, cfg)
		return c.setHosts(nil)
	case kindEDS:
		raw, ok := m.eds[edsName(cfg)] // m.mu is held
		if !ok {
			return c.setHosts(nil)
		}
		cla := &endpointv3.ClusterLoadAssignment{}
		if err := proto.Unmarshal(raw, cla); err != nil {
			return fmt.Errorf("stored assignment %q: %w", edsName(cfg), err)
		}
		eps, err := parseEndpoints(cla)
		if err != nil {
			return err
		}
		c.setPolicy(cla.GetPolicy())
		return c.setEndpoints(eps)
	}
	eps, err := parseEndpoints(cfg.GetLoadAssignment())
	if err != nil {
		return fmt.Errorf("load_assignment: %w", err)
	}
	c.endpoints = eps
	if c.kind == kindStatic {
		return c.setEndpoints(eps)
	}
	c.dns = newDNS(cfg)
	if err := c.setHosts(nil); err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	m.resolve(rctx, c)
	return nil
}

// SetEndpoints applies an EDS ClusterLoadAssignment to the cluster(s) it names.
func (m *Manager) SetEndpoints(cla *endpointv3.ClusterLoadAssignment) error {
	eps, err := parseEndpoints(cla)
	if err != nil {
		return fmt.Errorf("cluster load assignment %q: %w", cla.GetClusterName(), err)
	}
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(cla)
	if err != nil {
		return fmt.Errorf("cluster load assignment %q: %w", cla.GetClusterName(), err)
	}
	m.mu.Lock()
	prev, known := m.eds[cla.GetClusterName()]
	m.eds[cla.GetClusterName()] = raw
	m.mu.Unlock()
	if known && bytes.Equal(prev, raw) {
		// A state-of-the-world push resends every assignment: the clusters already
		// have this one (clusters made since took it from m.eds).
		return nil
	}
	for _, c := range *m.clusters.Load() {
		if c.kind == kindEDS && edsName(c.config) == cla.GetClusterName() {
			c.info.UpdateAttempt.Inc()
			c.setPolicy(cla.GetPolicy())
			if err := c.setEndpoints(eps); err != nil {
				c.info.UpdateFailure.Inc()
				return err
			}
			c.info.UpdateSuccess.Inc()
			if len(eps) == 0 {
				c.info.UpdateEmpty.Inc()
			}
			m.st.updated.Inc()
		}
	}
	return nil
}

// edsName is the name EDS knows the cluster by.
func edsName(cfg *clusterv3.Cluster) string {
	if n := cfg.GetEdsClusterConfig().GetServiceName(); n != "" {
		return n
	}
	return cfg.GetName()
}

// Run refreshes DNS clusters and cleans up idle original-destination hosts until ctx ends.
func (m *Manager) Run(ctx context.Context) error {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			for _, c := range *m.clusters.Load() {
				if c.dns != nil && c.dns.due(now) {
					go m.resolve(ctx, c)
				}
				if c.origDst != nil {
					c.origDst.cleanup(now)
				}
			}
		}
	}
}

// Close closes every cluster's pools.
func (m *Manager) Close() {
	for _, c := range *m.clusters.Load() {
		c.close()
	}
}

// HasEndpoints reports whether an EDS assignment for the service name has arrived.
func (m *Manager) HasEndpoints(edsName string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.eds[edsName]
	return ok
}
