package upstream

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/weftmesh/weft/internal/proxy/config"
	"github.com/weftmesh/weft/internal/proxy/connpool"
	"github.com/weftmesh/weft/internal/proxy/lb"
	"github.com/weftmesh/weft/internal/stats"
)

func init() {
	config.Support(&clusterv3.Cluster{}, "name", "alt_stat_name", "type", "connect_timeout", "lb_policy",
		"load_assignment", "circuit_breakers", "typed_extension_protocol_options", "http2_protocol_options",
		"http_protocol_options", "common_http_protocol_options", "max_requests_per_connection",
		"transport_socket", "dns_lookup_family", "dns_refresh_rate", "eds_cluster_config",
		"per_connection_buffer_limit_bytes", "cleanup_interval", "original_dst_lb_config",
		"common_lb_config", "least_request_lb_config", "round_robin_lb_config", "ring_hash_lb_config", "maglev_lb_config", "metadata",
		"upstream_bind_config")
	config.Support(&corev3.BindConfig{}, "source_address")
	config.Support(&clusterv3.CircuitBreakers{}, "thresholds")
	config.Support(&clusterv3.CircuitBreakers_Thresholds{}, "priority", "max_connections", "max_pending_requests",
		"max_requests", "max_retries", "track_remaining") // not max_connection_pools: weft has one pool per host and protocol, unbounded
	config.Support(&clusterv3.Cluster_EdsClusterConfig{}, "eds_config", "service_name")
	config.Support(&clusterv3.Cluster_OriginalDstLbConfig{}, "use_http_header", "http_header_name", "upstream_port_override")
	config.Support(&corev3.ConfigSource{}, "ads", "resource_api_version", "initial_fetch_timeout")
	config.SupportAll(&corev3.AggregatedConfigSource{})
	config.Support(&corev3.TransportSocket{}, "name", "typed_config")
	config.Support(&httpv3.HttpProtocolOptions{}, "explicit_http_config", "use_downstream_protocol_config", "common_http_protocol_options")
	config.Support(&httpv3.HttpProtocolOptions_ExplicitHttpConfig{}, "http_protocol_options", "http2_protocol_options")
	config.Support(&httpv3.HttpProtocolOptions_UseDownstreamHttpConfig{}, "http_protocol_options", "http2_protocol_options")
	config.Support(&corev3.HttpProtocolOptions{}, "idle_timeout", "max_requests_per_connection", "max_headers_count")
	config.Support(&corev3.Http1ProtocolOptions{})
	config.Support(&corev3.Http2ProtocolOptions{}, "max_concurrent_streams", "initial_stream_window_size", "initial_connection_window_size")
}

const httpOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"

// build turns a Cluster into a runtime cluster, without hosts yet.
func (m *Manager) build(cfg *clusterv3.Cluster, viaAPI bool) (*Cluster, error) {
	c := &Cluster{name: cfg.GetName(), config: cfg, addedViaAPI: viaAPI, created: time.Now()}
	scope := scopeFor(m.store, cfg)
	c.scope, c.info = scope, newInfoStats(scope)
	if !m.opts.DeferStats {
		c.traffic.Store(newStats(scope))
	}
	var err error
	if c.kind, err = clusterKind(cfg); err != nil {
		return nil, err
	}
	if c.kind == kindOriginalDst {
		// Hosts are the connections' original destinations: there is nothing to balance.
		if p := cfg.GetLbPolicy(); p != clusterv3.Cluster_CLUSTER_PROVIDED && p != clusterv3.Cluster_ROUND_ROBIN {
			return nil, fmt.Errorf("lb_policy: ORIGINAL_DST clusters need CLUSTER_PROVIDED, not %s", p)
		}
	} else if c.lbKind, c.lbOpts, err = lb.FromCluster(cfg); err != nil {
		return nil, err
	}
	c.opts.connectTimeout = 5 * time.Second
	if d := cfg.GetConnectTimeout(); d != nil {
		c.opts.connectTimeout = d.AsDuration()
	}
	c.opts.idleTimeout = time.Hour
	if c.opts.bind, err = bindAddress(cfg.GetUpstreamBindConfig()); err != nil {
		return nil, fmt.Errorf("upstream_bind_config: %w", err)
	}
	c.breakers = breakers(cfg.GetCircuitBreakers(), scope, m.opts.DeferStats)
	if err := c.protocolOptions(cfg); err != nil {
		return nil, err
	}
	if c.tls, err = m.transportSocket(cfg.GetTransportSocket()); err != nil {
		return nil, fmt.Errorf("transport_socket: %w", err)
	}
	if err := c.buildHealth(cfg, scope); err != nil { // outlier_detection, health_checks
		return nil, err
	}
	return c, nil
}

