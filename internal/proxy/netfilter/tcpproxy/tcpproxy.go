package tcpproxy

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	tcpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	"google.golang.org/protobuf/proto"

	"github.com/weftmesh/weft/internal/proxy/accesslog"
	"github.com/weftmesh/weft/internal/proxy/config"
	"github.com/weftmesh/weft/internal/proxy/connpool"
	"github.com/weftmesh/weft/internal/proxy/lb"
	"github.com/weftmesh/weft/internal/proxy/netfilter"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
	"github.com/weftmesh/weft/internal/proxy/upstream"
	"github.com/weftmesh/weft/internal/stats"
)

// TypeURL is tcp_proxy's config type URL.
const TypeURL = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"

func init() {
	netfilter.Register(netfilter.Registration{
		TypeURL:   TypeURL,
		Names:     []string{"envoy.filters.network.tcp_proxy", "envoy.tcp_proxy"},
		NewConfig: func() proto.Message { return &tcpv3.TcpProxy{} },
		New: func(cfg proto.Message, deps *netfilter.Deps, _ netfilter.Handler) (netfilter.Handler, error) {
			return New(cfg.(*tcpv3.TcpProxy), deps)
		},
		Terminal: true,
	})
	config.Support(&tcpv3.TcpProxy{}, "stat_prefix", "cluster", "weighted_clusters", "idle_timeout",
		"access_log", "max_connect_attempts", "max_downstream_connection_duration")
	config.Support(&tcpv3.TcpProxy_WeightedCluster{}, "clusters")
	config.Support(&tcpv3.TcpProxy_WeightedCluster_ClusterWeight{}, "name", "weight")
}

// Proxy is one configured tcp_proxy.
type Proxy struct {
	clusters    *upstream.Manager
	cluster     string
	weighted    []weighted
	totalWeight uint64
	idle        time.Duration
	maxDuration time.Duration
	attempts    int
	log         accesslog.Logger
	st          proxyStats
}

type weighted struct {
	name   string
	weight uint64
}

type proxyStats struct {
	cxTotal, noRoute, rxBytes, txBytes, idleTimeout, maxDuration *stats.Counter
}

// New builds a tcp_proxy from its config.
func New(cfg *tcpv3.TcpProxy, deps *netfilter.Deps) (*Proxy, error) {
	sc := deps.Stats.Scope("tcp." + cfg.GetStatPrefix() + ".")
	p := &Proxy{clusters: deps.Clusters, cluster: cfg.GetCluster(), idle: time.Hour, attempts: 1,
		st: proxyStats{
			cxTotal: sc.Counter("downstream_cx_total"), noRoute: sc.Counter("downstream_cx_no_route"),
			rxBytes: sc.Counter("downstream_cx_rx_bytes_total"), txBytes: sc.Counter("downstream_cx_tx_bytes_total"),
			idleTimeout: sc.Counter("idle_timeout"), maxDuration: sc.Counter("max_downstream_connection_duration"),
		}}
	for _, w := range cfg.GetWeightedClusters().GetClusters() {
		p.weighted = append(p.weighted, weighted{w.GetName(), uint64(w.GetWeight())})
		p.totalWeight += uint64(w.GetWeight())
	}
	if p.cluster == "" && p.totalWeight == 0 {
		return nil, fmt.Errorf("tcp_proxy: cluster or weighted_clusters is required")
	}
	if d := cfg.GetIdleTimeout(); d != nil {
		p.idle = d.AsDuration()
	}
	if d := cfg.GetMaxDownstreamConnectionDuration(); d != nil {
		p.maxDuration = d.AsDuration()
	}
	if n := cfg.GetMaxConnectAttempts(); n != nil {
		p.attempts = int(n.GetValue())
	}
	var err error
	if p.log, err = accesslog.New(cfg.GetAccessLog(), deps.AccessLogs); err != nil {
		return nil, fmt.Errorf("access_log: %w", err)
	}
	return p, nil
}

// pickCluster returns the cluster name for a connection.
func (p *Proxy) pickCluster() string {
	if p.totalWeight == 0 {
		return p.cluster
	}
	r := rand.Uint64N(p.totalWeight)
	for _, w := range p.weighted {
		if r < w.weight {
			return w.name
		}
		r -= w.weight
	}
	return p.weighted[len(p.weighted)-1].name
}

// ServeConn connects the downstream connection to an upstream host and copies bytes
// until both directions are done or the idle timeout fires.
func (p *Proxy) ServeConn(ctx context.Context, c *netfilter.Conn) {
	info := &streaminfo.Info{Start: time.Now(), Downstream: c.Downstream}
	p.st.cxTotal.Inc()
	defer func() {
		info.End = max(info.Since(), 1)
		p.log.Log(info)
	}()
	name := p.pickCluster()
	cl := p.clusters.Cluster(name)
	if cl == nil {
		p.st.noRoute.Inc()
		info.AddFlag(streaminfo.NoClusterFound)
		return
	}
	info.UpstreamCluster = name
	up, ok := p.connect(ctx, cl, info)
	if !ok {
		return
	}
	defer up.Close()
	s := &session{p: p, down: c, up: up, info: info}
	s.run()
}

// connect opens the upstream connection, trying up to max_connect_attempts hosts.
func (p *Proxy) connect(ctx context.Context, cl *upstream.Cluster, info *streaminfo.Info) (connCloser, bool) {
	for i := 0; i < p.attempts; i++ {
		var h *upstream.Host
		if cl.IsOriginalDst() {
			h = cl.PickOriginal(info.Downstream.LocalAddress)
		} else {
			h = cl.Pick(lb.Context{})
		}
		if h == nil {
			cl.Stats().CxNoneHealthy.Inc()
			info.AddFlag(streaminfo.NoHealthyUpstream)
			return nil, false
		}
		info.UpstreamHost, info.UpstreamHostname = h.Address(), h.Hostname()
		info.Attempts = i + 1
		start := time.Now()
		conn, err := h.TCP().Connect(ctx)
		if err == nil {
			// Outlier detection learns from TCP connections too (Envoy's
			// LOCAL_ORIGIN_CONNECT_SUCCESS_FINAL and connect failures).
			h.Report(upstream.ResultConnectSuccess, 0, time.Since(start))
			info.Mark(&info.FirstUpstreamTxByte)
			return conn, true
		}
		var ce *connpool.ConnectError
		switch {
		case errors.Is(err, connpool.ErrOverflow):
			info.AddFlag(streaminfo.UpstreamOverflow)
			return nil, false
		case errors.As(err, &ce):
			h.Report(upstream.ResultConnectFailed, 0, time.Since(start))
			info.UpstreamTransportFailureReason = ce.Reason()
		}
	}
	info.AddFlag(streaminfo.UpstreamConnectionFailure)
	if p.attempts > 1 {
		info.AddFlag(streaminfo.UpstreamRetryLimitExceeded)
	}
	return nil, false
}