// bindAddress is the local address upstream connections are made from (Istio binds
// the inbound passthrough to 127.0.0.6 so that iptables lets it reach the app).
func bindAddress(b *corev3.BindConfig) (net.Addr, error) {
	if b == nil {
		return nil, nil
	}
	sa := b.GetSourceAddress()
	ip, err := netip.ParseAddr(sa.GetAddress())
	if err != nil {
		return nil, fmt.Errorf("source_address.address: %w", err)
	}
	if sa.GetPortValue() > 65535 {
		return nil, fmt.Errorf("source_address.port_value: %d is not a port", sa.GetPortValue())
	}
	return &net.TCPAddr{IP: ip.AsSlice(), Port: int(sa.GetPortValue())}, nil
}

func clusterKind(cfg *clusterv3.Cluster) (kind, error) {
	if cfg.GetClusterType() != nil {
		return 0, fmt.Errorf("cluster_type: custom cluster types are not supported")
	}
	switch cfg.GetType() {
	case clusterv3.Cluster_STATIC:
		return kindStatic, nil
	case clusterv3.Cluster_STRICT_DNS:
		return kindStrictDNS, nil
	case clusterv3.Cluster_LOGICAL_DNS:
		return kindLogicalDNS, nil
	case clusterv3.Cluster_ORIGINAL_DST:
		return kindOriginalDst, nil
	case clusterv3.Cluster_EDS:
		return kindEDS, nil
	}
	return 0, fmt.Errorf("type: %s is not supported", cfg.GetType())
}

// breakers builds the default and high priority circuit breakers, Envoy's defaults
// where a threshold is not set.
func breakers(cb *clusterv3.CircuitBreakers, scope stats.Scope, deferStats bool) [2]*connpool.Breaker {
	var out [2]*connpool.Breaker
	for i, p := range []corev3.RoutingPriority{corev3.RoutingPriority_DEFAULT, corev3.RoutingPriority_HIGH} {
		t := connpool.DefaultThresholds
		track := false
		for _, th := range cb.GetThresholds() {
			if th.GetPriority() != p {
				continue
			}
			set(&t.MaxConnections, th.GetMaxConnections())
			set(&t.MaxPendingRequests, th.GetMaxPendingRequests())
			set(&t.MaxRequests, th.GetMaxRequests())
			set(&t.MaxRetries, th.GetMaxRetries())
			track = th.GetTrackRemaining()
		}
		name := "default."
		if i == 1 {
			name = "high."
		}
		out[i] = connpool.NewBreaker(t, scope.Scope("circuit_breakers."+name), track, deferStats)
	}
	return out
}

func set(dst *int64, v interface{ GetValue() uint32 }) {
	if w, ok := v.(*wrapperspb.UInt32Value); ok && w != nil {
		*dst = int64(w.GetValue())
	}
}

// protocolOptions reads the upstream HTTP protocol and per-connection limits.
func (c *Cluster) protocolOptions(cfg *clusterv3.Cluster) error {
	if err := upstreamOptionsSupported(cfg); err != nil {
		return err
	}
	common := cfg.GetCommonHttpProtocolOptions()
	if h2 := cfg.GetHttp2ProtocolOptions(); h2 != nil {
		c.protocol = HTTP2
		c.opts.maxConcurrentStreams = int64(h2.GetMaxConcurrentStreams().GetValue())
	}
	if n := cfg.GetMaxRequestsPerConnection(); n != nil {
		c.opts.maxRequestsPerConnection = int(n.GetValue())
	}
	if a, ok := cfg.GetTypedExtensionProtocolOptions()[httpOptionsKey]; ok {
		opts, err := httpOptions(a)
		if err != nil {
			return err
		}
		switch h2 := opts.GetExplicitHttpConfig().GetHttp2ProtocolOptions(); {
		case h2 != nil:
			c.protocol = HTTP2
			c.opts.maxConcurrentStreams = int64(h2.GetMaxConcurrentStreams().GetValue())
		case opts.GetUseDownstreamProtocolConfig() != nil:
			c.protocol = UseDownstream
			c.opts.maxConcurrentStreams = int64(opts.GetUseDownstreamProtocolConfig().GetHttp2ProtocolOptions().GetMaxConcurrentStreams().GetValue())
		}
		if opts.GetCommonHttpProtocolOptions() != nil {
			common = opts.GetCommonHttpProtocolOptions()
		}
	}
	for k := range cfg.GetTypedExtensionProtocolOptions() {
		if k != httpOptionsKey {
			return fmt.Errorf("typed_extension_protocol_options[%s]: not supported", k)
		}
	}
	if common != nil {
		if d := common.GetIdleTimeout(); d != nil {
			c.opts.idleTimeout = d.AsDuration()
		}
		if n := common.GetMaxRequestsPerConnection(); n != nil {
			c.opts.maxRequestsPerConnection = int(n.GetValue())
		}
	}
	return nil
}

// optionsCheck is one protocol options message of a cluster and the fields weft
// applies upstream.
type optionsCheck struct {
	path    string
	m       proto.Message
	allowed []string
}

// upstreamOptionsSupported rejects the HTTP protocol options that weft applies to
// downstream connections only. The types are shared with the connection manager, so the
// schema check lets their fields through; on a cluster they would do nothing.
func upstreamOptionsSupported(cfg *clusterv3.Cluster) error {
	const common, h1, h2 = "common_http_protocol_options", "http_protocol_options", "http2_protocol_options"
	commonOK := []string{"idle_timeout", "max_requests_per_connection"}
	h2OK := []string{"max_concurrent_streams"}
	checks := []optionsCheck{
		{common, cfg.GetCommonHttpProtocolOptions(), commonOK},
		{h1, cfg.GetHttpProtocolOptions(), nil},
		{h2, cfg.GetHttp2ProtocolOptions(), h2OK},
	}
	if a, ok := cfg.GetTypedExtensionProtocolOptions()[httpOptionsKey]; ok {
		if opts, err := httpOptions(a); err == nil {
			prefix := "typed_extension_protocol_options[" + httpOptionsKey + "]."
			exp, down := opts.GetExplicitHttpConfig(), opts.GetUseDownstreamProtocolConfig()
			checks = append(checks,
				optionsCheck{prefix + common, opts.GetCommonHttpProtocolOptions(), commonOK},
				optionsCheck{prefix + "explicit_http_config." + h1, exp.GetHttpProtocolOptions(), nil},
				optionsCheck{prefix + "explicit_http_config." + h2, exp.GetHttp2ProtocolOptions(), h2OK},
				optionsCheck{prefix + "use_downstream_protocol_config." + h1, down.GetHttpProtocolOptions(), nil},
				optionsCheck{prefix + "use_downstream_protocol_config." + h2, down.GetHttp2ProtocolOptions(), h2OK})
		}
	}
	for _, ch := range checks {
		var bad protoreflect.Name
		ch.m.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
			if !slices.Contains(ch.allowed, string(fd.Name())) {
				bad = fd.Name()
				return false
			}
			return true
		})
		if bad != "" {
			return fmt.Errorf("%s.%s: not supported on clusters (weft applies it to downstream connections only)", ch.path, bad)
		}
	}
	return nil
}

func httpOptions(a *anypb.Any) (*httpv3.HttpProtocolOptions, error) {
	var opts httpv3.HttpProtocolOptions
	if err := a.UnmarshalTo(&opts); err != nil {
		return nil, fmt.Errorf("typed_extension_protocol_options[%s]: %w", httpOptionsKey, err)
	}
	if opts.GetAutoConfig() != nil {
		return nil, fmt.Errorf("typed_extension_protocol_options[%s].auto_config: not supported", httpOptionsKey)
	}
	return &opts, nil
}

// transportSocket returns the client TLS config for the cluster, or nil for plaintext.
func (m *Manager) transportSocket(ts *corev3.TransportSocket) (*tls.Config, error) {
	if ts == nil {
		return nil, nil
	}
	switch ts.GetTypedConfig().GetTypeUrl() {
	case "type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer":
		return nil, nil
	case "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext":
		var uc tlsv3.UpstreamTlsContext
		if err := ts.GetTypedConfig().UnmarshalTo(&uc); err != nil {
			return nil, err
		}
		if m.opts.ClientTLS == nil {
			return nil, fmt.Errorf("upstream TLS is not available")
		}
		return m.opts.ClientTLS(&uc)
	}
	return nil, fmt.Errorf("%s (%s): not supported", ts.GetName(), ts.GetTypedConfig().GetTypeUrl())
}
